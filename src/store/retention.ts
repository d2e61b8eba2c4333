// Background pruning of rows past their retention (verdict history, finished webhook events): small
// batches, each its own short transaction, with the event loop free between them, so a large backlog
// never blocks ingest or the judge, and nothing runs at start (the first pass is one interval after it).
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../telemetry/logger.js';
import type { Store } from './database.js';

export interface PruneTask {
  /** The table, for logs and the metric label. */
  name: string;
  /** Deletes at most `limit` rows that are past retention at `nowMs`; returns how many it deleted. */
  pruneBatch(nowMs: number, limit: number): number;
}

export interface BackgroundPrunerOptions {
  store: Store;
  tasks: PruneTask[];
  intervalMs: number;
  registry: Registry;
  logger: Logger;
  /** Rows per transaction (default 500: a few milliseconds of work). */
  batchRows?: number;
  clock?: () => number;
}

export class BackgroundPruner {
  private readonly pruned: Counter<'table'>;
  private readonly batchRows: number;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(private readonly options: BackgroundPrunerOptions) {
    this.batchRows = options.batchRows ?? 500;
    this.clock = options.clock ?? Date.now;
    this.pruned = new Counter({
      name: 'canary_judge_store_pruned_rows_total',
      help: 'Rows deleted by background pruning after their retention, by table',
      labelNames: ['table'],
      registers: [options.registry],
    });
  }

  /** Runs a pass every interval, the first one interval after start. */
  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass over every task until each has nothing left to prune; resolves with the rows deleted. */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Stops the timer and lets a pass in progress end after its current batch. Safe to call twice. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async pass(): Promise<number> {
    let total = 0;
    for (const task of this.options.tasks) {
      for (;;) {
        if (this.stopped || !this.options.store.db.open || this.options.store.failure) return total;
        let deleted: number;
        try {
          deleted = this.options.store.write(() => task.pruneBatch(this.clock(), this.batchRows));
        } catch (error) {
          this.options.logger.warn(
            { err: error, table: task.name },
            'pruning failed; trying again next pass',
          );
          break;
        }
        if (deleted > 0) this.pruned.inc({ table: task.name }, deleted);
        total += deleted;
        if (deleted < this.batchRows) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    return total;
  }
}

/**
 * Verdict history older than `retentionMs` (0 keeps it for ever). Rows are read in id order, which is
 * the order they were recorded in, and the leading run of old ones deleted, so each batch touches at most
 * `limit` rows whatever the table's size, without an index on the time column.
 */
export function verdictHistoryPruneTask(store: Store, retentionMs: number): PruneTask {
  const oldest = store.db.prepare('SELECT id, at FROM verdict_history ORDER BY id LIMIT ?');
  const deleteThrough = store.db.prepare('DELETE FROM verdict_history WHERE id <= ?');
  return {
    name: 'verdict_history',
    pruneBatch(nowMs, limit) {
      if (retentionMs <= 0) return 0;
      const cutoff = new Date(nowMs - retentionMs).toISOString();
      let last: number | undefined;
      for (const row of oldest.all(limit) as { id: number; at: string }[]) {
        if (row.at >= cutoff) break;
        last = row.id;
      }
      return last === undefined ? 0 : deleteThrough.run(last).changes;
    },
  };
}
