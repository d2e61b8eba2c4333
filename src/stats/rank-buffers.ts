// Buffers that one evaluation's rank views of histogram arms (ranked-buckets.ts) are written into, reused by
// the next evaluation. The judge builds three arrays over every arm's non-empty buckets on every evaluation:
// as fresh arrays that was ~13 KB of the ~94 KB of garbage a tick left per run at 1 000 runs (V8's sampling
// heap profiler, docs/performance-notes.md, judge-tick), and the young-generation collections that garbage
// causes during ticks are what delays ingest (issue 13). evaluateAnalysis begins an evaluation before it
// builds any view, so a view is valid until the next evaluation begins: nothing an evaluation returns may
// hold one (its results are numbers and strings), and views built outside an evaluation own their arrays.

/** A histogram's rank view as three arrays of its non-empty buckets (LatencyHistogram.bucketArrays). */
export interface RankArrays {
  lowers: Float64Array;
  uppers: Float64Array;
  cumulative: Float64Array;
}

export class RankBuffers {
  private readonly slots: Float64Array[] = [];
  private used = 0;
  /** Counts evaluations: a view may be built only in the evaluation its arm was made for. */
  generation = 0;

  /** Starts an evaluation: the buffers handed out before are free again. */
  begin(): void {
    this.used = 0;
    this.generation++;
  }

  /** Three arrays of `length` doubles each, valid until the next begin(); their contents are unspecified. */
  take(length: number): RankArrays {
    let buffer = this.slots[this.used];
    if (buffer === undefined || buffer.length < 3 * length) {
      buffer = new Float64Array(Math.max(3 * length, 2 * (buffer?.length ?? 0)));
      this.slots[this.used] = buffer;
    }
    this.used++;
    return {
      lowers: buffer.subarray(0, length),
      uppers: buffer.subarray(length, 2 * length),
      cumulative: buffer.subarray(2 * length, 3 * length),
    };
  }
}
