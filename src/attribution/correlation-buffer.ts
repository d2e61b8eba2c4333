// The correlation join of one analysis (ARCHITECTURE.md, Attribution and correlation): variants learned
// per correlation key (trace id, or an attribute such as session.id), and the spans that wait for theirs.
//
// Both maps are Maps used in insertion order: a pending group is inserted once when its first span
// arrives, a known variant is re-inserted when refreshed, so the oldest entry is always first and
// closing windows or evicting is O(1) per entry. Pending and known keys are disjoint between requests:
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

export interface KnownVariant {
  /** The variant learned first; meaningless once `conflicting`. */
  variant: string;
  /** Two different variants were seen for this key: its spans are left out. */
  conflicting: boolean;
  touchedAtMs: number;
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

const NOTHING_EXPIRED: Readonly<ExpiryCounts> = Object.freeze({ unattributedSpans: 0, expiredKeys: 0 });

export class CorrelationBuffer {
  private readonly pending = new Map<string, PendingGroup>();
  private readonly known = new Map<string, KnownVariant>();
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
    return this.known.size;
  }

  /** The key's known variant, refreshing its retention (so an active trace is remembered). */
  lookup(rawKey: string, nowMs: number): KnownVariant | undefined {
    const key = storedText(rawKey, MAX_STORED_KEY_CHARS);
    const entry = this.known.get(key);
    if (entry && nowMs - entry.touchedAtMs >= this.refreshAfterMs) {
      this.known.delete(key);
      entry.touchedAtMs = nowMs;
      this.known.set(key, entry);
    }
    return entry;
  }

  /**
   * Records that `key` showed `variant`. Waiting spans are not released here but by release(), after
   * every record of the request is learned: a request that shows both variants of a key (one span
   * evaluating the flag twice) must release its spans as conflicting, not to the first variant.
   */
  learn(rawKey: string, rawVariant: string, nowMs: number): LearnResult {
    const key = storedText(rawKey, MAX_STORED_KEY_CHARS);
    const variant = storedText(rawVariant, MAX_STORED_VARIANT_CHARS);
    const hasPending = this.pending.has(key);
    const entry = this.lookup(key, nowMs);
    if (entry) {
      if (entry.conflicting || entry.variant === variant) return { conflictStarted: false, hasPending };
      entry.conflicting = true;
      return { conflictStarted: true, hasPending };
    }
    this.known.set(key, { variant, conflicting: false, touchedAtMs: nowMs });
    this.totals.knownKeys += 1;
    this.addBytes(knownBytes(key, variant));
    this.keepWithinBytes(key);
    return { conflictStarted: false, hasPending };
  }

  /** Hands out the spans waiting for `key` now that its variant (or its conflict) is known. */
  release(rawKey: string): Released | undefined {
    const key = storedText(rawKey, MAX_STORED_KEY_CHARS);
    const group = this.pending.get(key);
    const entry = this.known.get(key);
    if (!group || !entry) return undefined;
    this.dropGroup(key, group);
    return { variant: entry.conflicting ? null : entry.variant, spans: group.spans };
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
    if (!group) this.keepWithinBytes(key);
  }

  /**
   * Closes windows: pending groups older than the window become unattributed; idle keys are forgotten.
   * Attribution calls this for every routed analysis on every export request, so an empty buffer (most of
   * them when many analyses run and few match the traffic) answers without allocating anything: with 1 000
   * analyses the counts object and two Map iterators per analysis were ~5% of the sidecar's CPU.
   */
  expire(nowMs: number): Readonly<ExpiryCounts> {
    if (this.pending.size === 0 && this.known.size === 0) return NOTHING_EXPIRED;
    const counts: ExpiryCounts = { unattributedSpans: 0, expiredKeys: 0 };
    for (const [key, group] of this.pending) {
      if (nowMs - group.createdAtMs < this.windowMs) break;
      this.dropGroup(key, group);
      counts.unattributedSpans += group.spans.length;
    }
    for (const [key, entry] of this.known) {
      if (nowMs - entry.touchedAtMs < this.windowMs) break;
      this.dropKnown(key, entry);
      counts.expiredKeys += 1;
    }
    return counts;
  }

  oldestPendingCreatedAtMs(): number | undefined {
    for (const group of this.pending.values()) return group.createdAtMs;
    return undefined;
  }

  oldestKnownTouchedAtMs(): number | undefined {
    for (const entry of this.known.values()) return entry.touchedAtMs;
    return undefined;
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
    for (const [key, entry] of this.known) {
      this.dropKnown(key, entry);
      return true;
    }
    return false;
  }

  /** Drops everything (analysis removed); returns the pending spans that were waiting. */
  clear(): number {
    const spans = this.pendingSpanCount;
    this.totals.pendingSpans -= spans;
    this.totals.knownKeys -= this.known.size;
    this.pending.clear();
    this.known.clear();
    this.pendingSpanCount = 0;
    this.addBytes(-this.held);
    return spans;
  }

  private dropGroup(key: string, group: PendingGroup): void {
    this.pending.delete(key);
    this.pendingSpanCount -= group.spans.length;
    this.totals.pendingSpans -= group.spans.length;
    this.addBytes(-pendingBytes(key));
  }

  private dropKnown(key: string, entry: KnownVariant): void {
    this.known.delete(key);
    this.totals.knownKeys -= 1;
    this.addBytes(-knownBytes(key, entry.variant));
  }

  private addBytes(delta: number): void {
    this.held += delta;
    this.bytes.used += delta;
  }

  /**
   * Past the shared byte budget, gives up this buffer's least recently used known keys, then its oldest
   * pending groups, never the entry just added (`keep`). Each pass removes one entry, so at most
   * (known + pending) passes.
   */
  private keepWithinBytes(keep: string): void {
    while (this.bytes.used > this.bytes.max) {
      const known = this.oldestOther(this.known.keys(), keep);
      if (known !== undefined) {
        this.dropKnown(known, this.known.get(known)!);
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

function knownBytes(key: string, variant: string): number {
  return 2 * (key.length + variant.length) + ENTRY_OVERHEAD_BYTES;
}

function pendingBytes(key: string): number {
  return 2 * key.length + ENTRY_OVERHEAD_BYTES;
}
