// WebhookOutbox options and their defaults. The defaults favour never losing a verdict: no attempt limit,
// a day of retries, backoff capped at five minutes so a receiver back from an outage is found quickly.
import type { Registry } from 'prom-client';
import type { Store } from '../store/database.js';
import type { Logger } from '../telemetry/logger.js';

export interface WebhookOutboxOptions {
  /** The outbox shares the store's connection, so an event commits with the verdict change that made it. */
  store: Store;
  registry: Registry;
  logger: Logger;
  /** IPs and CIDR ranges webhooks may reach although special-purpose (loopback, private, ...). */
  allowAddresses?: readonly string[];
  /** CloudEvents `source`; default `/canary-judge/<host name>`. */
  source?: string;
  /** Milliseconds since the epoch; injected by tests. */
  clock?: { now(): number };
  /** Uniform in [0, 1); injected by tests to pin the jitter. */
  random?: () => number;
  newEventId?: () => string;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** No retry sooner than this, whatever Retry-After or the jitter say. */
  minRetryDelayMs?: number;
  /** Cap on a receiver's Retry-After. */
  maxRetryAfterMs?: number;
  /** Give up after this many attempts (default: no limit, age decides). */
  maxAttempts?: number;
  /** Give up on a retryable failure once the event is this old. */
  maxAgeMs?: number;
  requestTimeoutMs?: number;
  /**
   * Rows kept per receiver URL: past it, that receiver's oldest delivered rows (then given-up ones) are
   * deleted to make room. Undelivered events are never deleted: beyond the bound they are still accepted,
   * and the receiver is reported as at its bound (metric, /readyz, log).
   */
  maxEventsPerTarget?: number;
  /** Longest sleep of the loop with nothing due: a safety net, enqueue wakes it anyway. */
  idlePollMs?: number;
  /** Delivered and failed rows are kept this long for inspection, then pruned in the background. */
  retentionMs?: number;
  /** shutdown() waits at most this long for requests in flight before aborting them (they stay pending). */
  shutdownGraceMs?: number;
}

export type WebhookOutboxSettings = Required<
  Omit<
    WebhookOutboxOptions,
    'store' | 'registry' | 'logger' | 'allowAddresses' | 'source' | 'clock' | 'random' | 'newEventId'
  >
>;

export function resolveOutboxSettings(options: WebhookOutboxOptions): WebhookOutboxSettings {
  return {
    baseDelayMs: options.baseDelayMs ?? 1_000,
    maxDelayMs: options.maxDelayMs ?? 5 * 60_000,
    minRetryDelayMs: options.minRetryDelayMs ?? 1_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 15 * 60_000,
    maxAttempts: options.maxAttempts ?? Number.POSITIVE_INFINITY,
    maxAgeMs: options.maxAgeMs ?? 24 * 3_600_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    maxEventsPerTarget: options.maxEventsPerTarget ?? 1_000,
    idlePollMs: options.idlePollMs ?? 5_000,
    retentionMs: options.retentionMs ?? 7 * 86_400_000,
    shutdownGraceMs: options.shutdownGraceMs ?? 5_000,
  };
}

export function isHttpUrl(url: string): boolean {
  try {
    const protocol = new URL(url).protocol;
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** Origin and path only: query strings and user-info often carry tokens, and logs never hold secrets. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '[invalid url]';
  }
}
