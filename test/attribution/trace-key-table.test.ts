import { describe, expect, it } from 'vitest';
import { CorrelationBuffer, KeyBytes } from '../../src/attribution/correlation-buffer.js';
import {
  NO_SLOT,
  TraceKeyTable,
  parseTraceId,
  parsedTraceIdHash,
} from '../../src/attribution/trace-key-table.js';
import { pendingSpan as span, seeded } from '../support/arm-spans.js';

const SEED = 0x2545f491;

/** A random trace id as the decoder writes it (32 lowercase hex characters). */
function traceIdFrom(random: () => number): string {
  let hex = '';
  for (let i = 0; i < 4; i++)
    hex += Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return hex;
}

/** `count` distinct ids whose home position in an index of `indexSize` is `home` (found by trying ids). */
function idsAtHome(count: number, indexSize: number, home: number, random: () => number): string[] {
  const found: string[] = [];
  while (found.length < count) {
    const id = traceIdFrom(random);
    parseTraceId(id);
    if ((parsedTraceIdHash(SEED) & (indexSize - 1)) === home && !found.includes(id)) found.push(id);
  }
  return found;
}

function slotOf(table: TraceKeyTable, id: string): number {
  expect(parseTraceId(id)).toBe(true);
  return table.find();
}

function insert(table: TraceKeyTable, id: string, variant: string, nowMs: number, seq: number): number {
  expect(parseTraceId(id)).toBe(true);
  expect(table.find()).toBe(NO_SLOT);
  return table.insert(variant, nowMs, seq);
}

/** The ids' variants from the oldest touched to the newest, walking the table's order. */
function inOrder(table: TraceKeyTable): number[] {
  const slots: number[] = [];
  for (let slot = table.oldest(); slot !== NO_SLOT; slot = table.newerThan(slot)) slots.push(slot);
  return slots;
}

