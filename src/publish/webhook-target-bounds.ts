// The per-receiver bound of the outbox. Each receiver URL keeps at most `maxEventsPerTarget` rows: when a
// new event would pass it, that receiver's oldest delivered rows (then given-up ones) are deleted first.
// An undelivered event is never deleted and never refused: when a receiver's pending events alone reach
// the bound, the new one is still stored, and the receiver is reported as at its bound (the gauge
// canary_judge_webhook_targets_at_bound, /readyz, a warning) until deliveries bring it back under.
import type { Logger } from '../telemetry/logger.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import { redactUrl } from './webhook-outbox-options.js';
import type { WebhookOutboxTable } from './webhook-outbox-table.js';

export class WebhookTargetBounds {
  private readonly atBound = new Set<string>();

  constructor(
    private readonly table: WebhookOutboxTable,
    private readonly maxEventsPerTarget: number,
    private readonly metrics: WebhookMetrics,
    private readonly logger: Logger,
  ) {
    // Receivers already at their bound from before a restart (pending rows only: a cheap index read).
    for (const url of table.targetsWithPending(maxEventsPerTarget)) this.atBound.add(url);
  }

  /** Receivers at their bound now, as origin and path (never user-info or query). */
  get targets(): string[] {
    return [...this.atBound].map(redactUrl);
  }

  get size(): number {
    return this.atBound.size;
  }

  /**
   * Makes room for one more event to `url` (inside the enqueueing transaction): deletes that receiver's
   * oldest finished rows past the bound, and reports it when only undelivered rows are left.
   */
  beforeInsert(url: string): void {
    const rows = this.table.countForTarget(url);
    if (rows < this.maxEventsPerTarget) {
      this.leave(url);
      return;
    }
    const freed = this.table.deleteOldestFinishedForTarget(url, rows - this.maxEventsPerTarget + 1);
    if (freed > 0) this.metrics.prunedForBound.inc(freed);
    if (rows - freed < this.maxEventsPerTarget) {
      this.leave(url);
      return;
    }
    this.metrics.overBound.inc();
    if (this.atBound.has(url)) return;
    this.atBound.add(url);
    this.logger.warn(
      { url: redactUrl(url), pending: rows - freed, maxEventsPerTarget: this.maxEventsPerTarget },
      'webhook receiver at its bound: every row left is undelivered, so the new event is kept beyond it; is the receiver down?',
    );
  }

  /** After an event to `url` is delivered or given up: has it come back under its bound? */
  afterFinish(url: string): void {
    if (this.atBound.has(url) && this.table.countPendingForTarget(url) < this.maxEventsPerTarget) {
      this.leave(url);
    }
  }

  private leave(url: string): void {
    if (!this.atBound.delete(url)) return;
    this.logger.info({ url: redactUrl(url) }, 'webhook receiver back under its bound');
  }
}
