// Latencies known only to a bucket coarser than the accumulator's (ARCHITECTURE.md, Latency representation):
// explicit-bucket histogram points and exponential points at a lower scale than the LatencyHistogram's. Each
// value is interval-censored: it lies somewhere in [lowerNanos, upperNanos] and nothing more is known, so
// the statistics take every bound at the outer edges and every decision must hold for any placement inside.
// Recording such a count at one representative point (what this project did before) made an OTel
// default-bucket histogram look precise to 0.5% when its buckets are 1.3x-2.5x wide.
//
// Intervals are keyed by their nominal bucket (lower, upper] as the sender declared it, so every point of a
// stream with the same bounds lands on the same few keys (16 for OTel's default
// http.server.request.duration bounds). A point's min and max tighten the effective edges (min raises the
// lower edge, max lowers the upper edge, which closes the open overflow bucket (b_last, +inf)); the
// effective edges of a key are the union over the points that fed it, so they stay valid for every value.
// Memory is bounded by `maxIntervals`: a new key past the limit is merged into the existing interval whose
// union with it is narrowest (still a valid bound, only wider), and counted in `coarsened`.

export const DEFAULT_MAX_COARSE_INTERVALS = 1024;

/** An interval [lowerNanos, upperNanos] holding `count` values; upperNanos may be Infinity. */
export interface CoarseInterval {
  lowerNanos: number;
  upperNanos: number;
  count: number;
}

/** JSON-safe form: `null` stands for an infinite upper edge. */
export interface CoarseLatencySnapshot {
  maxIntervals: number;
  coarsened: number;
  /** [nominal lower, nominal upper, effective lower, effective upper, count]. */
  intervals: [number, number | null, number, number | null, number][];
}

interface Slot {
  nominalLower: number;
  nominalUpper: number;
  lowerNanos: number;
  upperNanos: number;
  count: number;
}

function key(lower: number, upper: number): string {
  return `${lower}|${upper}`;
}

export class CoarseLatency {
  private readonly slots = new Map<string, Slot>();
  private total = 0;
  /** Keys merged into another interval because `maxIntervals` was reached. */
  coarsened = 0;

  constructor(readonly maxIntervals = DEFAULT_MAX_COARSE_INTERVALS) {
    if (!Number.isInteger(maxIntervals) || maxIntervals < 1) {
      throw new RangeError(`maxIntervals must be an integer >= 1, got ${maxIntervals}`);
    }
  }

  get count(): number {
    return this.total;
  }

  get size(): number {
    return this.slots.size;
  }

  /**
   * Adds `count` values lying in the nominal bucket (nominalLower, nominalUpper], known to be within
   * [minNanos, maxNanos] too (the point's min and max; pass 0 and Infinity when unknown).
   */
  record(nominalLower: number, nominalUpper: number, count: number, minNanos = 0, maxNanos = Infinity): void {
    if (!(count > 0)) return;
    const lo = Math.max(0, nominalLower);
    const hi = Math.max(lo, nominalUpper);
    const lowerNanos = Math.min(hi, Math.max(lo, minNanos));
    const upperNanos = Math.max(lowerNanos, Math.min(hi, maxNanos));
    this.add({ nominalLower: lo, nominalUpper: hi, lowerNanos, upperNanos, count });
  }

  /** Intervals ordered by lower edge, then upper edge (fresh objects; the store is not exposed). */
  intervals(): CoarseInterval[] {
    return [...this.slots.values()]
      .map((s) => ({ lowerNanos: s.lowerNanos, upperNanos: s.upperNanos, count: s.count }))
      .sort((a, b) => a.lowerNanos - b.lowerNanos || a.upperNanos - b.upperNanos);
  }

  mergeFrom(other: CoarseLatency): void {
    for (const s of other.slots.values()) this.add({ ...s });
    this.coarsened += other.coarsened;
  }

  clone(): CoarseLatency {
    return CoarseLatency.fromSnapshot(this.toSnapshot());
  }

  toSnapshot(): CoarseLatencySnapshot {
    const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
    return {
      maxIntervals: this.maxIntervals,
      coarsened: this.coarsened,
      intervals: [...this.slots.values()].map((s) => [
        s.nominalLower,
        finite(s.nominalUpper),
        s.lowerNanos,
        finite(s.upperNanos),
        s.count,
      ]),
    };
  }

  static fromSnapshot(s: CoarseLatencySnapshot): CoarseLatency {
    const out = new CoarseLatency(s.maxIntervals);
    const infinite = (x: number | null): number => (x === null ? Infinity : x);
    for (const [nominalLower, nominalUpper, lowerNanos, upperNanos, count] of s.intervals) {
      out.add({
        nominalLower,
        nominalUpper: infinite(nominalUpper),
        lowerNanos,
        upperNanos: infinite(upperNanos),
        count,
      });
    }
    out.coarsened = s.coarsened;
    return out;
  }

  private add(slot: Slot): void {
    this.total += slot.count;
    const k = key(slot.nominalLower, slot.nominalUpper);
    const existing = this.slots.get(k);
    if (existing) {
      widen(existing, slot);
      return;
    }
    if (this.slots.size < this.maxIntervals) {
      this.slots.set(k, slot);
      return;
    }
    // Full: widen the existing interval whose union with this one is narrowest (log-width of the union).
    let best: Slot | undefined;
    let bestWidth = Infinity;
    for (const s of this.slots.values()) {
      const width = unionLogWidth(s, slot);
      if (width < bestWidth) {
        bestWidth = width;
        best = s;
      }
    }
    this.coarsened++;
    if (best) widen(best, slot);
  }
}

function widen(into: Slot, from: Slot): void {
  into.count += from.count;
  into.lowerNanos = Math.min(into.lowerNanos, from.lowerNanos);
  into.upperNanos = Math.max(into.upperNanos, from.upperNanos);
}

function unionLogWidth(a: Slot, b: Slot): number {
  const lo = Math.min(a.lowerNanos, b.lowerNanos);
  const hi = Math.max(a.upperNanos, b.upperNanos);
  return Math.log1p(hi) - Math.log1p(lo);
}
