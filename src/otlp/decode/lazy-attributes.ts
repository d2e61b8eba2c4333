// Lazy span and event attributes for the protobuf trace decoder.
//
// Attribution reads a few attributes of a few spans (the analyses' match, variant and error rules), yet
// building every span's `attributes` object (~10 keys and values) was most of the decode time
// (bench/decode.ts). So the decoder records where a span's attribute fields lie in the request bytes and
// builds the object on first read of `span.attributes`, through the same decodeKeyValue as before.
//
// Errors stay at decode time. Before a KeyValue is left for later, validKeyValueEnd walks its wire
// structure (tags, lengths, nesting, varints, UTF-8) without building anything; it accepts only what
// decodeKeyValue is sure to decode, and bails out (returns -1) on anything it does not check itself
// (non-ASCII text, groups, long varints, deep nesting). A bail makes that span's attributes decode
// eagerly, which throws OtlpDecodeError exactly as before when the bytes are bad. So a lazy read can
// never throw, and the validator may be stricter than the decoder but never laxer.
//
// Lifetime: a span whose attributes were not read yet references the request buffer (see model.ts,
// DecodedSpan). Reading `attributes` once drops that reference.
//
// Single-key reads: judging a span needs a handful of its attributes (the error rule's status codes, a
// correlation key, a variant attribute), and building the whole object to read one of them was a third of
// the sidecar's CPU with one analysis (issue 13). readAttribute finds one key by comparing key bytes over
// the already validated range and decodes that value alone; the object is not built and the span keeps
// its buffer reference (the same lifetime as before the first read).
//
// Keys read in the walk (issue 13: "decode validation and reading share one pass"): a key that judging has
// asked for once is watched from then on (at most MAX_WATCHED_KEYS, from configuration in practice: the
// error rule's, the variant attribute, the flag-evaluation keys). validKeyValueEnd compares each top-level
// key it validates against the watched keys of that length and, on a match, records where the value lies,
// so a later read of a watched key is a look at those records instead of a second walk over the span's
// attribute bytes. A span keeps the table of watched keys it was decoded with, so a key watched after it
// was decoded is still found by the walk of lookupAttributeField, never reported missing.
import { Reader } from 'protobufjs/minimal.js';
import type {
  AttributeValue,
  Attributes,
  DecodedSpan,
  ResourceInfo,
  SpanEvent,
  SpanKind,
  StatusCode,
} from '../model.js';
import { MAX_ANY_VALUE_DEPTH, decodeAnyValue, decodeKeyValue } from './any-value.js';
import { idHalvesHex, type WireContext } from './wire.js';

/** Span.attributes (field 9) and Span.Event.attributes (field 3) tags, length-delimited. */
export const SPAN_ATTRIBUTES_TAG = 74;
export const EVENT_ATTRIBUTES_TAG = 26;

/**
 * Decodes the consecutive `tag` fields in bytes[start, end) (KeyValues already validated or already
 * decoded once) into a new object, in wire order, as the eager decoder does.
 */
export function decodeAttributeFields(
  bytes: Uint8Array,
  start: number,
  end: number,
  tag: number,
): Attributes {
  const attributes: Attributes = {};
  // One reader for every such decode (they never nest), pointed at the bytes only while decoding.
  const reader = sharedContext.reader;
  reader.buf = bytes;
  reader.pos = start;
  reader.len = end;
  try {
    while (reader.pos < reader.len) {
      if (reader.uint32() !== tag) throw new Error('lazy attributes: unexpected field in a validated range');
      decodeKeyValue(sharedContext, attributes, 0);
    }
  } finally {
    reader.buf = NO_BYTES;
    reader.pos = reader.len = 0;
    if (sharedContext.path.length !== 0) sharedContext.path.length = 0;
  }
  return attributes;
}

