// Webhook signatures: `X-Canary-Judge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256("<t>.<body>")>`.
// Signing the timestamp with the body lets a receiver refuse replays of an old captured request
// (tolerance window) without keeping state; the scheme is the one Stripe and Svix use, so receivers'
// existing verification code fits. HMAC-SHA256 per RFC 2104 / FIPS 198-1.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Canary-Judge-Signature';
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
