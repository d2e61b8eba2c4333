// One tick's evidence for one metric, before the running minima and the family-wise decision are applied
// (evaluate-analysis.ts does that), and what every metric kind reads from a stage. The fail evidence covers
// every stage that has the metric's minimum samples (stitched: stage-stitching.ts); the pass evidence, the
// reported estimate and the fixed-horizon tests cover the current stage.
import type { ArmState } from '../accumulate/arm-state.js';
import type {
  AnalysisPolicy,
  CoarseBucketsNote,
  Effect,
  FixedHorizonEvidence,
  MetricSpec,
  StageArms,
  StageSequentialState,
} from './analysis-policy.js';
import { type ArmLatency, armLatency } from './arm-latency.js';
import { designEffect, MIN_ERROR_BLOCKS } from './error-blocks.js';
import type { EvaluationBuffers } from './evaluation-buffers.js';
import { hodgesLehmannShift } from './hodges-lehmann-shift.js';
import { mannWhitneyU } from './mann-whitney-u.js';

export interface MetricEvidence {
  /** `lower` at the metric's Bonferroni level; evaluate-analysis.ts sets it at the level the family asks. */
  effect: Effect;
  /**
   * The fail test's lower bound at level 1 - alpha (the test named by effect.lowerTest). `previous` is the
   * bound the last tick reported: a warm start for a search (latency quantiles' bisection), which never
   * changes the bound's validity; the bound found may differ within the search's precision, at a lower cost.
   */
  lowerBoundAt(alpha: number, previous?: number): number;
  fixedHorizon: FixedHorizonEvidence;
  /** Stitched over the counted stages (1 when none counts). */
  worsePValue: number;
  /** log of the e-value behind it (0 when no stage counts). */
  worseLogEvidence: number;
  /** The current stage's (1 when it lacks the minimum samples). */
  withinPValue: number;
  /** The current stage's samples per arm (requests for the error rate, latencies otherwise). */
  samples: { baseline: number; canary: number };
  minSamplesMet: boolean;
  stagesCounted: number;
  coarseBuckets?: CoarseBucketsNote;
  /** Words the reason adds (e.g. why a mean cannot be computed). */
  note?: string;
  /** When set, what the metric still waits for before its evidence can count (replaces the sample count). */
  waiting?: string;
}

/** One stage as the metric tests read it; latency views are built on first use and shared by metrics. */
export class StageView {
  private latencyViews: { canary: ArmLatency; baseline: ArmLatency } | undefined;
  private fixedHorizon: FixedHorizonEvidence | undefined;

  constructor(
    readonly index: number,
    readonly arms: StageArms,
    readonly blocks: StageSequentialState,
    /** The declared share, or the policy's hint: tunes the latency mixtures only. */
    readonly tuningShare: number,
    /** The evaluation's buffers (evaluation-buffers.ts): what is built in them lives only as long as it. */
    readonly buffers?: EvaluationBuffers,
  ) {}

  get baseline(): ArmState {
    return this.arms.baseline;
  }

  get canary(): ArmState {
    return this.arms.canary;
  }

  /**
   * `compute()`, memoized in the carried state for stages that are not current (their evidence only changes
   * when late data reaches them, which changes the fingerprint).
   */
  memo(key: string, isCurrent: boolean, compute: () => number): number {
    if (isCurrent) return compute();
    const fingerprint = stageFingerprint(this.arms);
    if (this.blocks.memo?.fingerprint !== fingerprint) this.blocks.memo = { fingerprint, logEvidence: {} };
    const known = this.blocks.memo.logEvidence[key];
    if (known !== undefined) return known;
    // -Infinity is not JSON: e^-745 is 0 in doubles, so nothing changes.
    const value = Math.max(-745, compute());
    this.blocks.memo.logEvidence[key] = value;
    return value;
  }

  latency(): { canary: ArmLatency; baseline: ArmLatency } {
    this.latencyViews ??= {
      canary: armLatency(this.arms.canary, this.buffers),
      baseline: armLatency(this.arms.baseline, this.buffers),
    };
    return this.latencyViews;
  }

  /** Both arms' design effects; `trusted` once both have MIN_ERROR_BLOCKS blocks. */
  errorDesign(): { canary: number; baseline: number; trusted: boolean } {
    const { canary, baseline } = this.blocks.errorBlocks;
    return {
      canary: designEffect(canary),
      baseline: designEffect(baseline),
      trusted: canary.blocks >= MIN_ERROR_BLOCKS && baseline.blocks >= MIN_ERROR_BLOCKS,
    };
  }

  /** Mann-Whitney U and Hodges-Lehmann on the stage's bucket representatives (descriptive). */
  latencyFixedHorizon(policy: AnalysisPolicy): FixedHorizonEvidence {
    if (!this.fixedHorizon) {
      const { canary, baseline } = this.latency();
      const sample = canary.coarseCount + baseline.coarseCount > 0 ? 'coarse-buckets' : 'buckets';
      if (policy.evidence === 'decisions-only') {
        this.fixedHorizon = { use: 'descriptive', test: 'skipped', statistic: NaN, pValue: NaN, sample };
      } else {
        const u = mannWhitneyU(canary.representatives, baseline.representatives, 'two-sided');
        const hl = hodgesLehmannShift(
          canary.representatives,
          baseline.representatives,
          policy.reportConfidence,
        );
        this.fixedHorizon = {
          use: 'descriptive',
          test: 'mann-whitney-u',
          statistic: u.u1,
          pValue: u.pValue,
          shiftNanos: { estimate: hl.estimate, lower: hl.lower, upper: hl.upper },
          sample,
        };
      }
    }
    return this.fixedHorizon;
  }
}

function stageFingerprint(arms: StageArms): string {
  const arm = (a: ArmState): string => `${a.requests},${a.errors},${a.latencyCount},${a.latencySumNanos}`;
  return `${arm(arms.baseline)}|${arm(arms.canary)}`;
}

export function minSamplesOf(spec: MetricSpec, policy: AnalysisPolicy): number {
  return spec.minSamples ?? policy.minSamplesPerArm;
}
