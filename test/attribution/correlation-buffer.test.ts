import { describe, expect, it } from 'vitest';
import { CorrelationBuffer } from '../../src/attribution/correlation-buffer.js';
import { pendingSpan as span } from '../support/arm-spans.js';

function buffer(windowMs = 1_000) {
  const totals = { pendingSpans: 0, knownKeys: 0 };
  return { buffer: new CorrelationBuffer(windowMs, totals), totals };
}

describe('CorrelationBuffer', () => {
  it('releases all parked spans of a key when its variant is learned', () => {
    const { buffer: b, totals } = buffer();
    b.park('t1', span(1), 0);
    b.park('t1', span(2), 10);
    b.park('t2', span(3), 10);
    expect(totals.pendingSpans).toBe(3);
    expect(b.learn('t1', 'on', 20)).toEqual({ conflictStarted: false, hasPending: true });
    expect(b.release('t1')).toEqual({ variant: 'on', spans: [span(1), span(2)] });
    expect(b.release('t1')).toBeUndefined();
    expect(totals).toEqual({ pendingSpans: 1, knownKeys: 1 });
  });

  it('marks a key conflicting once, on its second distinct variant', () => {
    const { buffer: b } = buffer();
    expect(b.learn('t', 'on', 0).conflictStarted).toBe(false);
    expect(b.learn('t', 'on', 0).conflictStarted).toBe(false);
    expect(b.learn('t', 'off', 0).conflictStarted).toBe(true);
    expect(b.learn('t', 'x', 0).conflictStarted).toBe(false);
    expect(b.lookup('t', 0)).toBeNull();
  });

  it('releases waiting spans as conflicting when the request showed both variants', () => {
    const { buffer: b } = buffer();
    b.park('t', span(1), 0);
    b.learn('t', 'off', 0);
    expect(b.learn('t', 'on', 0)).toEqual({ conflictStarted: true, hasPending: true });
    expect(b.release('t')).toEqual({ variant: null, spans: [span(1)] });
  });

  it('closes pending windows from the oldest and keeps younger ones', () => {
    const { buffer: b } = buffer();
    b.park('old', span(1), 0);
    b.park('young', span(2), 500);
    expect(b.expire(999)).toEqual({ unattributedSpans: 0, expiredKeys: 0 });
    expect(b.expire(1_000)).toEqual({ unattributedSpans: 1, expiredKeys: 0 });
    expect(b.pendingSpans).toBe(1);
  });

  it('keeps a known key alive while it is being used', () => {
    const { buffer: b } = buffer();
    b.learn('t', 'on', 0);
    b.lookup('t', 900);
    expect(b.expire(1_500).expiredKeys).toBe(0);
    expect(b.expire(1_900).expiredKeys).toBe(1);
  });

  it('evicts the oldest pending group and the least recently used key', () => {
    const { buffer: b, totals } = buffer();
    b.park('a', span(1), 0);
    b.park('a', span(2), 0);
    b.park('b', span(3), 1);
    expect(b.evictOldestPending()).toBe(2);
    b.learn('k1', 'on', 0);
    b.learn('k2', 'on', 1);
    b.lookup('k1', 600);
    expect(b.evictOldestKnown()).toBe(true);
    expect(b.lookup('k1', 600)).toBe('on');
    expect(b.lookup('k2', 600)).toBeUndefined();
    expect(totals).toEqual({ pendingSpans: 1, knownKeys: 1 });
  });
});
