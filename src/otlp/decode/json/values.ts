// OTLP/JSON value rules (OTLP spec, "JSON Protobuf Encoding"): keys are lowerCamelCase (the protobuf JSON
// mapping lets parsers accept the original snake_case too), trace and span ids are hex (base64 tolerated
// from senders that predate the rule), enums are integers (names tolerated), 64-bit integers are
// decimal strings or numbers, bytes are base64, unknown fields are ignored and null means "not set".
import { MalformedPayload } from '../errors.js';

export type JsonObject = { readonly [key: string]: unknown };

/** Where in the document a value sits, for error messages; built only by callers that descend. */
export type JsonPath = string;

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

function fail(path: JsonPath, expected: string, value: unknown): never {
  throw new MalformedPayload(`${path}: expected ${expected}, found ${typeName(value)}`);
}

/** A field by its lowerCamelCase name, else its snake_case name. */
export function field(object: JsonObject, camel: string, snake: string): unknown {
  const value = object[camel];
  return value === undefined || value === null ? object[snake] : value;
}

export function asObject(value: unknown, path: JsonPath): JsonObject | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail(path, 'an object', value);
  return value as JsonObject;
}

const EMPTY: readonly unknown[] = [];

export function asArray(value: unknown, path: JsonPath): readonly unknown[] {
  if (value === undefined || value === null) return EMPTY;
  if (!Array.isArray(value)) fail(path, 'an array', value);
  return value;
}

export function asString(value: unknown, path: JsonPath): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') fail(path, 'a string', value);
  return value;
}

export function asBool(value: unknown, path: JsonPath): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
  return value;
}

const INTEGER = /^-?\d+$/;

/** int64 / uint64 / int32 as a decimal string or a number; exact below 2^53. */
export function asInteger(value: unknown, path: JsonPath): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && INTEGER.test(value)) return Number(value);
  return fail(path, 'an integer (number or decimal string)', value);
}

export function asCount(value: unknown, path: JsonPath): number {
  const n = asInteger(value, path);
  if (n < 0) throw new MalformedPayload(`${path}: expected a non-negative integer, found ${n}`);
  return n;
}

/** double: a number, or "NaN" / "Infinity" / "-Infinity" / a numeric string (protobuf JSON mapping). */
export function asDouble(value: unknown, path: JsonPath): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    if (value === 'NaN') return NaN;
    if (value === 'Infinity') return Infinity;
    if (value === '-Infinity') return -Infinity;
    const n = value.trim() === '' ? NaN : Number(value);
    if (!Number.isNaN(n)) return n;
  }
  return fail(path, 'a number', value);
}

/** An enum as its number or, tolerated, its name; names this version does not know read as 0. */
export function asEnum(value: unknown, names: readonly string[], path: JsonPath): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const index = names.indexOf(value);
    if (index >= 0) return index;
    if (INTEGER.test(value)) return Number(value);
    return 0;
  }
  return fail(path, 'an enum number or name', value);
}

/**
 * A fixed64 nanosecond timestamp split into [seconds, nanoseconds within the second], exact for any
 * decimal string: durations are differences of the parts, so nothing is lost to doubles (a JSON number
 * above 2^53 has already been rounded by the sender's serializer, which we cannot undo).
 */
export function asNanosParts(value: unknown, path: JsonPath): [number, number] {
  if (value === undefined || value === null) return [0, 0];
  if (typeof value === 'string' && /^\d+$/.test(value)) {
    if (value.length > 20 || (value.length === 20 && value > MAX_FIXED64)) {
      throw new MalformedPayload(`${path}: ${value} is out of range for fixed64`);
    }
    const split = value.length - 9;
    return split > 0 ? [Number(value.slice(0, split)), Number(value.slice(split))] : [0, Number(value)];
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    const seconds = Math.floor(value / 1e9);
    return [seconds, value - seconds * 1e9];
  }
  return fail(path, 'a non-negative integer of nanoseconds', value);
}

const MAX_FIXED64 = '18446744073709551615';

export function partsToMs(parts: [number, number]): number {
  return parts[0] * 1e3 + parts[1] / 1e6;
}

export function partsDurationNanos(start: [number, number], end: [number, number]): number {
  return (end[0] - start[0]) * 1e9 + (end[1] - start[1]);
}

const HEX = /^[0-9a-fA-F]*$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export function base64ToHex(value: string, path: JsonPath): string {
  if (value.length % 4 === 1 || !BASE64.test(value)) fail(path, 'base64 bytes', value);
  return Buffer.from(value, 'base64').toString('hex');
}

/**
 * A trace or span id (`byteLength` 16 or 8) as lowercase hex. Hex is the OTLP/JSON rule; base64 (24 or
 * 12 characters) came from senders that used the plain protobuf JSON mapping. Returns hex of whatever
 * length was sent, so that the caller can reject the item with its real size, or null when the value is
 * neither hex nor base64.
 */
export function asIdHex(value: unknown, byteLength: 16 | 8, path: JsonPath): string | null {
  const text = asString(value, path);
  if (text.length === 2 * byteLength && HEX.test(text)) return text.toLowerCase();
  if (text.length === (byteLength === 16 ? 24 : 12) && BASE64.test(text)) {
    return Buffer.from(text, 'base64').toString('hex');
  }
  if (text.length % 2 === 0 && HEX.test(text)) return text.toLowerCase();
  return null;
}
