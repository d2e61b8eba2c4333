// Retry schedule: full-jitter exponential backoff within its bounds, Retry-After in both RFC 9110 forms.
import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  isRetryableStatus,
  nextDelayMs,
  parseRetryAfterMs,
} from '../../src/publish/webhook-retry-policy.js';

const backoff = { baseDelayMs: 100, maxDelayMs: 1_000, minDelayMs: 0 };

describe('backoffDelayMs', () => {
  it('draws uniformly below min(max, base * 2^(attempt-1))', () => {
    expect(backoffDelayMs(1, backoff, () => 0.999)).toBe(99);
    expect(backoffDelayMs(3, backoff, () => 0.5)).toBe(200);
    expect(backoffDelayMs(10, backoff, () => 0.999)).toBe(999);
    expect(backoffDelayMs(10_000, backoff, () => 0.5)).toBe(500);
    expect(backoffDelayMs(4, backoff, () => 0)).toBe(0);
  });
});

describe('parseRetryAfterMs (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-11-25T10:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfterMs('120', now)).toBe(120_000);
    expect(parseRetryAfterMs(' 0 ', now)).toBe(0);
  });
  it('reads an HTTP-date relative to now, and a past date as no wait', () => {
    expect(parseRetryAfterMs('Wed, 25 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterMs('Wednesday, 25-Nov-26 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfterMs('Wed, 25 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('ignores absent or unparseable values', () => {
    for (const value of [null, undefined, '', '-5', '1.5', 'soon'])
      expect(parseRetryAfterMs(value, now)).toBeUndefined();
  });
});

describe('retry decisions', () => {
  it('retries 5xx, 429 and 408 only', () => {
    expect([500, 502, 503, 504, 429, 408].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 410, 422, 301].some(isRetryableStatus)).toBe(false);
  });
  it('waits what Retry-After says, capped, else backs off', () => {
    expect(nextDelayMs(1, 30_000, backoff, 60_000, () => 0)).toBe(30_000);
    expect(nextDelayMs(1, 3_600_000, backoff, 60_000, () => 0)).toBe(60_000);
    expect(nextDelayMs(2, undefined, backoff, 60_000, () => 0.5)).toBe(100);
  });
  it('never retries sooner than the minimum, whatever Retry-After or the jitter say', () => {
    const floored = { ...backoff, minDelayMs: 1_000 };
    expect(nextDelayMs(1, 0, floored, 60_000, () => 0)).toBe(1_000); // Retry-After: 0
    expect(nextDelayMs(1, undefined, floored, 60_000, () => 0)).toBe(1_000); // jitter drew 0
    expect(nextDelayMs(1, 5_000, floored, 60_000, () => 0)).toBe(5_000);
  });
  it('keeps backing off when Retry-After asks for less than the backoff already reached', () => {
    expect(nextDelayMs(10, 0, backoff, 60_000, () => 0.5)).toBe(500);
  });
});

describe('parseRetryAfterMs asctime form', () => {
  it('reads the obsolete asctime date too, as GMT', () => {
    expect(parseRetryAfterMs('Wed Nov 25 10:00:10 2026', Date.parse('2026-11-25T10:00:00Z'))).toBe(10_000);
  });
});
