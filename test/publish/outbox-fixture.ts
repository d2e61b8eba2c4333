// One outbox on a temp SQLite file with a fake clock, a fixed jitter, an isolated registry and captured
// logs; `settle()` jumps the clock to each next due attempt until nothing is pending.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { WebhookOutbox, type WebhookOutboxOptions } from '../../src/publish/webhook-outbox.js';
import { Store } from '../../src/store/database.js';

export interface OutboxRowView {
  event_id: string;
  analysis_id: string;
  state: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at_ms: number;
  url: string;
  body: string;
}

export class FakeClock {
  constructor(public t = Date.parse('2026-11-25T10:00:00Z')) {}
  now(): number {
    return this.t;
  }
  get seconds(): number {
    return Math.floor(this.t / 1000);
  }
}

const dirs: string[] = [];
export function removeTempDirs(): void {
  dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true }));
}
export function tempDbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-webhook-'));
  dirs.push(dir);
  return join(dir, 'state.sqlite');
}

export class OutboxFixture {
  readonly store: Store;
  readonly registry = new Registry();
  readonly logs: string[] = [];
  readonly outbox: WebhookOutbox;

  constructor(
    readonly path: string,
    readonly clock: FakeClock,
    options: Partial<WebhookOutboxOptions> = {},
  ) {
    this.store = Store.open(path);
    const logger = pino({ level: 'debug' }, { write: (line: string) => this.logs.push(line) });
    this.outbox = new WebhookOutbox({
      store: this.store,
      registry: this.registry,
      logger,
      clock,
      random: () => 0.5,
      // The tests' receivers listen on loopback, which the address policy refuses unless allowed.
      allowAddresses: ['127.0.0.1'],
      baseDelayMs: 1_000,
      maxDelayMs: 60_000,
      minRetryDelayMs: 100,
      requestTimeoutMs: 2_000,
      source: '/canary-judge/test',
      ...options,
    });
  }

  rows(): OutboxRowView[] {
    return this.store.db
      .prepare(
        'SELECT event_id, analysis_id, state, attempts, last_error, next_attempt_at_ms, url, body FROM webhook_outbox ORDER BY id',
      )
      .all() as OutboxRowView[];
  }

  /** Flushes, then moves the fake clock to the earliest pending attempt, until nothing is pending. */
  async settle(maxRounds = 50): Promise<void> {
    for (let round = 0; round < maxRounds; round += 1) {
      await this.outbox.flush();
      // Only each queue's oldest pending row is eligible; later rows wait for it whatever their time.
      const heads = new Map<string, OutboxRowView>();
      for (const row of this.rows()) {
        const queue = `${row.analysis_id}\n${row.url}`;
        if (row.state === 'pending' && !heads.has(queue)) heads.set(queue, row);
      }
      if (heads.size === 0) return;
      const due = [...heads.values()].map((row) => row.next_attempt_at_ms);
      this.clock.t = Math.max(this.clock.t, Math.min(...due));
    }
    throw new Error(`outbox did not settle: ${JSON.stringify(this.rows().map(({ body: _b, ...r }) => r))}`);
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = (await this.registry.getMetricsAsJSON()).find((m) => m.name === name);
    const value = metric?.values.find((v) =>
      Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
    );
    return value?.value ?? 0;
  }

  async close(): Promise<void> {
    await this.outbox.shutdown();
    this.store.close();
  }
}
