// The correlation join of one analysis (ARCHITECTURE.md, Attribution and correlation): variants learned
// per correlation key (trace id, or an attribute such as session.id), and the spans that wait for theirs.
//
// Both maps are Maps used in insertion order: a pending group is inserted once when its first span
// arrives, a known variant is re-inserted when refreshed, so the oldest entry is always first and
// closing windows or evicting is O(1) per entry. Pending and known keys are disjoint between requests:
// a key's pending spans are released in the request that teaches its variant. Pending entries are the spans'
// observations (time, duration, error), never the decoded spans.

import type { SpanObservation } from '../accumulate/observation.js';

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

export class CorrelationBuffer {
  private readonly pending = new Map<string, PendingGroup>();
  private readonly known = new Map<string, KnownVariant>();
  private pendingSpanCount = 0;
  /** A known entry is refreshed (moved to the back) when older than this, so hot keys stay cheap. */
  private readonly refreshAfterMs: number;

  constructor(
    readonly windowMs: number,
    private readonly totals: CorrelationTotals,
  ) {
    this.refreshAfterMs = Math.max(1, Math.floor(windowMs / 4));
  }

  get pendingSpans(): number {
    return this.pendingSpanCount;
  }

  get knownKeys(): number {
    return this.known.size;
  }

  /** The key's known variant, refreshing its retention (so an active trace is remembered). */
  lookup(key: string, nowMs: number): KnownVariant | undefined {
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
  learn(key: string, variant: string, nowMs: number): LearnResult {
    const hasPending = this.pending.has(key);
    const entry = this.lookup(key, nowMs);
    if (entry) {
      if (entry.conflicting || entry.variant === variant) return { conflictStarted: false, hasPending };
      entry.conflicting = true;
      return { conflictStarted: true, hasPending };
    }
    this.known.set(key, { variant, conflicting: false, touchedAtMs: nowMs });
    this.totals.knownKeys += 1;
    return { conflictStarted: false, hasPending };
  }

  /** Hands out the spans waiting for `key` now that its variant (or its conflict) is known. */
  release(key: string): Released | undefined {
    const group = this.pending.get(key);
    const entry = this.known.get(key);
    if (!group || !entry) return undefined;
    this.dropGroup(key, group);
    return { variant: entry.conflicting ? null : entry.variant, spans: group.spans };
  }

  /** Parks a span until its key's variant arrives or the window closes. */
  park(key: string, span: PendingSpan, nowMs: number): void {
    const group = this.pending.get(key);
    // A literal of one: most keys wait with one span, and push() on [] reserves room for 17.
    if (group) group.spans.push(span);
    else this.pending.set(key, { createdAtMs: nowMs, spans: [span] });
    this.pendingSpanCount += 1;
    this.totals.pendingSpans += 1;
  }

  /** Closes windows: pending groups older than the window become unattributed; idle keys are forgotten. */
  expire(nowMs: number): ExpiryCounts {
    const counts: ExpiryCounts = { unattributedSpans: 0, expiredKeys: 0 };
    for (const [key, group] of this.pending) {
      if (nowMs - group.createdAtMs < this.windowMs) break;
      this.dropGroup(key, group);
      counts.unattributedSpans += group.spans.length;
    }
    for (const [key, entry] of this.known) {
      if (nowMs - entry.touchedAtMs < this.windowMs) break;
      this.known.delete(key);
      this.totals.knownKeys -= 1;
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
    for (const key of this.known.keys()) {
      this.known.delete(key);
      this.totals.knownKeys -= 1;
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
    return spans;
  }

  private dropGroup(key: string, group: PendingGroup): void {
    this.pending.delete(key);
    this.pendingSpanCount -= group.spans.length;
    this.totals.pendingSpans -= group.spans.length;
  }
}
