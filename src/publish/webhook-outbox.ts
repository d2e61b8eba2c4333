// The durable webhook outbox: verdict changes are written to SQLite (in the judge's own transaction) and
// a delivery loop POSTs them as signed CloudEvents until a receiver answers 2xx. At-least-once: a row is
// marked delivered only after the 2xx, so a crash mid-request leaves it pending and a restart sends it
// again with the same event id and body (receivers dedupe on the CloudEvent `id`).
//
// Order and lanes: only the oldest pending row of each (analysis, receiver URL) queue is ever sent, so a
// receiver sees an analysis's verdicts in order. Each receiver URL is one lane with at most one request
// in flight, and lanes never wait for each other: a receiver that hangs until the request timeout delays
// only its own events. A 2xx from a receiver makes all its waiting events due at once, so after an
// outage everything goes out within one backoff step of the receiver's return.
//
// Storage: when the store reports a failure (disk full), nothing new is sent, since its outcome could not
// be recorded; an outcome that could not be written is kept in memory and written first when the store
// recovers, then delivery resumes by itself, without a restart. Single writer: the store's lock makes
// this process the only owner of the outbox.
import { randomUUID } from 'node:crypto';
import { isStorageError, type Store } from '../store/database.js';
import type { PruneTask } from '../store/retention.js';
import type { Logger } from '../telemetry/logger.js';
import { buildVerdictEvent, defaultEventSource, type VerdictEventData } from './cloudevents.js';
import { WebhookAddressPolicy } from './webhook-address-policy.js';
import { recordAttempt, type Recording } from './webhook-attempt-record.js';
import { attemptWebhookDelivery } from './webhook-delivery.js';
import { createWebhookMetrics, type WebhookMetrics } from './webhook-metrics.js';
import { WebhookOutboxTable, type OutboxRow } from './webhook-outbox-table.js';
import {
  isHttpUrl,
  resolveOutboxSettings,
  type WebhookOutboxOptions,
  type WebhookOutboxSettings,
} from './webhook-outbox-options.js';
import { signatureHeaders } from './webhook-signature.js';
import { WebhookTargetBounds } from './webhook-target-bounds.js';

export type { WebhookOutboxOptions } from './webhook-outbox-options.js';

export interface WebhookEnqueueInput {
  analysisId: string;
  url: string;
  secret: string;
  data: VerdictEventData;
  /** When the verdict changed; default now. */
  time?: Date;
}

/** What /readyz shows about the outbox. */
export interface WebhookOutboxHealth {
  /** Receivers at their bound (undelivered events beyond maxEventsPerTarget are kept, not dropped). */
  targetsAtBound: string[];
  /** True while deliveries wait for the store to accept writes again. */
  pausedByStorage: boolean;
}

/** How often a paused outbox checks whether the store writes again. */
const STORAGE_RETRY_MS = 1_000;

export class WebhookOutbox {
  private readonly store: Store;
  private readonly table: WebhookOutboxTable;
  private readonly metrics: WebhookMetrics;
  private readonly bounds: WebhookTargetBounds;
  private readonly policy: WebhookAddressPolicy;
  private readonly logger: Logger;
  private readonly source: string;
  private readonly clock: { now(): number };
  private readonly random: () => number;
  private readonly newEventId: () => string;
  private readonly settings: WebhookOutboxSettings;
  /** receiver URL -> its delivery in flight: one lane per receiver. */
  private readonly inFlight = new Map<string, Promise<void>>();
  /** row id -> an attempt's result not yet written (the store failed); nothing else is sent meanwhile. */
  private readonly unrecorded = new Map<number, Recording>();
  private readonly shutdownController = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopping: Promise<void> | undefined;
  private paused = false;

  constructor(options: WebhookOutboxOptions) {
    this.store = options.store;
    this.table = new WebhookOutboxTable(options.store.db);
    this.logger = options.logger;
    this.source = options.source ?? defaultEventSource();
    this.clock = options.clock ?? Date;
    this.random = options.random ?? Math.random;
    this.newEventId = options.newEventId ?? randomUUID;
    this.settings = resolveOutboxSettings(options);
    this.policy = new WebhookAddressPolicy(options.allowAddresses);
    this.metrics = createWebhookMetrics(options.registry, {
      countPending: () => (this.table.isOpen ? this.table.countPending() : undefined),
      targetsAtBound: () => this.bounds.size,
    });
    this.bounds = new WebhookTargetBounds(
      this.table,
      this.settings.maxEventsPerTarget,
      this.metrics,
      this.logger,
    );
  }

