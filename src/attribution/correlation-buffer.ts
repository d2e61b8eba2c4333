// The correlation join of one analysis (ARCHITECTURE.md, Attribution and correlation): variants learned
// per correlation key (trace id, or an attribute such as session.id), and the spans that wait for theirs.
//
// Pending groups are a Map used in insertion order: a group is inserted once when its first span arrives, so
// the oldest is always first and closing windows or evicting is O(1) per entry. Known variants are kept in two
// stores: keys that are trace ids (32 lowercase hex characters, the default join and by far the most keys) in
// a typed-array hash table (trace-key-table.ts), others (attribute values) in a Map. A known key lives for its
// window (10 s), longer than the ~2 s between young-generation collections at 5k spans/s, so as Map entries
// every key string and record was promoted and died in the old generation (~190 KB a collection; RSS climbed
// from 84 to ~120 MB between major collections, docs/performance-notes.md, footprint); the table holds none on
// the V8 heap. Both stores keep their entries in touch order (a refreshed entry moves to the back), and a
// sequence number on each entry merges the two, so expiry and eviction take the least recently touched key
// first, as one Map in insertion order did. Byte accounting is unchanged: a trace-id entry is charged as the
// Map entry it replaces (its 32 characters as UTF-16 plus the overhead), so the budget evicts exactly as before.
// Pending and known keys are disjoint between requests:
// a key's pending spans are released in the request that teaches its variant. Pending entries are the spans'
// observations (time, duration, error), never the decoded spans.

//
// Memory is bounded in bytes as well as in entries (issue 9, case 7: 20,000 session keys of 20 KB took
// ~580 MB). A key longer than MAX_STORED_KEY_CHARS, or a variant longer than MAX_STORED_VARIANT_CHARS, is
// stored as its SHA-256 digest (base64url, 44 characters), so one entry costs a bounded number of bytes
// whatever the sender puts in an attribute; equal texts still give equal digests, so joins are unchanged
// (a variant that long can never equal a baseline or canary value, which are at most 256 characters).
// All analyses' keys share one byte budget (KeyBytes); past it, the analysis adding an entry gives up its
// own least recently used known key, then its oldest pending group, each eviction counted.
import { createHash } from 'node:crypto';
import type { SpanObservation } from '../accumulate/observation.js';
import { NO_SLOT, TRACE_ID_HEX_CHARS, TraceKeyTable, parseTraceId } from './trace-key-table.js';

/** Longest key kept as is (a trace id is 32); longer ones are kept as their digest. */
export const MAX_STORED_KEY_CHARS = 128;
/** Longest variant kept as is (the longest baseline/canary value the config accepts). */
export const MAX_STORED_VARIANT_CHARS = 256;
/** Estimated bytes of one Map entry and its record beyond the strings (V8, 64-bit). */
const ENTRY_OVERHEAD_BYTES = 120;

/** A text as stored: itself when short enough, else `#` and its SHA-256 digest. */
export function storedText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `#${createHash('sha256').update(text).digest('base64url')}`;
}

/** Bytes of correlation keys and variants held by every analysis together, against a limit. */
export class KeyBytes {
  used = 0;
  constructor(readonly max: number = Infinity) {}
}

/** Called when the byte budget evicts: a known key forgotten, or a pending group's spans dropped. */
export type ByteEviction = (store: 'correlation_keys' | 'pending_spans', count: number) => void;

/** A judged span waiting for its variant: its observation, whose arm is set on release. */
export type PendingSpan = SpanObservation;

interface PendingGroup {
  createdAtMs: number;
  spans: PendingSpan[];
}

/** A known key kept in the Map (keys that are not trace ids): its variant and its place in the touch order. */
interface KnownRecord {
  /** The variant learned first; meaningless once `conflicting`. */
  variant: string;
  /** Two different variants were seen for this key: its spans are left out. */
  conflicting: boolean;
  touchedAtMs: number;
  /** Orders it among both stores' entries (CorrelationBuffer.seq). */
  seq: number;
}

/** Pending spans and known keys of all analyses together, so limits are global. */
export interface CorrelationTotals {
  pendingSpans: number;
  knownKeys: number;
}

export interface LearnResult {
  /** True the first time this key turns conflicting. */
  conflictStarted: boolean;
  /** Spans wait for this key: call release() once the request's records are all learned. */
  hasPending: boolean;
}

export interface Released {
  /** The key's variant, or null when the key is conflicting (its spans are left out). */
  variant: string | null;
  spans: PendingSpan[];
}

export interface ExpiryCounts {
  unattributedSpans: number;
  expiredKeys: number;
}

