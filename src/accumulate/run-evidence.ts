// One run's evidence: both arms per stage, and what arrived beyond the watermark (ARCHITECTURE.md, Vocabulary:
// run, stage). Stages are periods with one intended canary share (a weight step); each observation belongs to
// the stage whose period holds its event time, so the judge compares the arms within each stage and a baseline
// that drifts while the share grows cannot pass for a canary effect.
//
// Evidence newer than the watermark (source-watermark.ts) waits in one-second slices and joins its stage when
// the watermark passes the slice; older evidence (late data) joins at once. The traffic-split check counts a
// stage's requests only from `settleMs` after it began: a controller declares a weight before its mesh applies
// it (Flagger's confirm-traffic-increase, Argo's setWeight, a flag service's cache), and those first seconds
// are at the previous weight. Every request counts for the metrics. So what a tick judges never
// depends on which exporter's batch happened to arrive first. Memory: the slices cover at most
// maxHoldMs + one tick of event time (event times are clamped to the judge's clock), two ArmStates each.
//
// In a fleet (src/fleet/), other instances forward their own state of this run per stage: it is kept apart
// (forwarded-evidence.ts), each forwarder is a source of the watermark, and `read` adds it stage by stage.
import { ArmState, type ArmStateSnapshot } from './arm-state.js';
import {
  ForwardedEvidence,
  type ForwardedEvidenceSnapshot,
  type ForwardedOutcome,
  type ForwardedPoint,
} from './forwarded-evidence.js';
import { LatencyHistogram, type LatencyHistogramOptions } from './latency-histogram.js';
import type { Arm, Observation } from './observation.js';
import { SourceWatermark, type WatermarkSettings } from './source-watermark.js';
import type { TraceExamplesSnapshot } from './trace-examples.js';

/** Width of the slices that wait for the watermark; stage boundaries are exact to this. */
export const SLICE_MS = 1_000;

export interface StageDeclaration {
  /** When the stage began, judge clock (ms since the epoch). */
  startedAtMs: number;
  /** The canary share intended in this stage, or null when none was declared (no split check then). */
  canaryShare: number | null;
}

export interface StageEvidence extends StageDeclaration {
  baseline: ArmState;
  canary: ArmState;
  /** Requests per arm at or after `startedAtMs + settleMs`: what the traffic-split check counts. */
  settled: { baseline: number; canary: number };
}

export interface StageEvidenceSnapshot extends StageDeclaration {
  baseline: ArmStateSnapshot;
  canary: ArmStateSnapshot;
  settled?: { baseline: number; canary: number };
}

export interface RunEvidenceSnapshot {
  version: 1;
  /** null before the watermark first moved (JSON has no -Infinity). */
  watermarkMs: number | null;
  stages: StageEvidenceSnapshot[];
  held: Array<{ sliceStartMs: number; baseline: ArmStateSnapshot; canary: ArmStateSnapshot }>;
  /** State forwarded by other instances of a fleet; absent when none was. */
  forwarded?: ForwardedEvidenceSnapshot;
  /** The run's trace examples (accumulator.ts keeps them beside the evidence; absent in older snapshots). */
  traceExamples?: TraceExamplesSnapshot;
}

/** The watermark source key of a forwarding instance (apart from the resource digests of senders). */
const forwarderSource = (forwarderId: string): string => `fleet:${forwarderId}`;

interface ArmPair {
  baseline: ArmState;
  canary: ArmState;
}

/** Requests an observation stands for (a span is one; a metric point its count). */
function requestsOf(o: Observation): number {
  return o.kind === 'span' ? 1 : o.kind === 'histogram' ? (o.requests ?? o.count) : o.requests;
}

/** Adds one observation to an arm. */
export function recordObservation(arm: ArmState, o: Observation): void {
  switch (o.kind) {
    case 'span':
      arm.recordSpan(o.durationNanos, o.isError, o.traceId);
      break;
    case 'histogram':
      arm.recordHistogram(o);
      break;
    case 'count':
      arm.recordCounts(o.requests, o.errors, o.exemplarTraceIds);
      break;
  }
}

