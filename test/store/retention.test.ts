// Background pruning (issue 12, finding 4): finished webhook rows and verdict history past their
// retention are deleted in small batches with the event loop free between them, pending rows are never
// touched, and nothing is pruned at start (the first pass is one interval later).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { WebhookOutboxTable } from '../../src/publish/webhook-outbox-table.js';
import { startSidecar } from '../../src/sidecar.js';
import { Store } from '../../src/store/database.js';
import { BackgroundPruner, verdictHistoryPruneTask, type PruneTask } from '../../src/store/retention.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

const DAY_MS = 86_400_000;
const NOW = Date.parse('2026-11-29T12:00:00Z');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-retention-'));
  dirs.push(dir);
  return join(dir, 'state.sqlite');
}

/** Outbox rows: `finishedDaysAgo` null leaves them pending (created 30 days ago). */
function addOutboxRows(store: Store, count: number, finishedDaysAgo: number | null, prefix: string): void {
  const insert = store.db.prepare(
    `INSERT INTO webhook_outbox (event_id, analysis_id, url, secret, body, created_at_ms, next_attempt_at_ms,
       state, finished_at_ms) VALUES (?, 'a', 'http://r.example/', 's', '{}', ?, ?, ?, ?)`,
  );
  store.db.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      const finished = finishedDaysAgo === null ? null : NOW - finishedDaysAgo * DAY_MS;
      insert.run(
        `${prefix}-${i}`,
        NOW - 30 * DAY_MS,
        NOW,
        finished === null ? 'pending' : 'delivered',
        finished,
      );
    }
  })();
}

function addHistory(store: Store, daysAgo: number[]): void {
  const insert = store.db.prepare(
    `INSERT INTO verdict_history (analysis_id, verdict, action, reason, document_json, at)
     VALUES ('a', 'fail', 'rollback', 'r', '{}', ?)`,
  );
  for (const days of daysAgo) insert.run(new Date(NOW - days * DAY_MS).toISOString());
}

function count(store: Store, sql: string): number {
  return (store.db.prepare(sql).get() as { n: number }).n;
}

describe('BackgroundPruner', () => {
  it('deletes expired finished rows in batches, yielding between them, and keeps pending and recent ones', async () => {
    const store = Store.open(tempPath());
    addOutboxRows(store, 1_250, 10, 'old');
    addOutboxRows(store, 10, 1, 'recent');
    addOutboxRows(store, 5, null, 'pending');
    addHistory(store, [200, 120, 91, 30, 1]);
    const table = new WebhookOutboxTable(store.db);
    const batches: number[] = [];
    let yields = 0;
    const counting = (task: PruneTask): PruneTask => ({
      name: task.name,
      pruneBatch(nowMs, limit) {
        const deleted = task.pruneBatch(nowMs, limit);
        batches.push(deleted);
        setImmediate(() => (yields += 1)); // runs only if the pass lets the event loop turn
        return deleted;
      },
    });
    const registry = new Registry();
    const pruner = new BackgroundPruner({
      store,
      tasks: [counting(table.pruneTask(7 * DAY_MS)), counting(verdictHistoryPruneTask(store, 90 * DAY_MS))],
      intervalMs: 60_000,
      registry,
      logger: pino({ level: 'silent' }),
      batchRows: 100,
      clock: () => NOW,
    });
    expect(await pruner.runOnce()).toBe(1_253);
    expect(batches.slice(0, 13)).toEqual([...Array(12).fill(100), 50]);
    expect(yields).toBeGreaterThanOrEqual(12);
    expect(count(store, "SELECT count(*) AS n FROM webhook_outbox WHERE state = 'pending'")).toBe(5);
    expect(count(store, 'SELECT count(*) AS n FROM webhook_outbox')).toBe(15);
    expect(count(store, 'SELECT count(*) AS n FROM verdict_history')).toBe(2);
    expect(await registry.getSingleMetricAsString('canary_judge_store_pruned_rows_total')).toContain(
      'canary_judge_store_pruned_rows_total{table="webhook_outbox"} 1250',
    );
    await pruner.shutdown();
    store.close();
  });

  it('keeps verdict history for ever when its retention is 0', () => {
    const store = Store.open(tempPath());
    addHistory(store, [3_000, 1]);
    expect(verdictHistoryPruneTask(store, 0).pruneBatch(NOW, 100)).toBe(0);
    store.close();
  });

  it('prunes nothing while the sidecar starts', async () => {
    const path = tempPath();
    const seeded = Store.open(path);
    addOutboxRows(seeded, 300, 30, 'expired');
    addHistory(seeded, [400, 300]);
    seeded.close();
    const sidecar = await startSidecar(
      parseConfig({
        otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
        api: { port: 0 },
        storage: { path },
      }),
      { logger: createLogger('silent') },
    );
    expect(count(sidecar.store, 'SELECT count(*) AS n FROM webhook_outbox')).toBe(300);
    expect(count(sidecar.store, 'SELECT count(*) AS n FROM verdict_history')).toBe(2);
    await sidecar.stop();
  });
});
