// SQL over the `webhook_outbox` table (store migrations 2 and 3). A row is one event for one receiver: its
// body is fixed at enqueue, so retries resend the same bytes; state moves pending -> delivered | failed once.
import type { Db } from '../store/database.js';
import type { PruneTask } from '../store/retention.js';

export interface OutboxRow {
  id: number;
  event_id: string;
  analysis_id: string;
  url: string;
  secret: string;
  body: string;
  created_at_ms: number;
  attempts: number;
  next_attempt_at_ms: number;
}

export interface NewOutboxRow {
  eventId: string;
  analysisId: string;
  url: string;
  secret: string;
  body: string;
  nowMs: number;
}

/** Prepared statements, compiled once per outbox. */
export class WebhookOutboxTable {
  private readonly insertRow;
  private readonly countPendingRows;
  private readonly countTargetRows;
  private readonly countTargetPending;
  private readonly selectTargetsWithPending;
  private readonly deleteOldestFinished;
  private readonly selectHeads;
  private readonly markDelivered;
  private readonly markFailed;
  private readonly markRetry;
  private readonly dueNow;
  private readonly deleteExpired;

  constructor(private readonly db: Db) {
    this.insertRow = db.prepare(
      `INSERT INTO webhook_outbox (event_id, analysis_id, url, secret, body, created_at_ms, next_attempt_at_ms)
       VALUES (@eventId, @analysisId, @url, @secret, @body, @nowMs, @nowMs)`,
    );
    this.countPendingRows = db.prepare(`SELECT count(*) AS n FROM webhook_outbox WHERE state = 'pending'`);
    this.countTargetRows = db.prepare(`SELECT count(*) AS n FROM webhook_outbox WHERE url = ?`);
    this.countTargetPending = db.prepare(
      `SELECT count(*) AS n FROM webhook_outbox WHERE url = ? AND state = 'pending'`,
    );
    this.selectTargetsWithPending = db.prepare(
      `SELECT url FROM webhook_outbox WHERE state = 'pending' GROUP BY url HAVING count(*) >= ?`,
    );
    // Delivered rows go first (sorting 'delivered' before 'failed'), oldest first within each.
    this.deleteOldestFinished = db.prepare(
      `DELETE FROM webhook_outbox WHERE id IN (
         SELECT id FROM webhook_outbox WHERE url = @url AND state IN ('delivered', 'failed')
          ORDER BY state, id LIMIT @count)`,
    );
    // The head of each (analysis, receiver) queue: its oldest pending row. Only heads are ever sent, which
    // is what keeps per-analysis order: event N+1 waits until N is delivered or given up.
    this.selectHeads = db.prepare(
      `SELECT o.id, o.event_id, o.analysis_id, o.url, o.secret, o.body, o.created_at_ms, o.attempts,
              o.next_attempt_at_ms
         FROM (SELECT min(id) AS id FROM webhook_outbox WHERE state = 'pending' GROUP BY analysis_id, url) AS h
         JOIN webhook_outbox AS o ON o.id = h.id
        ORDER BY o.next_attempt_at_ms, o.id`,
    );
    this.markDelivered = db.prepare(
      `UPDATE webhook_outbox SET state = 'delivered', attempts = attempts + 1, last_error = NULL,
              finished_at_ms = @nowMs
        WHERE id = @id AND state = 'pending'`,
    );
    this.markFailed = db.prepare(
      `UPDATE webhook_outbox SET state = 'failed', attempts = attempts + 1, last_error = @error,
              finished_at_ms = @nowMs
        WHERE id = @id AND state = 'pending'`,
    );
    this.markRetry = db.prepare(
      `UPDATE webhook_outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at_ms = @nextAtMs
        WHERE id = @id AND state = 'pending'`,
    );
    this.dueNow = db.prepare(
      `UPDATE webhook_outbox SET next_attempt_at_ms = @nowMs
        WHERE url = @url AND state = 'pending' AND next_attempt_at_ms > @nowMs`,
    );
    this.deleteExpired = db.prepare(
      `DELETE FROM webhook_outbox WHERE id IN (
         SELECT id FROM webhook_outbox WHERE finished_at_ms IS NOT NULL AND finished_at_ms < @beforeMs
          LIMIT @limit)`,
    );
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  insert(row: NewOutboxRow): void {
    this.insertRow.run(row);
  }

  countPending(): number {
    return (this.countPendingRows.get() as { n: number }).n;
  }

  countForTarget(url: string): number {
    return (this.countTargetRows.get(url) as { n: number }).n;
  }

  countPendingForTarget(url: string): number {
    return (this.countTargetPending.get(url) as { n: number }).n;
  }

  /** Receivers with at least `count` pending rows (start-up: which are already at their bound). */
  targetsWithPending(count: number): string[] {
    return (this.selectTargetsWithPending.all(count) as { url: string }[]).map((row) => row.url);
  }

  /** Deletes up to `count` finished rows of one receiver, delivered before failed, oldest first. */
  deleteOldestFinishedForTarget(url: string, count: number): number {
    return this.deleteOldestFinished.run({ url, count }).changes;
  }

  heads(): OutboxRow[] {
    return this.selectHeads.all() as OutboxRow[];
  }

  delivered(id: number, nowMs: number): void {
    this.markDelivered.run({ id, nowMs });
  }

  failed(id: number, error: string, nowMs: number): void {
    this.markFailed.run({ id, error, nowMs });
  }

  retry(id: number, error: string, nextAtMs: number): void {
    this.markRetry.run({ id, error, nextAtMs });
  }

  /** Makes every pending row of a receiver due now (it has just answered 2xx: it is back). */
  makeTargetDue(url: string, nowMs: number): number {
    return this.dueNow.run({ url, nowMs }).changes;
  }

  /** Background pruning of finished rows past `retentionMs` (migration 3 indexes finished_at_ms). */
  pruneTask(retentionMs: number): PruneTask {
    return {
      name: 'webhook_outbox',
      pruneBatch: (nowMs, limit) => this.deleteExpired.run({ beforeMs: nowMs - retentionMs, limit }).changes,
    };
  }
}
