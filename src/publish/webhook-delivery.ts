// One webhook delivery attempt over HTTP (Node's global fetch, undici), turned into an outcome the
// outbox records: delivered (2xx), retry (network error, timeout, 408/429/5xx), or failed (any other
// status). Nothing here throws: a receiver's trouble is data for the outbox, not an exception.
import { CLOUDEVENTS_JSON_CONTENT_TYPE } from './cloudevents.js';
import { isRetryableStatus, parseRetryAfterMs } from './webhook-retry-policy.js';
import { SIGNATURE_HEADER } from './webhook-signature.js';

export type WebhookAttemptOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: string }
  /** Stopped by shutdown: not an attempt at all, the row stays as it was. */
  | { kind: 'aborted' };

export interface WebhookAttempt {
  url: string;
  body: string;
  signature: string;
  eventId: string;
  timeoutMs: number;
  /** Aborted by the outbox's shutdown; distinct from the per-request timeout. */
  shutdownSignal: AbortSignal;
  nowMs: number;
}

/** Bytes of a refusing response's body kept for `last_error`, enough for a JSON error message. */
const ERROR_BODY_CHARS = 200;

export async function attemptWebhookDelivery(attempt: WebhookAttempt): Promise<WebhookAttemptOutcome> {
  const timeout = AbortSignal.timeout(attempt.timeoutMs);
  let response: Response;
  try {
    response = await fetch(attempt.url, {
      method: 'POST',
      headers: {
        'content-type': CLOUDEVENTS_JSON_CONTENT_TYPE,
        [SIGNATURE_HEADER]: attempt.signature,
        // Also given as a header so a receiver or proxy can dedupe without parsing the body.
        'idempotency-key': attempt.eventId,
        'user-agent': 'canary-judge-webhook',
      },
      body: attempt.body,
      // A redirect would re-send a signed body to a place nobody configured; report it instead.
      redirect: 'manual',
      signal: AbortSignal.any([timeout, attempt.shutdownSignal]),
    });
  } catch (error) {
    if (attempt.shutdownSignal.aborted) return { kind: 'aborted' };
    if (timeout.aborted) return { kind: 'retry', reason: `timed out after ${attempt.timeoutMs} ms` };
    return { kind: 'retry', reason: `network error: ${describeFetchError(error)}` };
  }
  const status = response.status;
  if (status >= 200 && status < 300) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'delivered', status };
  }
  const detail = await readErrorBody(response);
  const reason = `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ''}${detail}`;
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), attempt.nowMs);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  if (status >= 300 && status < 400) {
    return { kind: 'failed', reason: `${reason}: redirects are not followed, configure the final URL` };
  }
  return { kind: 'failed', reason };
}

async function readErrorBody(response: Response): Promise<string> {
  try {
    const text = (await response.text()).trim();
    return text ? `: ${text.slice(0, ERROR_BODY_CHARS)}` : '';
  } catch {
    return '';
  }
}

/** undici wraps the socket error as `cause`; its code (ECONNREFUSED, ...) is what an operator needs. */
function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code} ${cause.message}` : cause.message;
  }
  return error.message;
}
