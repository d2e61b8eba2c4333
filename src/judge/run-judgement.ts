// One run's judgement: its plan, stages, the sequential state carried between ticks, and its latest verdict
// document. Pure state and computation; the JudgeService decides when to evaluate and what to persist.
import type { StageEvidence } from '../accumulate/run-evidence.js';
import { TraceExemplars } from '../accumulate/trace-exemplars.js';
import type { Analysis } from '../config/analysis.js';
import type { AnalysisEvaluation, AnalysisSequentialState, StageArms } from '../stats/analysis-policy.js';
import { evaluateAnalysis } from '../stats/evaluate-analysis.js';
import { planAnalysis, type AnalysisPlan } from './analysis-plan.js';
import { decideVerdict, isFinal } from './verdict.js';
import {
  buildDocument,
  withRun,
  type RunIdentity,
  type StageRecord,
  type VerdictDocument,
} from './verdict-document.js';

export interface RunEvaluation {
  tick: EvaluatedTick;
  document: VerdictDocument;
  carried: AnalysisSequentialState;
  changed: boolean;
  /**
   * The statistics were not computed again: the evidence, stages and carried state were those of the last
   * applied evaluation, whose decisions-only result was reused (see RunJudgement.evaluate).
   */
  reused: boolean;
}

interface EvaluatedTick {
  /** The evidence read for this tick (the same copies again when nothing was judged since: Accumulator.readSince). */
  evidence: readonly StageEvidence[];
  /** Its version (RunEvidence.judgedVersion). */
  evidenceVersion: number | undefined;
  stages: StageArms[];
  samplesByStage: Array<{ baseline: number; canary: number }>;
  evidenceUntilMs: number;
  carriedBefore: AnalysisSequentialState;
  nowMs: number;
  exemplars: VerdictDocument['exemplars'];
  /** The decisions-only statistics of this tick (what a later tick over the same inputs reuses). */
  decisions?: AnalysisEvaluation;
  /** The stage count and current share they were computed for. */
  stageCount: number;
  currentShare: number | null;
  full?: VerdictDocument;
}

/** Each arm's exemplar trace ids over the run's stages (later stages' newest last). */
function exemplarsOf(evidence: readonly StageEvidence[]): VerdictDocument['exemplars'] {
  const baseline = new TraceExemplars();
  const canary = new TraceExemplars();
  for (const stage of evidence) {
    baseline.mergeFrom(stage.baseline.exemplars);
    canary.mergeFrom(stage.canary.exemplars);
  }
  return { baseline: baseline.toSnapshot(), canary: canary.toSnapshot() };
}

export class RunJudgement {
  readonly plan: AnalysisPlan;
  private lastTick: EvaluatedTick | undefined;

  constructor(
    readonly identity: RunIdentity,
    /** The run's effective definition: the analysis as it was at the run's start, with the run's arm values. */
    readonly spec: Analysis,
    readonly stages: StageRecord[],
    /** The latest verdict; its fixed-horizon evidence may be missing (see fullDocument). */
    public document: VerdictDocument,
    /** Running minima of the always-valid p-values: the only state a tick hands to the next. */
    public carried: AnalysisSequentialState,
    /** When the time limit started counting: the run's start, or its latest re-opening. */
    public clockStartedAtMs: number,
  ) {
    this.plan = planAnalysis(spec);
  }

  get id(): string {
    return this.identity.runId;
  }

  get isRunning(): boolean {
    return this.identity.state === 'running';
  }

  /** A decided verdict ends the run's judging (a pass can be re-opened by a new stage). */
  get isDecided(): boolean {
    return isFinal(this.document.verdict);
  }

  /** The current stage's declared canary share. */
  get currentShare(): number | null {
    return this.stages[this.stages.length - 1]?.canaryShare ?? null;
  }

  get deadlineMs(): number {
    return this.clockStartedAtMs + this.plan.maxDurationMs;
  }

