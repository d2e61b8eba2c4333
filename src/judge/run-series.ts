// What the judge records of each tick for the report page's charts (issue 15): a point per run with every
// metric's estimate and the bounds that decide (analysis-policy.ts, Effect), the stage, the verdict, the
// samples and the current stage's split. Cheap by construction: a point is written only when it differs from
// the run's last one (a run without new evidence writes nothing), a tick's points in one transaction per slice,
// and the store bounds each run's points (store/run-series-repository.ts). Recording is best effort: a
// storage failure loses chart points, never a verdict, and is logged once until writes succeed again.
import type { Logger } from 'pino';
import { numeric, type ReportedNumber } from '../stats/analysis-policy.js';
import type { SeriesEntry, SeriesPoint, StoredNumber } from '../store/run-series-repository.js';
import type { VerdictDocument } from './verdict-document.js';

/** Where points go (RunSeriesRepository implements it). */
export interface RunSeriesSink {
  append(points: ReadonlyArray<SeriesEntry>): void;
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
  private pending: SeriesEntry[] = [];
  /** Runs observed since the last flush: the others (aborted, superseded) are forgotten then. */
  private readonly seen = new Set<string>();
  private failing = false;

  constructor(
    private readonly sink: RunSeriesSink,
    private readonly logger: Logger,
  ) {}

  /** Notes the run's document of this tick; a run that ended is forgotten after its last point. */
  observe(document: VerdictDocument): void {
    const point = seriesPoint(document);
    const { atMs: _atMs, ...content } = point;
    const key = JSON.stringify(content);
    const ended = document.state !== 'running';
    if (this.last.get(document.runId) !== key) {
      this.last.set(document.runId, key);
      this.pending.push({ runId: document.runId, point, last: ended });
    }
    if (ended) this.last.delete(document.runId);
    else this.seen.add(document.runId);
  }

  /** Ends the tick: forgets runs not observed in it, and writes its remaining points. */
  flush(): void {
    for (const runId of this.last.keys()) if (!this.seen.has(runId)) this.last.delete(runId);
    this.seen.clear();
    this.write();
  }

  /**
   * Writes the points observed so far in one transaction (a sliced tick writes each slice's own, so that no
   * slice writes the points of every run at once).
   */
  write(): void {
    const points = this.pending;
    if (points.length === 0) return;
    this.pending = [];
    try {
      this.sink.append(points);
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
}