// Not frozen: a frozen object has another hidden class than the counts `expire` makes, and the caller
// (AttributionPipeline.expireAt, inlined into acceptSpans) was compiled seeing only this one while no key
// had expired yet, so the first expiry, a window into the load, deoptimized acceptSpans ("wrong map").
const NOTHING_EXPIRED: Readonly<ExpiryCounts> = { unattributedSpans: 0, expiredKeys: 0 };

// LearnResult answers are constants: learn runs for every span that teaches a variant.
const LEARNED = Object.freeze({ conflictStarted: false, hasPending: false });
const LEARNED_PENDING = Object.freeze({ conflictStarted: false, hasPending: true });
const CONFLICT_STARTED = Object.freeze({ conflictStarted: true, hasPending: false });
const CONFLICT_STARTED_PENDING = Object.freeze({ conflictStarted: true, hasPending: true });

function learned(conflictStarted: boolean, hasPending: boolean): LearnResult {
  if (conflictStarted) return hasPending ? CONFLICT_STARTED_PENDING : CONFLICT_STARTED;
  return hasPending ? LEARNED_PENDING : LEARNED;
}

export class CorrelationBuffer {
  private readonly pending = new Map<string, PendingGroup>();
  /** Known keys that are not trace ids (attribute values such as session.id). */
  private readonly known = new Map<string, KnownRecord>();
  /** Known keys that are trace ids (trace-key-table.ts): no heap object per key. */
  private readonly traces = new TraceKeyTable();
  /** Orders known entries of both stores by when they were added or last refreshed. */
  private seq = 0;
  private pendingSpanCount = 0;
  /** A known entry is refreshed (moved to the back) when older than this, so hot keys stay cheap. */
  private readonly refreshAfterMs: number;

  constructor(
    readonly windowMs: number,
    private readonly totals: CorrelationTotals,
    private readonly bytes: KeyBytes = new KeyBytes(),
    private readonly onByteEviction: ByteEviction = () => undefined,
  ) {
    this.refreshAfterMs = Math.max(1, Math.floor(windowMs / 4));
  }

  /** Bytes this buffer holds in keys and variants (estimated, UTF-16). */
  get heldBytes(): number {
    return this.held;
  }

  private held = 0;

  get pendingSpans(): number {
    return this.pendingSpanCount;
  }

  get knownKeys(): number {
    return this.known.size + this.traces.size;
  }

  /**
   * The key's known variant (null when the key is conflicting, undefined when it is not known), refreshing its
   * retention (so an active trace is remembered). A text rather than a record: a trace-id key has no record
   * on the heap, and this runs for every judged span with a key.
   */
  lookup(rawKey: string, nowMs: number): string | null | undefined {
    const key = storedText(rawKey, MAX_STORED_KEY_CHARS);
    if (parseTraceId(key)) {
      const slot = this.traces.find();
      if (slot === NO_SLOT) return undefined;
      this.refreshSlot(slot, nowMs);
      return this.traces.isConflicting(slot) ? null : this.traces.variantOf(slot);
    }
    const entry = this.lookupRecord(key, nowMs);
    if (entry === undefined) return undefined;
    return entry.conflicting ? null : entry.variant;
  }

  /**
   * Records that `key` showed `variant`. Waiting spans are not released here but by release(), after
   * every record of the request is learned: a request that shows both variants of a key (one span
   * evaluating the flag twice) must release its spans as conflicting, not to the first variant.
   */
  learn(rawKey: string, rawVariant: string, nowMs: number): LearnResult {
    const key = storedText(rawKey, MAX_STORED_KEY_CHARS);
    const variant = storedText(rawVariant, MAX_STORED_VARIANT_CHARS);
    // Most requests teach a key no span waits for: with nothing pending, no lookup (it would hash the key).
    const hasPending = this.pending.size > 0 && this.pending.has(key);
    if (parseTraceId(key)) {
      const { traces } = this;
      const slot = traces.find();
      if (slot !== NO_SLOT) {
        this.refreshSlot(slot, nowMs);
        if (traces.isConflicting(slot) || traces.variantOf(slot) === variant)
          return learned(false, hasPending);
        traces.markConflicting(slot);
        return learned(true, hasPending);
      }
      const added = traces.insert(variant, nowMs, this.seq++);
      this.addKnown(knownBytes(key, variant));
      this.keepWithinBytes(key, added);
      return learned(false, hasPending);
    }
    const entry = this.lookupRecord(key, nowMs);
    if (entry) {
      if (entry.conflicting || entry.variant === variant) return learned(false, hasPending);
      entry.conflicting = true;
      return learned(true, hasPending);
    }
    this.known.set(key, { variant, conflicting: false, touchedAtMs: nowMs, seq: this.seq++ });
    this.addKnown(knownBytes(key, variant));
    this.keepWithinBytes(key, NO_SLOT);
    return learned(false, hasPending);
  }

