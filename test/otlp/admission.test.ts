// The ingest budget and the receive guard on their own, with a fake clock: bytes and slots are taken and
// given back exactly, refusals carry retry hints, slow and stalled senders are cut, and an idle receiver
// gives way to a request that needs its share.
import { describe, expect, it } from 'vitest';
import { Admission, IngestLease } from '../../src/otlp/admission.js';
import { IngestError } from '../../src/otlp/errors.js';
import { MIN_RATE_AGE_MS, ReceiveGuard, STALL_PREEMPT_MS } from '../../src/otlp/receive-guard.js';

function admission(maxBytes = 1000, maxRequests = 2): Admission {
  return new Admission({ maxBytes, maxRequests, retryAfterSeconds: 3 });
}

function lease(a: Admission): IngestLease {
  const taken = a.admit();
  if (taken instanceof IngestError) throw taken;
  return taken;
}

describe('Admission', () => {
  it('charges bytes as they are taken and gives them all back on release, twice-safe', () => {
    const a = admission();
    const l = lease(a);
    expect(l.grow(600)).toBe(true);
    expect(l.grow(500)).toBe(false);
    expect(a.bytesHeld).toBe(600);
    l.shrinkTo(100);
    expect(a.bytesHeld).toBe(100);
    expect(l.resize(900)).toBe(true);
    l.release();
    l.release();
    expect([a.bytesHeld, a.current]).toEqual([0, 0]);
  });

  it('refuses past the request bound and while closing, with a retry hint', () => {
    const a = admission(1000, 1);
    lease(a);
    const refused = a.admit() as IngestError;
    expect([refused.code, refused.kind.httpStatus, refused.retryAfterSeconds]).toEqual([
      'OTLP_OVERLOADED',
      503,
      3,
    ]);
    expect(refused.message).toMatch(/otlp\.maxInFlightRequests/);
    expect(a.overBudget().message).toMatch(/otlp\.maxIngestBytes/);
    void a.close();
    expect((a.admit() as IngestError).code).toBe('OTLP_SHUTTING_DOWN');
  });

  it('resolves close() once every admitted request has been answered', async () => {
    const a = admission();
    const l = lease(a);
    let drained = false;
    const closing = a.close().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    l.release();
    await closing;
    expect(drained).toBe(true);
  });
});

