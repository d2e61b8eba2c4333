// Each run's evidence over time, for the report page's charts (issue 15): one point per recorded judge tick
// with every metric's estimate and bounds, the stage, the verdict, the samples and the current stage's split
// (judge/run-series.ts decides when a tick is recorded and makes the point). Bounded per run: past
// `maxPointsPerRun` every other point is deleted (the first and the newest stay), so a long run keeps its
// whole span at a coarser step and the table cannot grow with a run's length. Points go with their run
// (runs-repository.ts pruneEnded), and survive a restart, which is what the charts need.
import type { Statement } from 'better-sqlite3';
import type { Store } from './database.js';

/** A number as stored: JSON has no Infinity or NaN, so non-finite values are null (the point says which). */
export type StoredNumber = number | null;

export interface SeriesMetricPoint {
  id: string;
  estimate: StoredNumber;
  /** The fail test's lower bound and its level (analysis-policy.ts, Effect). */
  lower: StoredNumber;
  lowerLevel: number;
  /** The pass test's upper bound; null: unbounded. */
  upper: StoredNumber;
  decision: 'fail' | 'pass' | 'running';
  /** Always-valid p-values: "worse than tolerance" (the run so far) and "within" (the current stage). */
  worsePValue: number;
  withinPValue: number;
  samples: { baseline: number; canary: number };
}

export interface SeriesPoint {
  atMs: number;
  /** The current stage's number (1-based). */
  stage: number;
  verdict: string;
  samples: { baseline: number; canary: number };
  /** The current stage's split: declared and observed canary shares, the stage's always-valid p-value. */
  split: { expected: StoredNumber; observed: StoredNumber; alwaysValidPValue: number } | null;
  metrics: SeriesMetricPoint[];
}

export interface SeriesEntry {
  runId: string;
  point: SeriesPoint;
  /** The run's last point: it has ended. */
  last?: boolean;
}

export const DEFAULT_MAX_POINTS_PER_RUN = 1000;

export class RunSeriesRepository {
  /** Rows per run, counted once per run per process and kept up to date here (no count query per tick). */
  private readonly counts = new Map<string, number>();
  // Prepared once: the first tick of 1,000 runs counts each run's rows, and preparing the statement each time
  // was most of that (bench/judge-tick.ts, first tick).
  private statements:
    | { insert: Statement; count: Statement; list: Statement; deleteRun: Statement; thin: Statement }
    | undefined;

  constructor(
    private readonly store: Store,
    private readonly maxPointsPerRun = DEFAULT_MAX_POINTS_PER_RUN,
  ) {
    if (maxPointsPerRun < 4) throw new RangeError('maxPointsPerRun must be at least 4');
  }

  /**
   * Appends points (one per run at most per call) in one transaction, thinning runs past the bound. `last`
   * marks a run's final point (it ended): its count is no longer kept.
   */
  append(points: ReadonlyArray<SeriesEntry>): void {
    if (points.length === 0) return;
    const { insert } = this.prepared();
    this.store.write(() =>
      this.store.db.transaction(() => {
        for (const { runId, point, last } of points) {
          const cached = this.counts.get(runId);
          insert.run(runId, point.atMs, JSON.stringify(point));
          // A point at the same time as the last replaces it: the cached count may then run one ahead,
          // which only thins a little early; thinning counts exactly.
          const count = cached === undefined ? this.exactCount(runId) : cached + 1;
          this.counts.set(runId, count > this.maxPointsPerRun ? this.thin(runId) : count);
          if (last) this.counts.delete(runId);
        }
      })(),
    );
  }

  /** The run's points, oldest first. */
  list(runId: string): SeriesPoint[] {
    const rows = this.prepared().list.all(runId) as Array<{ point_json: string }>;
    return rows.map((row) => JSON.parse(row.point_json) as SeriesPoint);
  }

  /** Deletes the run's points (inside the caller's transaction, as runs-repository.ts pruneEnded calls it). */
  deleteRun(runId: string): void {
    this.prepared().deleteRun.run(runId);
    this.counts.delete(runId);
  }

  private exactCount(runId: string): number {
    const row = this.prepared().count.get(runId) as { n: number };
    return row.n;
  }

  /** Deletes every other point but the first and the last; returns the rows left. */
  private thin(runId: string): number {
    this.prepared().thin.run({ runId });
    return this.exactCount(runId);
  }

  /** The statements, prepared on first use (the table exists once the store's schema ran). */
  private prepared(): NonNullable<RunSeriesRepository['statements']> {
    const db = this.store.db;
    return (this.statements ??= {
      insert: db.prepare('INSERT OR REPLACE INTO run_series (run_id, at_ms, point_json) VALUES (?, ?, ?)'),
      count: db.prepare('SELECT count(*) AS n FROM run_series WHERE run_id = ?'),
      list: db.prepare('SELECT point_json FROM run_series WHERE run_id = ? ORDER BY at_ms'),
      deleteRun: db.prepare('DELETE FROM run_series WHERE run_id = ?'),
      thin: db.prepare(
        `DELETE FROM run_series WHERE run_id = @runId AND at_ms IN (
           SELECT at_ms FROM (
             SELECT at_ms, row_number() OVER (ORDER BY at_ms) AS n, count(*) OVER () AS total
             FROM run_series WHERE run_id = @runId)
           WHERE n % 2 = 0 AND n < total)`,
      ),
    });
  }
}