const NO_BYTES = new Uint8Array(0);
const sharedContext: WireContext = { reader: new Reader(NO_BYTES), path: [] };
// The shared reader's fields are reassigned (above) the first time attribution reads an attribute, which
// is after the first request's decode walk. Until a field of an existing object is stored a second time V8
// tracks it as constant, and TurboFan, which compiles Reader.uint32, readKey, readHalves, readTraceIdHex
// and decodeSpan within that first request, compiled them against the constant: the first reassignment
// deoptimized all of them at once and threw away compilations in progress (`--trace-deopt`: "code
// dependencies"). Stored once more here, the fields are mutable before any of that code is compiled.
sharedContext.reader.buf = NO_BYTES;
sharedContext.reader.pos = sharedContext.reader.len = 0;

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

// ---------------------------------------------------------------------------------------------------
// Watched keys (see the header).

/** Keys watched at most; past it a key is read by the walk of lookupAttributeField, as before. */
export const MAX_WATCHED_KEYS = 64;
/** Longer keys are not watched (none in configuration comes near). */
const MAX_WATCHED_KEY_LENGTH = 255;

/** An immutable set of watched keys: a new table replaces it when a key is added. */
export interface WatchTable {
  /** Watched key -> its number in `found` records. */
  readonly index: ReadonlyMap<string, number>;
  /** ASCII bytes of key number i. */
  readonly bytes: readonly Uint8Array[];
  /**
   * Key numbers by key length (bytes), for the walk's first check; every length 0-255 has an entry (a read
   * past an array's end is a slow lookup in V8, and this runs for every attribute of every span).
   */
  readonly byLength: readonly (readonly number[] | null)[];
}

const EMPTY_TABLE: WatchTable = {
  index: new Map(),
  bytes: [],
  byLength: Array.from({ length: MAX_WATCHED_KEY_LENGTH + 1 }, () => null),
};
let watched: WatchTable = EMPTY_TABLE;

/** The keys watched now (decoded spans and events keep the table they were decoded with). */
export function watchTable(): WatchTable {
  return watched;
}

/** Watches `key` from now on, if it can be: ASCII, not empty, at most 255 bytes, room in the table. */
function watchKey(key: string): void {
  if (watched.index.has(key) || watched.bytes.length >= MAX_WATCHED_KEYS) return;
  const bytes = asciiKeyBytes(key);
  if (bytes === undefined || bytes.length === 0 || bytes.length > MAX_WATCHED_KEY_LENGTH) return;
  const number = watched.bytes.length;
  const index = new Map(watched.index).set(key, number);
  const byLength = watched.byLength.slice();
  byLength[bytes.length] = [...(byLength[bytes.length] ?? []), number];
  watched = { index, bytes: [...watched.bytes, bytes], byLength };
}

/** Forgets every watched key; for tests that check both paths. */
export function resetWatchedKeys(): void {
  watched = EMPTY_TABLE;
}

/** The watched key number of the ASCII key in buf[start, stop), or -1. */
function watchedKeyAt(buf: Uint8Array, start: number, stop: number): number {
  const length = stop - start;
  if (length > MAX_WATCHED_KEY_LENGTH) return -1;
  const candidates = watched.byLength[length];
  if (candidates === null) return -1;
  for (const number of candidates) {
    const wanted = watched.bytes[number];
    let i = 0;
    while (i < wanted.length && buf[start + i] === wanted[i]) i++;
    if (i === wanted.length) return number;
  }
  return -1;
}

/**
 * A watched key's value from the records of a span's (or event's) walk: triples of key number, position of
 * the value's length prefix (-1 for a KeyValue without value) and the KeyValue's end, in wire order. What
 * lookupAttributeField returns for it: the last KeyValue with the key wins, null when it has no value,
 * undefined when no KeyValue has the key.
 */
function foundValue(
  bytes: Uint8Array,
  found: readonly number[] | undefined,
  number: number,
): AttributeValue | undefined {
  if (found === undefined) return undefined;
  let at = -1;
  for (let i = 0; i < found.length; i += 3) if (found[i] === number) at = i;
  if (at < 0) return undefined;
  if (found[at + 1] < 0) return null;
  return decodeValueAt(bytes, found[at + 1], found[at + 2]);
}