let lastVersion = 0;
/** A version number no RunEvidence has had (see RunEvidence.version, judgedVersion). */
function nextVersion(): number {
  return (lastVersion += 1);
}

export class RunEvidence {
  private readonly stages: StageEvidence[] = [];
  private readonly held = new Map<number, ArmPair>();
  private readonly sources: SourceWatermark;
  private forwarded: ForwardedEvidence;
  private watermarkMs = -Infinity;
  /** Changes with the judged evidence (the stages): see judgedVersion. */
  private judged = nextVersion();
  /** Changes with what a snapshot holds apart from the watermark: see version. */
  private changes = nextVersion();

  constructor(
    firstStage: StageDeclaration,
    private readonly settings: WatermarkSettings,
    private readonly histogramOptions: LatencyHistogramOptions = {},
    /** How long after a stage begins before its requests count for the traffic-split check. */
    private readonly settleMs = 0,
  ) {
    this.sources = new SourceWatermark(settings);
    this.forwarded = new ForwardedEvidence(histogramOptions);
    this.stages.push(this.newStage(firstStage));
  }

  /** The event time up to which evidence is judged. */
  get watermark(): number {
    return this.watermarkMs;
  }

  /**
   * Changes when anything a snapshot holds changes (evidence judged or waiting, stages, forwarded state), not
   * when only the watermark moves: a snapshot with an older watermark restores the same evidence, and later
   * arrivals below the current watermark would only wait for it again. Snapshots skip runs whose version is
   * the one they last saved.
   */
  get version(): number {
    return this.changes;
  }

  /**
   * Changes whenever the judged evidence (what read() copies) changes; undefined while forwarded state is
   * merged in (its selection may move at any read). Versions are unique across runs and restores, so copies
   * of one version are the evidence of that version.
   */
  get judgedVersion(): number | undefined {
    return this.forwarded.isEmpty ? this.judged : undefined;
  }

  get heldSlices(): number {
    return this.held.size;
  }

  get stageCount(): number {
    return this.stages.length;
  }

  get evictedSources(): number {
    return this.sources.evictedSources;
  }

  /** Forwarding instances whose state this run holds. */
  get forwarders(): number {
    return this.forwarded.sourceCount;
  }

  /** The declaration of the current (last) stage. */
  get currentStage(): StageDeclaration {
    const { startedAtMs, canaryShare } = this.stages[this.stages.length - 1];
    return { startedAtMs, canaryShare };
  }

  accept(o: Observation, nowMs: number): void {
    if (o.kind === 'span') {
      this.acceptSpan(o.arm, o.timeUnixMs, o.sourceKey, o.durationNanos, o.isError, o.traceId, nowMs);
      return;
    }
    recordObservation(this.armStateFor(o.arm, o.timeUnixMs, o.sourceKey, requestsOf(o), nowMs), o);
  }

  /** One judged span (a SpanObservation's fields, see SpanRecorder): as accept() does with its observation. */
  acceptSpan(
    arm: Arm,
    timeUnixMs: number,
    sourceKey: string,
    durationNanos: number,
    isError: boolean,
    traceId: string | undefined,
    nowMs: number,
  ): void {
    this.armStateFor(arm, timeUnixMs, sourceKey, 1, nowMs).recordSpan(durationNanos, isError, traceId);
  }

