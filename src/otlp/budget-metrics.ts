// Gauges of the ingest budget (admission.ts), beside the ingest counters of publish/metrics.ts.
import { Gauge, type Registry } from 'prom-client';

export interface BudgetMetrics {
  bytesInUse: Gauge;
}

export function createBudgetMetrics(registry: Registry, maxBytes: number): BudgetMetrics {
  const registers = [registry];
  new Gauge({
    name: 'canary_judge_otlp_ingest_budget_bytes',
    help: 'Memory all export requests together may hold (otlp.maxIngestBytes)',
    registers,
  }).set(maxBytes);
  return {
    bytesInUse: new Gauge({
      name: 'canary_judge_otlp_ingest_bytes',
      help: 'Bytes export requests hold now (received, decompressed and decoded), both transports',
      registers,
    }),
  };
}
