// Protobuf wire structure read at plain positions over a byte array, without a Reader and without throwing:
// for the attribute validation walk (attribute-walk.ts, any-value-walk.ts), which must refuse what the Reader
// would throw on, and for single-key reads over bytes that walk validated (attribute-reads.ts). Each function
// returns -1 where Reader.uint32, enterMessage or skipField (wire.ts) would throw, or where the walk leaves
// the decision to the eager decoder.

/** Where the last varint that smallVarint read ended (a live binding: read it right after the call). */
export let cursor = 0;

/**
 * A varint of at most 4 bytes (value < 2^28), wholly inside [pos, end): what Reader.uint32 reads the same
 * way. -1 for anything else (the eager decoder then decides).
 */
export function smallVarint(buf: Uint8Array, pos: number, end: number): number {
  if (pos >= end) return -1;
  let b = buf[pos++];
  let value = b & 0x7f;
  if (b < 0x80) {
    cursor = pos;
    return value;
  }
  for (let shift = 7; shift < 28; shift += 7) {
    if (pos >= end) return -1;
    b = buf[pos++];
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      cursor = pos;
      return value;
    }
  }
  return -1;
}

/** End of a varint of at most 10 bytes inside [pos, end) (readVarint64's rule), or -1. */
export function varintEnd(buf: Uint8Array, pos: number, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return -1;
    if (buf[pos++] < 0x80) return pos;
  }
  return -1;
}

/**
 * End of an embedded message's content starting at its length prefix (enterMessage's check), or -1; `cursor`
 * is left at the content's first byte.
 */
export function messageEnd(buf: Uint8Array, pos: number, end: number): number {
  const length = smallVarint(buf, pos, end);
  if (length < 0) return -1;
  const stop = cursor + length;
  return stop > end ? -1 : stop;
}

/** skipField's walk for the wire types it accepts, except groups (bail); -1 when it would throw. */
export function skippedEnd(buf: Uint8Array, pos: number, end: number, tag: number): number {
  if (tag >>> 3 === 0) return -1;
  switch (tag & 7) {
    case 0:
      return varintEnd(buf, pos, end);
    case 1:
      return pos + 8 <= end ? pos + 8 : -1;
    case 2:
      return messageEnd(buf, pos, end);
    case 5:
      return pos + 4 <= end ? pos + 4 : -1;
    default:
      return -1;
  }
}
