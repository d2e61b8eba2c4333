// One webhook delivery attempt over node:http(s), turned into an outcome the outbox records: delivered
// (2xx), retry (network error, timeout, 408/429/5xx), failed (any other status, a redirect), or refused
// (the address policy forbids the target). Nothing here throws: a receiver's trouble is data.
//
// node:http rather than fetch: its socket takes our `lookup`, so the address policy sees the address
// actually connected to (see webhook-address-policy.ts). Redirects are never followed (node:http does
// not), and the response body is never read: a receiver's reply is the receiver's, and copying it into
// logs is how an SSRF turns into a data leak. Only the status and our own words reach the logs.
import { STATUS_CODES, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { CLOUDEVENTS_JSON_CONTENT_TYPE } from './cloudevents.js';
import { WebhookAddressRefused, type WebhookAddressPolicy } from './webhook-address-policy.js';
import { isRetryableStatus, parseRetryAfterMs } from './webhook-retry-policy.js';

export type WebhookAttemptOutcome =
  | { kind: 'delivered'; status: number }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'failed'; reason: string }
  | { kind: 'refused'; reason: string }
  /** Stopped by shutdown: not an attempt at all, the row stays as it was. */
  | { kind: 'aborted' };

export interface WebhookAttempt {
  url: string;
  body: string;
  /** Signature headers of this attempt (webhook-signature.ts). */
  signatureHeaders: Record<string, string>;
  eventId: string;
  timeoutMs: number;
  /** Aborted by the outbox's shutdown; distinct from the per-request timeout. */
  shutdownSignal: AbortSignal;
  nowMs: number;
  policy: WebhookAddressPolicy;
}

/** Longest network-error description kept (an errno code and Node's short sentence). */
const MAX_REASON_CHARS = 160;

export function attemptWebhookDelivery(attempt: WebhookAttempt): Promise<WebhookAttemptOutcome> {
  let url: URL;
  try {
    url = new URL(attempt.url);
  } catch {
    return Promise.resolve({ kind: 'failed', reason: 'not a valid URL' });
  }
  // node:net skips `lookup` for IP literals, so they are checked here (WHATWG URL parsing has already
  // turned forms such as 0x7f.1 or 2130706433 into dotted IPv4).
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) !== 0) {
    const refusal = attempt.policy.refusal(literal);
    if (refusal) return Promise.resolve({ kind: 'refused', reason: refusal });
  }
  const timeout = AbortSignal.timeout(attempt.timeoutMs);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': CLOUDEVENTS_JSON_CONTENT_TYPE,
          'content-length': Buffer.byteLength(attempt.body),
          ...attempt.signatureHeaders,
          // Also given as a header so a receiver or proxy can dedupe without parsing the body.
          'idempotency-key': attempt.eventId,
          'user-agent': 'canary-judge-webhook',
        },
        lookup: attempt.policy.lookup,
        // A connection per attempt: every connection passes the address check, none lingers.
        agent: false,
        signal: AbortSignal.any([timeout, attempt.shutdownSignal]),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const headers = response.headers;
        response.destroy();
        resolve(classify(status, headers, attempt.nowMs));
      },
    );
    request.on('error', (error) => {
      if (attempt.shutdownSignal.aborted) resolve({ kind: 'aborted' });
      else if (error instanceof WebhookAddressRefused) resolve({ kind: 'refused', reason: error.message });
      else if (timeout.aborted) resolve({ kind: 'retry', reason: `timed out after ${attempt.timeoutMs} ms` });
      else resolve({ kind: 'retry', reason: `network error: ${describeNetworkError(error)}` });
    });
    request.end(attempt.body);
  });
}

function classify(status: number, headers: IncomingHttpHeaders, nowMs: number): WebhookAttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  // The standard reason phrase, not the receiver's: its status line is not ours to log.
  const reason = `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  if (isRetryableStatus(status)) {
    const retryAfterMs = parseRetryAfterMs(headers['retry-after'], nowMs);
    return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
  }
  if (status >= 300 && status < 400) {
    return { kind: 'failed', reason: `${reason}: redirects are not followed, configure the final URL` };
  }
  return { kind: 'failed', reason };
}

/** The errno code (ECONNREFUSED, ENOTFOUND, ...) an operator needs, with Node's short sentence. */
function describeNetworkError(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  const text = code && !error.message.includes(code) ? `${code} ${error.message}` : error.message;
  return text.replace(/[^\x20-\x7e]/g, ' ').slice(0, MAX_REASON_CHARS);
}