/** The AnyValue whose length prefix is at `valueAt`, inside a validated KeyValue ending at `end`. */
function decodeValueAt(bytes: Uint8Array, valueAt: number, end: number): AttributeValue {
  const reader = sharedContext.reader;
  reader.buf = bytes;
  reader.pos = valueAt;
  reader.len = end;
  try {
    return decodeAnyValue(sharedContext, 0);
  } finally {
    reader.buf = NO_BYTES;
    reader.pos = reader.len = 0;
    if (sharedContext.path.length !== 0) sharedContext.path.length = 0;
  }
}

// ---------------------------------------------------------------------------------------------------
// Validation walk. Positions are plain numbers over `buf`; `cursor` is where the last varint ended.

let cursor = 0;

/**
 * A varint of at most 4 bytes (value < 2^28), wholly inside [pos, end): what Reader.uint32 reads the same
 * way. -1 for anything else (the eager decoder then decides).
 */
function smallVarint(buf: Uint8Array, pos: number, end: number): number {
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
function varintEnd(buf: Uint8Array, pos: number, end: number): number {
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return -1;
    if (buf[pos++] < 0x80) return pos;
  }
  return -1;
}

/** End of a length-delimited ASCII string starting at its length prefix, or -1 (non-ASCII: bail). */
function asciiStringEnd(buf: Uint8Array, pos: number, end: number): number {
  const length = smallVarint(buf, pos, end);
  if (length < 0) return -1;
  const start = cursor;
  const stop = start + length;
  if (stop > end) return -1;
  return isAscii(buf, start, stop) ? stop : -1;
}

// ASCII checks read the middle of a string four bytes at a time, through a Uint32Array over the bytes'
// ArrayBuffer: checking key and value strings byte by byte was most of the walk's time (issue 13), and the
// walk runs over every attribute of every span. The view is made once per buffer and dropped after each
// decode (releaseWordView), so it never keeps a request's bytes alive.
let wordsOf: Uint8Array | undefined;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
/** Byte offset of wordsOf[0] in its ArrayBuffer (whose word i holds bytes 4i..4i+3). */
let wordsOffset = 0;
/** Strings shorter than this are checked byte by byte (the view's set-up and edges cost more). */
const MIN_WORD_CHECK_BYTES = 12;

/** Whether buf[start, stop) is all ASCII (every byte below 0x80). */
function isAscii(buf: Uint8Array, start: number, stop: number): boolean {
  let bits = 0;
  let i = start;
  if (stop - start >= MIN_WORD_CHECK_BYTES) {
    if (buf !== wordsOf) {
      wordsOf = buf;
      words = new Uint32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
      wordsOffset = buf.byteOffset;
    }
    // Bytes up to the first word boundary, then whole words, then the bytes after the last whole word.
    for (; ((wordsOffset + i) & 3) !== 0; i++) bits |= buf[i];
    const last = (wordsOffset + stop) >>> 2;
    let wordBits = 0;
    for (let w = (wordsOffset + i) >>> 2; w < last; w++) wordBits |= words[w];
    if ((wordBits & 0x80808080) !== 0) return false;
    i = (last << 2) - wordsOffset;
  }
  for (; i < stop; i++) bits |= buf[i];
  return bits < 0x80;
}

/** Drops the word view of the last buffer checked (called after each decode). */
export function releaseWordView(): void {
  wordsOf = undefined;
  words = new Uint32Array(0);
}

/** End of an embedded message's content starting at its length prefix (enterMessage's check), or -1. */
function messageEnd(buf: Uint8Array, pos: number, end: number): number {
  const length = smallVarint(buf, pos, end);
  if (length < 0) return -1;
  const stop = cursor + length;
  return stop > end ? -1 : stop;
}

