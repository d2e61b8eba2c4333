// The webhook deliveries of one run, as the report page shows them: each verdict-change event the outbox
// holds for the run (its CloudEvent's data names the run), with its receiver, state, attempts and last
// error. Read-only over the outbox table (webhook-outbox-table.ts); the secret and the body are never read
// out, a password in the receiver's URL is masked, and `last_error` holds our own words (webhook-outbox.ts),
// never the receiver's reply. Rows past retention are gone (webhookDelivery.retentionHours).
import { withoutUrlPassword } from '../config/redaction.js';
import type { Db } from '../store/database.js';

export interface WebhookDelivery {
  eventId: string;
  url: string;
  verdict: string | null;
  action: string | null;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
  createdAt: string;
  /** When it was delivered or given up; null while pending. */
  finishedAt: string | null;
  /** When the next attempt is due, while pending. */
  nextAttemptAt: string | null;
}

interface DeliveryRow {
  event_id: string;
  url: string;
  verdict: string | null;
  action: string | null;
  state: WebhookDelivery['state'];
  attempts: number;
  last_error: string | null;
  created_at_ms: number;
  finished_at_ms: number | null;
  next_attempt_at_ms: number;
}

/** Deliveries shown per run at most (a run has one event per verdict change, per receiver). */
export const MAX_DELIVERIES_SHOWN = 200;

export function runWebhookDeliveries(db: Db, analysisId: string, runId: string): WebhookDelivery[] {
  const rows = db
    .prepare(
      `SELECT event_id, url, json_extract(body, '$.data.verdict') AS verdict,
              json_extract(body, '$.data.action') AS action, state, attempts, last_error, created_at_ms,
              finished_at_ms, next_attempt_at_ms
         FROM webhook_outbox
        WHERE analysis_id = ? AND json_extract(body, '$.data.runId') = ?
        ORDER BY id LIMIT ?`,
    )
    .all(analysisId, runId, MAX_DELIVERIES_SHOWN) as DeliveryRow[];
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return rows.map((row) => ({
    eventId: row.event_id,
    url: withoutUrlPassword(row.url),
    verdict: row.verdict,
    action: row.action,
    state: row.state,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: new Date(row.created_at_ms).toISOString(),
    finishedAt: iso(row.finished_at_ms),
    nextAttemptAt: row.state === 'pending' ? iso(row.next_attempt_at_ms) : null,
  }));
}
