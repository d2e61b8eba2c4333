// The OTLP metrics a forwarding instance sends its runs' state as, and the judging instance reads (ARCHITECTURE.md,
// Scaling past one machine: no home-made protocol). One set of points per run x stage x arm with evidence, all
// cumulative since the forwarder began the run (start_time_unix_nano), timestamped with the forwarder's
// watermark (the event time up to which the values are complete):
//
//   canary_judge.fleet.requests            Sum, monotonic, {request}  requests
//   canary_judge.fleet.errors              Sum, monotonic, {request}  requests that are errors
//   canary_judge.fleet.split_requests      Sum, monotonic, {request}  requests the traffic-split check counts
//   canary_judge.fleet.latency             ExponentialHistogram, ns   latencies at the accumulator's scale;
//                                                                      sum = exact sum of those that had one
//   canary_judge.fleet.latency.values_without_sum  Sum, {value}       latencies whose source sent no sum
//   canary_judge.fleet.coarse_latency      Histogram, ns              one point per interval-censored bucket:
//                                          bounds = its nominal edges, count in the middle bucket, min/max =
//                                          the edges its values are known to lie within
//
// Point attributes: the run, its analysis, the stage number (1-based), the arm and the forwarder's id (plus the
// nominal bucket for coarse_latency, so each is its own stream). The resource's `service.name` names the
// analysis, `canary-judge.fleet/<analysis id>`: a Collector between forwarders and judges routes with the
// `loadbalancing` exporter's `routing_key: service`, so every forwarder's points of one analysis (all its runs)
// reach the same judge (deploy/otel-collector/collector-fleet.yaml).
export const FLEET_SCOPE = 'canary-judge.fleet';

export const FLEET_METRICS = {
  requests: 'canary_judge.fleet.requests',
  errors: 'canary_judge.fleet.errors',
  splitRequests: 'canary_judge.fleet.split_requests',
  latency: 'canary_judge.fleet.latency',
  latencyValuesWithoutSum: 'canary_judge.fleet.latency.values_without_sum',
  coarseLatency: 'canary_judge.fleet.coarse_latency',
} as const;

export const FLEET_ATTRIBUTES = {
  runId: 'canary_judge.run.id',
  analysisId: 'canary_judge.analysis.id',
  stage: 'canary_judge.stage',
  arm: 'canary_judge.arm',
  forwarderId: 'canary_judge.forwarder.id',
  interval: 'canary_judge.interval',
} as const;

const SERVICE_PREFIX = 'canary-judge.fleet/';

/** The `service.name` of the resource a forwarder sends an analysis's runs under (the routing key). */
export function fleetServiceName(analysisId: string): string {
  return `${SERVICE_PREFIX}${analysisId}`;
}
