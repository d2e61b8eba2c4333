// The run the report page's tests judge (test/api/report-routes.test.ts, test/report/report-page.test.ts):
// one analysis of a checkout service's server spans, and the pods that send them.
import type { PodProfile } from './rollout-traffic.js';

export const REPORT_ANALYSIS = {
  id: 'checkout',
  match: { service: 'checkout', spanKind: 'server' },
  variant: { attribute: 'service.version' },
  baseline: 'v1',
  canary: 'v2',
  metrics: [
    { name: 'latency', kind: 'latency', tolerance: 0.2, quantiles: [0.5] },
    { name: 'errors', kind: 'error_rate', tolerance: 0.02 },
  ],
  judge: { minSamplesPerArm: 200, maxDurationSeconds: 3600 },
};

/** A pod of the checkout service at `version`, with its median latency and error rate. */
export const checkoutPod = (version: string, medianMs: number, errorRate: number): PodProfile => ({
  resource: { 'service.name': 'checkout', 'service.version': version },
  medianMs,
  errorRate,
});
