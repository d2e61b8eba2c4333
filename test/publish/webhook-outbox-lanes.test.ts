// Outbox bounds and lanes (issue 12, finding 4): hung receivers delay only their own events, a receiver's
// bound prunes its delivered rows first and never drops an undelivered event (reported instead),
// `Retry-After: 0` cannot make a busy loop, and a receiver back from an outage gets everything within one
// backoff step.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, OutboxFixture, removeTempDirs, tempDbPath } from './outbox-fixture.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const secret = 'lanes-test-secret-0123';
let receiver: WebhookReceiver;
let clock: FakeClock;
const fixtures: OutboxFixture[] = [];
const extraReceivers: WebhookReceiver[] = [];

function open(options: ConstructorParameters<typeof OutboxFixture>[2] = {}): OutboxFixture {
  const fixture = new OutboxFixture(tempDbPath(), clock, options);
  fixtures.push(fixture);
  return fixture;
}

function event(analysisId: string, seq: number, url = receiver.url) {
  return { analysisId, url, secret, data: { verdict: 'fail', seq } };
}

beforeEach(async () => {
  clock = new FakeClock();
  receiver = await WebhookReceiver.start();
});
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
  for (const extra of extraReceivers.splice(0)) await extra.close();
  await receiver.close();
  removeTempDirs();
});

describe('delivery lanes', () => {
  it('delivers to a healthy receiver at once while eight others hang until the request timeout', async () => {
    const f = open({ clock: Date, requestTimeoutMs: 60_000, shutdownGraceMs: 0 });
    for (let i = 0; i < 8; i += 1) {
      const hung = await WebhookReceiver.start();
      extraReceivers.push(hung);
      hung.respond = () => 'hold';
      f.outbox.enqueue(event(`hung-${i}`, 1, hung.url));
    }
    receiver.respond = () => ({ status: 204 });
    const healthy = f.outbox.enqueue(event('healthy', 1));
    f.outbox.start();
    // Old outbox: eight concurrent slots, all held by the hung receivers for their 60 s timeout.
    const outcome = await Promise.race([
      receiver.received(1).then(() => 'delivered'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000).unref()),
    ]);
    expect(outcome).toBe('delivered');
    expect(receiver.ids).toEqual([healthy]);
    await Promise.all(extraReceivers.map((hung) => hung.received(1))); // each hung lane has its request
    expect(extraReceivers.every((hung) => hung.open === 1)).toBe(true);
  });

  it('after an outage, sends every waiting event of the receiver within one backoff step of its return', async () => {
    const f = open({ baseDelayMs: 1_000, maxDelayMs: 300_000 });
    const port = receiver.port;
    await receiver.close();
    const headOf = (analysis: string) => f.rows().find((row) => row.analysis_id === analysis)!;
    /** Fails `analysis`'s head `times` times, moving the clock to each retry. */
    const failTimes = async (analysis: string, times: number) => {
      for (let i = 0; i < times; i += 1) {
        if (i > 0) clock.t = headOf(analysis).next_attempt_at_ms;
        await f.outbox.flush();
      }
    };
    // Three analyses deep in different backoffs: a has failed 7 times, b 3 times, c once.
    const ids = [f.outbox.enqueue(event('a', 1))!];
    await failTimes('a', 7);
    ids.push(f.outbox.enqueue(event('b', 1))!);
    await failTimes('b', 3);
    ids.push(f.outbox.enqueue(event('c', 1))!);
    await failTimes('c', 1);
    expect(headOf('a').next_attempt_at_ms - clock.t).toBeGreaterThan(30_000);

    await receiver.listen(port);
    clock.t = Math.min(...f.rows().map((row) => row.next_attempt_at_ms)); // c's next backoff step
    await f.outbox.flush();
    expect(new Set(receiver.ids)).toEqual(new Set(ids)); // a and b did not wait out their backoff
    expect(f.rows().every((row) => row.state === 'delivered')).toBe(true);
  });

  it('waits at least the minimum retry delay when a receiver says Retry-After: 0', async () => {
    const f = open({ minRetryDelayMs: 1_000, random: () => 0 });
    receiver.respond = () => ({ status: 503, headers: { 'retry-after': '0' } });
    f.outbox.enqueue(event('checkout', 1));
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await f.outbox.flush();
      expect(f.rows()[0]).toMatchObject({ state: 'pending', attempts: attempt });
      expect(f.rows()[0].next_attempt_at_ms - clock.t).toBeGreaterThanOrEqual(1_000);
      await f.outbox.flush(); // not due yet: nothing is sent
      expect(receiver.requests).toHaveLength(attempt);
      clock.t = f.rows()[0].next_attempt_at_ms;
    }
  });
});

describe('the per-receiver bound', () => {
  it('prunes the oldest delivered rows first and keeps every undelivered event beyond the bound, reported', async () => {
    const f = open({ maxEventsPerTarget: 3 });
    const other = await WebhookReceiver.start();
    extraReceivers.push(other);
    const delivered = [1, 2, 3].map((seq) => f.outbox.enqueue(event('a', seq))!);
    f.outbox.enqueue(event('x', 1, other.url)); // another receiver's rows are not touched
    await f.settle();
    expect(f.rows().filter((row) => row.state === 'delivered')).toHaveLength(4);

    const port = receiver.port;
    await receiver.close();
    const waiting = [4, 5, 6, 7].map((seq) => f.outbox.enqueue(event('a', seq))!);
    const ofA = () => f.rows().filter((row) => row.url === receiver.url);
    // Room was made from delivered rows, oldest first, until only undelivered ones were left.
    expect(ofA().map((row) => row.event_id)).toEqual(waiting);
    expect(f.rows().some((row) => delivered.includes(row.event_id))).toBe(false);
    expect(f.rows().filter((row) => row.url === other.url)).toHaveLength(1);
    expect(f.outbox.health().targetsAtBound).toEqual([receiver.url]);
    expect(await f.metric('canary_judge_webhook_targets_at_bound')).toBe(1);
    expect(await f.metric('canary_judge_webhook_events_over_bound_total')).toBe(1);
    expect(await f.metric('canary_judge_webhook_rows_pruned_for_bound_total')).toBe(3);
    expect(f.logs.some((line) => line.includes('webhook receiver at its bound'))).toBe(true);

    await receiver.listen(port);
    await f.settle();
    expect(receiver.ids.slice(-4)).toEqual(waiting); // every one delivered, in order
    expect(f.outbox.health().targetsAtBound).toEqual([]);
    expect(await f.metric('canary_judge_webhook_targets_at_bound')).toBe(0);
  });

  it('knows after a restart which receivers are already at their bound', async () => {
    const path = tempDbPath();
    const before = new OutboxFixture(path, clock, { maxEventsPerTarget: 2 });
    await receiver.close();
    for (const seq of [1, 2, 3]) before.outbox.enqueue(event('a', seq));
    await before.close();
    const after = new OutboxFixture(path, clock, { maxEventsPerTarget: 2 });
    fixtures.push(after);
    expect(after.outbox.health().targetsAtBound).toEqual([receiver.url]);
  });
});
