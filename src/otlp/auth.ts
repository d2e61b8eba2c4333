// Optional bearer-token check for both transports. Compared in constant time so the token cannot be
// guessed byte by byte from response timing; the token itself is never logged.
import { createHash, timingSafeEqual } from 'node:crypto';

export type BearerCheck = (authorizationHeader: string | undefined) => boolean;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A check that accepts everything when `token` is null. */
export function bearerCheck(token: string | null): BearerCheck {
  if (token === null) return () => true;
  const expected = digest(token);
  return (header) => {
    const presented = bearerToken(header);
    return presented !== undefined && timingSafeEqual(digest(presented), expected);
  };
}

/**
 * The token of `Bearer <token>` (scheme case-insensitive, RFC 6750 section 2.1), or undefined. Parsed by
 * hand rather than with a regular expression so that no header value can make matching slow.
 */
export function bearerToken(header: string | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const text = header.trim();
  if (text.length < 8 || text.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  if (text[6] !== ' ' && text[6] !== '\t') return undefined;
  const token = text.slice(7).trimStart();
  return token === '' ? undefined : token;
}
