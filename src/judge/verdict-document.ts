// The verdict document: everything a person or a controller needs about one analysis's current verdict,
// as the API returns it, the webhook sends it and the history stores it.
import type { AnalysisEvaluation, ArmSummary, MetricResult, SrmResult } from '../stats/analysis-policy.js';
import type { Action, Verdict, VerdictDecision } from './verdict.js';

export interface VerdictDocument {
  id: string;
  verdict: Verdict;
  action: Action;
  reason: string;
  startedAt: string;
  updatedAt: string;
  elapsedSeconds: number;
  samples: { baseline: number; canary: number };
  arms: { baseline: ArmSummary; canary: ArmSummary } | null;
  metrics: MetricResult[];
  trafficSplit: SrmResult | null;
}

/** The document of an analysis that has not been evaluated yet. */
export function initialDocument(id: string, startedAtMs: number): VerdictDocument {
  const startedAt = new Date(startedAtMs).toISOString();
  return {
    id,
    verdict: 'running',
    action: 'continue',
    reason: 'collecting evidence: not evaluated yet',
    startedAt,
    updatedAt: startedAt,
    elapsedSeconds: 0,
    samples: { baseline: 0, canary: 0 },
    arms: null,
    metrics: [],
    trafficSplit: null,
  };
}

export function buildDocument(
  id: string,
  startedAtMs: number,
  nowMs: number,
  decision: VerdictDecision,
  evaluation: AnalysisEvaluation,
): VerdictDocument {
  return {
    id,
    ...decision,
    startedAt: new Date(startedAtMs).toISOString(),
    updatedAt: new Date(nowMs).toISOString(),
    elapsedSeconds: Math.round((nowMs - startedAtMs) / 1000),
    samples: { baseline: evaluation.arms.baseline.requests, canary: evaluation.arms.canary.requests },
    arms: evaluation.arms,
    metrics: evaluation.metrics,
    trafficSplit: evaluation.srm,
  };
}

/** The compact form for rollout controllers (Argo Rollouts `web` provider, Flagger gates). */
export function compactVerdict(
  document: VerdictDocument,
): Pick<VerdictDocument, 'id' | 'verdict' | 'action' | 'reason' | 'samples' | 'updatedAt'> {
  const { id, verdict, action, reason, samples, updatedAt } = document;
  return { id, verdict, action, reason, samples, updatedAt };
}
