// Buffers that one evaluation of a run writes its per-arm arrays into, reused by the next evaluation: the rank
// views of histogram arms (ranked-buckets.ts) and the memos of the two-sample quantile test
// (quantile-two-sample.ts). The judge builds these for every arm on every evaluation: as fresh arrays, the rank
// views were ~13 KB of the ~94 KB of garbage a tick left per run at 1 000 runs (V8's sampling heap profiler,
// docs/performance-notes.md, judge-tick), and the young-generation collections that garbage causes during
// ticks are what delays ingest (issue 13). evaluateAnalysis begins an evaluation before it builds any of them,
// so each is valid until the next evaluation begins: nothing an evaluation returns may hold one (its results
// are numbers and strings), and arrays built outside an evaluation are their owners' own.

/** A histogram's rank view as three arrays of its non-empty buckets (LatencyHistogram.bucketArrays). */
export interface RankArrays {
  lowers: Float64Array;
  uppers: Float64Array;
  cumulative: Float64Array;
}

/** A memo of values by index: `values[i]` holds once `known[i]` is 1 (at least `length` long, none known). */
export interface MemoArrays {
  values: Float64Array;
  known: Uint8Array;
}

export class EvaluationBuffers {
  private readonly rankSlots: Float64Array[] = [];
  private ranksUsed = 0;
  private readonly memoSlots: MemoArrays[] = [];
  private memosUsed = 0;
  /** Counts evaluations: what was taken in one must not be read in another. */
  generation = 0;

  /** Starts an evaluation: the buffers handed out before are free again. */
  begin(): void {
    this.ranksUsed = 0;
    this.memosUsed = 0;
    this.generation++;
  }

  /** Three arrays of `length` doubles each, valid until the next begin(); their contents are unspecified. */
  takeRanks(length: number): RankArrays {
    let buffer = this.rankSlots[this.ranksUsed];
    if (buffer === undefined || buffer.length < 3 * length) {
      buffer = new Float64Array(Math.max(3 * length, 2 * (buffer?.length ?? 0)));
      this.rankSlots[this.ranksUsed] = buffer;
    }
    this.ranksUsed++;
    return {
      lowers: buffer.subarray(0, length),
      uppers: buffer.subarray(length, 2 * length),
      cumulative: buffer.subarray(2 * length, 3 * length),
    };
  }

  /** Where the memos taken next start: releaseMemosTo(mark) frees them again within the evaluation. */
  memoMark(): number {
    return this.memosUsed;
  }

  /**
   * Frees the memos taken since memoMark() returned `mark`, for tests that are done before the evaluation ends
   * (an earlier stage's fail test, the tests of one bound's search): the slots are then reused by the next
   * metric's, so what stays allocated between evaluations is what one metric holds at a time plus the current
   * stages' tests, not every test of the evaluation (at 64 stages and 160 quantile metrics that sum was ~290 MB,
   * kept for the process's life).
   */
  releaseMemosTo(mark: number): void {
    if (mark < this.memosUsed) this.memosUsed = mark;
  }

  /** A memo of at least `length` entries, none known, valid until the next begin() (the same object reused). */
  takeMemo(length: number): MemoArrays {
    let memo = this.memoSlots[this.memosUsed];
    if (memo === undefined || memo.known.length < length) {
      const size = Math.max(length, 2 * (memo?.known.length ?? 0));
      memo = { values: new Float64Array(size), known: new Uint8Array(size) };
      this.memoSlots[this.memosUsed] = memo;
    } else {
      memo.known.fill(0, 0, length);
    }
    this.memosUsed++;
    return memo;
  }
}
