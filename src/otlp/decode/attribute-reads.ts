// Decoding attributes out of a range of attribute fields that the decode walk validated (attribute-walk.ts):
// the whole list (decodeAttributeFields), or one key's value.
//
// Single-key reads: judging a span needs a handful of its attributes (the error rule's status codes, a
// correlation key, a variant attribute), and building the whole object to read one of them was a third of
// the sidecar's CPU with one analysis (issue 13). readAttribute (lazy-attributes.ts) finds one key by
// comparing key bytes over the already validated range (lookupAttributeField) and decodes that value alone;
// the object is not built and the span keeps its buffer reference (the same lifetime as before the first
// read). A watched key (watched-keys.ts) is read from what the decode walk recorded instead (foundValue).
import { Reader } from 'protobufjs/minimal.js';
import type { AttributeValue, Attributes } from '../model.js';
import { decodeAnyValue, decodeKeyValue } from './any-value.js';
import { type WatchTable, asciiKeyBytes, watchKey } from './watched-keys.js';
import type { WireContext } from './wire.js';
import { cursor, messageEnd, skippedEnd, smallVarint } from './wire-scan.js';

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
  const reader = sharedReaderAt(bytes, start, end);
  try {
    while (reader.pos < reader.len) {
      if (reader.uint32() !== tag) throw new Error('lazy attributes: unexpected field in a validated range');
      decodeKeyValue(sharedContext, attributes, 0);
    }
  } finally {
    releaseSharedReader();
  }
  return attributes;
}

const NO_BYTES = new Uint8Array(0);
/** One reader for every decode here (they never nest), pointed at the bytes only while decoding. */
const sharedContext: WireContext = { reader: new Reader(NO_BYTES), path: [] };

function sharedReaderAt(bytes: Uint8Array, start: number, end: number): Reader {
  const reader = sharedContext.reader;
  reader.buf = bytes;
  reader.pos = start;
  reader.len = end;
  return reader;
}

/** Drops the shared reader's reference to the bytes, and the frame path a throw may have left. */
function releaseSharedReader(): void {
  const reader = sharedContext.reader;
  reader.buf = NO_BYTES;
  reader.pos = reader.len = 0;
  if (sharedContext.path.length !== 0) sharedContext.path.length = 0;
}

// The shared reader's fields are reassigned (sharedReaderAt, releaseSharedReader) the first time attribution
// reads an attribute, which is after the first request's decode walk. Until a field of an existing object is
// stored a second time V8 tracks it as constant, and TurboFan, which compiles Reader.uint32, readKey,
// readHalves, readTraceIdHex and decodeSpan within that first request, compiled them against the constant:
// the first reassignment deoptimized all of them at once and threw away compilations in progress
// (`--trace-deopt`: "code dependencies"). Stored once more here, the fields are mutable before any of that
// code is compiled.
releaseSharedReader();

/** The AnyValue whose length prefix is at `valueAt`, inside a validated KeyValue ending at `end`. */
function decodeValueAt(bytes: Uint8Array, valueAt: number, end: number): AttributeValue {
  sharedReaderAt(bytes, valueAt, end);
  try {
    return decodeAnyValue(sharedContext, 0);
  } finally {
    releaseSharedReader();
  }
}

// ---------------------------------------------------------------------------------------------------
// Single-key reads over a validated range (every varint, length and nesting in it was checked by
// validKeyValueEnd in attribute-walk.ts, and every key is ASCII, so the walk below needs no checks of its
// own).

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

export const UNWATCHED = Symbol('unwatched');

/**
 * A read of `key` from the walk's records when it was watched at decode time (`watch`); UNWATCHED
 * otherwise, and the key is watched for the spans and events decoded from now on.
 */
export function watchedRead(
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