  /**
   * Adds one event and returns its id, or null when the URL is not http(s) (logged and counted). Never
   * refuses for lack of room (see webhook-target-bounds.ts). Synchronous: call it inside the transaction
   * that records the verdict change, and the two commit (or fail, and are retried) together.
   */
  enqueue(input: WebhookEnqueueInput): string | null {
    if (!isHttpUrl(input.url)) {
      this.metrics.refused.inc({ reason: 'invalid_url' });
      this.logger.warn({ analysisId: input.analysisId, reason: 'invalid_url' }, 'webhook event refused');
      return null;
    }
    const nowMs = this.clock.now();
    const eventId = this.newEventId();
    const event = buildVerdictEvent({
      analysisId: input.analysisId,
      data: input.data,
      source: this.source,
      time: input.time ?? new Date(nowMs),
      id: eventId,
    });
    this.bounds.beforeInsert(input.url);
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

  health(): WebhookOutboxHealth {
    return { targetsAtBound: this.bounds.targets, pausedByStorage: this.paused };
  }

  /** Background pruning of delivered and given-up rows past the retention (run by store/retention.ts). */
  pruneTask(): PruneTask {
    return this.table.pruneTask(this.settings.retentionMs);
  }

  /**
   * Stops the loop; requests still in flight after `graceMs` (default: the configured grace) are aborted
   * and stay pending. Safe to call twice.
   */
  shutdown(graceMs = this.settings.shutdownGraceMs): Promise<void> {
    this.stopping ??= this.stop(Math.min(graceMs, this.settings.shutdownGraceMs));
    return this.stopping;
  }

  private async stop(graceMs: number): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight.size > 0) {
      let grace: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        grace = setTimeout(resolve, Math.max(0, graceMs));
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
      const nextDueMs = this.dispatchDue();
      const idle = this.paused ? STORAGE_RETRY_MS : this.settings.idlePollMs;
      const delay = nextDueMs === undefined ? idle : Math.min(idle, nextDueMs - this.clock.now());
      this.schedule(delay);
    } catch (error) {
      // Background work never throws to the caller; a database error is logged and retried later.
      this.logger.error({ err: error }, 'webhook outbox loop failed; retrying');
      this.schedule(this.settings.idlePollMs);
    }
  }

  /** Starts every due head row whose lane is free; returns when the next not-yet-due head falls due. */
  private dispatchDue(): number | undefined {
    if (!this.table.isOpen) return undefined;
    this.paused = !this.storageWritable();
    if (this.paused) return undefined;
    const nowMs = this.clock.now();
    let nextDueMs: number | undefined;
    for (const row of this.table.heads()) {
      if (this.inFlight.has(row.url)) continue;
      if (row.next_attempt_at_ms > nowMs) {
        nextDueMs = Math.min(nextDueMs ?? row.next_attempt_at_ms, row.next_attempt_at_ms);
        continue;
      }
      this.deliver(row);
    }
    return nextDueMs;
  }

  /** Writes results kept from a storage failure, then asks the store whether it writes again. */
  private storageWritable(): boolean {
    for (const [id, recording] of this.unrecorded) {
      try {
        this.store.write(recording.write);
      } catch (error) {
        if (!isStorageError(error)) throw error;
        return false;
      }
      this.unrecorded.delete(id);
      recording.report();
    }
    if (this.store.probe()) return false;
    if (this.paused) this.logger.info('storage writes again; webhook delivery resumed');
    return true;
  }

  private deliver(row: OutboxRow): void {
    const delivery = this.attempt(row)
      .catch((error: unknown) =>
        this.logger.error({ err: error, eventId: row.event_id }, 'webhook attempt failed'),
      )
      .finally(() => {
        this.inFlight.delete(row.url);
        if (this.running) this.schedule(0);
      });
    this.inFlight.set(row.url, delivery);
  }

  private async attempt(row: OutboxRow): Promise<void> {
    const nowMs = this.clock.now();
    const started = performance.now();
    const unixSeconds = Math.floor(nowMs / 1000);
    const outcome = await attemptWebhookDelivery({
      url: row.url,
      body: row.body,
      // A fresh timestamp per attempt keeps the signatures inside receivers' tolerance window on retries.
      signatureHeaders: signatureHeaders(row.secret, row.event_id, row.body, unixSeconds),
      eventId: row.event_id,
      timeoutMs: this.settings.requestTimeoutMs,
      shutdownSignal: this.shutdownController.signal,
      nowMs,
      policy: this.policy,
    });
    if (outcome.kind === 'aborted' || !this.table.isOpen) return;
    const recording = recordAttempt(row, outcome, {
      nowMs: this.clock.now(),
      seconds: (performance.now() - started) / 1000,
      table: this.table,
      bounds: this.bounds,
      metrics: this.metrics,
      logger: this.logger,
      settings: this.settings,
      random: this.random,
    });
    try {
      this.store.write(recording.write);
    } catch (error) {
      if (!isStorageError(error)) throw error;
      this.unrecorded.set(row.id, recording);
      this.paused = true;
      this.logger.error(
        { err: error, eventId: row.event_id, outcome: outcome.kind },
        'cannot record a webhook attempt (storage failure); delivery paused until the store writes again',
      );
      return;
    }
    recording.report();
  }
}
