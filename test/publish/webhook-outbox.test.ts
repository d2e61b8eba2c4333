// The webhook outbox against a real HTTP receiver: signed structured-mode CloudEvents, retries on outage,
// 5xx, 429 and timeouts with stable ids, Retry-After honoured, give-up on 4xx, per-analysis order, restart
// resumption, bounds and metrics. A fake clock drives the schedule, so nothing waits for real backoff.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { FakeClock, OutboxFixture, removeTempDirs, tempDbPath } from './outbox-fixture.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

const secret = 'whsec-test-7f3a';
let receiver: WebhookReceiver;
let clock: FakeClock;
const fixtures: OutboxFixture[] = [];

function open(
  options: ConstructorParameters<typeof OutboxFixture>[2] = {},
  path = tempDbPath(),
): OutboxFixture {
  const fixture = new OutboxFixture(path, clock, options);
  fixtures.push(fixture);
  return fixture;
}

function verdict(analysisId: string, seq: number, verdictValue = 'fail') {
  return { analysisId, url: receiver.url, secret, data: { verdict: verdictValue, action: 'rollback', seq } };
}

beforeEach(async () => {
  clock = new FakeClock();
  receiver = await WebhookReceiver.start();
});
afterEach(async () => {
  for (const fixture of fixtures.splice(0)) await fixture.close();
  await receiver.close();
  removeTempDirs();
});

