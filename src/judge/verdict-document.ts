// The verdict document: everything a person or a controller needs about one run's current verdict, as the
// API returns it, the webhook sends it and the history stores it. A run judges one rollout revision of one
// analysis; its stages are the weight steps it went through.
import type {
  AnalysisEvaluation,
  ArmSummary,
  MetricResult,
  SrmResult,
  StageSplitResult,
} from '../stats/analysis-policy.js';
import type { TraceExemplarsSnapshot } from '../accumulate/trace-exemplars.js';
import type { RunState } from '../store/runs-repository.js';
import type { Action, Verdict } from './verdict.js';

/** Who a run belongs to and where it stands: the part of the document that does not come from statistics. */
export interface RunIdentity {
  analysisId: string;
  runId: string;
  revision: string;
  /** 1 for the revision's first run; a revision deployed again after its run ended gets the next. */
  attempt: number;
  state: RunState;
  startedAtMs: number;
  /** Set once the run is finished or aborted. */
  endedAtMs: number | null;
  endReason: string | null;
}

/** A stage as declared: when it began and the canary share intended in it (null: none declared). */
export interface StageRecord {
  startedAtMs: number;
  canaryShare: number | null;
  /** Who declared it: `run-start`, `api`, `flagger`, `argo`, `kayenta`, `config`. */
  declaredBy: string;
}

export interface StageSummary {
  /** 1 for the first stage. */
  number: number;
  startedAt: string;
  canaryShare: number | null;
  declaredBy: string;
  samples: { baseline: number; canary: number };
  /** The stage's split against its declared share (not checked, and said so, where none was declared). */
  trafficSplit: StageSplitResult | null;
}

export interface VerdictDocument {
  analysisId: string;
  runId: string;
  revision: string;
  attempt: number;
  state: RunState;
  verdict: Verdict;
  action: Action;
  reason: string;
  startedAt: string;
  updatedAt: string;
  endedAt: string | null;
  endReason: string | null;
  elapsedSeconds: number;
  /** The number of the current stage (the last declared). */
  stage: number;
  stages: StageSummary[];
  /** Event time up to which evidence was judged (ISO), or null before both arms have reported. */
  evidenceUntil: string | null;
  samples: { baseline: number; canary: number };
  /** The current stage's arms. */
  arms: { baseline: ArmSummary; canary: ArmSummary } | null;
  metrics: MetricResult[];
  /** The run's traffic split: every checked stage's evidence, stitched, and each stage's own. */
  trafficSplit: SrmResult | null;
  /**
   * Trace ids to open in a tracing backend, per arm over the run's stages: the latest error spans and the
   * exemplars of metric points (errors apart). Null before the first evaluation.
   */
  exemplars?: { baseline: TraceExemplarsSnapshot; canary: TraceExemplarsSnapshot } | null;
}

export interface VerdictDecisionInput {
  verdict: Verdict;
  action: Action;
  reason: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function stageSummaries(
  stages: readonly StageRecord[],
  evaluation: AnalysisEvaluation | null,
  samplesByStage: ReadonlyArray<{ baseline: number; canary: number }>,
): StageSummary[] {
  return stages.map((stage, i) => ({
    number: i + 1,
    startedAt: new Date(stage.startedAtMs).toISOString(),
    canaryShare: stage.canaryShare,
    declaredBy: stage.declaredBy,
    samples: samplesByStage[i] ?? { baseline: 0, canary: 0 },
    trafficSplit: evaluation?.srm.stages[i] ?? null,
  }));
}

/** The document of a run that has not been evaluated yet. */
export function initialDocument(run: RunIdentity, stages: readonly StageRecord[]): VerdictDocument {
  const startedAt = new Date(run.startedAtMs).toISOString();
  return {
    analysisId: run.analysisId,
    runId: run.runId,
    revision: run.revision,
    attempt: run.attempt,
    state: run.state,
    verdict: 'running',
    action: 'continue',
    reason: 'collecting evidence: not evaluated yet',
    startedAt,
    updatedAt: startedAt,
    endedAt: iso(run.endedAtMs),
    endReason: run.endReason,
    elapsedSeconds: 0,
    stage: stages.length,
    stages: stageSummaries(stages, null, []),
    evidenceUntil: null,
    samples: { baseline: 0, canary: 0 },
    arms: null,
    metrics: [],
    trafficSplit: null,
    exemplars: null,
  };
}

export function buildDocument(
  run: RunIdentity,
  stages: readonly StageRecord[],
  nowMs: number,
  decision: VerdictDecisionInput,
  evaluation: AnalysisEvaluation,
  samplesByStage: ReadonlyArray<{ baseline: number; canary: number }>,
  evidenceUntilMs: number,
  exemplars: VerdictDocument['exemplars'] = null,
): VerdictDocument {
  return {
    analysisId: run.analysisId,
    runId: run.runId,
    revision: run.revision,
    attempt: run.attempt,
    state: run.state,
    ...decision,
    startedAt: new Date(run.startedAtMs).toISOString(),
    updatedAt: new Date(nowMs).toISOString(),
    endedAt: iso(run.endedAtMs),
    endReason: run.endReason,
    elapsedSeconds: Math.round((nowMs - run.startedAtMs) / 1000),
    stage: stages.length,
    stages: stageSummaries(stages, evaluation, samplesByStage),
    evidenceUntil: Number.isFinite(evidenceUntilMs) ? new Date(evidenceUntilMs).toISOString() : null,
    samples: {
      baseline: samplesByStage.reduce((sum, stage) => sum + stage.baseline, 0),
      canary: samplesByStage.reduce((sum, stage) => sum + stage.canary, 0),
    },
    arms: evaluation.arms,
    metrics: evaluation.metrics,
    trafficSplit: evaluation.srm,
    exemplars,
  };
}

/** The document with the run's identity and stages as they are now (after an abort, a stage, a re-open). */
export function withRun(
  document: VerdictDocument,
  run: RunIdentity,
  stages: readonly StageRecord[],
): VerdictDocument {
  const known = document.stages;
  return {
    ...document,
    state: run.state,
    endedAt: iso(run.endedAtMs),
    endReason: run.endReason,
    stage: stages.length,
    stages: stages.map(
      (stage, i) =>
        known[i] ?? {
          number: i + 1,
          startedAt: new Date(stage.startedAtMs).toISOString(),
          canaryShare: stage.canaryShare,
          declaredBy: stage.declaredBy,
          samples: { baseline: 0, canary: 0 },
          trafficSplit: null,
        },
    ),
  };
}

export type CompactVerdict = Pick<
  VerdictDocument,
  | 'analysisId'
  | 'runId'
  | 'revision'
  | 'attempt'
  | 'state'
  | 'verdict'
  | 'action'
  | 'reason'
  | 'stage'
  | 'samples'
  | 'updatedAt'
>;

/** The compact form for rollout controllers (Argo Rollouts `web` provider, Flagger gates). */
export function compactVerdict(document: VerdictDocument): CompactVerdict {
  const { analysisId, runId, revision, attempt, state, verdict, action, reason, stage, samples, updatedAt } =
    document;
  return { analysisId, runId, revision, attempt, state, verdict, action, reason, stage, samples, updatedAt };
}