  /**
   * Where evidence of `arm` at `timeUnixMs` goes, for accept() and acceptSpan() alike: the sender is noted as a
   * watermark source; a second already below the watermark goes to its stage (its `requests` counted as
   * settled once the stage's settle time has passed), a later one to the held slice of that second.
   */
  private armStateFor(
    arm: Arm,
    timeUnixMs: number,
    sourceKey: string,
    requests: number,
    nowMs: number,
  ): ArmState {
    this.changes = nextVersion();
    const timeMs = timeUnixMs < nowMs ? timeUnixMs : nowMs; // a sender's clock ahead of ours waits no longer
    this.sources.note(sourceKey, arm, timeMs, nowMs);
    const sliceStartMs = Math.floor(timeMs / SLICE_MS) * SLICE_MS;
    // Below the watermark, or older than the most a slice waits (the watermark at the next tick is at least
    // now - maxHoldMs): before a run's first tick the watermark is -Infinity, and every old second waited in a
    // held slice of its own, unbounded.
    if (
      sliceStartMs + SLICE_MS <= this.watermarkMs ||
      sliceStartMs + SLICE_MS <= nowMs - this.settings.maxHoldMs
    ) {
      const stage = this.stageAt(timeMs);
      if (timeMs >= stage.startedAtMs + this.settleMs) {
        if (arm === 'canary') stage.settled.canary += requests;
        else stage.settled.baseline += requests;
      }
      this.judged = nextVersion();
      // Named fields, not stage[arm]: a keyed load by a variable name was megamorphic here, once per span.
      return arm === 'canary' ? stage.canary : stage.baseline;
    }
    let slice = this.held.get(sliceStartMs);
    if (!slice) this.held.set(sliceStartMs, (slice = this.newPair()));
    return arm === 'canary' ? slice.canary : slice.baseline;
  }

  /**
   * A point of another instance's state of this run (forwarded-evidence.ts). Its forwarder is a source of the
   * watermark like any sender; beyond `maxSources` forwarders a new one is refused.
   */
  acceptForwarded(point: ForwardedPoint, nowMs: number): ForwardedOutcome | 'too_many_sources' {
    if (!this.forwarded.has(point.forwarderId) && this.forwarded.sourceCount >= this.settings.maxSources) {
      return 'too_many_sources';
    }
    this.changes = nextVersion();
    const timeMs = point.timeMs < nowMs ? point.timeMs : nowMs;
    this.sources.note(forwarderSource(point.forwarderId), point.arm, timeMs, nowMs);
    return this.forwarded.accept(point);
  }

  /**
   * Starts a new stage at `stage.startedAtMs` (not before the current stage's start). Evidence already judged
   * stays where it is; waiting slices join the stage their time falls in when the watermark passes them.
   */
  declareStage(stage: StageDeclaration): void {
    const current = this.stages[this.stages.length - 1];
    const startedAtMs = Math.max(stage.startedAtMs, current.startedAtMs);
    this.stages.push(this.newStage({ startedAtMs, canaryShare: stage.canaryShare }));
    this.judged = nextVersion();
    this.changes = nextVersion();
  }

  /** Moves the watermark to where the sources have reached at `nowMs` and lets the slices below it join. */
  advance(nowMs: number): void {
    const next = this.sources.at(nowMs);
    if (next > this.watermarkMs) this.watermarkMs = next;
    if (!this.forwarded.isEmpty) this.changes = nextVersion(); // the selection of forwarded states may move
    this.forwarded.select(this.sources.reached(nowMs), (id) =>
      this.sources.isIdle(forwarderSource(id), nowMs),
    );
    this.sources.forgetIdle(nowMs);
    for (const [sliceStartMs, slice] of this.held) {
      if (sliceStartMs + SLICE_MS > this.watermarkMs) continue;
      const stage = this.stageAt(sliceStartMs);
      stage.baseline.mergeFrom(slice.baseline);
      stage.canary.mergeFrom(slice.canary);
      if (sliceStartMs >= stage.startedAtMs + this.settleMs) {
        stage.settled.baseline += slice.baseline.requests;
        stage.settled.canary += slice.canary.requests;
      }
      this.held.delete(sliceStartMs);
      this.judged = nextVersion();
      this.changes = nextVersion();
    }
  }

  /**
   * Copies of every stage's judged evidence, oldest first, with the forwarded state added; callers cannot
   * disturb the live state.
   */
  read(): StageEvidence[] {
    const stages = this.stages.map((stage) => ({
      startedAtMs: stage.startedAtMs,
      canaryShare: stage.canaryShare,
      baseline: stage.baseline.clone(),
      canary: stage.canary.clone(),
      settled: { ...stage.settled },
    }));
    this.forwarded.mergeInto(stages);
    return stages;
  }

  /** This instance's own judged evidence per stage, without forwarded state (what a forwarder sends on). */
  readOwn(): StageEvidence[] {
    return this.stages.map((stage) => ({
      startedAtMs: stage.startedAtMs,
      canaryShare: stage.canaryShare,
      baseline: stage.baseline,
      canary: stage.canary,
      settled: stage.settled,
    }));
  }