describe('WebhookOutbox delivery', () => {
  it('POSTs a signed structured-mode CloudEvent and marks the row delivered after the 2xx', async () => {
    const f = open();
    const id = f.outbox.enqueue({ ...verdict('checkout', 1), time: new Date('2026-11-25T09:59:58Z') });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await f.outbox.flush();

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request.headers['content-type']).toBe('application/cloudevents+json');
    expect(request.headers['idempotency-key']).toBe(id);
    const signature = request.headers['x-canary-judge-signature'] as string;
    expect(signature).toMatch(new RegExp(`^t=${clock.seconds},v1=[0-9a-f]{64}$`));
    expect(verifyWebhookSignature(secret, request.body, signature, { nowSeconds: clock.seconds })).toEqual({
      ok: true,
      timestamp: clock.seconds,
    });
    expect(JSON.parse(request.body)).toEqual({
      specversion: '1.0',
      type: 'dev.canary-judge.verdict.changed',
      source: '/canary-judge/test',
      id,
      time: '2026-11-25T09:59:58.000Z',
      subject: 'checkout',
      datacontenttype: 'application/json',
      data: { verdict: 'fail', action: 'rollback', seq: 1 },
    });
    expect(f.rows()).toMatchObject([{ event_id: id, state: 'delivered', attempts: 1, last_error: null }]);
    expect(await f.metric('canary_judge_webhook_deliveries_total', { outcome: 'delivered' })).toBe(1);
    expect(await f.metric('canary_judge_webhook_pending')).toBe(0);
    const text = await f.registry.metrics();
    expect(text).toContain('canary_judge_webhook_delivery_duration_seconds_count{outcome="delivered"} 1');
    expect(text).toContain('canary_judge_webhook_delivery_lag_seconds_count 1');
  });

  it('survives a receiver that is down and then failing: same event id and body on every attempt', async () => {
    const f = open();
    const port = receiver.port;
    await receiver.close(); // connection refused from now on
    const id = f.outbox.enqueue(verdict('checkout', 1))!;
    for (let i = 0; i < 3; i += 1) {
      await f.outbox.flush();
      clock.t = f.rows()[0].next_attempt_at_ms;
    }
    expect(f.rows()[0]).toMatchObject({ state: 'pending', attempts: 3 });
    expect(f.rows()[0].last_error).toMatch(/ECONNREFUSED/);
    expect(await f.metric('canary_judge_webhook_pending')).toBe(1);

    await receiver.listen(port); // back, but overloaded for two more attempts
    receiver.respond = (r) => (r.index < 2 ? { status: 503, body: 'warming up' } : { status: 200 });
    await f.settle();

    expect(receiver.ids).toEqual([id, id, id]);
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
    const stamps = receiver.requests.map((r) => r.headers['x-canary-judge-signature']);
    expect(new Set(stamps).size).toBe(3); // only the signature's timestamp changes
    expect(f.rows()[0]).toMatchObject({ state: 'delivered', attempts: 6 });
    expect(await f.metric('canary_judge_webhook_deliveries_total', { outcome: 'retry' })).toBe(5);
    expect(f.logs.join('\n')).not.toContain(secret);
  });

  it('waits exactly as long as a 503 Retry-After says, in seconds or as an HTTP date', async () => {
    const f = open();
    receiver.respond = (r) =>
      r.index === 0
        ? { status: 503, headers: { 'retry-after': '7' } }
        : r.index === 1
          ? { status: 503, headers: { 'retry-after': new Date(clock.t + 20_000).toUTCString() } }
          : { status: 202 };
    f.outbox.enqueue(verdict('checkout', 1));
    const start = clock.t;
    await f.outbox.flush();
    expect(f.rows()[0].next_attempt_at_ms).toBe(start + 7_000); // jitter would have said 500 ms
    clock.t = start + 6_999;
    await f.outbox.flush();
    expect(receiver.requests).toHaveLength(1);
    clock.t = start + 7_000;
    await f.outbox.flush();
    expect(receiver.requests).toHaveLength(2);
    expect(f.rows()[0].next_attempt_at_ms).toBe(start + 27_000);
    await f.settle();
    expect(f.rows()[0]).toMatchObject({ state: 'delivered', attempts: 3 });
  });

  it('retries 429 with exponential backoff and full jitter', async () => {
    const f = open({ random: () => 0.25 });
    receiver.respond = (r) => (r.index < 3 ? { status: 429 } : { status: 200 });
    f.outbox.enqueue(verdict('checkout', 1));
    const delays: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      await f.outbox.flush();
      delays.push(f.rows()[0].next_attempt_at_ms - clock.t);
      clock.t = f.rows()[0].next_attempt_at_ms;
    }
    expect(delays).toEqual([250, 500, 1_000]); // 0.25 * 1000 * 2^(n-1)
    await f.settle();
    expect(f.rows()[0].state).toBe('delivered');
  });

  it('gives up on a 400 with the status logged and stored, never the receiver’s body, then moves on', async () => {
    const f = open();
    receiver.respond = (r) =>
      r.index === 0
        ? { status: 400, body: '{"error":"unknown analysis","internal":"db-password=hunter2"}' }
        : { status: 204 };
    const first = f.outbox.enqueue(verdict('checkout', 1));
    const second = f.outbox.enqueue(verdict('checkout', 2));
    await f.settle();
    expect(receiver.ids).toEqual([first, second]);
    expect(f.rows()[0]).toMatchObject({ state: 'failed', attempts: 1 });
    expect(f.rows()[0].last_error).toBe('HTTP 400 Bad Request');
    expect(f.rows()[1].state).toBe('delivered');
    const failure = f.logs.map((l) => JSON.parse(l)).find((l) => l.msg.startsWith('webhook delivery failed'));
    expect(failure).toMatchObject({ level: 50, eventId: first, reason: 'HTTP 400 Bad Request' });
    expect(await f.metric('canary_judge_webhook_deliveries_total', { outcome: 'failed' })).toBe(1);
    expect(f.logs.join('\n')).not.toContain(secret);
    expect(f.logs.join('\n')).not.toContain('hunter2');
  });

  it('does not follow redirects with a signed body, and gives up saying so', async () => {
    const f = open();
    receiver.respond = () => ({ status: 307, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    f.outbox.enqueue(verdict('checkout', 1));
    await f.settle();
    expect(receiver.requests).toHaveLength(1);
    expect(f.rows()[0].last_error).toMatch(/^HTTP 307 .*redirects are not followed/);
  });

  it('retries a receiver that does not answer within the request timeout', async () => {
    const f = open({ requestTimeoutMs: 100 });
    receiver.respond = (r) => (r.index === 0 ? 'hold' : { status: 200 });
    f.outbox.enqueue(verdict('checkout', 1));
    await f.outbox.flush();
    expect(f.rows()[0]).toMatchObject({
      state: 'pending',
      attempts: 1,
      last_error: 'timed out after 100 ms',
    });
    await f.settle();
    expect(f.rows()[0].state).toBe('delivered');
  });

  it('gives up a retryable event after maxAttempts or maxAge, naming the last error', async () => {
    const f = open({ maxAttempts: 3 });
    receiver.respond = () => ({ status: 502 });
    f.outbox.enqueue(verdict('a', 1));
    await f.settle();
    expect(f.rows()[0]).toMatchObject({ state: 'failed', attempts: 3 });
    expect(f.rows()[0].last_error).toMatch(/^gave up after 3 attempts over \d+ s: HTTP 502/);

    const g = open({ maxAgeMs: 10_000 });
    g.outbox.enqueue(verdict('b', 1));
    await g.settle();
    expect(g.rows()[0].state).toBe('failed');
    expect(g.rows()[0].attempts).toBeGreaterThan(3);
  });
});

