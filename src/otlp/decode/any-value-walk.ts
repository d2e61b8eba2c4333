// The general walk of one KeyValue for the attribute validation walk (attribute-walk.ts, whose header gives
// the rules): the KeyValue's fields and its AnyValue's, nested arrays and kvlists included, checked as
// decodeKeyValue and decodeAnyValue (any-value.ts) read them, without building anything. It takes any shape
// the simple walk does not, and records the KeyValue's watched key as that walk does.
import { isAscii } from './ascii-check.js';
import { MAX_ANY_VALUE_DEPTH, MAX_ATTRIBUTES_PER_LIST } from './any-value.js';
import { type WalkRecords, watchedKeyAt } from './watched-keys.js';
import { cursor, messageEnd, skippedEnd, smallVarint, varintEnd } from './wire-scan.js';

/** What the walk of the current top-level KeyValue saw: its watched key number (-1: none) and value. */
let topLevelKey = -1;
let topLevelValueAt = -1;

/** End of a length-delimited ASCII string starting at its length prefix, or -1 (non-ASCII: bail). */
function asciiStringEnd(buf: Uint8Array, pos: number, end: number): number {
  const stop = messageEnd(buf, pos, end);
  return stop >= 0 && isAscii(buf, cursor, stop) ? stop : -1;
}

/** KeyValue content in [pos, end): key = 1 (string), value = 2 (AnyValue at `depth`). */
function validKeyValueContent(buf: Uint8Array, pos: number, end: number, depth: number): boolean {
  while (pos < end) {
    const tag = smallVarint(buf, pos, end);
    if (tag < 0) return false;
    pos = cursor;
    if (tag === 10) {
      pos = asciiStringEnd(buf, pos, end);
      // decodeKeyValue's rule: the last key field is the key (asciiStringEnd left `cursor` at its first byte).
      if (depth === 0 && pos >= 0) topLevelKey = watchedKeyAt(buf, cursor, pos);
    } else if (tag === 18) {
      if (depth >= MAX_ANY_VALUE_DEPTH) return false;
      if (depth === 0) topLevelValueAt = pos; // the last value field is the value
      const stop = messageEnd(buf, pos, end);
      if (stop < 0 || !validAnyValueContent(buf, cursor, stop, depth)) return false;
      pos = stop;
    } else pos = skippedEnd(buf, pos, end, tag);
    if (pos < 0) return false;
  }
  return true;
}

/** AnyValue content in [pos, end), mirroring decodeAnyValue's fields. */
function validAnyValueContent(buf: Uint8Array, pos: number, end: number, depth: number): boolean {
  while (pos < end) {
    const tag = smallVarint(buf, pos, end);
    if (tag < 0) return false;
    pos = cursor;
    switch (tag) {
      case 10: // string_value
        pos = asciiStringEnd(buf, pos, end);
        break;
      case 16: // bool_value (Reader.bool reads a uint32 varint)
        pos = smallVarint(buf, pos, end) < 0 ? -1 : cursor;
        break;
      case 24: // int_value
        pos = varintEnd(buf, pos, end);
        break;
      case 33: // double_value
        pos = pos + 8 <= end ? pos + 8 : -1;
        break;
      case 42: // array_value: ArrayValue.values = 1, each an AnyValue one level deeper
        pos = validListEnd(buf, pos, end, depth + 1, false);
        break;
      case 50: // kvlist_value: KeyValueList.values = 1, each a KeyValue one level deeper
        pos = validListEnd(buf, pos, end, depth + 1, true);
        break;
      case 58: // bytes_value
        pos = skippedEnd(buf, pos, end, 58);
        break;
      default:
        pos = skippedEnd(buf, pos, end, tag);
    }
    if (pos < 0) return false;
  }
  return true;
}

/**
 * End of an array_value or kvlist_value starting at its length prefix: a message whose values (field 1) are
 * AnyValues, or with `keyValues` KeyValues, at `depth`; -1 when one is not valid. An AnyValue that deep is
 * refused here (decodeArrayValue's decodeAnyValue would throw), a KeyValue's value by validKeyValueContent,
 * and a kvlist past the per-list limit too (decodeKeyValueList's countAttribute would throw).
 */
function validListEnd(buf: Uint8Array, pos: number, end: number, depth: number, keyValues: boolean): number {
  const stop = messageEnd(buf, pos, end);
  if (stop < 0) return -1;
  let at = cursor;
  let values = 0;
  while (at < stop) {
    const inner = smallVarint(buf, at, stop);
    if (inner < 0) return -1;
    at = cursor;
    if (inner === 10) {
      if (keyValues && ++values > MAX_ATTRIBUTES_PER_LIST) return -1;
      const valueEnd = messageEnd(buf, at, stop);
      if (valueEnd < 0) return -1;
      const valid = keyValues
        ? validKeyValueContent(buf, cursor, valueEnd, depth)
        : depth < MAX_ANY_VALUE_DEPTH && validAnyValueContent(buf, cursor, valueEnd, depth);
      if (!valid) return -1;
      at = valueEnd;
    } else {
      at = skippedEnd(buf, at, stop, inner);
      if (at < 0) return -1;
    }
  }
  return stop;
}

/** validKeyValueEnd (attribute-walk.ts) by the general walk alone. */
export function generalKeyValueEnd(buf: Uint8Array, pos: number, end: number, found?: WalkRecords): number {
  const stop = messageEnd(buf, pos, end);
  if (stop < 0) return -1;
  topLevelKey = -1; // no key field: the key is '', which is never watched
  topLevelValueAt = -1;
  if (!validKeyValueContent(buf, cursor, stop, 0)) return -1;
  if (topLevelKey >= 0 && found !== undefined) found.add(topLevelKey, topLevelValueAt, stop);
  return stop;
}
