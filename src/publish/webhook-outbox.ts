// The durable webhook outbox: verdict changes are written to SQLite (in the judge's own transaction) and
// a delivery loop POSTs them as signed CloudEvents until a receiver answers 2xx. At-least-once: a row is
// marked delivered only after the 2xx, so a crash mid-request leaves it pending and a restart sends it
// again with the same event id and body (receivers dedupe on the CloudEvent `id`). Per analysis, only the
// oldest pending row is ever in flight, so a receiver sees an analysis's verdicts in order. The queue is
// (analysis, receiver URL): with one URL per analysis that is per-analysis order, and should an analysis
// ever have several receivers, one receiver's outage does not hold back the others.
// Single writer: one sidecar process owns a database file's outbox.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../telemetry/logger.js';
import { buildVerdictEvent, defaultEventSource, type VerdictEventData } from './cloudevents.js';
import { attemptWebhookDelivery, type WebhookAttemptOutcome } from './webhook-delivery.js';
import { createWebhookMetrics, type RefusedReason, type WebhookMetrics } from './webhook-metrics.js';
import { WebhookOutboxTable, type OutboxRow } from './webhook-outbox-table.js';
import {
  isHttpUrl,
  redactUrl,
  resolveOutboxSettings,
  type WebhookOutboxOptions,
  type WebhookOutboxSettings,
} from './webhook-outbox-options.js';
import { nextDelayMs } from './webhook-retry-policy.js';
import { signWebhookBody } from './webhook-signature.js';

export type { WebhookOutboxOptions } from './webhook-outbox-options.js';

export interface WebhookEnqueueInput {
  analysisId: string;
  url: string;
  secret: string;
  data: VerdictEventData;
  /** When the verdict changed; default now. */
  time?: Date;
}

const PRUNE_INTERVAL_MS = 60_000;

export class WebhookOutbox {
  private readonly table: WebhookOutboxTable;
  private readonly metrics: WebhookMetrics;
  private readonly logger: Logger;
  private readonly source: string;
  private readonly clock: { now(): number };
  private readonly random: () => number;
  private readonly newEventId: () => string;
  private readonly settings: WebhookOutboxSettings;
  /** queue key -> its delivery in flight (at most one per queue: that is the ordering rule). */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly shutdownController = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping: Promise<void> | undefined;
  private lastPruneMs = 0;

  constructor(options: WebhookOutboxOptions) {
    this.table = new WebhookOutboxTable(options.db);
    this.logger = options.logger;
    this.source = options.source ?? defaultEventSource();
    this.clock = options.clock ?? Date;
    this.random = options.random ?? Math.random;
    this.newEventId = options.newEventId ?? randomUUID;
    this.settings = resolveOutboxSettings(options);
    this.metrics = createWebhookMetrics(options.registry, () =>
      this.table.isOpen ? this.table.countPending() : undefined,
    );
  }

  /**
   * Adds one event and returns its id, or null when refused (outbox full, URL not http(s)); a refusal
   * is logged and counted, never thrown, so it cannot roll back the caller's transaction. Synchronous:
   * call it inside the transaction that records the verdict change, and the two commit together.
   */
  enqueue(input: WebhookEnqueueInput): string | null {
    if (!isHttpUrl(input.url)) return this.refuse('invalid_url', input);
    if (this.table.countPending() >= this.settings.maxPendingRows) return this.refuse('outbox_full', input);
    const nowMs = this.clock.now();
    const eventId = this.newEventId();
    const event = buildVerdictEvent({
      analysisId: input.analysisId,
      data: input.data,
      source: this.source,
      time: input.time ?? new Date(nowMs),
      id: eventId,
    });
    this.table.insert({
      eventId,
      analysisId: input.analysisId,
      url: input.url,
      secret: input.secret,
      body: JSON.stringify(event),
      nowMs,
    });
    // A timer, not a direct call: the caller's transaction may not have committed yet.
    if (this.running) this.schedule(0);
    return eventId;
  }

  /** Starts the background loop; rows left pending by an earlier process are picked up at once. */
  start(): void {
    if (this.running || this.stopping) return;
    this.running = true;
    this.schedule(0);
  }