/** skipField's walk for the wire types it accepts, except groups (bail); -1 when it would throw. */
function skippedEnd(buf: Uint8Array, pos: number, end: number, tag: number): number {
  if (tag >>> 3 === 0) return -1;
  switch (tag & 7) {
    case 0:
      return varintEnd(buf, pos, end);
    case 1:
      return pos + 8 <= end ? pos + 8 : -1;
    case 2: {
      const length = smallVarint(buf, pos, end);
      if (length < 0) return -1;
      return cursor + length <= end ? cursor + length : -1;
    }
    case 5:
      return pos + 4 <= end ? pos + 4 : -1;
    default:
      return -1;
  }
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
      case 42: {
        // array_value: ArrayValue.values = 1, each an AnyValue one level deeper.
        const stop = messageEnd(buf, pos, end);
        if (stop < 0) return false;
        let at = cursor;
        while (at < stop) {
          const inner = smallVarint(buf, at, stop);
          if (inner < 0) return false;
          at = cursor;
          if (inner === 10) {
            if (depth + 1 >= MAX_ANY_VALUE_DEPTH) return false;
            const valueEnd = messageEnd(buf, at, stop);
            if (valueEnd < 0 || !validAnyValueContent(buf, cursor, valueEnd, depth + 1)) return false;
            at = valueEnd;
          } else {
            at = skippedEnd(buf, at, stop, inner);
            if (at < 0) return false;
          }
        }
        pos = stop;
        break;
      }
      case 50: {
        // kvlist_value: KeyValueList.values = 1, each a KeyValue one level deeper.
        const stop = messageEnd(buf, pos, end);
        if (stop < 0) return false;
        let at = cursor;
        while (at < stop) {
          const inner = smallVarint(buf, at, stop);
          if (inner < 0) return false;
          at = cursor;
          if (inner === 10) {
            const valueEnd = messageEnd(buf, at, stop);
            if (valueEnd < 0 || !validKeyValueContent(buf, cursor, valueEnd, depth + 1)) return false;
            at = valueEnd;
          } else {
            at = skippedEnd(buf, at, stop, inner);
            if (at < 0) return false;
          }
        }
        pos = stop;
        break;
      }
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
 * ends, having recorded a watched key as validKeyValueContent does; NOT_SIMPLE for any other shape (the
 * general walk then decides). Every check is one the general walk makes, so both accept the same bytes; this
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

/** validKeyValueEnd by the general walk alone. */
function generalKeyValueEnd(buf: Uint8Array, pos: number, end: number, found?: WalkRecords): number {
  const stop = messageEnd(buf, pos, end);
  if (stop < 0) return -1;
  topLevelKey = -1; // no key field: the key is '', which is never watched
  topLevelValueAt = -1;
  if (!validKeyValueContent(buf, cursor, stop, 0)) return -1;
  if (topLevelKey >= 0 && found !== undefined) found.add(topLevelKey, topLevelValueAt, stop);
  return stop;
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

/**
 * Where one span's (or event's) walk found watched keys: triples of key number, position of the value's
 * length prefix (-1: no value) and the KeyValue's end, in wire order (foundValue reads them). One instance
 * is reused for every span (reset, add, then a copy taken), so a span without watched keys costs nothing.
 */
export class WalkRecords {
  #values: number[] = [];
  #length = 0;

  reset(): void {
    this.#length = 0;
  }

  /** Numbers held (three per record). */
  get size(): number {
    return this.#length;
  }

  /** Forgets the records added after the walk held `size` numbers. */
  truncate(size: number): void {
    this.#length = size;
  }

  add(key: number, valueAt: number, end: number): void {
    const values = this.#values;
    const at = this.#length;
    values[at] = key;
    values[at + 1] = valueAt;
    values[at + 2] = end;
    this.#length = at + 3;
  }

  /** A copy of the records, or undefined when there are none. */
  take(): number[] | undefined {
    return this.#length === 0 ? undefined : this.#values.slice(0, this.#length);
  }
}

/** What the walk of the current top-level KeyValue saw: its watched key number (-1: none) and value. */
let topLevelKey = -1;
let topLevelValueAt = -1;

// ---------------------------------------------------------------------------------------------------
// Single-key reads over a validated range (every varint, length and nesting in it was checked by
// validKeyValueEnd, and every key is ASCII, so the walk below needs no checks of its own).

/** ASCII bytes of keys looked up so far; undefined for a non-ASCII key, which no validated range holds. */
const keyBytesMemo = new Map<string, Uint8Array | undefined>();
const MAX_MEMO_KEYS = 1024;

function asciiKeyBytes(key: string): Uint8Array | undefined {
  if (keyBytesMemo.has(key)) return keyBytesMemo.get(key);
  let bytes: Uint8Array | undefined = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code >= 0x80) {
      bytes = undefined;
      break;
    }
    bytes[i] = code;
  }
  // Keys come from configuration (a few dozen); the bound only guards against a caller passing data.
  if (keyBytesMemo.size >= MAX_MEMO_KEYS) keyBytesMemo.clear();
  keyBytesMemo.set(key, bytes);
  return bytes;
}

