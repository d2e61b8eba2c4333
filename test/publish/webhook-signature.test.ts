// Webhook signatures: the HMAC matches OpenSSL's on the same input, and verification accepts exactly the
// signed body with the right secret inside the tolerance window.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from '../../src/publish/webhook-signature.js';

const secret = 's3cr3t-analysis-key';
const body = JSON.stringify({ specversion: '1.0', id: 'evt-1', data: { verdict: 'fail', note: 'ünïcødé' } });
const t = 1_760_000_000;

function opensslHmacHex(key: string, message: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key], { input: message }).toString();
  // "SHA2-256(stdin)= <hex>" (OpenSSL 3) or "(stdin)= <hex>" (1.1)
  return out.trim().split('= ').pop()!;
}

describe('signWebhookBody', () => {
  it('produces t=<seconds>,v1=<HMAC-SHA256 of "<t>.<body>"> equal to openssl dgst -hmac', () => {
    const header = signWebhookBody(secret, body, t);
    expect(header).toBe(`t=${t},v1=${opensslHmacHex(secret, `${t}.${body}`)}`);
  });

  it('signs the same bytes whether given a string or a Buffer', () => {
    expect(signWebhookBody(secret, Buffer.from(body, 'utf8'), t)).toBe(signWebhookBody(secret, body, t));
  });

  it('refuses a timestamp that is not whole unix seconds', () => {
    expect(() => signWebhookBody(secret, body, 1.5)).toThrow(RangeError);
  });
});

describe('verifyWebhookSignature', () => {
  const header = signWebhookBody(secret, body, t);

  it('accepts the signed body with the right secret inside the window', () => {
    expect(verifyWebhookSignature(secret, body, header, { nowSeconds: t + 299 })).toEqual({
      ok: true,
      timestamp: t,
    });
    expect(verifyWebhookSignature(secret, Buffer.from(body), header, { nowSeconds: t - 10 }).ok).toBe(true);
  });

  it('rejects a tampered body', () => {
    const tampered = body.replace('"fail"', '"pass"');
    expect(verifyWebhookSignature(secret, tampered, header, { nowSeconds: t })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects the wrong secret', () => {
    expect(verifyWebhookSignature('other', body, header, { nowSeconds: t }).ok).toBe(false);
  });

  it('rejects a stale or far-future timestamp even with a valid digest (replay window)', () => {
    expect(verifyWebhookSignature(secret, body, header, { nowSeconds: t + 301 })).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(verifyWebhookSignature(secret, body, header, { nowSeconds: t - 301 }).ok).toBe(false);
    expect(
      verifyWebhookSignature(secret, body, header, { nowSeconds: t + 50, toleranceSeconds: 30 }).ok,
    ).toBe(false);
  });

  it('rejects a timestamp swapped into a valid header', () => {
    const swapped = header.replace(`t=${t}`, `t=${t + 1}`);
    expect(verifyWebhookSignature(secret, body, swapped, { nowSeconds: t })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('rejects missing and malformed headers', () => {
    for (const bad of [undefined, '', 'v1=abc', `t=${t}`, `t=x,v1=${'0'.repeat(64)}`, `t=${t},v1=zz`]) {
      expect(verifyWebhookSignature(secret, body, bad, { nowSeconds: t })).toEqual({
        ok: false,
        reason: 'malformed',
      });
    }
  });

  it('accepts any one of several v1 digests (secret rotation)', () => {
    const old = signWebhookBody('old-secret', body, t).split(',')[1];
    const both = `${header},${old}`;
    expect(verifyWebhookSignature(secret, body, both, { nowSeconds: t }).ok).toBe(true);
    expect(verifyWebhookSignature('old-secret', body, both, { nowSeconds: t }).ok).toBe(true);
  });
});
