// Webhook signatures, two schemes on every request, HMAC-SHA256 (RFC 2104 / FIPS 198-1) with the target's
// secret:
// - ours: `X-Canary-Judge-Signature: t=<unix seconds>,v1=<hex HMAC("<t>.<body>")>` (the Stripe form);
// - Standard Webhooks 1.0 (spec/standard-webhooks.md, "Signature scheme" and "Webhook headers"):
//   `webhook-id` (the CloudEvent id), `webhook-timestamp` (unix seconds of this attempt) and
//   `webhook-signature: v1,<base64 HMAC("<id>.<timestamp>.<body>")>`, so any Standard Webhooks library
//   verifies our requests.
// Signing the timestamp lets a receiver refuse replays of an old captured request (tolerance window)
// without keeping state; a fresh timestamp each attempt keeps retries inside that window.
//
// Secrets: Standard Webhooks serialises a secret as `whsec_<base64 of the key bytes>`. A secret configured
// in that form is used the same way (its decoded bytes are the Standard Webhooks key), so the string can
// be shared as is with a receiver's library. Any other secret is a plain string whose UTF-8 bytes are the
// key: a receiver gives its library `new Webhook(Buffer.from(secret), { format: 'raw' })`, or the
// serialised form `whsec_` + base64(secret). Our own header always keys HMAC with the string's UTF-8 bytes.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Canary-Judge-Signature';
/** Standard Webhooks header names (lower case, as receivers' frameworks present them). */
export const STANDARD_WEBHOOK_ID_HEADER = 'webhook-id';
export const STANDARD_WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp';
export const STANDARD_WEBHOOK_SIGNATURE_HEADER = 'webhook-signature';
const STANDARD_SECRET_PREFIX = 'whsec_';

/** The Standard Webhooks HMAC key for `secret`: decoded bytes of a `whsec_` secret, else the UTF-8 bytes. */
export function standardWebhookKey(secret: string): Buffer {
  return secret.startsWith(STANDARD_SECRET_PREFIX)
    ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` (Standard Webhooks, symmetric signature). */
export function standardWebhookSignature(
  secret: string,
  eventId: string,
  unixSeconds: number,
  body: string | Uint8Array,
): string {
  const digest = createHmac('sha256', standardWebhookKey(secret))
    .update(`${eventId}.${unixSeconds}.`)
    .update(body)
    .digest('base64');
  return `v1,${digest}`;
}

/** Every signature header of one attempt: ours and the Standard Webhooks set, with one timestamp. */
export function signatureHeaders(
  secret: string,
  eventId: string,
  body: string | Uint8Array,
  unixSeconds: number,
): Record<string, string> {
  return {
    [SIGNATURE_HEADER]: signWebhookBody(secret, body, unixSeconds),
    [STANDARD_WEBHOOK_ID_HEADER]: eventId,
    [STANDARD_WEBHOOK_TIMESTAMP_HEADER]: String(unixSeconds),
    [STANDARD_WEBHOOK_SIGNATURE_HEADER]: standardWebhookSignature(secret, eventId, unixSeconds, body),
  };
}
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** Hex HMAC-SHA256 of `<t>.<body>` with the secret. */
export function webhookSignatureDigest(
  secret: string,
  body: string | Uint8Array,
  unixSeconds: number,
): string {
  return createHmac('sha256', secret).update(`${unixSeconds}.`).update(body).digest('hex');
}

/** The header value for one delivery attempt: a fresh timestamp each attempt, the same body. */
export function signWebhookBody(secret: string, body: string | Uint8Array, unixSeconds: number): string {
  if (!Number.isSafeInteger(unixSeconds) || unixSeconds < 0) {
    throw new RangeError('signature timestamp must be a non-negative integer of unix seconds');
  }
  return `t=${unixSeconds},v1=${webhookSignatureDigest(secret, body, unixSeconds)}`;
}

export interface VerifyWebhookOptions {
  /** How far the signed timestamp may be from now, either way (clock skew and replay window). */
  toleranceSeconds?: number;
  /** Now, in unix seconds; defaults to the system clock. */
  nowSeconds?: number;
}

export type WebhookVerification =
  { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/**
 * Verifies a signature header against the raw body bytes as received (verify before parsing: any
 * re-serialisation changes the bytes). Several `v1=` entries are accepted, any one matching, so a sender
 * can sign with an old and a new secret while receivers rotate. Digests are compared in constant time.
 */
export function verifyWebhookSignature(
  secret: string,
  body: string | Uint8Array,
  header: string | undefined | null,
  options: VerifyWebhookOptions = {},
): WebhookVerification {
  const parsed = parseSignatureHeader(header ?? '');
  if (!parsed) return { ok: false, reason: 'malformed' };
  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - parsed.timestamp) > tolerance) return { ok: false, reason: 'stale' };
  const expected = Buffer.from(webhookSignatureDigest(secret, body, parsed.timestamp), 'hex');
  let matched = false;
  for (const candidate of parsed.digests) {
    const given = Buffer.from(candidate, 'hex');
    // Every candidate is compared (no early exit) so timing does not reveal which one matched.
    if (given.length === expected.length && timingSafeEqual(given, expected)) matched = true;
  }
  return matched ? { ok: true, timestamp: parsed.timestamp } : { ok: false, reason: 'mismatch' };
}

function parseSignatureHeader(header: string): { timestamp: number; digests: string[] } | undefined {
  let timestamp: number | undefined;
  const digests: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) digests.push(value);
  }
  return timestamp === undefined || digests.length === 0 ? undefined : { timestamp, digests };
}
