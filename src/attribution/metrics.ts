// Self-metrics of attribution (prom-client), registered on the Registry passed in, like publish/metrics.ts.
// Every span and point an analysis matched ends in exactly one `outcome`, so nothing is silently lost.
import { Counter, Gauge, type Registry } from 'prom-client';

/** Every outcome, for removing a stopped analysis's series. */
export const ATTRIBUTION_OUTCOMES = [
  'baseline',
  'canary',
  'other',
  'unattributed',
  'conflict',
  'evicted',
  'no_correlation_key',
] as const;

/** What became of a matched span or metric point. */
export type AttributionOutcome =
  | 'baseline'
  | 'canary'
  /** Its variant is neither the baseline nor the canary value. */
  | 'other'
  /** The correlation window closed before any variant was learned. */
  | 'unattributed'
  /** Its correlation key showed two different variants. */
  | 'conflict'
  /** Dropped from the full pending buffer before its variant arrived. */
  | 'evicted'
  /** It carries no correlation key (no trace id, or the configured attribute is missing). */
  | 'no_correlation_key';

export type EvictionStore = 'pending_spans' | 'correlation_keys' | 'metric_streams' | 'variant_values';
export type EvictionReason = 'capacity' | 'window_closed' | 'expired' | 'analysis_removed';

export interface AttributionMetrics {
  spans: Counter<'analysis' | 'outcome'>;
  points: Counter<'analysis' | 'outcome'>;
  pointsIgnored: Counter<'analysis' | 'reason'>;
  conflicts: Counter<'analysis'>;
  flagEvaluations: Counter<'source'>;
  streamResets: Counter;
  evictions: Counter<'store' | 'reason'>;
}

export interface AttributionSizes {
  pendingSpans: number;
  correlationKeys: number;
  metricStreams: number;
}

export function createAttributionMetrics(
  registry: Registry,
  sizes: () => AttributionSizes,
): AttributionMetrics {
  const registers = [registry];
  const sizeGauge = (name: string, help: string, pick: (s: AttributionSizes) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(sizes()));
      },
    });
  };
  sizeGauge(
    'canary_judge_attribution_pending_spans',
    'Spans waiting for their variant',
    (s) => s.pendingSpans,
  );
  sizeGauge(
    'canary_judge_attribution_correlation_keys',
    'Correlation keys with a known variant',
    (s) => s.correlationKeys,
  );
  sizeGauge(
    'canary_judge_attribution_metric_streams',
    'Cumulative metric streams tracked',
    (s) => s.metricStreams,
  );
  return {
    spans: new Counter({
      name: 'canary_judge_attribution_spans_total',
      help: 'Spans matched by an analysis, by outcome (baseline, canary, other, unattributed, conflict, evicted, no_correlation_key)',
      labelNames: ['analysis', 'outcome'],
      registers,
    }),
    points: new Counter({
      name: 'canary_judge_attribution_points_total',
      help: 'Metric points matched by an analysis and turned into deltas, by outcome',
      labelNames: ['analysis', 'outcome'],
      registers,
    }),
    pointsIgnored: new Counter({
      name: 'canary_judge_attribution_points_ignored_total',
      help: 'Metric points matched by name but not usable (gauge, summary, non_monotonic_sum, unit, temporality, stream_started, out_of_order, out_of_range, no_recorded_value)',
      labelNames: ['analysis', 'reason'],
      registers,
    }),
    conflicts: new Counter({
      name: 'canary_judge_attribution_conflicts_total',
      help: 'Correlation keys (traces, sessions) that showed two different variants',
      labelNames: ['analysis'],
      registers,
    }),
    flagEvaluations: new Counter({
      name: 'canary_judge_attribution_flag_evaluations_total',
      help: 'OpenFeature evaluation records read, by form (log, span_event, legacy_span_event, child_span)',
      labelNames: ['source'],
      registers,
    }),
    streamResets: new Counter({
      name: 'canary_judge_attribution_stream_resets_total',
      help: 'Cumulative metric streams that restarted (start time changed or a count went down)',
      registers,
    }),
    evictions: new Counter({
      name: 'canary_judge_attribution_evictions_total',
      help: 'Entries dropped from bounded attribution state, by store and reason',
      labelNames: ['store', 'reason'],
      registers,
    }),
  };
}
