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

/** Reads one length-delimited KeyValue into `attributes` (repeated KeyValue fields call this per entry). */
export function decodeKeyValue(ctx: WireContext, attributes: Attributes, depth: number): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let key = '';
  let value: AttributeValue = null;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) key = reader.stringVerify();
    else if (tag === 18) {
      ctx.path.push('KeyValue.value');
      value = decodeAnyValue(ctx, depth);
      ctx.path.pop();
    } else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  setAttribute(attributes, key, value);
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
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === 10) decodeKeyValue(ctx, values, depth);
    else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  return values;
}