  /** Hands out the spans waiting for `key` now that its variant (or its conflict) is known. */
  release(rawKey: string): Released | undefined {
    const key = storedText(rawKey, MAX_STORED_KEY_CHARS);
    const group = this.pending.get(key);
    if (!group) return undefined;
    let variant: string | null;
    if (parseTraceId(key)) {
      const slot = this.traces.find();
      if (slot === NO_SLOT) return undefined;
      variant = this.traces.isConflicting(slot) ? null : this.traces.variantOf(slot);
    } else {
      const entry = this.known.get(key);
      if (!entry) return undefined;
      variant = entry.conflicting ? null : entry.variant;
    }
    this.dropGroup(key, group);
    return { variant, spans: group.spans };
  }

  /** Parks a span until its key's variant arrives or the window closes. */
  park(rawKey: string, span: PendingSpan, nowMs: number): void {
    const key = storedText(rawKey, MAX_STORED_KEY_CHARS);
    const group = this.pending.get(key);
    // A literal of one: most keys wait with one span, and push() on [] reserves room for 17.
    if (group) group.spans.push(span);
    else {
      this.pending.set(key, { createdAtMs: nowMs, spans: [span] });
      this.addBytes(pendingBytes(key));
    }
    this.pendingSpanCount += 1;
    this.totals.pendingSpans += 1;
    if (!group) this.keepWithinBytes(key, parseTraceId(key) ? this.traces.find() : NO_SLOT);
  }

  /**
   * Closes windows: pending groups older than the window become unattributed; idle keys are forgotten.
   * Attribution calls this for every routed analysis on every export request, so an empty buffer (most of
   * them when many analyses run and few match the traffic) answers without allocating anything: with 1 000
   * analyses the counts object and two Map iterators per analysis were ~5% of the sidecar's CPU.
   */
  expire(nowMs: number): Readonly<ExpiryCounts> {
    if (this.pending.size === 0 && this.known.size === 0 && this.traces.size === 0) return NOTHING_EXPIRED;
    let unattributedSpans = 0;
    let expiredKeys = 0;
    if (this.pending.size > 0) {
      for (const [key, group] of this.pending) {
        if (nowMs - group.createdAtMs < this.windowMs) break;
        this.dropGroup(key, group);
        unattributedSpans += group.spans.length;
      }
    }
    // Oldest first across both stores (by seq), as one Map in touch order would give them.
    const { traces } = this;
    let slot = traces.oldest();
    const records = this.known.size > 0 ? this.known.entries() : undefined;
    let record = records?.next();
    for (;;) {
      const entry = record !== undefined && record.done !== true ? record.value : undefined;
      if (slot !== NO_SLOT && (entry === undefined || traces.seqOf(slot) < entry[1].seq)) {
        if (nowMs - traces.touchedAtMs(slot) < this.windowMs) break;
        const newer = traces.newerThan(slot);
        this.dropSlot(slot);
        expiredKeys += 1;
        slot = newer;
      } else if (entry !== undefined) {
        if (nowMs - entry[1].touchedAtMs < this.windowMs) break;
        this.dropKnown(entry[0], entry[1]);
        expiredKeys += 1;
        record = records!.next();
      } else break;
    }
    // A burst's arrays go once its keys have expired (no slot is held past this point).
    if (expiredKeys > 0) traces.shrinkIfSparse();
    if (unattributedSpans === 0 && expiredKeys === 0) return NOTHING_EXPIRED;
    return { unattributedSpans, expiredKeys };
  }

  oldestPendingCreatedAtMs(): number | undefined {
    for (const group of this.pending.values()) return group.createdAtMs;
    return undefined;
  }

  oldestKnownTouchedAtMs(): number | undefined {
    const slot = this.traces.oldest();
    const record = this.firstRecord(undefined);
    if (slot !== NO_SLOT && (record === undefined || this.traces.seqOf(slot) < record[1].seq))
      return this.traces.touchedAtMs(slot);
    return record?.[1].touchedAtMs;
  }

  /** Drops the oldest pending group; returns how many spans it held. */
  evictOldestPending(): number {
    for (const [key, group] of this.pending) {
      this.dropGroup(key, group);
      return group.spans.length;
    }
    return 0;
  }

