// Per run x stage x arm evidence, fed by attribution (ObservationSink) and read by the judge on its timer.
// Memory is one RunEvidence per open run (run-evidence.ts); `close` ends a run's state. Observations for a
// run that is not open (it finished between attribution and here) are counted and dropped.
import type { ForwardedOutcome, ForwardedPoint } from './forwarded-evidence.js';
import type { LatencyHistogramOptions } from './latency-histogram.js';
import type { Arm, Observation, ObservationSink, SpanRecorder } from './observation.js';
import {
  RunEvidence,
  type RunEvidenceSnapshot,
  type StageDeclaration,
  type StageEvidence,
} from './run-evidence.js';
import { DEFAULT_WATERMARK_SETTINGS, type WatermarkSettings } from './source-watermark.js';
import { TraceExamples, type TraceExamplesSnapshot } from './trace-examples.js';

export interface AccumulatorOptions {
  watermark?: WatermarkSettings;
  histogram?: LatencyHistogramOptions;
  /** Wall clock in ms (the judge's); tests pass a fake one. */
  clock?: () => number;
}

export class Accumulator implements ObservationSink, SpanRecorder {
  private readonly runs = new Map<string, RunEvidence>();
  /** Each open run's canary trace examples (trace-examples.ts), snapshotted with its evidence. */
  private readonly examples = new Map<string, TraceExamples>();
  private readonly watermark: WatermarkSettings;
  private readonly clock: () => number;
  /** Observations that arrived for a run no longer open. */
  droppedForClosedRuns = 0;
  /** The clock's time at the latest beginSpans (the request whose spans are being recorded). */
  private spanNowMs = 0;
  // The run recordSpan found last, and its examples: a request's judged spans are mostly one run's, and two
  // Map lookups per span were part of what one analysis costs per span (docs/performance-notes.md, ingest).
  // Forgotten when a request begins and whenever a run is opened, restored or closed.
  private recordingRunId: string | undefined = undefined;
  private recordingRun: RunEvidence | undefined = undefined;
  private recordingExamples: TraceExamples | undefined = undefined;

  constructor(private readonly options: AccumulatorOptions = {}) {
    this.watermark = options.watermark ?? DEFAULT_WATERMARK_SETTINGS;
    this.clock = options.clock ?? Date.now;
  }

  accept(observations: Observation[]): void {
    const nowMs = this.clock();
    for (const o of observations) {
      const run = this.runs.get(o.runId);
      if (!run) {
        this.droppedForClosedRuns += 1;
        continue;
      }
      run.accept(o, nowMs);
      if (o.kind === 'span' && o.arm === 'canary') this.examples.get(o.runId)?.note(o);
    }
  }

  /**
   * Judged spans of one request, recorded as attribution judges them (SpanRecorder): the accumulator is its
   * own recorder, so a request costs no object, and the clock is read once per request as accept() reads it
   * once per batch.
   */
  beginSpans(): SpanRecorder {
    this.spanNowMs = this.clock();
    this.forgetRecordingRun();
    return this;
  }

  recordSpan(
    runId: string,
    arm: Arm,
    timeUnixMs: number,
    sourceKey: string,
    durationNanos: number,
    isError: boolean,
    traceId: string | undefined,
  ): void {
    if (runId !== this.recordingRunId) {
      this.recordingRunId = runId;
      this.recordingRun = this.runs.get(runId);
      this.recordingExamples = this.examples.get(runId);
    }
    const run = this.recordingRun;
    if (!run) {
      this.droppedForClosedRuns += 1;
      return;
    }
    run.acceptSpan(arm, timeUnixMs, sourceKey, durationNanos, isError, traceId, this.spanNowMs);
    if (arm === 'canary') this.recordingExamples?.noteCanarySpan(traceId, durationNanos, isError, timeUnixMs);
  }

  private forgetRecordingRun(): void {
    this.recordingRunId = undefined;
    this.recordingRun = undefined;
    this.recordingExamples = undefined;
  }

  /** Nothing to close: every span went into its run's evidence as it was recorded. */
  end(): void {}

  /**
   * Points of runs' state forwarded by other instances (src/fleet/): each is added to its run's evidence;
   * `onOutcome` hears what became of each (`unknown_run` when the run is not open here).
   */
  acceptForwarded(
    points: readonly ForwardedPoint[],
    onOutcome: (outcome: ForwardedOutcome | 'too_many_sources' | 'unknown_run') => void,
  ): void {
    const nowMs = this.clock();
    for (const point of points) {
      const run = this.runs.get(point.runId);
      onOutcome(run ? run.acceptForwarded(point, nowMs) : 'unknown_run');
    }
  }

  /**
   * Starts collecting a run's evidence from empty, in its first stage; `settleMs` after each stage begins its
   * requests start counting for the traffic-split check (run-evidence.ts).
   */
  open(runId: string, firstStage: StageDeclaration, settleMs = 0): void {
    this.runs.set(runId, new RunEvidence(firstStage, this.watermark, this.options.histogram, settleMs));
    this.examples.set(runId, new TraceExamples());
    this.forgetRecordingRun();
  }

  /** The run's slowest and latest failing canary traces; undefined when the run is not open. */
  traceExamples(runId: string): TraceExamplesSnapshot | undefined {
    return this.examples.get(runId)?.toSnapshot();
  }

  isOpen(runId: string): boolean {
    return this.runs.has(runId);
  }

  runIds(): string[] {
    return [...this.runs.keys()];
  }

  declareStage(runId: string, stage: StageDeclaration): void {
    this.required(runId).declareStage(stage);
  }

  /** Moves the run's watermark to `nowMs` and returns copies of its judged evidence per stage. */
  read(runId: string, nowMs: number = this.clock()): StageEvidence[] {
    const run = this.required(runId);
    run.advance(nowMs);
    return run.read();
  }

  /**
   * As read(), but returns no copies when nothing was judged since the copies of version `known` (an earlier
   * answer's) were made: the caller's still hold. Ticks over runs without new evidence then copy nothing
   * (copying every run's evidence on every tick made the judge's garbage grow with the runs, not the traffic).
   */
  readSince(
    runId: string,
    nowMs: number,
    known: number | undefined,
  ): { version: number | undefined; stages?: StageEvidence[] } {
    const run = this.required(runId);
    run.advance(nowMs);
    const version = run.judgedVersion;
    if (version !== undefined && version === known) return { version };
    return { version, stages: run.read() };
  }

  /** The run's live evidence object (watermark, held slices), for diagnostics. */
  evidence(runId: string): RunEvidence | undefined {
    return this.runs.get(runId);
  }

  /** Changes whenever the run's snapshot would (RunEvidence.version; trace examples change with accepts). */
  version(runId: string): number {
    return this.required(runId).version;
  }

  snapshot(runId: string): RunEvidenceSnapshot {
    return { ...this.required(runId).toSnapshot(), traceExamples: this.examples.get(runId)?.toSnapshot() };
  }

  /** Replaces the run's state with a snapshot (after a restart). */
  restore(runId: string, snapshot: RunEvidenceSnapshot, settleMs = 0): void {
    this.runs.set(
      runId,
      RunEvidence.fromSnapshot(snapshot, this.watermark, this.options.histogram, settleMs),
    );
    this.examples.set(runId, TraceExamples.fromSnapshot(snapshot.traceExamples));
    this.forgetRecordingRun();
  }

  close(runId: string): void {
    this.runs.delete(runId);
    this.examples.delete(runId);
    this.forgetRecordingRun();
  }

  private required(runId: string): RunEvidence {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`run "${runId}" is not open in the accumulator`);
    return run;
  }
}