/**
 * The value of `key` among the consecutive, validated `tag` fields in bytes[start, end): what
 * decodeAttributeFields(...)[key] would be for an own key (the last duplicate wins, a KeyValue without a
 * value is null), or undefined when no KeyValue has that key. Decodes that one value only.
 */
export function lookupAttributeField(
  bytes: Uint8Array,
  start: number,
  end: number,
  key: string,
): AttributeValue | undefined {
  const wanted = asciiKeyBytes(key);
  if (wanted === undefined) return undefined;
  let valueAt = -2; // -2: no KeyValue has the key; -1: the last one with it has no value
  let valueEnd = 0;
  let pos = start;
  while (pos < end) {
    smallVarint(bytes, pos, end); // the field's tag
    const keyValueEnd = messageEnd(bytes, cursor, end);
    let at = cursor;
    // decodeKeyValue's rules: the key is the last key field ('' when none), the value the last value field.
    let matches = wanted.length === 0;
    let ownValueAt = -1;
    while (at < keyValueEnd) {
      const tag = smallVarint(bytes, at, keyValueEnd);
      at = cursor;
      if (tag === 10) {
        const length = smallVarint(bytes, at, keyValueEnd);
        at = cursor;
        matches = length === wanted.length;
        for (let i = 0; matches && i < length; i++) matches = bytes[at + i] === wanted[i];
        at += length;
      } else if (tag === 18) {
        ownValueAt = at;
        at = messageEnd(bytes, at, keyValueEnd);
      } else at = skippedEnd(bytes, at, keyValueEnd, tag);
    }
    if (matches) {
      valueAt = ownValueAt;
      valueEnd = keyValueEnd;
    }
    pos = keyValueEnd;
  }
  if (valueAt === -2) return undefined;
  if (valueAt === -1) return null;
  return decodeValueAt(bytes, valueAt, valueEnd);
}

/**
 * An item's attribute `key` (undefined when it has none): `attributes[key]` for an own key, read from the
 * bytes without building the attributes object when those are still undecoded (ProtobufSpan,
 * ProtobufSpanEvent), from the object otherwise (JSON-decoded spans, events, points, log records).
 */
export function readAttribute(item: { attributes: Attributes }, key: string): AttributeValue | undefined {
  if (item instanceof LazyAttributes) return item.attribute(key);
  const attributes = item.attributes;
  return Object.hasOwn(attributes, key) ? attributes[key] : undefined;
}

/**
 * Single-key reads of one span (or event) from its bytes before its attributes object is built and read
 * instead: a span judged by one analysis needs ~4 reads, one judged by many would scan its bytes again for
 * each, where a built object answers every later read by a hash lookup.
 */
const MAX_BYTE_LOOKUPS = 8;

function ownAttribute(attributes: Attributes, key: string): AttributeValue | undefined {
  return Object.hasOwn(attributes, key) ? attributes[key] : undefined;
}

