// One running analysis: its plan, the sequential state carried between ticks, and its latest verdict
// document. Pure state and computation; the JudgeService decides when to evaluate and what to persist.
import type { AnalysisArms } from '../accumulate/accumulator.js';
import type { Analysis } from '../config/analysis.js';
import type { AnalysisSequentialState } from '../stats/analysis-policy.js';
import { evaluateAnalysis } from '../stats/evaluate-analysis.js';
import type { AnalysisSource } from '../store/analyses-repository.js';
import { planAnalysis, type AnalysisPlan } from './analysis-plan.js';
import { decideVerdict, isFinal } from './verdict.js';
import { buildDocument, type VerdictDocument } from './verdict-document.js';

interface EvaluatedTick {
  arms: AnalysisArms;
  carriedBefore: AnalysisSequentialState;
  nowMs: number;
  full?: VerdictDocument;
}

export class RunningAnalysis {
  readonly plan: AnalysisPlan;
  private lastTick: EvaluatedTick | undefined;

  constructor(
    readonly spec: Analysis,
    readonly source: AnalysisSource,
    readonly startedAtMs: number,
    /** The latest verdict; its fixed-horizon evidence may be missing (see fullDocument). */
    public document: VerdictDocument,
    /** Running minima of the always-valid p-values: the only state a tick hands to the next. */
    public carried: AnalysisSequentialState,
  ) {
    this.plan = planAnalysis(spec);
  }

  get id(): string {
    return this.spec.id;
  }

  get isDecided(): boolean {
    return isFinal(this.document.verdict);
  }

  /**
   * Evaluates the arms at `nowMs` and returns whether the verdict changed. With `fullEvidence` false only
   * decisions are computed (bounds and always-valid p-values); the fixed-horizon evidence people read
   * (Mann-Whitney U, Hodges-Lehmann, order-statistic intervals) costs about five times more and is filled
   * in later from the same inputs by fullDocument(). The statistics engine makes decisions identical in both modes.
   */
  evaluate(arms: AnalysisArms, nowMs: number, fullEvidence: boolean): boolean {
    const policy = fullEvidence
      ? this.plan.policy
      : { ...this.plan.policy, evidence: 'decisions-only' as const };
    const evaluation = evaluateAnalysis(
      [{ ...arms, canaryShare: this.spec.judge.canaryShare }],
      this.plan.metrics,
      policy,
      this.carried,
    );
    const decision = decideVerdict(evaluation, nowMs - this.startedAtMs, this.plan);
    const previous = this.document.verdict;
    this.document = buildDocument(this.id, this.startedAtMs, nowMs, decision, evaluation);
    this.lastTick = {
      arms,
      carriedBefore: this.carried,
      nowMs,
      full: fullEvidence ? this.document : undefined,
    };
    this.carried = evaluation.state;
    return decision.verdict !== previous;
  }

  /** The latest document with the full evidence of the last evaluation (computed at most once per tick). */
  fullDocument(): VerdictDocument {
    const last = this.lastTick;
    if (!last) return this.document;
    if (!last.full) {
      const evaluation = evaluateAnalysis(
        [{ ...last.arms, canaryShare: this.spec.judge.canaryShare }],
        this.plan.metrics,
        this.plan.policy,
        last.carriedBefore,
      );
      const decision = decideVerdict(evaluation, last.nowMs - this.startedAtMs, this.plan);
      last.full = buildDocument(this.id, this.startedAtMs, last.nowMs, decision, evaluation);
    }
    return last.full;
  }
}
