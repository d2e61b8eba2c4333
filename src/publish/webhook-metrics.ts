// Self-metrics of webhook delivery (prom-client), registered on the Registry main.ts passes in.
// Labels are fixed small sets (outcome, reason), never the analysis id or URL, so cardinality is bounded.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeliveryOutcomeLabel = 'delivered' | 'retry' | 'failed';
export type RefusedReason = 'outbox_full' | 'invalid_url';

export interface WebhookMetrics {
  deliveries: Counter<'outcome'>;
  refused: Counter<'reason'>;
  attemptSeconds: Histogram<'outcome'>;
  lagSeconds: Histogram;
}

/** `countPending` is read at scrape time so the gauge is right after a restart too. */
export function createWebhookMetrics(
  registry: Registry,
  countPending: () => number | undefined,
): WebhookMetrics {
  const registers = [registry];
  new Gauge({
    name: 'canary_judge_webhook_pending',
    help: 'Webhook events in the outbox not yet delivered or given up',
    registers,
    collect() {
      const pending = countPending();
      if (pending !== undefined) this.set(pending);
    },
  });
  return {
    deliveries: new Counter({
      name: 'canary_judge_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retry (scheduled again), failed (given up)',
      labelNames: ['outcome'],
      registers,
    }),
    refused: new Counter({
      name: 'canary_judge_webhook_refused_total',
      help: 'Webhook events not accepted into the outbox, by reason',
      labelNames: ['reason'],
      registers,
    }),
    attemptSeconds: new Histogram({
      name: 'canary_judge_webhook_delivery_duration_seconds',
      help: 'Duration of one webhook HTTP attempt, by outcome',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    lagSeconds: new Histogram({
      name: 'canary_judge_webhook_delivery_lag_seconds',
      help: 'Time from a verdict change entering the outbox to its 2xx delivery, retries included',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    }),
  };
}
