// Handing batches on in slices (src/otlp/slices.ts): small batches pass whole; large ones arrive in order,
// in pieces, with what was handed on released; yielding requests take one turn per event-loop iteration.
// And admission refuses new requests while the event loop runs behind (src/otlp/admission.ts).
import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/otlp/admission.js';
import { IngestError } from '../../src/otlp/errors.js';
import { inSlices, nextTurn } from '../../src/otlp/slices.js';

describe('inSlices', () => {
  it('hands a small batch on whole, as the same array', async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const seen: number[][] = [];
    await inSlices(items, (slice) => seen.push(slice), { payloadBytes: 100 * 500 });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(items);
  });

  it('hands a large batch on in order, in slices, clearing what it handed on', async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ i }));
    const seen: number[] = [];
    let calls = 0;
    await inSlices(
      items,
      (slice) => {
        calls += 1;
        for (const item of slice) seen.push(item.i);
      },
      { payloadBytes: 20_000 * 500 },
    );
    expect(calls).toBeGreaterThan(1);
    expect(seen).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(items.every((item) => item === undefined)).toBe(true);
  });

  it('gives waiting requests their turns in order of arrival, with I/O callbacks able to run between them', async () => {
    const order: string[] = [];
    const turns = ['a', 'b', 'c'].map((name) => nextTurn().then(() => order.push(name)));
    // An immediate queued now runs in the same check phase as the first turn, before the second.
    setImmediate(() => order.push('io'));
    await Promise.all(turns);
    expect(order.filter((entry) => entry !== 'io')).toEqual(['a', 'b', 'c']);
    expect(order.indexOf('io')).toBeLessThan(order.indexOf('c'));
  });
});

describe('admission under a late event loop', () => {
  it('refuses new requests with a retry hint while the loop runs behind the limit, and admits again after', () => {
    let lag = 400;
    const admission = new Admission({
      maxBytes: 1000,
      maxRequests: 10,
      retryAfterSeconds: 1,
      eventLoopLagMs: () => lag,
      maxEventLoopLagMs: 150,
    });
    const refused = admission.admit() as IngestError;
    expect(refused).toBeInstanceOf(IngestError);
    expect(refused.code).toBe('OTLP_OVERLOADED');
    expect(refused.retryAfterSeconds).toBe(1);
    expect(refused.message).toMatch(/otlp\.maxEventLoopDelayMs/);
    lag = 20;
    expect(admission.admit()).not.toBeInstanceOf(IngestError);
  });
});
