// What the judge records of each tick for the report page's charts (issue 15): a point per run with every
// metric's estimate and the bounds that decide (analysis-policy.ts, Effect), the stage, the verdict, the
// samples and the current stage's split. Cheap by construction: a point is written only when it differs from
// the run's last one (a run without new evidence writes nothing), a tick's points in one transaction per slice,
// and the store bounds each run's points (store/run-series-repository.ts). Recording is best effort: a
// storage failure loses chart points, never a verdict, and is logged once until writes succeed again.
//
// A run's points are held back and written SERIES_POINTS_PER_WRITE at a time, the runs staggered so that each
// tick writes about that fraction of them. The table keeps a run's points together (its key is run id and
// time), so one point of each of 1 000 runs dirtied ~1 000 pages of 4 KiB per tick: ~4 MB of write-ahead log,
// whose commits crossed SQLite's autocheckpoint several times per tick and held the event loop 4-8 ms each
// (and more with another tenant's I/O), a third of ingest's slow exports at 1 000 analyses (bench
// ingest-latency, issue 13). A run's few points written together mostly share a page. Nothing read changes:
// `list` gives the stored points with the held ones, a run's points are written before it would be thinned,
// when it ends, when it is no longer judged, and at shutdown (JudgeService.shutdown). What a crash (kill -9)
// loses is a run's last few chart points, as it loses the evidence since the last snapshot.
import type { Logger } from 'pino';
import { numeric, type ReportedNumber } from '../stats/analysis-policy.js';
import type { SerializedSeriesEntry, SeriesPoint, StoredNumber } from '../store/run-series-repository.js';
import type { VerdictDocument } from './verdict-document.js';

/** Where points go and are read back (RunSeriesRepository implements it). */
export interface RunSeriesSink {
  appendSerialized(points: ReadonlyArray<SerializedSeriesEntry>): void;
  wouldThin(runId: string, added: number): boolean;
  list(runId: string): SeriesPoint[];
}

/** A run's points written together (see the module comment): at most this many ticks' points held back. */
export const SERIES_POINTS_PER_WRITE = 4;

interface HeldPoints {
  entries: SerializedSeriesEntry[];
  /** Points still to come before the run's are written. */
  untilWrite: number;
}

function stored(x: ReportedNumber | number | null): StoredNumber {
  if (x === null) return null;
  const v = numeric(x);
  return Number.isFinite(v) ? v : null;
}

/** The chart point of a verdict document (its time is the document's `updatedAt`). */
export function seriesPoint(document: VerdictDocument): SeriesPoint {
  const split = document.trafficSplit;
  const currentSplit = document.stages[document.stages.length - 1]?.trafficSplit;
  return {
    atMs: Date.parse(document.updatedAt),
    stage: document.stage,
    verdict: document.verdict,
    samples: document.samples,
    split: split
      ? {
          expected: split.expectedCanaryShare,
          observed: stored(split.observedCanaryShare),
          alwaysValidPValue: currentSplit?.alwaysValidPValue ?? split.alwaysValidPValue,
        }
      : null,
    metrics: document.metrics.map((m) => ({
      id: m.id,
      estimate: stored(m.effect.estimate),
      lower: stored(m.effect.lower),
      lowerLevel: m.effect.lowerLevel,
      upper: stored(m.effect.upper),
      decision: m.decision,
      worsePValue: m.alwaysValidPValue,
      withinPValue: m.withinPValue,
      samples: m.samples,
    })),
  };
}

export class RunSeriesRecorder {
  /** The last point recorded per running run, without its time, to skip unchanged ticks. */
  private readonly last = new Map<string, string>();
  /** Each running run's points not written yet. */
  private readonly held = new Map<string, HeldPoints>();
  /** Gives each new run its place in the stagger. */
  private runsSeen = 0;
  private pending: SerializedSeriesEntry[] = [];
  /** Runs observed since the last flush: the others (aborted, superseded) are forgotten then. */
  private readonly seen = new Set<string>();
  private failing = false;

  constructor(
    private readonly sink: RunSeriesSink,
    private readonly logger: Logger,
  ) {}

  /** Notes the run's document of this tick; a run that ended is forgotten after its last point. */
  observe(document: VerdictDocument): void {
    const runId = document.runId;
    const point = seriesPoint(document);
    const { atMs, ...content } = point;
    const key = JSON.stringify(content);
    const ended = document.state !== 'running';
    if (this.last.get(runId) !== key) {
      this.last.set(runId, key);
      let held = this.held.get(runId);
      if (!held) {
        held = { entries: [], untilWrite: 1 + (this.runsSeen++ % SERIES_POINTS_PER_WRITE) };
        this.held.set(runId, held);
      }
      // JSON.stringify(point): the time first, then the content (seriesPoint's order), built from the key.
      held.entries.push({
        runId,
        atMs,
        json: `{"atMs":${JSON.stringify(atMs)},${key.slice(1)}`,
        last: ended,
      });
      held.untilWrite -= 1;
      if (held.untilWrite <= 0 || this.sink.wouldThin(runId, held.entries.length)) {
        this.release(held);
      }
    }
    if (ended) {
      this.last.delete(runId);
      this.releaseAll(runId);
    } else this.seen.add(runId);
  }

  /** Ends the tick: forgets runs not observed in it (writing what they held), and writes what is due. */
  flush(): void {
    for (const runId of this.last.keys()) if (!this.seen.has(runId)) this.last.delete(runId);
    for (const runId of this.held.keys()) if (!this.seen.has(runId)) this.releaseAll(runId);
    this.seen.clear();
    this.write();
  }

  /** Writes every point held back (at shutdown). */
  flushAll(): void {
    for (const runId of [...this.held.keys()]) this.releaseAll(runId);
    this.write();
  }

  /** The run's points as written and held back, oldest first: what `list` of the sink would give unheld. */
  list(runId: string): SeriesPoint[] {
    const stored = this.sink.list(runId);
    const held = [
      ...(this.held.get(runId)?.entries ?? []),
      ...this.pending.filter((entry) => entry.runId === runId),
    ];
    if (held.length === 0) return stored;
    // As the store's INSERT OR REPLACE: a point at the time of an earlier one replaces it.
    const byTime = new Map<number, SeriesPoint>(stored.map((point) => [point.atMs, point]));
    for (const { atMs, json } of held) byTime.set(atMs, JSON.parse(json) as SeriesPoint);
    return [...byTime.values()].sort((a, b) => a.atMs - b.atMs);
  }

  /**
   * Writes the points due so far in one transaction (a sliced tick writes each slice's own, so that no
   * slice writes the points of every run at once).
   */
  write(): void {
    const points = this.pending;
    if (points.length === 0) return;
    this.pending = [];
    try {
      this.sink.appendSerialized(points);
      this.failing = false;
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          { err: error, points: points.length },
          'chart points not recorded (storage failing)',
        );
      }
      this.failing = true;
    }
  }

  /** Moves the run's held points to the next write. */
  private release(held: HeldPoints): void {
    for (const entry of held.entries) this.pending.push(entry);
    held.entries = [];
    held.untilWrite = SERIES_POINTS_PER_WRITE;
  }

  private releaseAll(runId: string): void {
    const held = this.held.get(runId);
    if (!held) return;
    this.release(held);
    this.held.delete(runId);
  }
}
