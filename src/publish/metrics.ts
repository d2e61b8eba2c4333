// Self-metrics of the ingest edge (prom-client). Each stage registers its own series on the one Registry
// that main.ts creates, so tests can build an isolated registry per sidecar instance.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventLoopLag } from '../otlp/event-loop-lag.js';

export type Transport = 'grpc' | 'http';
export type Signal = 'traces' | 'metrics' | 'logs';

export interface IngestMetrics {
  /** Export requests answered, by transport, signal and outcome (`ok`, or the error code). */
  requests: Counter<'transport' | 'signal' | 'outcome'>;
  /** Spans / points / log records accepted and handed on. */
  itemsReceived: Counter<'transport' | 'signal'>;
  /** Items not handed on, with why: partial-success rejects, whole bad requests are counted as requests. */
  itemsRejected: Counter<'transport' | 'signal' | 'reason'>;
  /** Log records that are not flag evaluations: dropped by design, counted. */
  logRecordsIgnored: Counter<'transport'>;
  /** Bytes received on the wire (before decompression). */
  bytesReceived: Counter<'transport' | 'signal'>;
  inFlightRequests: Gauge;
}

const DEFAULT_METRICS_PREFIX = 'canary_judge_process_';

/**
 * prom-client's default metrics include three gauges named `nodejs_active_{handles,requests,resources}_total`:
 * Prometheus reserves `_total` for counters (`promtool check metrics` fails on them). Each one is the sum of
 * the same family without the suffix, labelled by type (`sum(canary_judge_process_nodejs_active_handles)`),
 * so they are dropped rather than renamed.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ['handles', 'requests', 'resources'].map(
  (what) => `${DEFAULT_METRICS_PREFIX}nodejs_active_${what}_total`,
);

/**
 * prom-client's event-loop-lag histogram series (perf_hooks.monitorEventLoopDelay), replaced by the same names
 * fed from the sidecar's own sampler (src/otlp/event-loop-lag.ts: no timer waking the process 100 times a
 * second). prom-client's `nodejs_eventloop_lag_seconds` stays: it measures at scrape time, with no timer.
 */
const LOOP_DELAY_SERIES = [
  ['min', 'minMs', 'The shortest delay of the event-loop sampler since the last scrape'],
  ['max', 'maxMs', 'The longest delay of the event-loop sampler since the last scrape'],
  ['mean', 'meanMs', 'The mean delay of the event-loop sampler since the last scrape'],
  ['stddev', 'stddevMs', 'The standard deviation of the event-loop sampler delays since the last scrape'],
  ['p50', 'p50Ms', 'The median delay of the event-loop sampler since the last scrape'],
  ['p90', 'p90Ms', 'The 90th percentile delay of the event-loop sampler since the last scrape'],
  ['p99', 'p99Ms', 'The 99th percentile delay of the event-loop sampler since the last scrape'],
] as const;
const LOOP_DELAY_HELP_SUFFIX =
  ' (how late a timer ran, 0 on a free loop; sampled every api.eventLoopLagResolutionMs while export requests arrive, every second otherwise)';
/**
 * monitorEventLoopDelay's largest resolution (int32 ms, ~24.8 days): collectDefaultMetrics has no switch to
 * leave the histogram out, so its timer is set to fire about never and its series are replaced.
 */
const NEVER_MS = 2 ** 31 - 1;

/**
 * A registry with the Node.js process metrics (unless `withDefaultMetrics` is false); the event-loop-lag
 * histogram series read `eventLoopLag` (started by its owner), or are left out without one.
 */
export function createRegistry(withDefaultMetrics = true, eventLoopLag?: EventLoopLag): Registry {
  const registry = new Registry();
  if (!withDefaultMetrics) return registry;
  collectDefaultMetrics({
    register: registry,
    prefix: DEFAULT_METRICS_PREFIX,
    eventLoopMonitoringPrecision: NEVER_MS,
  });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
  for (const [stat] of LOOP_DELAY_SERIES)
    registry.removeSingleMetric(`${DEFAULT_METRICS_PREFIX}nodejs_eventloop_lag_${stat}_seconds`);
  if (!eventLoopLag) return registry;
  // The first series' collect sets all seven from one take of the sampler's delays, as prom-client's did from
  // its histogram: the registry collects its metrics in registration order.
  const gauges: Array<readonly [(typeof LOOP_DELAY_SERIES)[number][1], Gauge]> = [];
  const collect = (): void => {
    const delays = eventLoopLag.takeDelays();
    for (const [field, gauge] of gauges) gauge.set(delays[field] / 1000);
  };
  for (const [stat, field, help] of LOOP_DELAY_SERIES) {
    const gauge = new Gauge({
      name: `${DEFAULT_METRICS_PREFIX}nodejs_eventloop_lag_${stat}_seconds`,
      help: help + LOOP_DELAY_HELP_SUFFIX,
      registers: [registry],
      ...(gauges.length === 0 ? { collect } : {}),
    });
    gauges.push([field, gauge]);
  }
  return registry;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'canary_judge_otlp_requests_total',
      help: 'OTLP export requests answered, by transport, signal and outcome',
      labelNames: ['transport', 'signal', 'outcome'],
      registers,
    }),
    itemsReceived: new Counter({
      name: 'canary_judge_otlp_items_received_total',
      help: 'Spans, metric points and log records accepted, by transport and signal',
      labelNames: ['transport', 'signal'],
      registers,
    }),
    itemsRejected: new Counter({
      name: 'canary_judge_otlp_items_rejected_total',
      help: 'Spans, metric points and log records rejected inside an accepted request, by reason',
      labelNames: ['transport', 'signal', 'reason'],
      registers,
    }),
    logRecordsIgnored: new Counter({
      name: 'canary_judge_otlp_log_records_ignored_total',
      help: 'Log records that are not feature_flag.evaluation events (dropped by design)',
      labelNames: ['transport'],
      registers,
    }),
    bytesReceived: new Counter({
      name: 'canary_judge_otlp_received_bytes_total',
      help: 'Request bytes received on the wire, before decompression',
      labelNames: ['transport', 'signal'],
      registers,
    }),
    inFlightRequests: new Gauge({
      name: 'canary_judge_otlp_in_flight_requests',
      help: 'Export requests being read or decoded now',
      registers,
    }),
  };
}
