// The README's dependency-free verification snippet agrees with the sender's signWebhookBody.
import { describe, expect, it } from 'vitest';
import { signWebhookBody } from '../../src/publish/webhook-signature.js';
// @ts-expect-error plain JavaScript kept verbatim for the README; no type declarations
import { verifyCanaryJudgeSignature } from './fixtures/verify-snippet.mjs';

const verify = verifyCanaryJudgeSignature as (
  secret: string,
  body: Buffer | string,
  header: string,
) => boolean;
const body = Buffer.from('{"specversion":"1.0","id":"evt-9","data":{"verdict":"fail"}}');
const now = () => Math.floor(Date.now() / 1000);

describe('README verification snippet', () => {
  it('accepts a fresh signature and rejects tampering, a wrong secret and a stale timestamp', () => {
    expect(verify('k', body, signWebhookBody('k', body, now()))).toBe(true);
    expect(
      verify('k', Buffer.from(body.toString().replace('fail', 'pass')), signWebhookBody('k', body, now())),
    ).toBe(false);
    expect(verify('other', body, signWebhookBody('k', body, now()))).toBe(false);
    expect(verify('k', body, signWebhookBody('k', body, now() - 301))).toBe(false);
    expect(verify('k', body, 'garbage')).toBe(false);
  });
});
