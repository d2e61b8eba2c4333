// What one finished delivery attempt changes: the row's next state (delivered, retry at a time, or
// given up) written in one transaction, and the counting and logging done only once that write
// succeeded, so an attempt whose write must wait for storage to recover is neither lost nor counted twice.
import type { Logger } from '../telemetry/logger.js';
import type { WebhookAttemptOutcome } from './webhook-delivery.js';
import type { DeliveryOutcomeLabel, WebhookMetrics } from './webhook-metrics.js';
import { redactUrl, type WebhookOutboxSettings } from './webhook-outbox-options.js';
import type { OutboxRow, WebhookOutboxTable } from './webhook-outbox-table.js';
import { nextDelayMs } from './webhook-retry-policy.js';
import type { WebhookTargetBounds } from './webhook-target-bounds.js';

export type FinishedAttempt = Exclude<WebhookAttemptOutcome, { kind: 'aborted' }>;

/** `write` records the attempt (run in one store write); `report` counts and logs it afterwards. */
export interface Recording {
  write: () => void;
  report: () => void;
}

export interface RecordContext {
  nowMs: number;
  /** How long the HTTP attempt took. */
  seconds: number;
  table: WebhookOutboxTable;
  bounds: WebhookTargetBounds;
  metrics: WebhookMetrics;
  logger: Logger;
  settings: WebhookOutboxSettings;
  random: () => number;
}

export function recordAttempt(row: OutboxRow, outcome: FinishedAttempt, context: RecordContext): Recording {
  const { nowMs, seconds, table, bounds, metrics, logger, settings, random } = context;
  const attempts = row.attempts + 1;
  const where = { eventId: row.event_id, analysisId: row.analysis_id, url: redactUrl(row.url), attempts };
  const count = (label: DeliveryOutcomeLabel): void => {
    metrics.deliveries.inc({ outcome: label });
    metrics.attemptSeconds.observe({ outcome: label }, seconds);
  };
  if (outcome.kind === 'delivered') {
    return {
      write: () => {
        table.delivered(row.id, nowMs);
        // The receiver is back: its other events need not sit out their backoff.
        table.makeTargetDue(row.url, nowMs);
        bounds.afterFinish(row.url);
      },
      report: () => {
        count('delivered');
        metrics.lagSeconds.observe(Math.max(0, nowMs - row.created_at_ms) / 1000);
        logger.info({ ...where, status: outcome.status }, 'webhook delivered');
      },
    };
  }
  const ageMs = nowMs - row.created_at_ms;
  if (outcome.kind === 'retry' && attempts < settings.maxAttempts && ageMs < settings.maxAgeMs) {
    const delayMs = nextDelayMs(
      attempts,
      outcome.retryAfterMs,
      { ...settings, minDelayMs: settings.minRetryDelayMs },
      settings.maxRetryAfterMs,
      random,
    );
    return {
      write: () => table.retry(row.id, outcome.reason, nowMs + delayMs),
      report: () => {
        count('retry');
        logger.warn({ ...where, reason: outcome.reason, delayMs }, 'webhook delivery will be retried');
      },
    };
  }
  const reason =
    outcome.kind === 'retry'
      ? `gave up after ${attempts} attempts over ${Math.round(ageMs / 1000)} s: ${outcome.reason}`
      : outcome.reason;
  return {
    write: () => {
      table.failed(row.id, reason, nowMs);
      bounds.afterFinish(row.url);
    },
    report: () => {
      count(outcome.kind === 'refused' ? 'refused' : 'failed');
      logger.error({ ...where, reason }, 'webhook delivery failed; giving up on this event');
    },
  };
}
