// Standard Webhooks (issue 10, item 5): every delivery carries webhook-id (the CloudEvent id),
// webhook-timestamp and webhook-signature beside our own header, and the `standardwebhooks` npm package,
// the reference implementation (standard-webhooks/standard-webhooks, libraries/javascript/src/index.ts at
// 009bcc00ea2cc2d96d69780c5e43d4719c45f6d8; spec/standard-webhooks.md at 03f5f8c684881c36430d8b62d7bc54e518371720),
// verifies it with the secret configured either way the README documents.
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { standardWebhookSignature, verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { FakeClock, OutboxFixture, removeTempDirs, tempDbPath } from './outbox-fixture.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

let receiver: WebhookReceiver;
let fixture: OutboxFixture | undefined;
beforeEach(async () => {
  receiver = await WebhookReceiver.start();
});
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  await receiver.close();
  removeTempDirs();
});

/** Delivers one event signed with `secret` (real clock: the library checks the timestamp against now). */
async function deliverOne(secret: string) {
  fixture = new OutboxFixture(tempDbPath(), new FakeClock(), { clock: Date });
  const id = fixture.outbox.enqueue({
    analysisId: 'checkout',
    url: receiver.url,
    secret,
    data: { verdict: 'fail' },
  });
  await fixture.outbox.flush();
  const [request] = receiver.requests;
  return { id: id!, request, headers: request.headers as Record<string, string> };
}

describe('Standard Webhooks headers', () => {
  it('sends webhook-id = the event id, webhook-timestamp and a v1 signature next to our own header', async () => {
    const secret = 'plain-secret-for-the-receiver';
    const { id, request, headers } = await deliverOne(secret);
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-timestamp']).toMatch(/^\d{10}$/);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    // Both schemes sign the same attempt with the same timestamp.
    const ours = verifyWebhookSignature(secret, request.body, headers['x-canary-judge-signature']);
    expect(ours).toEqual({ ok: true, timestamp: Number(headers['webhook-timestamp']) });
  });

  it('verifies with the reference library given a plain secret as raw UTF-8 bytes, or as whsec_ + base64', async () => {
    const secret = 'plain-secret-for-the-receiver-é';
    const { request, headers } = await deliverOne(secret);
    const raw = new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
    expect(raw.verify(request.body, headers)).toMatchObject({
      id: headers['webhook-id'],
      subject: 'checkout',
    });
    const serialised = new Webhook(`whsec_${Buffer.from(secret, 'utf8').toString('base64')}`);
    expect(serialised.verify(request.body, headers)).toMatchObject({ subject: 'checkout' });
    expect(() => serialised.verify(`${request.body} `, headers)).toThrow(/No matching signature/);
  });

  it('uses a whsec_ secret the Standard Webhooks way, so the same string configures both ends', async () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const { request, headers } = await deliverOne(secret);
    expect(new Webhook(secret).verify(request.body, headers)).toMatchObject({ subject: 'checkout' });
    // Our own header keys HMAC with the string itself, as it always has.
    expect(verifyWebhookSignature(secret, request.body, headers['x-canary-judge-signature']).ok).toBe(true);
  });

  it('matches the library’s own signing on fixed inputs', () => {
    const secret = `whsec_${Buffer.from('a key of twenty-four bytes!').toString('base64')}`;
    const body = '{"specversion":"1.0","id":"evt_1"}';
    const expected = new Webhook(secret).sign('evt_1', new Date(1_700_000_000_000), body);
    expect(standardWebhookSignature(secret, 'evt_1', 1_700_000_000, body)).toBe(expected);
  });
});
