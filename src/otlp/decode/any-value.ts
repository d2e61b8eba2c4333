// AnyValue / KeyValue (opentelemetry/proto/common/v1/common.proto) to the model's AttributeValue:
// string_value = 1, bool_value = 2, int_value = 3 (int64 -> number), double_value = 4,
// array_value = 5, kvlist_value = 6, bytes_value = 7 (-> lowercase hex). An AnyValue with no field set
// is "empty" and becomes null.
import type { Reader } from 'protobufjs/minimal.js';
import type { AttributeValue, Attributes } from '../model.js';
import { MalformedPayload } from './errors.js';
import {
  enterMessage,
  leaveMessage,
  readBytesHex,
  readVarint64,
  skipField,
  type WireContext,
} from './wire.js';

/** Deeper nesting than this is no real attribute; refusing it keeps recursion bounded on hostile input. */
export const MAX_ANY_VALUE_DEPTH = 32;

/**
 * Sets `attributes[key] = value`. `__proto__` is defined as an own property so that a sender cannot
 * replace the object's prototype through an attribute key.
 */
export function setAttribute(attributes: Attributes, key: string, value: AttributeValue): void {
  if (key === '__proto__') {
    Object.defineProperty(attributes, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    attributes[key] = value;
  }
}

// Attribute keys repeat in every span of a batch ("http.route", "service.name", ...). Decoding each one
// anew costs a UTF-8 decode and, worse, an internalization when it becomes a property key, which showed
// as the largest single cost in profiles (bench/decode.ts). This memo maps a key's bytes to the string
// already made for them: a fixed, bounded table (FNV-1a hash of the bytes, exact byte comparison on a
// hit), so it holds no state that could change a result and cannot grow.
const KEY_TABLE_SIZE = 2048; // power of two
const MAX_CACHED_KEY_BYTES = 64;
const keyTableBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(KEY_TABLE_SIZE).fill(
  undefined,
);
const keyTableStrings: string[] = new Array<string>(KEY_TABLE_SIZE).fill('');

/**
 * Reads a KeyValue.key (string, length-delimited), through the memo when it is short. Span and event
 * names, which repeat as keys do, are read through it too.
 */
export function readKey(reader: Reader): string {
  const lengthAt = reader.pos;
  const length = reader.uint32();
  const start = reader.pos;
  const end = start + length;
  if (length > MAX_CACHED_KEY_BYTES || end > reader.len) {
    reader.pos = lengthAt;
    return reader.stringVerify();
  }
  const buf = reader.buf;
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ buf[i], 0x01000193);
  const slot = hash & (KEY_TABLE_SIZE - 1);
  const cached = keyTableBytes[slot];
  if (cached !== undefined && cached.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (cached[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      reader.pos = end;
      return keyTableStrings[slot];
    }
  }
  reader.pos = lengthAt;
  const key = reader.stringVerify();
  // A copy: the caller may reuse its buffer, and Buffer#slice would only be a view of it.
  const bytes = new Uint8Array(length);
  bytes.set(buf.subarray(start, end));
  keyTableBytes[slot] = bytes;
  keyTableStrings[slot] = key;
  return key;
}

/** Reads one length-delimited KeyValue into `attributes` (repeated KeyValue fields call this per entry). */
export function decodeKeyValue(ctx: WireContext, attributes: Attributes, depth: number): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let key = '';
  let value: AttributeValue = null;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) key = readKey(reader);
    else if (tag === 18) {
      ctx.path.push('KeyValue.value');
      value = decodeAnyValue(ctx, depth);
      ctx.path.pop();
    } else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  setAttribute(attributes, key, value);
}

/**
 * Most attributes one list may hold (a resource's, a span's, an event's, a point's, a log record's, or a
 * kvlist value). A sender that puts more in one list is refused whole (400 / INVALID_ARGUMENT): one list
 * of a million attributes held the event loop for seconds while it was turned into one object (issue 9,
 * case 8). The OTel SDKs' default attribute count limit is 128.
 */
export const MAX_ATTRIBUTES_PER_LIST = 4096;

/** `seen + 1`, or a MalformedPayload naming `list` and the limit once the list holds too many. */
export function countAttribute(seen: number, list: string): number {
  if (seen >= MAX_ATTRIBUTES_PER_LIST) {
    throw new MalformedPayload(
      `${list} holds more than ${MAX_ATTRIBUTES_PER_LIST} attributes (the per-list limit)`,
    );
  }
  return seen + 1;
}

/** Reads one length-delimited AnyValue. */
export function decodeAnyValue(ctx: WireContext, depth: number): AttributeValue {
  if (depth >= MAX_ANY_VALUE_DEPTH)
    throw new MalformedPayload(`AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH}`);
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let value: AttributeValue = null;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case 10: // string_value
        value = reader.stringVerify();
        break;
      case 16: // bool_value
        value = reader.bool();
        break;
      case 24: // int_value (int64)
        value = readVarint64(reader, true);
        break;
      case 33: // double_value
        value = reader.double();
        break;
      case 42: // array_value
        ctx.path.push('AnyValue.array_value');
        value = decodeArrayValue(ctx, depth + 1);
        ctx.path.pop();
        break;
      case 50: // kvlist_value
        ctx.path.push('AnyValue.kvlist_value');
        value = decodeKeyValueList(ctx, depth + 1);
        ctx.path.pop();
        break;
      case 58: // bytes_value
        value = readBytesHex(reader);
        break;
      default:
        skipField(reader, tag);
    }
  }
  leaveMessage(reader, outer);
  return value;
}

function decodeArrayValue(ctx: WireContext, depth: number): AttributeValue[] {
  const reader: Reader = ctx.reader;
  const outer = enterMessage(reader);
  const values: AttributeValue[] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) values.push(decodeAnyValue(ctx, depth));
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  return values;
}

function decodeKeyValueList(ctx: WireContext, depth: number): Attributes {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  const values: Attributes = {};
  let seen = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) {
      seen = countAttribute(seen, 'a kvlist_value');
      decodeKeyValue(ctx, values, depth);
    } else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  return values;
}