  /**
   * Evaluates the stages' evidence at `nowMs` without changing the run. With `full` false only decisions are
   * computed (bounds and always-valid p-values); the fixed-horizon evidence people read costs about five
   * times more and is filled in later from the same inputs by fullDocument(). The statistics engine makes
   * decisions identical in both modes. apply() makes the result the run's state.
   */
  evaluate(
    evidence: readonly StageEvidence[],
    evidenceUntilMs: number,
    nowMs: number,
    full: boolean,
    evidenceVersion?: number,
  ): RunEvaluation {
    const previous = this.lastTick?.evidence === evidence ? this.lastTick : undefined;
    const tick: EvaluatedTick = {
      evidence,
      evidenceVersion,
      stages:
        previous?.stages ??
        evidence.map((stage) => ({
          baseline: stage.baseline,
          canary: stage.canary,
          canaryShare: stage.canaryShare,
          splitRequests: stage.settled,
        })),
      samplesByStage:
        previous?.samplesByStage ??
        evidence.map((stage) => ({ baseline: stage.baseline.requests, canary: stage.canary.requests })),
      evidenceUntilMs,
      carriedBefore: this.carried,
      nowMs,
      exemplars: previous?.exemplars ?? exemplarsOf(evidence),
      stageCount: this.stages.length,
      currentShare: this.currentShare,
    };
    // Reuse: the statistics are a pure function of (evidence, stages, policy, carried state), and the carried
    // state is a fixpoint of evaluating the same evidence again: its running minima are minima of the same
    // values, an error block closes only on counts that grew (error-blocks.ts closeBlock), a stage's pass
    // evidence restarts only when the stage count changes, and the memo of earlier stages holds the values
    // it would compute. So when the last applied tick read this very evidence for the same stages and left
    // the carried state we hold, evaluating again gives that tick's statistics, and only what depends on the
    // time (the time limit, updatedAt, the watermark) is computed anew. At 1 000 runs without new data this
    // turns a tick of ~0.3-0.5 s of statistics into ~10 ms (bench/judge-tick.ts; test/judge/evaluation-reuse).
    const reusable =
      !full &&
      previous?.decisions !== undefined &&
      previous.decisions.state === this.carried &&
      previous.stageCount === tick.stageCount &&
      previous.currentShare === tick.currentShare
        ? previous.decisions
        : undefined;
    const { document, evaluation } = this.compute(tick, full, reusable);
    if (full) tick.full = document;
    else tick.decisions = evaluation;
    return {
      tick,
      document,
      carried: evaluation.state,
      changed: document.verdict !== this.document.verdict,
      reused: reusable !== undefined,
    };
  }

  /** The evidence the last applied evaluation read, and its version (to read again only what changed). */
  get lastEvidence(): { version: number | undefined; stages: readonly StageEvidence[] } | undefined {
    const last = this.lastTick;
    return last && { version: last.evidenceVersion, stages: last.evidence };
  }

  apply(evaluation: RunEvaluation): void {
    this.lastTick = evaluation.tick;
    this.document = evaluation.document;
    this.carried = evaluation.carried;
  }

  /** The latest document with the full evidence of the last evaluation (computed at most once per tick). */
  fullDocument(): VerdictDocument {
    const last = this.lastTick;
    if (!last) return withRun(this.document, this.identity, this.stages);
    last.full ??= this.compute(last, true).document;
    return withRun(last.full, this.identity, this.stages);
  }

  /** The latest document, with the run's identity and stages as they are now. */
  currentDocument(): VerdictDocument {
    return withRun(this.document, this.identity, this.stages);
  }

  private compute(
    tick: EvaluatedTick,
    full: boolean,
    reuse?: AnalysisEvaluation,
  ): { document: VerdictDocument; evaluation: AnalysisEvaluation } {
    const current = this.stages[this.stages.length - 1];
    const policy = {
      ...this.plan.policy,
      canaryShare: current?.canaryShare ?? this.plan.policy.canaryShare,
      evidence: full ? ('full' as const) : ('decisions-only' as const),
    };
    const evaluation = reuse ?? evaluateAnalysis(tick.stages, this.plan.metrics, policy, tick.carriedBefore);
    const decision = decideVerdict(evaluation, tick.nowMs - this.clockStartedAtMs, this.plan);
    const document = buildDocument(
      this.identity,
      this.stages,
      tick.nowMs,
      decision,
      evaluation,
      tick.samplesByStage,
      tick.evidenceUntilMs,
      tick.exemplars,
    );
    return { document, evaluation };
  }
}
