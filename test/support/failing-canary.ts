// The canonical "the canary is failing" traffic of the end-to-end publish tests: a healthy baseline (1% errors) and a
// canary erroring 25% of the time, sent through the real OTLP/HTTP protobuf exporter over MIN_ERROR_BLOCKS judge
// ticks, as exporters send it (the error rate's variance comes from per-tick blocks).
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { armSpans } from './arm-spans.js';
import { exportTickByTick, judgedRequests, traceExporter } from './telemetry.js';

export interface FailingCanaryTraffic {
  /** The sidecar's OTLP/HTTP and API ports (as Sidecar.ports has them: the HTTP receiver can be off). */
  ports: { http?: number; api: number };
  analysisId: string;
  revision: string;
  medianMs: number;
  /** Seeds of the baseline's and the canary's spans. */
  seeds: [number, number];
}

/**
 * Sends 2,000 baseline spans (service.version 1.0.0) and 500 canary spans (2.0.0) of service `checkout`, tick by
 * tick until the run judges each part; whether every export succeeded.
 */
export async function sendFailingCanary(traffic: FailingCanaryTraffic): Promise<boolean> {
  if (traffic.ports.http === undefined) throw new Error('the sidecar has no OTLP/HTTP receiver');
  const exporter = traceExporter('http-protobuf', {
    grpcUrl: '',
    httpUrl: `http://127.0.0.1:${traffic.ports.http}`,
  });
  const { medianMs, seeds } = traffic;
  const arms = [
    armSpans({ version: '1.0.0', count: 2000, medianMs, errorRate: 0.01 }, seeds[0]),
    armSpans({ version: '2.0.0', count: 500, medianMs, errorRate: 0.25 }, seeds[1]),
  ];
  try {
    return await exportTickByTick(
      exporter,
      arms,
      MIN_ERROR_BLOCKS,
      judgedRequests(traffic.ports.api, traffic.analysisId, traffic.revision),
    );
  } finally {
    await exporter.shutdown();
  }
}