/** Lets the current loop turn end (the guard decides at its end whether its sweep timer is needed). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ReceiveGuard', () => {
  function guarded() {
    let now = 0;
    const cuts: string[] = [];
    const guard = new ReceiveGuard({
      minBytesPerSecond: 1000,
      retryAfterSeconds: 3,
      graceMs: 2000,
      timeoutMs: 30_000,
      clock: () => now,
    });
    const watch = (name: string) => guard.watch((error) => cuts.push(`${name}: ${error.code}`));
    return { guard, cuts, watch, advance: (ms: number) => (now += ms) };
  }

  it('cuts a trickling sender after one grace window and keeps a fast one', async () => {
    const { guard, cuts, watch, advance } = guarded();
    const slow = watch('slow');
    const fast = watch('fast');
    await turn();
    for (let t = 0; t < 8; t++) {
      advance(250);
      slow.progress(1);
      fast.progress(500);
      guard.sweep();
    }
    expect(cuts).toEqual(['slow: OTLP_TOO_SLOW']);
    expect(guard.sweeping).toBe(true);
    fast.done();
    expect(guard.size).toBe(0);
    // Nothing left to watch: the sweep timer stops until the next request.
    guard.sweep();
    expect(guard.sweeping).toBe(false);
    const next = watch('next');
    await turn();
    expect(guard.sweeping).toBe(true);
    next.done();
    guard.sweep();
    expect(guard.sweeping).toBe(false);
  });

  it('arms no sweep timer for a request received whole in the turn that watched it', async () => {
    const { guard, watch } = guarded();
    for (let i = 0; i < 3; i++) watch(`whole ${i}`).done();
    expect(guard.sweeping).toBe(false);
    await turn();
    // Nor once that turn has ended: nothing is left to sweep.
    expect(guard.sweeping).toBe(false);
    // A body that outlives its turn is swept, whatever came whole before it in that turn.
    watch('whole').done();
    const partial = watch('partial');
    expect(guard.sweeping).toBe(false);
    await turn();
    expect(guard.sweeping).toBe(true);
    partial.done();
    expect(guard.sweeping).toBe(false);
    await turn();
    expect(guard.sweeping).toBe(false);
    // Stopped (at shutdown) with its check pending, the guard still arms for a request watched after.
    const before = watch('before stop');
    guard.stop();
    const after = watch('after stop');
    await turn();
    expect(guard.sweeping).toBe(true);
    before.done();
    after.done();
    expect(guard.sweeping).toBe(false);
  });

  // A guard that never arms its timer fails here in seconds, not at the suite's 60 s timeout.
  it('sweeps, on a real timer, a request still being received after its turn', async () => {
    const guard = new ReceiveGuard({
      minBytesPerSecond: 1000,
      retryAfterSeconds: 3,
      graceMs: 40,
      timeoutMs: 30_000,
      sweepMs: 10,
    });
    const cut = new Promise<IngestError>((resolve) => guard.watch(resolve));
    // The cut tells the sender to retry (503 + Retry-After / DEADLINE_EXCEEDED + RetryInfo): its data is sound.
    const error = await cut;
    expect([error.code, error.kind.httpStatus, error.kind.retryable, error.retryAfterSeconds]).toEqual([
      'OTLP_TOO_SLOW',
      503,
      true,
      3,
    ]);
    expect(guard.sweeping).toBe(false);
  }, 5_000);

  it('cuts a sender that bursts and then stalls within two windows', () => {
    const { guard, cuts, watch, advance } = guarded();
    const burst = watch('burst');
    burst.progress(5_000_000);
    for (let t = 0; t < 16 && cuts.length === 0; t++) {
      advance(250);
      guard.sweep();
    }
    expect(cuts).toEqual(['burst: OTLP_TOO_SLOW']);
  });

  it('cuts any request not whole within the body timeout', () => {
    const { guard, cuts, watch, advance } = guarded();
    const steady = watch('steady');
    for (let t = 0; t < 121; t++) {
      advance(250);
      steady.progress(1000);
      guard.sweep();
    }
    expect(cuts).toEqual(['steady: OTLP_TOO_SLOW']);
  });

  it('preempts the slowest receiver below the minimum rate, then one stalled long enough, never a silent one', () => {
    const { guard, cuts, watch, advance } = guarded();
    watch('silent'); // sent nothing: holds no slot, not worth cutting
    const burst = watch('burst');
    burst.progress(10_000_000);
    const trickle = watch('trickle');
    trickle.progress(1);
    const fast = watch('fast');
    fast.progress(20);
    advance(MIN_RATE_AGE_MS - 1);
    expect(guard.preemptSlowest()).toBe(false); // too early to judge a rate
    advance(1);
    expect(guard.preemptSlowest()).toBe(true);
    expect(guard.preemptSlowest()).toBe(true);
    expect(cuts).toEqual(['trickle: OTLP_TOO_SLOW', 'fast: OTLP_TOO_SLOW']);
    expect(guard.preemptSlowest()).toBe(false); // the burst keeps a high average until it stalls
    advance(STALL_PREEMPT_MS);
    expect(guard.preemptSlowest()).toBe(true);
    expect(cuts[2]).toBe('burst: OTLP_TOO_SLOW');
  });

  it('gives a whole message one grace window to half-close, judged by that wait and not by its rate', async () => {
    const { guard, cuts, watch, advance } = guarded();
    // Half-closed in the turn its message came whole in: no timer is armed.
    const prompt = watch('prompt');
    prompt.progress(10);
    prompt.whole();
    prompt.done();
    await turn();
    expect(guard.sweeping).toBe(false);
    const stalled = watch('stalled');
    stalled.progress(10); // 10 bytes: far below 1,000 bytes/s, but whole
    stalled.whole();
    const late = watch('late');
    late.progress(10);
    late.whole();
    await turn();
    expect(guard.sweeping).toBe(true);
    advance(MIN_RATE_AGE_MS);
    expect(guard.preemptSlowest()).toBe(false); // a whole message has no rate to be judged by
    advance(1000);
    late.done(); // half-closed a second late: not cut
    advance(999 - MIN_RATE_AGE_MS);
    guard.sweep();
    expect(cuts).toEqual([]);
    advance(1);
    guard.sweep();
    expect(cuts).toEqual(['stalled: OTLP_TOO_SLOW']);
    expect(guard.size).toBe(0);
  });

  it('lets a whole message that does not half-close give way as stalled, and bounds it by the body timeout when the rate rules are off', () => {
    const { guard, cuts, watch, advance } = guarded();
    const stalled = watch('stalled');
    stalled.progress(10);
    stalled.whole();
    advance(STALL_PREEMPT_MS);
    expect(guard.preemptSlowest()).toBe(true);
    expect(cuts).toEqual(['stalled: OTLP_TOO_SLOW']);
    let now = 0;
    const messages: string[] = [];
    const unruled = new ReceiveGuard({
      minBytesPerSecond: 0,
      retryAfterSeconds: 3,
      graceMs: 2000,
      timeoutMs: 5000,
      clock: () => now,
    });
    const entry = unruled.watch((error) => messages.push(error.message));
    entry.progress(10);
    entry.whole();
    now = 5000;
    unruled.sweep();
    expect(messages).toEqual([]);
    now = 5001;
    unruled.sweep();
    expect(messages).toEqual([
      'its message arrived whole but the sender did not half-close (END_STREAM) within 5000 ms of its start (otlp.bodyTimeoutMs); retry later',
    ]);
    unruled.stop();
  });

  it('lets admission take a slot from an idle receiver when none is free', () => {
    const { guard, advance } = guarded();
    const a = admission(1000, 1);
    const held = lease(a);
    const w = guard.watch(() => held.release());
    w.progress(1);
    a.setRelief(() => guard.preemptSlowest());
    advance(MIN_RATE_AGE_MS);
    expect(a.admit()).toBeInstanceOf(IngestLease);
  });
});

describe('Admission and the guard together', () => {
  it('gives back a charge whose own request was cut to make room for it', () => {
    let now = 0;
    const a = admission(100, 4);
    const guard = new ReceiveGuard({
      minBytesPerSecond: 1000,
      retryAfterSeconds: 3,
      graceMs: 1e9,
      timeoutMs: 1e9,
      clock: () => now,
    });
    a.setRelief(() => guard.preemptSlowest());
    const self = lease(a);
    self.grow(80);
    guard.watch(() => self.release()).progress(1);
    now += MIN_RATE_AGE_MS;
    expect(self.grow(50)).toBe(false);
    expect(a.bytesHeld).toBe(0);
  });
});
