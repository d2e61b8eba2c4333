// A short, stable key for the process that exported a span or point: a digest of its resource attributes,
// computed once per decoded resource (every span and point of one ResourceSpans/ResourceMetrics shares the
// ResourceInfo object). The accumulator tracks how far each source's data has arrived (its watermark).
//
// An exporter sends the same resource with every export, decoded into a new object each time, so the key of
// the last resource is kept with its attributes: a resource whose attributes are the same primitive values
// under the same keys in the same order has the same canonical text, and comparing them value by value costs
// a fraction of building that text and digesting it (which was ~1.3% of the sidecar's CPU at 5k spans/s,
// once per export request: README, footprint). Anything else (other keys or order, a structured value, NaN)
// is keyed from its canonical text as before.
import type { AttributeValue, Attributes, ResourceInfo } from '../otlp/model.js';

const keys = new WeakMap<ResourceInfo, string>();
/** The names and primitive values of the attributes whose key was computed last (copied), and that key. */
let lastNames: string[] = [];
let lastValues: AttributeValue[] = [];
let lastKey: string | undefined;

/** FNV-1a over the canonical text, two 32-bit lanes (collisions only merge two sources' watermarks). */
function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0).toString(36) + (b >>> 0).toString(36);
}

function canonical(value: AttributeValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
    .join(',')}}`;
}

/**
 * Whether `attributes` are the last keyed ones: the same names in the same order with the same primitive
 * values (===), and so the same canonical text. Structured values are never kept as the last ones.
 */
function isLast(attributes: Attributes, names: string[]): boolean {
  if (lastKey === undefined || names.length !== lastNames.length) return false;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== lastNames[i] || attributes[names[i]] !== lastValues[i]) return false;
  }
  return true;
}

/** Keeps `attributes` and their key as the last ones, when every value is primitive. */
function keepAsLast(attributes: Attributes, names: string[], key: string): void {
  const values = names.map((name) => attributes[name]);
  if (values.some((value) => value !== null && typeof value === 'object')) return;
  lastNames = names;
  lastValues = values;
  lastKey = key;
}

export function sourceKeyOf(resource: ResourceInfo): string {
  let key = keys.get(resource);
  if (key === undefined) {
    const { attributes } = resource;
    const names = Object.keys(attributes);
    if (isLast(attributes, names)) key = lastKey!;
    else {
      key = digest(canonical(attributes));
      keepAsLast(attributes, names, key);
    }
    keys.set(resource, key);
  }
  return key;
}
