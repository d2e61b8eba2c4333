// The decode walk's validation of span and event attribute fields (traces.ts), which lets them stay in the
// request bytes until read (lazy-attributes.ts).
//
// Errors stay at decode time. Before a KeyValue is left for later, validKeyValueEnd walks its wire
// structure (tags, lengths, nesting, varints, UTF-8) without building anything; it accepts only what
// decodeKeyValue is sure to decode, and bails out (returns -1) on anything it does not check itself
// (non-ASCII text, groups, long varints, deep nesting). A bail makes that span's attributes decode
// eagerly, which throws OtlpDecodeError exactly as before when the bytes are bad. So a lazy read can
// never throw, and the validator may be stricter than the decoder but never laxer.
//
// Two walks accept the same bytes: the straight-line walk of the simple KeyValue shape here, and the
// general walk (any-value-walk.ts) for every other shape. Both record watched keys (watched-keys.ts).
import { generalKeyValueEnd } from './any-value-walk.js';
import { isAscii } from './ascii-check.js';
import { type WalkRecords, watchedKeyAt } from './watched-keys.js';
import { varintEnd } from './wire-scan.js';

let lazy = true;

/**
 * Turns lazy attributes off (every KeyValue decoded at once, as before) or back on; for the tests and
 * bench/decode.ts, which compare both. Returns the previous setting.
 */
export function setLazyAttributes(enabled: boolean): boolean {
  const previous = lazy;
  lazy = enabled;
  return previous;
}

const NOT_SIMPLE = -2;
let simpleWalk = true;

/** Turns the straight-line walk of simple KeyValues off or back on (tests compare both); returns the previous setting. */
export function setSimpleKeyValueWalk(enabled: boolean): boolean {
  const previous = simpleWalk;
  simpleWalk = enabled;
  return previous;
}

/**
 * The walk of the KeyValue almost every SDK sends, in straight-line code: one-byte lengths, an ASCII key, then
 * a value holding one string (ASCII, one-byte length), int, double or bool, and nothing else. Returns where it
 * ends, having recorded a watched key as the general walk does; NOT_SIMPLE for any other shape (the
 * general walk, any-value-walk.ts, then decides). Every check is one the general walk makes, so both accept the same bytes; this
 * one just does not loop over fields or keep positions in module state (the walk was ~25% of the sidecar's
 * CPU with one analysis, issue 13).
 */
function simpleKeyValueEnd(buf: Uint8Array, pos: number, end: number, found?: WalkRecords): number {
  const stop = simpleShapeEnd(buf, pos, end);
  if (stop === NOT_SIMPLE || !isAscii(buf, shapeKeyStart, shapeAsciiStop)) return NOT_SIMPLE;
  recordSimple(buf, found, stop);
  return stop;
}

/** What simpleShapeEnd last accepted: its key's bytes, and where the bytes from the key on stop being text. */
let shapeKeyStart = 0;
let shapeKeyStop = 0;
let shapeAsciiStop = 0;

/**
 * The simple shape's structure (simpleKeyValueEnd), without its ASCII check: where the KeyValue ends, or
 * NOT_SIMPLE. Every byte of an accepted one from its length prefix to shapeAsciiStop is below 0x80 exactly
 * when its key (and string value) is ASCII: the lengths are one byte, the tags constants below 0x80. That is
 * the whole KeyValue for a string, a bool or a one-byte int; for a longer int or a double it stops before the
 * value's bytes, which may be anything.
 */
function simpleShapeEnd(buf: Uint8Array, pos: number, end: number): number {
  // KeyValue length, key tag and key length, each one byte.
  if (pos + 3 > end) return NOT_SIMPLE;
  const length = buf[pos];
  const stop = pos + 1 + length;
  const keyLength = buf[pos + 2];
  if (length >= 0x80 || stop > end || buf[pos + 1] !== 10 || keyLength >= 0x80) return NOT_SIMPLE;
  const keyStart = pos + 3;
  const keyStop = keyStart + keyLength;
  // Value tag and value length, then the AnyValue's one field tag: four bytes at least after the key.
  if (keyStop + 3 > stop || buf[keyStop] !== 18 || buf[keyStop + 1] !== stop - keyStop - 2) return NOT_SIMPLE;
  const at = keyStop + 3;
  let asciiStop = stop;
  switch (buf[at - 1]) {
    case 10: {
      // string_value: its one-byte length must take it exactly to the end.
      const stringLength = buf[at];
      if (stringLength >= 0x80 || at + 1 + stringLength !== stop) return NOT_SIMPLE;
      break;
    }
    case 16: // bool_value: a one-byte varint
      if (at + 1 !== stop || buf[at] >= 0x80) return NOT_SIMPLE;
      break;
    case 24: // int_value: a varint of at most 10 bytes, ending exactly at the end
      if (varintEnd(buf, at, stop) !== stop) return NOT_SIMPLE;
      if (stop !== at + 1) asciiStop = at;
      break;
    case 33: // double_value
      if (at + 8 !== stop) return NOT_SIMPLE;
      asciiStop = at;
      break;
    default:
      return NOT_SIMPLE;
  }
  shapeKeyStart = keyStart;
  shapeKeyStop = keyStop;
  shapeAsciiStop = asciiStop;
  return stop;
}