describe('WebhookOutbox ordering, restart and bounds', () => {
  it('never sends event N+1 of an analysis before event N is delivered or given up', async () => {
    const f = open();
    const fails = new Map<string, number>();
    receiver.respond = (r) => {
      const seq = (JSON.parse(r.body) as { data: { seq: number } }).data.seq;
      const key = `${r.subject}#${seq}`;
      const failed = fails.get(key) ?? 0;
      // the first event of each analysis fails three times (5xx, then network-level 429, then 503)
      if (seq === 1 && failed < 3) {
        fails.set(key, failed + 1);
        return { status: [500, 429, 503][failed] };
      }
      return { status: 200 };
    };
    const a = [1, 2, 3].map((seq) => f.outbox.enqueue(verdict('a', seq))!);
    const b = [1, 2].map((seq) => f.outbox.enqueue(verdict('b', seq))!);
    await f.settle();

    const arrivals = (ids: string[]) => receiver.ids.filter((id) => ids.includes(id));
    expect(arrivals(a)).toEqual([a[0], a[0], a[0], a[0], a[1], a[2]]);
    expect(arrivals(b)).toEqual([b[0], b[0], b[0], b[0], b[1]]);
    expect(f.rows().every((row) => row.state === 'delivered')).toBe(true);
  });

  it('does not hold one analysis back behind another analysis that is failing', async () => {
    const f = open();
    receiver.respond = (r) => (r.subject === 'stuck' ? { status: 503 } : { status: 200 });
    f.outbox.enqueue(verdict('stuck', 1));
    const fine = f.outbox.enqueue(verdict('fine', 1));
    await f.outbox.flush();
    expect(receiver.ids).toContain(fine);
    expect(f.rows().map((r) => r.state)).toEqual(['pending', 'delivered']);
  });

  it('keeps order per receiver when an analysis has two, and one receiver’s outage does not block the other', async () => {
    const f = open();
    const second = await WebhookReceiver.start();
    try {
      receiver.respond = () => ({ status: 503 });
      const ids = [1, 2].flatMap((seq) => [
        f.outbox.enqueue(verdict('a', seq))!,
        f.outbox.enqueue({ ...verdict('a', seq), url: second.url })!,
      ]);
      await f.outbox.flush();
      await f.outbox.flush();
      expect(second.ids).toEqual([ids[1], ids[3]]);
      expect(receiver.ids).toEqual([ids[0]]); // event 2 waits behind the failing event 1
      receiver.respond = () => ({ status: 200 });
      await f.settle();
      expect(receiver.ids).toEqual([ids[0], ids[0], ids[2]]);
    } finally {
      await second.close();
    }
  });

  it('resumes pending rows after a restart on the same database file, ids unchanged', async () => {
    const path = tempDbPath();
    const before = open({}, path);
    receiver.respond = () => ({ status: 503 });
    const ids = [1, 2].map((seq) => before.outbox.enqueue(verdict('checkout', seq))!);
    await before.outbox.flush();
    await before.close();
    fixtures.splice(fixtures.indexOf(before), 1);

    receiver.respond = () => ({ status: 200 });
    const after = open({}, path);
    expect(await after.metric('canary_judge_webhook_pending')).toBe(2);
    clock.t += 60_000;
    after.outbox.start(); // the background loop, not flush: it must find the old rows by itself
    await receiver.received(3);
    expect(receiver.ids).toEqual([ids[0], ids[0], ids[1]]);
  });

  it('delivers in the background after start(), woken by enqueue', async () => {
    const f = open({ clock: Date });
    f.outbox.start();
    f.outbox.start(); // idempotent
    const id = f.outbox.enqueue(verdict('checkout', 1));
    await receiver.received(1);
    expect(receiver.ids).toEqual([id]);
  });

  it('sends one request at a time per receiver, receivers in parallel', async () => {
    const f = open();
    const other = await WebhookReceiver.start();
    try {
      receiver.respond = () => ({ status: 200, delayMs: 20 });
      other.respond = () => ({ status: 200, delayMs: 20 });
      for (const analysis of ['a', 'b', 'c']) f.outbox.enqueue(verdict(analysis, 1));
      for (const analysis of ['d', 'e']) f.outbox.enqueue({ ...verdict(analysis, 1), url: other.url });
      await f.settle();
      expect(receiver.requests).toHaveLength(3);
      expect(other.requests).toHaveLength(2);
      expect(receiver.maxOpen).toBe(1);
      expect(other.maxOpen).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('refuses, logs and counts an event with a non-http URL; never throws', async () => {
    const f = open();
    expect(f.outbox.enqueue({ ...verdict('a', 4), url: 'file:///etc/passwd' })).toBeNull();
    expect(f.rows()).toHaveLength(0);
    expect(await f.metric('canary_judge_webhook_refused_total', { reason: 'invalid_url' })).toBe(1);
    expect(f.logs.filter((l) => l.includes('webhook event refused'))).toHaveLength(1);
  });

  it('commits or rolls back with the caller’s transaction', async () => {
    const f = open();
    const record = f.store.db.transaction((fail: boolean) => {
      f.outbox.enqueue(verdict('a', 1));
      if (fail) throw new Error('verdict write failed');
    });
    expect(() => record(true)).toThrow('verdict write failed');
    expect(f.rows()).toHaveLength(0);
    record(false);
    expect(f.rows()).toHaveLength(1);
  });

  it('shutdown is safe twice, aborts a hung request after the grace period and leaves it pending', async () => {
    const f = open({ shutdownGraceMs: 50, requestTimeoutMs: 60_000, clock: Date });
    receiver.respond = () => 'hold';
    f.outbox.enqueue(verdict('a', 1));
    f.outbox.start();
    await receiver.received(1);
    await Promise.all([f.outbox.shutdown(), f.outbox.shutdown()]);
    await f.outbox.shutdown();
    expect(f.rows()[0]).toMatchObject({ state: 'pending', attempts: 0 });
    await f.outbox.flush(); // no-op after shutdown
    expect(receiver.requests).toHaveLength(1);
  });
});
