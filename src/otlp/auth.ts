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
    if (header === undefined) return false;
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match !== null && timingSafeEqual(digest(match[1]), expected);
  };
}
