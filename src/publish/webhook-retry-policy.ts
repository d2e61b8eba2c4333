// When to try a webhook delivery again: pure functions over the attempt count, the response, and a
// random source, so the outbox's schedule is testable without waiting.

export interface WebhookBackoff {
  /** Upper bound of the first retry's delay; doubles each attempt. */
  baseDelayMs: number;
  /** Cap on the exponential bound. */
  maxDelayMs: number;
  /** No retry comes sooner than this, whatever the jitter or a receiver's Retry-After say. */
  minDelayMs: number;
}

/**
 * Exponential backoff with "full jitter": a uniform delay in [0, min(max, base * 2^(attempt-1))).
 * Full jitter spreads retries of many senders after a shared outage so they do not arrive in waves
 * (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
 * `attempt` is the number of attempts made so far (1 after the first failure).
 */
export function backoffDelayMs(attempt: number, backoff: WebhookBackoff, random: () => number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  const bound = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** exponent);
  return Math.floor(random() * bound);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): either delay-seconds (1*DIGIT) or an HTTP-date, the latter
 * relative to `nowMs`. Returns the delay in ms (0 for a date in the past), or undefined when absent or
 * unparseable, in which case the caller falls back to backoff.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP-date: IMF-fixdate, or the obsolete RFC 850 / asctime forms recipients must still accept
  // (RFC 9110 §5.6.7); all three start with a day name, and Date.parse reads all three. The day-name
  // check keeps V8's lenient parser from reading junk such as "-5" or "1.5" as a date.
  if (!/^(mon|tue|wed|thu|fri|sat|sun)/i.test(trimmed)) return undefined;
  // asctime carries no zone but means GMT, like every HTTP-date.
  const at = Date.parse(/GMT$/i.test(trimmed) ? trimmed : `${trimmed} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Whether a status is worth retrying: 5xx (server trouble), 429 (rate limited, RFC 6585 §4) and 408
 * (the server timed out waiting, RFC 9110 §15.5.9). Every other non-2xx is the receiver saying this
 * request will never succeed (bad signature, unknown route, ...), so retrying would only repeat it.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * The delay before the next attempt: our backoff, or the server's Retry-After when that is longer
 * (capped at `maxRetryAfterMs` so a broken header cannot park an analysis's events for days), and never
 * less than `minDelayMs`: a receiver answering `Retry-After: 0` to every attempt must not turn the
 * outbox into a busy loop.
 */
export function nextDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  backoff: WebhookBackoff,
  maxRetryAfterMs: number,
  random: () => number,
): number {
  const ours = backoffDelayMs(attempt, backoff, random);
  const theirs = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, maxRetryAfterMs);
  return Math.max(backoff.minDelayMs, ours, theirs);
}