describe('parseTraceId', () => {
  it('takes 32 lowercase hex characters only', () => {
    expect(parseTraceId('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(parseTraceId('ffffffffffffffffffffffffffffffff')).toBe(true);
    expect(parseTraceId('0123456789ABCDEF0123456789abcdef')).toBe(false); // uppercase: another text
    expect(parseTraceId('0123456789abcdef0123456789abcde')).toBe(false);
    expect(parseTraceId('0123456789abcdef0123456789abcdeg')).toBe(false);
    expect(parseTraceId('0123456789abcdef0123456789abcd\u00e9f')).toBe(false);
    expect(parseTraceId('session-1')).toBe(false);
  });

  it('answers a key read again, and a key after another or after a rejected text, as a first read does', () => {
    const random = seeded(11);
    const ids = Array.from({ length: 4 }, () => traceIdFrom(random));
    const hashOf = (id: string, seed: number): number => {
      expect(parseTraceId(id)).toBe(true);
      return parsedTraceIdHash(seed);
    };
    const first = ids.map((id) => [hashOf(id, SEED), hashOf(id, SEED + 1)]);
    // A rejected 32-character text stops after writing some words (here ids[1]'s first three, read before id 0
    // again); the ids read next are read whole again.
    const rejected = `${ids[1].slice(0, 24)}zzzzzzzz`;
    const reads: (string | number)[] = [0, 0, 1, 0, rejected, 0, 2, 'session-1', 2, 3, 3, 1];
    for (const read of reads) {
      if (typeof read === 'string') {
        expect(parseTraceId(read)).toBe(false);
        continue;
      }
      // One seed, another, the first again: each hash is the one the id's first read gave.
      expect(hashOf(ids[read], SEED)).toBe(first[read][0]);
      expect(hashOf(ids[read], SEED + 1)).toBe(first[read][1]);
      expect(parsedTraceIdHash(SEED)).toBe(first[read][0]);
    }
    // Two tables (two seeds) hold the same ids: each finds every id in its own slot however reads interleave.
    const tables = [new TraceKeyTable(SEED), new TraceKeyTable(SEED + 1)];
    const slots = tables.map((table) => ids.map((id, i) => insert(table, id, `v${i}`, i, i)));
    for (const i of [0, 0, 1, 1, 3, 2, 2, 0]) {
      tables.forEach((table, t) => expect(slotOf(table, ids[i])).toBe(slots[t][i]));
      expect(slotOf(tables[1], ids[i])).toBe(slots[1][i]);
    }
  });

  it('finds an id read again after a rejected text overwrote some of its words', () => {
    const a = '0123456789abcdef0123456789abcdef';
    const b = 'fedcba9876543210fedcba9876543210';
    const table = new TraceKeyTable(7);
    expect(parseTraceId(a)).toBe(true);
    const hashOfA = parsedTraceIdHash(7);
    const slot = table.insert('on', 0, 0);
    expect(parseTraceId(`${b.slice(0, 24)}zzzzzzzz`)).toBe(false);
    // A cache that kept `a` as the key last read would answer true with b's first three words in `words`.
    expect(parseTraceId(a)).toBe(true);
    expect(parsedTraceIdHash(7)).toBe(hashOfA);
    expect(table.find()).toBe(slot);
  });
});

describe('TraceKeyTable', () => {
  it('finds ids that share a home position, across the end of the index, and after removals', () => {
    const random = seeded(7);
    const table = new TraceKeyTable(SEED);
    // The first insertion sizes the pool at 64 slots, the index at 128 positions: home 126 wraps after 2.
    const colliding = idsAtHome(6, 128, 126, random);
    colliding.forEach((id, i) => insert(table, id, `v${i}`, i, i));
    colliding.forEach((id, i) => expect(table.variantOf(slotOf(table, id))).toBe(`v${i}`));
    // Removing from the middle of the run shifts the later ones back: all stay findable, none twice.
    table.remove(slotOf(table, colliding[1]));
    table.remove(slotOf(table, colliding[3]));
    expect(slotOf(table, colliding[1])).toBe(NO_SLOT);
    expect(slotOf(table, colliding[3])).toBe(NO_SLOT);
    for (const i of [0, 2, 4, 5]) expect(table.variantOf(slotOf(table, colliding[i]))).toBe(`v${i}`);
    expect(table.size).toBe(4);
    // Ids that land in the run's positions but have other homes are found too.
    const neighbours = idsAtHome(3, 128, 127, random);
    neighbours.forEach((id, i) => insert(table, id, `n${i}`, 10, 10 + i));
    table.remove(slotOf(table, colliding[0]));
    for (const i of [2, 4, 5]) expect(table.variantOf(slotOf(table, colliding[i]))).toBe(`v${i}`);
    neighbours.forEach((id, i) => expect(table.variantOf(slotOf(table, id))).toBe(`n${i}`));
  });

  it('agrees with a Map over random inserts, touches and removals, growing past its first size', () => {
    const random = seeded(11);
    const table = new TraceKeyTable(SEED);
    const model = new Map<string, { variant: string; touched: number }>();
    const ids = Array.from({ length: 400 }, () => traceIdFrom(random));
    for (let step = 0; step < 20_000; step++) {
      const id = ids[Math.floor(random() * ids.length)];
      const slot = slotOf(table, id);
      const expected = model.get(id);
      expect(slot === NO_SLOT).toBe(expected === undefined);
      if (expected === undefined) {
        const variant = random() < 0.5 ? 'on' : 'off';
        insert(table, id, variant, step, step);
        model.set(id, { variant, touched: step });
      } else if (random() < 0.5) {
        expect(table.variantOf(slot)).toBe(expected.variant);
        table.touch(slot, step, step);
        model.delete(id);
        model.set(id, { variant: expected.variant, touched: step });
      } else {
        table.remove(slot);
        model.delete(id);
      }
      expect(table.size).toBe(model.size);
    }
    // The touch order is the Map's insertion order.
    expect(inOrder(table).map((slot) => table.touchedAtMs(slot))).toEqual(
      [...model.values()].map((entry) => entry.touched),
    );
  });

  it('keeps the order of touches, oldest first, and reuses freed slots without growing', () => {
    const table = new TraceKeyTable(SEED);
    const random = seeded(3);
    const ids = Array.from({ length: 64 }, () => traceIdFrom(random));
    ids.forEach((id, i) => insert(table, id, 'on', i, i));
    table.touch(slotOf(table, ids[0]), 100, 100);
    expect(table.touchedAtMs(table.oldest())).toBe(1);
    expect(inOrder(table).map((slot) => table.seqOf(slot))).toEqual([
      ...Array.from({ length: 63 }, (_, i) => i + 1),
      100,
    ]);
    // A full pool with churn (one out, one in) stays at its capacity: the freed slot is taken again.
    const capacity = table.capacity;
    for (let i = 0; i < 1_000; i++) {
      table.remove(table.oldest());
      insert(table, traceIdFrom(random), 'off', 200 + i, 200 + i);
    }
    expect(table.size).toBe(64);
    expect(table.capacity).toBe(capacity);
  });

  it('gives the arrays of a burst back once most of it is gone, keeping the order and every id findable', () => {
    const table = new TraceKeyTable(SEED);
    const random = seeded(17);
    const ids = Array.from({ length: 5_000 }, () => traceIdFrom(random));
    ids.forEach((id, i) => insert(table, id, i % 3 === 0 ? 'on' : 'off', i, i));
    expect(table.capacity).toBe(8_192);
    for (let i = 0; i < 4_900; i++) table.remove(table.oldest());
    table.markConflicting(slotOf(table, ids[4_950]));
    table.shrinkIfSparse();
    expect(table.capacity).toBe(256); // 100 entries: at most half of it used
    expect(table.size).toBe(100);
    expect(inOrder(table).map((slot) => table.seqOf(slot))).toEqual(
      Array.from({ length: 100 }, (_, i) => 4_900 + i),
    );
    ids.slice(4_900).forEach((id, i) => {
      const slot = slotOf(table, id);
      expect(table.variantOf(slot)).toBe((4_900 + i) % 3 === 0 ? 'on' : 'off');
      expect(table.isConflicting(slot)).toBe(i === 50);
    });
    expect(slotOf(table, ids[0])).toBe(NO_SLOT);
    // It grows again from there as before.
    ids.slice(0, 1_000).forEach((id, i) => insert(table, id, 'on', 10_000 + i, 10_000 + i));
    expect(table.size).toBe(1_100);
    expect(table.capacity).toBe(2_048);
    table.shrinkIfSparse(); // more than a quarter used: unchanged
    expect(table.capacity).toBe(2_048);
  });

  it('holds each variant text once and forgets texts no entry uses', () => {
    const table = new TraceKeyTable(SEED);
    const random = seeded(5);
    const a = traceIdFrom(random);
    const b = traceIdFrom(random);
    insert(table, a, 'x'.repeat(200), 0, 0);
    insert(table, b, 'x'.repeat(200), 0, 1);
    expect(table.distinctVariants).toBe(1);
    table.markConflicting(slotOf(table, a));
    expect(table.isConflicting(slotOf(table, a))).toBe(true);
    expect(table.isConflicting(slotOf(table, b))).toBe(false);
    table.remove(slotOf(table, a));
    table.remove(slotOf(table, b));
    expect(table.distinctVariants).toBe(0);
    // A slot taken again starts not conflicting.
    insert(table, a, 'on', 1, 2);
    expect(table.isConflicting(slotOf(table, a))).toBe(false);
  });
});

const TRACE_A = '0af7651916cd43dd8448eb211c80319c';
const TRACE_B = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_C = '5b8efff798038103d269b633813fc60c';

describe('CorrelationBuffer with trace-id keys', () => {
  it('learns, releases and marks conflicts as with any key', () => {
    const totals = { pendingSpans: 0, knownKeys: 0 };
    const b = new CorrelationBuffer(1_000, totals);
    b.park(TRACE_A, span(1), 0);
    expect(b.learn(TRACE_A, 'on', 10)).toEqual({ conflictStarted: false, hasPending: true });
    expect(b.learn(TRACE_A, 'off', 10)).toEqual({ conflictStarted: true, hasPending: true });
    expect(b.learn(TRACE_A, 'x', 10)).toEqual({ conflictStarted: false, hasPending: true });
    expect(b.release(TRACE_A)).toEqual({ variant: null, spans: [span(1)] });
    expect(b.learn(TRACE_B, 'on', 10)).toEqual({ conflictStarted: false, hasPending: false });
    expect(b.lookup(TRACE_B, 10)).toBe('on');
    expect(b.lookup(TRACE_A, 10)).toBeNull();
    expect(b.lookup(TRACE_C, 10)).toBeUndefined();
    expect(totals).toEqual({ pendingSpans: 0, knownKeys: 2 });
    expect(b.knownKeys).toBe(2);
  });

  it('expires and evicts trace ids and other keys in one order, oldest touched first', () => {
    const totals = { pendingSpans: 0, knownKeys: 0 };
    const b = new CorrelationBuffer(1_000, totals);
    b.learn(TRACE_A, 'on', 0);
    b.learn('session-1', 'on', 0);
    b.learn(TRACE_B, 'off', 0);
    b.learn('session-2', 'off', 100);
    b.lookup(TRACE_A, 300); // refreshed (older than a quarter of the window): now the newest
    expect(b.oldestKnownTouchedAtMs()).toBe(0);
    expect(b.evictOldestKnown()).toBe(true); // session-1
    expect(b.lookup('session-1', 300)).toBeUndefined();
    expect(b.expire(1_000)).toEqual({ unattributedSpans: 0, expiredKeys: 1 }); // TRACE_B
    expect(b.lookup(TRACE_B, 1_000)).toBeUndefined();
    expect(b.oldestKnownTouchedAtMs()).toBe(100);
    expect(b.expire(1_299)).toEqual({ unattributedSpans: 0, expiredKeys: 1 }); // session-2
    expect(b.lookup(TRACE_A, 1_299)).toBe('on');
    expect(totals.knownKeys).toBe(1);
    expect(b.expire(2_299)).toEqual({ unattributedSpans: 0, expiredKeys: 1 }); // TRACE_A, refreshed at 1_299
    expect(totals.knownKeys).toBe(0);
    expect(b.heldBytes).toBe(0);
  });

  it('counts every byte-budget eviction and never evicts the key just added', () => {
    const evicted: Array<[string, number]> = [];
    const totals = { pendingSpans: 0, knownKeys: 0 };
    // One trace-id entry with a 2-character variant is charged 2 * (32 + 2) + 120 = 188 bytes.
    const bytes = new KeyBytes(188 * 3);
    const b = new CorrelationBuffer(10_000, totals, bytes, (store, n) => evicted.push([store, n]));
    const random = seeded(9);
    const ids = Array.from({ length: 10 }, () => traceIdFrom(random));
    ids.forEach((id, i) => b.learn(id, 'on', i));
    expect(totals.knownKeys).toBe(3);
    expect(bytes.used).toBe(188 * 3);
    expect(evicted).toEqual(Array.from({ length: 7 }, () => ['correlation_keys', 1]));
    for (const id of ids.slice(0, 7)) expect(b.lookup(id, 10)).toBeUndefined();
    for (const id of ids.slice(7)) expect(b.lookup(id, 10)).toBe('on');
    // A pending group (charged 2 * 32 + 120 = 184 bytes) past the budget gives up known keys first, then older groups, each counted.
    b.park(ids[0], span(1), 11);
    b.park(ids[0], span(2), 11);
    expect(evicted.slice(7)).toEqual([['correlation_keys', 1]]);
    const evictedBefore = evicted.length;
    b.park(ids[1], span(3), 12);
    b.park(ids[2], span(4), 12);
    b.park(ids[3], span(5), 13); // no known key left: the oldest other group goes, its 2 spans counted
    expect(evicted.slice(evictedBefore)).toEqual([
      ['correlation_keys', 1],
      ['correlation_keys', 1],
      ['pending_spans', 2],
    ]);
    expect(totals).toEqual({ pendingSpans: 3, knownKeys: 0 });
    expect(bytes.used).toBeLessThanOrEqual(bytes.max);
  });

  it('stays bounded under churn and gives everything back on clear', () => {
    const totals = { pendingSpans: 0, knownKeys: 0 };
    const bytes = new KeyBytes();
    const b = new CorrelationBuffer(1_000, totals, bytes);
    const random = seeded(13);
    let expired = 0;
    for (let ms = 0; ms < 20_000; ms += 10) {
      expired += b.expire(ms).expiredKeys;
      for (let i = 0; i < 5; i++) b.learn(traceIdFrom(random), random() < 0.5 ? 'on' : 'off', ms);
    }
    // A 1 s window at 500 keys/s holds about 500 keys; every other key has been expired and counted.
    expect(totals.knownKeys).toBeLessThanOrEqual(505);
    expect(expired + totals.knownKeys).toBe(10_000);
    b.park(TRACE_C, span(1), 20_000);
    expect(b.clear()).toBe(1);
    expect(totals).toEqual({ pendingSpans: 0, knownKeys: 0 });
    expect(bytes.used).toBe(0);
    expect(b.knownKeys).toBe(0);
  });
});
