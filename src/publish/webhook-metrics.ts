// Self-metrics of webhook delivery (prom-client), registered on the Registry main.ts passes in.
// Labels are fixed small sets (outcome, reason), never the analysis id or URL, so cardinality is bounded.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type DeliveryOutcomeLabel = 'delivered' | 'retry' | 'failed' | 'refused';
export type RefusedReason = 'invalid_url';

export interface WebhookMetrics {
  deliveries: Counter<'outcome'>;
  refused: Counter<'reason'>;
  attemptSeconds: Histogram<'outcome'>;
  lagSeconds: Histogram;
  overBound: Counter;
  prunedForBound: Counter;
}

export interface WebhookGaugeSources {
  /** Read at scrape time so the gauge is right after a restart too. */
  countPending: () => number | undefined;
  targetsAtBound: () => number;
}

export function createWebhookMetrics(registry: Registry, sources: WebhookGaugeSources): WebhookMetrics {
  const registers = [registry];
  new Gauge({
    name: 'canary_judge_webhook_pending',
    help: 'Webhook events in the outbox not yet delivered or given up',
    registers,
    collect() {
      const pending = sources.countPending();
      if (pending !== undefined) this.set(pending);
    },
  });
  new Gauge({
    name: 'canary_judge_webhook_targets_at_bound',
    help: 'Webhook receivers with at least webhookDelivery.maxEventsPerTarget undelivered events (none is dropped)',
    registers,
    collect() {
      this.set(sources.targetsAtBound());
    },
  });
  return {
    deliveries: new Counter({
      name: 'canary_judge_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retry (scheduled again), failed (given up), refused (address not allowed)',
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
    overBound: new Counter({
      name: 'canary_judge_webhook_events_over_bound_total',
      help: 'Webhook events accepted while their receiver was at its bound (kept, never dropped)',
      registers,
    }),
    prunedForBound: new Counter({
      name: 'canary_judge_webhook_rows_pruned_for_bound_total',
      help: 'Delivered (then given-up) webhook rows deleted early to keep a receiver under its bound',
      registers,
    }),
  };
}
