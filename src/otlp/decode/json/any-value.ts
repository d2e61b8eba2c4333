// OTLP/JSON AnyValue and KeyValue (common.proto) to the model's AttributeValue: {"stringValue": ...},
// {"intValue": "42"}, {"arrayValue": {"values": [...]}}, {"kvlistValue": {"values": [{key, value}]}},
// {"bytesValue": "<base64>"} (-> hex). An empty object is an empty AnyValue (null).
import type { AttributeValue, Attributes } from '../../model.js';
import { MAX_ANY_VALUE_DEPTH, MAX_ATTRIBUTES_PER_LIST, setAttribute } from '../any-value.js';
import { MalformedPayload } from '../errors.js';
import {
  asArray,
  asBool,
  asDouble,
  asInteger,
  asObject,
  asString,
  base64ToHex,
  field,
  type JsonObject,
  type JsonPath,
} from './values.js';

/** A repeated KeyValue field (attributes) to an Attributes object. */
export function jsonAttributes(value: unknown, path: JsonPath, depth = 0): Attributes {
  const attributes: Attributes = {};
  const list = asArray(value, path);
  if (list.length > MAX_ATTRIBUTES_PER_LIST) {
    throw new MalformedPayload(
      `${path} holds ${list.length} attributes, more than ${MAX_ATTRIBUTES_PER_LIST} (the per-list limit)`,
    );
  }
  for (let i = 0; i < list.length; i++) {
    const entryPath = `${path}[${i}]`;
    const entry = asObject(list[i], entryPath);
    if (entry === undefined) continue;
    const key = asString(entry.key, `${entryPath}.key`);
    setAttribute(attributes, key, jsonAnyValue(entry.value, `${entryPath}.value`, depth));
  }
  return attributes;
}

export function jsonAnyValue(value: unknown, path: JsonPath, depth: number): AttributeValue {
  if (depth >= MAX_ANY_VALUE_DEPTH)
    throw new MalformedPayload(`${path}: AnyValue nested deeper than ${MAX_ANY_VALUE_DEPTH}`);
  const any = asObject(value, path);
  if (any === undefined) return null;
  let v: unknown;
  if ((v = field(any, 'stringValue', 'string_value')) != null) return asString(v, `${path}.stringValue`);
  if ((v = field(any, 'boolValue', 'bool_value')) != null) return asBool(v, `${path}.boolValue`);
  if ((v = field(any, 'intValue', 'int_value')) != null) return asInteger(v, `${path}.intValue`);
  if ((v = field(any, 'doubleValue', 'double_value')) != null) return asDouble(v, `${path}.doubleValue`);
  if ((v = field(any, 'arrayValue', 'array_value')) != null) {
    const arrayPath = `${path}.arrayValue`;
    const values = asArray((asObject(v, arrayPath) as JsonObject).values, `${arrayPath}.values`);
    return values.map((item, i) => jsonAnyValue(item, `${arrayPath}.values[${i}]`, depth + 1));
  }
  if ((v = field(any, 'kvlistValue', 'kvlist_value')) != null) {
    const listPath = `${path}.kvlistValue`;
    return jsonAttributes((asObject(v, listPath) as JsonObject).values, `${listPath}.values`, depth + 1);
  }
  if ((v = field(any, 'bytesValue', 'bytes_value')) != null)
    return base64ToHex(asString(v, path), `${path}.bytesValue`);
  return null;
}