/** Records the watched key of the simple KeyValue simpleShapeEnd accepted last (ending at `stop`). */
function recordSimple(buf: Uint8Array, found: WalkRecords | undefined, stop: number): void {
  if (found !== undefined && shapeKeyStop > shapeKeyStart) {
    const key = watchedKeyAt(buf, shapeKeyStart, shapeKeyStop);
    // The value's length prefix follows the key's end and the value tag.
    if (key >= 0) found.add(key, shapeKeyStop + 1, stop);
  }
}

/**
 * Where the length-delimited KeyValue at `pos` (its length prefix) ends, when decodeKeyValue is certain
 * to decode it without error; -1 otherwise (decode it eagerly instead).
 */
export function validKeyValueEnd(buf: Uint8Array, pos: number, end: number, found?: WalkRecords): number {
  if (!lazy) return -1;
  const simple = simpleWalk ? simpleKeyValueEnd(buf, pos, end, found) : NOT_SIMPLE;
  if (simple !== NOT_SIMPLE) return simple;
  return generalKeyValueEnd(buf, pos, end, found);
}

/** How many KeyValues the last validAttributeRunEnd accepted. */
let runFields = 0;

export function attributeRunFields(): number {
  return runFields;
}

/**
 * The run of consecutive attribute fields (`tag`, one byte) that starts with the KeyValue at `pos` (its length
 * prefix, after the first field's tag), validated as validKeyValueEnd would validate each in turn, for at most
 * `maxFields` of them: where the longest valid prefix of the run ends (-1 when its first KeyValue is not valid),
 * with attributeRunFields() KeyValues in it and their watched keys recorded in `found`.
 *
 * Why a run: the ASCII checks were the walk's largest cost, ~17 calls per span of ~10 attributes (a key and a
 * string value each), most of it per call rather than per byte. Between simple KeyValues the field tag is below
 * 0x80 too, so the bytes of consecutive string (and bool) attributes form one range that is ASCII exactly when
 * each of their keys and values is: the run checks each such range once, up to the bytes of an int or double
 * value (simpleShapeEnd), which are skipped. A range that is not ASCII holds a KeyValue the walk refuses, and
 * it is rare (a non-ASCII text, which is decoded eagerly anyway): then the run is walked again one KeyValue at
 * a time, so it ends where that walk ends and records what it records.
 */
export function validAttributeRunEnd(
  buf: Uint8Array,
  pos: number,
  end: number,
  tag: number,
  maxFields: number,
  found: WalkRecords,
): number {
  runFields = 0;
  if (!lazy) return -1;
  if (!simpleWalk) return keyValueByKeyValueRunEnd(buf, pos, end, tag, maxFields, found);
  const recorded = found.size;
  let from = pos; // the bytes from here to `at` are to be checked still
  let at = pos;
  let lastEnd = -1;
  let fields = 0;
  let ascii = true;
  for (;;) {
    let stop = simpleShapeEnd(buf, at, end);
    if (stop !== NOT_SIMPLE) {
      if (shapeAsciiStop !== stop) {
        ascii = isAscii(buf, from, shapeAsciiStop);
        if (!ascii) break;
        from = stop;
      }
      recordSimple(buf, found, stop);
    } else {
      // The general walk checks its own strings; the range before this KeyValue is checked first.
      ascii = isAscii(buf, from, at);
      if (!ascii) break;
      stop = generalKeyValueEnd(buf, at, end, found);
      if (stop < 0) {
        from = at;
        break;
      }
      from = stop;
    }
    lastEnd = stop;
    fields += 1;
    if (fields >= maxFields || stop >= end || buf[stop] !== tag) break;
    at = stop + 1;
  }
  if (ascii && from < lastEnd) ascii = isAscii(buf, from, lastEnd);
  if (!ascii) {
    found.truncate(recorded);
    return keyValueByKeyValueRunEnd(buf, pos, end, tag, maxFields, found);
  }
  runFields = fields;
  return lastEnd;
}

/** validAttributeRunEnd one KeyValue at a time (validKeyValueEnd each): the reference it must equal. */
function keyValueByKeyValueRunEnd(
  buf: Uint8Array,
  pos: number,
  end: number,
  tag: number,
  maxFields: number,
  found: WalkRecords,
): number {
  let at = pos;
  let lastEnd = -1;
  let fields = 0;
  for (;;) {
    const stop = validKeyValueEnd(buf, at, end, found);
    if (stop < 0) break;
    lastEnd = stop;
    fields += 1;
    if (fields >= maxFields || stop >= end || buf[stop] !== tag) break;
    at = stop + 1;
  }
  runFields = fields;
  return lastEnd;
}