  /** Forgets the least recently used known key; returns whether there was one. */
  evictOldestKnown(): boolean {
    return this.dropOldestKnownOther(undefined, NO_SLOT);
  }

  /** Drops everything (analysis removed); returns the pending spans that were waiting. */
  clear(): number {
    const spans = this.pendingSpanCount;
    this.totals.pendingSpans -= spans;
    this.totals.knownKeys -= this.known.size + this.traces.size;
    this.pending.clear();
    this.known.clear();
    this.traces.clear();
    this.pendingSpanCount = 0;
    this.addBytes(-this.held);
    return spans;
  }

  /** A Map-kept key's record, refreshed (moved to the back) when due. */
  private lookupRecord(key: string, nowMs: number): KnownRecord | undefined {
    const entry = this.known.get(key);
    if (entry && nowMs - entry.touchedAtMs >= this.refreshAfterMs) {
      this.known.delete(key);
      entry.touchedAtMs = nowMs;
      entry.seq = this.seq++;
      this.known.set(key, entry);
    }
    return entry;
  }

  private refreshSlot(slot: number, nowMs: number): void {
    if (nowMs - this.traces.touchedAtMs(slot) >= this.refreshAfterMs)
      this.traces.touch(slot, nowMs, this.seq++);
  }

  /** The oldest Map-kept known key other than `keep`. */
  private firstRecord(keep: string | undefined): [string, KnownRecord] | undefined {
    if (this.known.size === 0) return undefined;
    for (const entry of this.known) if (entry[0] !== keep) return entry;
    return undefined;
  }

  /** Forgets the least recently used known key other than `keep` / `keepSlot`; whether there was one. */
  private dropOldestKnownOther(keep: string | undefined, keepSlot: number): boolean {
    let slot = this.traces.oldest();
    if (slot !== NO_SLOT && slot === keepSlot) slot = this.traces.newerThan(slot);
    const record = this.firstRecord(keep);
    if (slot !== NO_SLOT && (record === undefined || this.traces.seqOf(slot) < record[1].seq)) {
      this.dropSlot(slot);
      return true;
    }
    if (record === undefined) return false;
    this.dropKnown(record[0], record[1]);
    return true;
  }

  private addKnown(bytes: number): void {
    this.totals.knownKeys += 1;
    this.addBytes(bytes);
  }

  private dropGroup(key: string, group: PendingGroup): void {
    this.pending.delete(key);
    this.pendingSpanCount -= group.spans.length;
    this.totals.pendingSpans -= group.spans.length;
    this.addBytes(-pendingBytes(key));
  }

  private dropKnown(key: string, entry: KnownRecord): void {
    this.known.delete(key);
    this.totals.knownKeys -= 1;
    this.addBytes(-knownBytes(key, entry.variant));
  }

  private dropSlot(slot: number): void {
    // Charged as the Map entry it replaces (a 32-character key), so the byte budget evicts as before.
    const bytes = knownBytes(TRACE_ID_TEXT_PLACEHOLDER, this.traces.variantOf(slot));
    this.traces.remove(slot);
    this.totals.knownKeys -= 1;
    this.addBytes(-bytes);
  }

  private addBytes(delta: number): void {
    this.held += delta;
    this.bytes.used += delta;
  }

  /**
   * Past the shared byte budget, gives up this buffer's least recently used known keys, then its oldest
   * pending groups, never the entry just added (`keep`, and `keepSlot` when it is a trace id). Each pass
   * removes one entry, so at most (known + pending) passes.
   */
  private keepWithinBytes(keep: string, keepSlot: number): void {
    while (this.bytes.used > this.bytes.max) {
      if (this.dropOldestKnownOther(keep, keepSlot)) {
        this.onByteEviction('correlation_keys', 1);
        continue;
      }
      const pending = this.oldestOther(this.pending.keys(), keep);
      if (pending === undefined) return;
      const group = this.pending.get(pending)!;
      this.dropGroup(pending, group);
      this.onByteEviction('pending_spans', group.spans.length);
    }
  }

  private oldestOther(keys: IterableIterator<string>, keep: string): string | undefined {
    for (const key of keys) if (key !== keep) return key;
    return undefined;
  }
}

/** Any 32-character text: knownBytes depends on the key's length only. */
const TRACE_ID_TEXT_PLACEHOLDER = ' '.repeat(TRACE_ID_HEX_CHARS);

function knownBytes(key: string, variant: string): number {
  return 2 * (key.length + variant.length) + ENTRY_OVERHEAD_BYTES;
}

function pendingBytes(key: string): number {
  return 2 * key.length + ENTRY_OVERHEAD_BYTES;
}