const UNWATCHED = Symbol('unwatched');

/**
 * A read of `key` from the walk's records when it was watched at decode time (`watch`); UNWATCHED
 * otherwise, and the key is watched for the spans and events decoded from now on.
 */
function watchedRead(
  bytes: Uint8Array,
  watch: WatchTable,
  found: number[] | undefined,
  key: string,
): AttributeValue | undefined | typeof UNWATCHED {
  const number = watch.index.get(key);
  if (number !== undefined) return foundValue(bytes, found, number);
  watchKey(key);
  return UNWATCHED;
}

// ---------------------------------------------------------------------------------------------------
// Model objects. `attributes` is a getter/setter pair on the class; the decoded object is cached, and
// assigning replaces it. It used to be an own, enumerable accessor defined on each instance, so that a
// spread or deep equality saw it like the data property it replaces, but Object.defineProperty cost ~100 ns
// per span and per event and left the objects slower to build: in `node dist/bench/decode.js` the
// field-selective decoder went from 637k-660k to 949k-977k spans/s without it (three alternated runs each,
// quiet machine, 2026-11-30; protobufjs Type.decode 204k-224k in the same runs). Consumers read
// `span.attributes`, which is the same either way; JSON.stringify (toJSON) and plainSpan give plain data, as
// the JSON decoder's spans are.

/**
 * A plain-object copy of a decoded span and its events, `attributes` included (decoding them now), with the
 * keys in the JSON decoder's order, so that both serialize alike.
 */
export function plainSpan(span: DecodedSpan): DecodedSpan {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: span.kind,
    startTimeUnixMs: span.startTimeUnixMs,
    durationNanos: span.durationNanos,
    statusCode: span.statusCode,
    statusMessage: span.statusMessage,
    attributes: span.attributes,
    events: span.events.map(plainEvent),
    resource: span.resource,
    scopeName: span.scopeName,
  };
}

function plainEvent(event: SpanEvent): SpanEvent {
  return { name: event.name, timeUnixMs: event.timeUnixMs, attributes: event.attributes };
}

function build(bytes: Uint8Array | undefined, start: number, end: number, tag: number): Attributes {
  return bytes === undefined ? {} : decodeAttributeFields(bytes, start, end, tag);
}

/**
 * What a protobuf span and event share: `attributes` decoded on first read from bytes[start, end)
 * (consecutive, validated attribute fields with the given tag; bytes undefined for none), unless given
 * decoded, and single-key reads before that (readAttribute).
 */
abstract class LazyAttributes {
  #attributes: Attributes | undefined;
  #bytes: Uint8Array | undefined;
  #start: number;
  #end: number;
  #tag: number;
  /** Single-key reads from the bytes so far: past MAX_BYTE_LOOKUPS the object is built once instead. */
  #lookups = 0;
  /** The watched keys when this was decoded, and what the walk recorded of them (foundValue). */
  #watch: WatchTable;
  #found: number[] | undefined;

  constructor(
    tag: number,
    attributes: Attributes | undefined,
    bytes: Uint8Array | undefined,
    start: number,
    end: number,
    found: number[] | undefined,
  ) {
    this.#tag = tag;
    this.#attributes = attributes;
    this.#bytes = attributes === undefined ? bytes : undefined;
    this.#start = start;
    this.#end = end;
    this.#watch = watched;
    this.#found = found;
  }