  /** Sends everything due now and waits until nothing due is left or in flight (tests, shutdown hooks). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      this.dispatchDue();
      if (this.inFlight.size === 0) return;
      await Promise.all(this.inFlight.values());
    }
  }

  /** Stops the loop; requests still in flight after the grace period are aborted and stay pending. */
  shutdown(): Promise<void> {
    this.stopping ??= this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight.size > 0) {
      let grace: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        grace = setTimeout(resolve, this.settings.shutdownGraceMs);
        grace.unref();
      });
      await Promise.race([Promise.all(this.inFlight.values()), expired]);
      clearTimeout(grace);
      this.shutdownController.abort();
      await Promise.all(this.inFlight.values());
    }
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), Math.max(0, delayMs));
    // The outbox never keeps the process alive; pending rows survive in SQLite.
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.running || !this.table.isOpen) return;
    try {
      this.prune();
      const nextDueMs = this.dispatchDue();
      const idle = this.settings.idlePollMs;
      const delay = nextDueMs === undefined ? idle : Math.min(idle, nextDueMs - this.clock.now());
      this.schedule(delay);
    } catch (error) {
      // Background work never throws to the caller; a database error is logged and retried later.
      this.logger.error({ err: error }, 'webhook outbox loop failed; retrying');
      this.schedule(this.settings.idlePollMs);
    }
  }

  /** Starts every due head row it has room for; returns when the next not-yet-due head falls due. */
  private dispatchDue(): number | undefined {
    if (!this.table.isOpen) return undefined;
    const nowMs = this.clock.now();
    let nextDueMs: number | undefined;
    for (const row of this.table.heads()) {
      if (this.inFlight.has(queueKey(row))) continue;
      if (row.next_attempt_at_ms > nowMs) {
        nextDueMs = Math.min(nextDueMs ?? row.next_attempt_at_ms, row.next_attempt_at_ms);
        continue;
      }
      // At the cap: the next completion wakes the loop, so no timer is needed for the rest.
      if (this.inFlight.size >= this.settings.maxConcurrentDeliveries) return undefined;
      this.deliver(row);
    }
    return nextDueMs;
  }

  private deliver(row: OutboxRow): void {
    const delivery = this.attempt(row)
      .catch((error: unknown) =>
        this.logger.error({ err: error, eventId: row.event_id }, 'webhook attempt failed'),
      )
      .finally(() => {
        this.inFlight.delete(queueKey(row));
        if (this.running) this.schedule(0);
      });
    this.inFlight.set(queueKey(row), delivery);
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const nowMs = this.clock.now();
    const started = performance.now();
    const outcome = await attemptWebhookDelivery({
      url: row.url,
      body: row.body,
      // A fresh timestamp per attempt keeps the signature inside receivers' tolerance window on retries.
      signature: signWebhookBody(row.secret, row.body, Math.floor(nowMs / 1000)),
      eventId: row.event_id,
      timeoutMs: this.settings.requestTimeoutMs,
      shutdownSignal: this.shutdownController.signal,
      nowMs,
    });
    if (outcome.kind === 'aborted' || !this.table.isOpen) return;
    this.record(row, outcome, (performance.now() - started) / 1000);
  }

  private record(
    row: OutboxRow,
    outcome: Exclude<WebhookAttemptOutcome, { kind: 'aborted' }>,
    seconds: number,
  ) {
    const nowMs = this.clock.now();
    const attempts = row.attempts + 1;
    const where = { eventId: row.event_id, analysisId: row.analysis_id, url: redactUrl(row.url), attempts };
    if (outcome.kind === 'delivered') {
      this.table.delivered(row.id, nowMs);
      this.count('delivered', seconds);
      this.metrics.lagSeconds.observe(Math.max(0, nowMs - row.created_at_ms) / 1000);
      this.logger.info({ ...where, status: outcome.status }, 'webhook delivered');
      return;
    }
    const ageMs = nowMs - row.created_at_ms;
    if (outcome.kind === 'retry' && attempts < this.settings.maxAttempts && ageMs < this.settings.maxAgeMs) {
      const delayMs = nextDelayMs(
        attempts,
        outcome.retryAfterMs,
        this.settings,
        this.settings.maxRetryAfterMs,
        this.random,
      );
      this.table.retry(row.id, outcome.reason, nowMs + delayMs);
      this.count('retry', seconds);
      this.logger.warn({ ...where, reason: outcome.reason, delayMs }, 'webhook delivery will be retried');
      return;
    }
    const reason =
      outcome.kind === 'retry'
        ? `gave up after ${attempts} attempts over ${Math.round(ageMs / 1000)} s: ${outcome.reason}`
        : outcome.reason;
    this.table.failed(row.id, reason, nowMs);
    this.count('failed', seconds);
    this.logger.error({ ...where, reason }, 'webhook delivery failed; giving up on this event');
  }

  private count(outcome: 'delivered' | 'retry' | 'failed', seconds: number): void {
    this.metrics.deliveries.inc({ outcome });
    this.metrics.attemptSeconds.observe({ outcome }, seconds);
  }

  private refuse(reason: RefusedReason, input: WebhookEnqueueInput): null {
    this.metrics.refused.inc({ reason });
    this.logger.warn(
      { analysisId: input.analysisId, reason, maxPendingRows: this.settings.maxPendingRows },
      'webhook event refused',
    );
    return null;
  }

  private prune(): void {
    const nowMs = this.clock.now();
    if (nowMs - this.lastPruneMs < PRUNE_INTERVAL_MS) return;
    this.lastPruneMs = nowMs;
    this.table.prune(nowMs - this.settings.retentionMs);
  }
}

/** One ordered queue per analysis and receiver; the table's head query groups the same way. */
function queueKey(row: OutboxRow): string {
  return `${row.analysis_id}\n${row.url}`;
}
