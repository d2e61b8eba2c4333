// The demo's flag service as a webhook receiver: only a correctly signed verdict touches the flag, a
// rollback locks it against the rollout, and a promote takes it to 100%.
import { afterEach, describe, expect, it } from 'vitest';
import { FLAG_KEY, FlagService } from '../../demo/flag-service.js';
import { SIGNATURE_HEADER, signWebhookBody } from '../../src/publish/webhook-signature.js';

const SECRET = 'demo-secret-of-some-length';
let service: FlagService | undefined;

/** The rollout's final stage is 50%: only a pass judged at 50% promotes. */
async function started(): Promise<{ flags: FlagService; url: string }> {
  const flags = new FlagService(SECRET, 50);
  service = flags;
  return { flags, url: await flags.start() };
}

afterEach(async () => {
  await service?.stop();
  service = undefined;
});

const setPercent = (url: string, percent: number) =>
  fetch(`${url}/flags/${FLAG_KEY}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ percent }),
  });

function verdictEvent(verdict: string, action: string, shares: number[] = [0.25]): string {
  return JSON.stringify({
    specversion: '1.0',
    type: 'dev.canary-judge.verdict.changed',
    id: `event-${verdict}`,
    subject: 'checkout-new-flow',
    data: { verdict, action, stages: shares.map((canaryShare) => ({ canaryShare })) },
  });
}

const deliver = (url: string, body: string, signature: string) =>
  fetch(`${url}/webhooks/canary-judge`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', [SIGNATURE_HEADER]: signature },
    body,
  });

const now = () => Math.floor(Date.now() / 1000);

describe('demo flag service', () => {
  it('refuses a verdict signed with another secret or over another body, and leaves the flag alone', async () => {
    const { flags, url } = await started();
    expect((await setPercent(url, 25)).status).toBe(200);
    const body = verdictEvent('fail', 'rollback');
    expect((await deliver(url, body, signWebhookBody('another-secret-entirely', body, now()))).status).toBe(
      401,
    );
    expect((await deliver(url, body, signWebhookBody(SECRET, `${body} `, now()))).status).toBe(401);
    expect((await deliver(url, body, 'not a signature')).status).toBe(401);
    expect(flags.rolloutPercent).toBe(25);
    expect(flags.webhooks.map((w) => w.applied)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('rolls the flag back to 0% on a signed fail and refuses further rollout stages', async () => {
    const { flags, url } = await started();
    await setPercent(url, 50);
    const body = verdictEvent('fail', 'rollback');
    const response = await deliver(url, body, signWebhookBody(SECRET, body, now()));
    expect(response.status).toBe(200);
    expect(flags.rolloutPercent).toBe(0);
    expect(flags.rolledBack).toBe(true);
    expect((await setPercent(url, 50)).status).toBe(409);
    expect(flags.rolloutPercent).toBe(0);
  });

  it('promotes the flag to 100% on a signed pass of the final stage, and lets earlier passes be', async () => {
    const { flags, url } = await started();
    await setPercent(url, 25);
    const early = verdictEvent('pass', 'promote', [0.05, 0.25]);
    expect((await deliver(url, early, signWebhookBody(SECRET, early, now()))).status).toBe(200);
    expect(flags.rolloutPercent).toBe(25);
    await setPercent(url, 50);
    const body = verdictEvent('pass', 'promote', [0.05, 0.25, 0.5]);
    expect((await deliver(url, body, signWebhookBody(SECRET, body, now()))).status).toBe(200);
    expect(flags.rolloutPercent).toBe(100);
    expect(flags.changes.map((c) => c.by)).toEqual(['rollout', 'rollout', 'promote']);
  });
});