  get attributes(): Attributes {
    let attributes = this.#attributes;
    if (attributes === undefined) {
      attributes = build(this.#bytes, this.#start, this.#end, this.#tag);
      this.#attributes = attributes;
      this.#bytes = undefined;
    }
    return attributes;
  }

  set attributes(value: Attributes) {
    this.#attributes = value;
    this.#bytes = undefined;
  }

  /** Attribute `key` without decoding the others (see readAttribute). */
  attribute(key: string): AttributeValue | undefined {
    const bytes = this.#bytes;
    if (this.#attributes === undefined && bytes !== undefined) {
      const value = watchedRead(bytes, this.#watch, this.#found, key);
      if (value !== UNWATCHED) return value;
      if (++this.#lookups <= MAX_BYTE_LOOKUPS)
        return lookupAttributeField(bytes, this.#start, this.#end, key);
    }
    return ownAttribute(this.attributes, key);
  }
}

/** A span from the protobuf decoder (DecodedSpan), its attributes decoded on first read. */
export class ProtobufSpan extends LazyAttributes implements DecodedSpan {
  declare traceId: string;
  declare name: string;
  declare kind: SpanKind;
  declare startTimeUnixMs: number;
  declare durationNanos: number;
  declare statusCode: StatusCode;
  declare statusMessage: string;
  declare events: SpanEvent[];
  declare resource: ResourceInfo;
  declare scopeName: string;

  /**
   * The span id, and the parent's when `hasParent`, as the little-endian halves of their 8 bytes: made hex
   * when read (wire.ts atEightByteId). An assigned value replaces them.
   */
  #spanLo: number;
  #spanHi: number;
  #hasParent: boolean;
  #parentLo: number;
  #parentHi: number;
  #spanId: string | undefined;
  #parentSpanId: string | undefined;

  /** `attributes`, bytes, start, end and found: see LazyAttributes (Span.attributes fields). */
  constructor(
    traceId: string,
    spanLo: number,
    spanHi: number,
    hasParent: boolean,
    parentLo: number,
    parentHi: number,
    name: string,
    kind: SpanKind,
    startTimeUnixMs: number,
    durationNanos: number,
    statusCode: StatusCode,
    statusMessage: string,
    attributes: Attributes | undefined,
    bytes: Uint8Array | undefined,
    start: number,
    end: number,
    events: SpanEvent[],
    resource: ResourceInfo,
    found?: number[],
  ) {
    super(SPAN_ATTRIBUTES_TAG, attributes, bytes, start, end, found);
    // Own properties in the order of the JSON decoder's plain objects.
    this.traceId = traceId;
    this.name = name;
    this.kind = kind;
    this.startTimeUnixMs = startTimeUnixMs;
    this.durationNanos = durationNanos;
    this.statusCode = statusCode;
    this.statusMessage = statusMessage;
    this.events = events;
    this.resource = resource;
    this.scopeName = '';
    this.#spanLo = spanLo;
    this.#spanHi = spanHi;
    this.#hasParent = hasParent;
    this.#parentLo = parentLo;
    this.#parentHi = parentHi;
  }

  get spanId(): string {
    return this.#spanId ?? idHalvesHex(this.#spanLo, this.#spanHi);
  }

  set spanId(value: string) {
    this.#spanId = value;
  }

  get parentSpanId(): string {
    return this.#parentSpanId ?? (this.#hasParent ? idHalvesHex(this.#parentLo, this.#parentHi) : '');
  }

  set parentSpanId(value: string) {
    this.#parentSpanId = value;
  }

  /** The plain data (see the section's header). */
  toJSON(): DecodedSpan {
    return plainSpan(this);
  }
}

/** A span event from the protobuf decoder (SpanEvent), its attributes decoded on first read. */
export class ProtobufSpanEvent extends LazyAttributes implements SpanEvent {
  declare name: string;
  declare timeUnixMs: number;

  /** As ProtobufSpan, with Span.Event.attributes fields. */
  constructor(
    name: string,
    timeUnixMs: number,
    attributes: Attributes | undefined,
    bytes: Uint8Array | undefined,
    start: number,
    end: number,
    found?: number[],
  ) {
    super(EVENT_ATTRIBUTES_TAG, attributes, bytes, start, end, found);
    this.name = name;
    this.timeUnixMs = timeUnixMs;
  }

  /** The plain data (see the section's header). */
  toJSON(): SpanEvent {
    return plainEvent(this);
  }
}