  /** Everything received so far, judged or waiting for the watermark, over all stages (diagnostics). */
  received(): { baseline: ArmState; canary: ArmState } {
    const total = this.newPair();
    for (const part of [...this.stages, ...this.held.values()]) {
      total.baseline.mergeFrom(part.baseline);
      total.canary.mergeFrom(part.canary);
    }
    return total;
  }

  /** Adds another instance's evidence for the same run, stage by stage (exact; LatencyHistogram.mergeFrom). */
  mergeStages(stages: readonly StageEvidence[]): void {
    for (const other of stages) {
      const stage = this.stageAt(other.startedAtMs);
      stage.baseline.mergeFrom(other.baseline);
      stage.canary.mergeFrom(other.canary);
      stage.settled.baseline += other.settled.baseline;
      stage.settled.canary += other.settled.canary;
      this.judged = nextVersion();
      this.changes = nextVersion();
    }
  }

  toSnapshot(): RunEvidenceSnapshot {
    return {
      version: 1,
      watermarkMs: Number.isFinite(this.watermarkMs) ? this.watermarkMs : null,
      stages: this.stages.map((stage) => ({
        startedAtMs: stage.startedAtMs,
        canaryShare: stage.canaryShare,
        baseline: stage.baseline.toSnapshot(),
        canary: stage.canary.toSnapshot(),
        settled: { ...stage.settled },
      })),
      held: [...this.held].map(([sliceStartMs, slice]) => ({
        sliceStartMs,
        baseline: slice.baseline.toSnapshot(),
        canary: slice.canary.toSnapshot(),
      })),
      forwarded: this.forwarded.isEmpty ? undefined : this.forwarded.toSnapshot(),
    };
  }

  static fromSnapshot(
    snapshot: RunEvidenceSnapshot,
    settings: WatermarkSettings,
    histogramOptions: LatencyHistogramOptions = {},
    settleMs = 0,
  ): RunEvidence {
    if (snapshot.stages.length === 0) throw new RangeError('a run snapshot needs at least one stage');
    const [first, ...rest] = snapshot.stages;
    const evidence = new RunEvidence(first, settings, histogramOptions, settleMs);
    evidence.stages.length = 0;
    for (const stage of [first, ...rest]) {
      const baseline = ArmState.fromSnapshot(stage.baseline);
      const canary = ArmState.fromSnapshot(stage.canary);
      evidence.stages.push({
        startedAtMs: stage.startedAtMs,
        canaryShare: stage.canaryShare,
        baseline,
        canary,
        settled: stage.settled ?? { baseline: baseline.requests, canary: canary.requests },
      });
    }
    for (const slice of snapshot.held) {
      evidence.held.set(slice.sliceStartMs, {
        baseline: ArmState.fromSnapshot(slice.baseline),
        canary: ArmState.fromSnapshot(slice.canary),
      });
    }
    evidence.watermarkMs = snapshot.watermarkMs ?? -Infinity;
    evidence.judged = nextVersion();
    evidence.changes = nextVersion();
    if (snapshot.forwarded)
      evidence.forwarded = ForwardedEvidence.fromSnapshot(snapshot.forwarded, histogramOptions);
    return evidence;
  }

  /** The stage whose period holds `timeMs`: the last one started at or before it, else the first. */
  private stageAt(timeMs: number): StageEvidence {
    for (let i = this.stages.length - 1; i > 0; i--) {
      if (this.stages[i].startedAtMs <= timeMs) return this.stages[i];
    }
    return this.stages[0];
  }

  private newStage(declaration: StageDeclaration): StageEvidence {
    return {
      startedAtMs: declaration.startedAtMs,
      canaryShare: declaration.canaryShare,
      ...this.newPair(),
      settled: { baseline: 0, canary: 0 },
    };
  }

  private newPair(): ArmPair {
    return {
      baseline: new ArmState(new LatencyHistogram(this.histogramOptions)),
      canary: new ArmState(new LatencyHistogram(this.histogramOptions)),
    };
  }
}
