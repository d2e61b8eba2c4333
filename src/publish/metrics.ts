// Self-metrics of the ingest edge (prom-client). Each stage registers its own series on the one Registry
// that main.ts creates, so tests can build an isolated registry per sidecar instance.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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

/** prom-client's own default sampling interval of its event-loop-lag histogram. */
export const DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS = 10;

/**
 * A registry with the Node.js process metrics (unless `withDefaultMetrics` is false). The event-loop-lag
 * histogram samples every `eventLoopLagResolutionMs` (config api.eventLoopLagResolutionMs): a timer that wakes
 * the process 100 times a second at the default, measured at ~0.9% of a core on a 2-core VM with nothing
 * else to do (see README, footprint).
 */
export function createRegistry(
  withDefaultMetrics = true,
  eventLoopLagResolutionMs = DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS,
): Registry {
  const registry = new Registry();
  if (withDefaultMetrics) {
    collectDefaultMetrics({
      register: registry,
      prefix: DEFAULT_METRICS_PREFIX,
      eventLoopMonitoringPrecision: eventLoopLagResolutionMs,
    });
    for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
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
