// What attribution keeps per routed run: the run's analysis compiled (with the run's arm values), its
// correlation join, the unexpected variant values seen (bounded), and outcome tallies flushed to Prometheus
// once per batch, not once per span. Series are labelled by analysis, whose cardinality is bounded.
import { CorrelationBuffer, KeyBytes, type CorrelationTotals } from './correlation-buffer.js';
import { ATTRIBUTION_OUTCOMES, type AttributionMetrics, type AttributionOutcome } from './metrics.js';
import type { Arm } from '../accumulate/observation.js';
import type { AnalysisRule } from './rules.js';

const IGNORED_REASONS = [
  'gauge',
  'summary',
  'non_monotonic_sum',
  'unit',
  'not_a_histogram',
  'temporality',
  'stream_started',
  'out_of_order',
  'out_of_range',
  'no_recorded_value',
] as const;

export type IgnoredReason = (typeof IGNORED_REASONS)[number];

export class AnalysisState {
  readonly buffer: CorrelationBuffer;
  private readonly otherVariants = new Set<string>();
  // Outcome counts since the last flush, by index in ATTRIBUTION_OUTCOMES: every judged span is counted, and
  // two Map operations per span were a measurable part of the one-analysis path (docs/performance-notes.md).
  private readonly spanTally = new Float64Array(ATTRIBUTION_OUTCOMES.length);
  private readonly pointTally = new Float64Array(ATTRIBUTION_OUTCOMES.length);
  private readonly ignoredTally = new Map<IgnoredReason, number>();
  private conflictTally = 0;
  /** Whether anything was tallied since the last flush (a batch touches few of many analyses). */
  private tallied = false;

  constructor(
    /** The run this analysis's traffic is evidence for now. */
    readonly runId: string,
    readonly rule: AnalysisRule,
    totals: CorrelationTotals,
    private readonly maxVariants: number,
    private readonly metrics: AttributionMetrics,
    keyBytes: KeyBytes = new KeyBytes(),
    /**
     * When attribution began routing the run (its clock): a cumulative stream counts for the run from its
     * first point after this (point-attribution.ts).
     */
    readonly routedAtMs = -Infinity,
  ) {
    this.buffer = new CorrelationBuffer(rule.windowMs, totals, keyBytes, (store, n) => {
      // The byte budget's evictions are counted as the entry limits' are (pipeline.ts enforceLimits).
      if (store === 'pending_spans') this.count('spans', 'evicted', n);
      this.metrics.evictions.inc({ store, reason: 'capacity' }, n);
    });
  }

  get id(): string {
    return this.rule.id;
  }

  /**
   * The arm a variant value means, or undefined for any other value: counted as `other` and remembered
   * (up to the per-analysis limit) for diagnostics, never made into a new arm.
   */
  armOf(variant: string, unit: 'spans' | 'points', count = 1): Arm | undefined {
    const arm = this.rule.armOf(variant);
    if (arm !== 'other') return arm;
    this.count(unit, 'other', count);
    if (!this.otherVariants.has(variant)) {
      if (this.otherVariants.size < this.maxVariants) this.otherVariants.add(variant);
      else this.metrics.evictions.inc({ store: 'variant_values', reason: 'capacity' });
    }
    return undefined;
  }

  count(unit: 'spans' | 'points', outcome: AttributionOutcome, n = 1): void {
    if (n === 0) return;
    this.tallied = true;
    const tally = unit === 'spans' ? this.spanTally : this.pointTally;
    tally[outcomeIndex(outcome)] += n;
  }

  ignore(reason: IgnoredReason): void {
    this.tallied = true;
    this.ignoredTally.set(reason, (this.ignoredTally.get(reason) ?? 0) + 1);
  }

  conflict(): void {
    this.tallied = true;
    this.conflictTally += 1;
  }

  /** Unexpected variant values seen so far (at most maxVariantsPerAnalysis). */
  get others(): string[] {
    return [...this.otherVariants];
  }

  flush(): void {
    if (!this.tallied) return;
    this.tallied = false;
    const analysis = this.rule.id;
    const { spanTally, pointTally } = this;
    for (let i = 0; i < ATTRIBUTION_OUTCOMES.length; i++) {
      const outcome = ATTRIBUTION_OUTCOMES[i];
      if (spanTally[i] > 0) this.metrics.spans.inc({ analysis, outcome }, spanTally[i]);
      if (pointTally[i] > 0) this.metrics.points.inc({ analysis, outcome }, pointTally[i]);
    }
    for (const [reason, n] of this.ignoredTally) this.metrics.pointsIgnored.inc({ analysis, reason }, n);
    if (this.conflictTally > 0) this.metrics.conflicts.inc({ analysis }, this.conflictTally);
    spanTally.fill(0);
    pointTally.fill(0);
    this.ignoredTally.clear();
    this.conflictTally = 0;
  }

  /**
   * Drops the analysis's labelled series once it is stopped, so analyses created and stopped through the
   * API over weeks do not grow the registry without bound.
   */
  removeSeries(): void {
    const analysis = this.rule.id;
    for (const outcome of ATTRIBUTION_OUTCOMES) {
      this.metrics.spans.remove({ analysis, outcome });
      this.metrics.points.remove({ analysis, outcome });
    }
    for (const reason of IGNORED_REASONS) this.metrics.pointsIgnored.remove({ analysis, reason });
    this.metrics.conflicts.remove({ analysis });
  }
}

/**
 * The index of `outcome` in ATTRIBUTION_OUTCOMES (a switch: no lookup by string per span). The array's order is
 * checked against it once, when this module loads (outcomesInSwitchOrder), so a reordered array cannot label
 * one outcome's count with another's.
 */
function outcomeIndex(outcome: AttributionOutcome): number {
  switch (outcome) {
    case 'baseline':
      return 0;
    case 'canary':
      return 1;
    case 'other':
      return 2;
    case 'unattributed':
      return 3;
    case 'conflict':
      return 4;
    case 'evicted':
      return 5;
    case 'no_correlation_key':
      return 6;
  }
}

function outcomesInSwitchOrder(): void {
  ATTRIBUTION_OUTCOMES.forEach((outcome, i) => {
    if (outcomeIndex(outcome) !== i) {
      throw new Error(
        `analysis-state.ts outcomeIndex('${outcome}') is not its index ${i} in ATTRIBUTION_OUTCOMES`,
      );
    }
  });
}
outcomesInSwitchOrder();
