// The verdict policy (ARCHITECTURE.md, Vocabulary): the statistics engine's decision, plus the time limit,
// becomes a verdict with the action a rollout controller should take. Pure; no clock of its own.
import type { AnalysisEvaluation } from '../stats/analysis-policy.js';
import type { AnalysisPlan } from './analysis-plan.js';

export type Verdict = 'running' | 'pass' | 'fail' | 'inconclusive';
export type Action = 'continue' | 'promote' | 'rollback';

export interface VerdictDecision {
  verdict: Verdict;
  action: Action;
  reason: string;
}

/** Verdicts after which an analysis stops being judged. */
export function isFinal(verdict: Verdict): boolean {
  return verdict !== 'running';
}

/**
 * `fail` (rollback) when any metric fails or the traffic split is broken; `pass` (promote) when every metric
 * passes; `inconclusive` (the configured action) once `elapsedMs` reaches the plan's limit; else `running`.
 */
export function decideVerdict(
  evaluation: AnalysisEvaluation,
  elapsedMs: number,
  plan: AnalysisPlan,
): VerdictDecision {
  if (evaluation.decision === 'fail')
    return { verdict: 'fail', action: 'rollback', reason: evaluation.reason };
  if (evaluation.decision === 'pass')
    return { verdict: 'pass', action: 'promote', reason: evaluation.reason };
  if (elapsedMs >= plan.maxDurationMs) {
    const minutes = Math.round(plan.maxDurationMs / 60_000);
    return {
      verdict: 'inconclusive',
      action: plan.onInconclusive,
      reason: `no decision within ${minutes} min (${evaluation.reason})`,
    };
  }
  return { verdict: 'running', action: 'continue', reason: evaluation.reason };
}
