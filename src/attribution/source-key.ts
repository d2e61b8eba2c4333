// A short, stable key for the process that exported a span or point: a digest of its resource attributes,
// computed once per decoded resource (every span and point of one ResourceSpans/ResourceMetrics shares the
// ResourceInfo object). The accumulator tracks how far each source's data has arrived (its watermark).
import type { AttributeValue, Attributes, ResourceInfo } from '../otlp/model.js';

const keys = new WeakMap<ResourceInfo, string>();

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

// The attributes whose key was computed last: their names and values in order, when every value is a string,
// number, boolean or null, and that key. Why: the decoders make a new ResourceInfo per export request, so the
// WeakMap above misses on every request, and the canonical text and its digest were ~1% of the one-analysis
// path's CPU (a CPU profile of bench/one-analysis.ts, docs/performance-notes.md, ingest); a process exports
// the same resource every time. The same names with the same primitive values (===) give the same canonical
// text, so the same key; any other value (an array, a kvlist, NaN) is not compared and is computed again.
let lastNames: readonly string[] = [];
let lastValues: readonly AttributeValue[] = [];
let lastKey: string | undefined;

function isPrimitive(value: AttributeValue): boolean {
  return value === null || typeof value !== 'object';
}

/** The key computed last, when `attributes` has the same names with the same primitive values, in order. */
function lastKeyFor(attributes: Attributes): string | undefined {
  if (lastKey === undefined) return undefined;
  const names = Object.keys(attributes);
  if (names.length !== lastNames.length) return undefined;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== lastNames[i] || attributes[names[i]] !== lastValues[i]) return undefined;
  }
  return lastKey;
}

function remember(attributes: Attributes, key: string): void {
  const names = Object.keys(attributes);
  const values = names.map((name) => attributes[name]);
  if (values.every(isPrimitive)) {
    lastNames = names;
    lastValues = values;
    lastKey = key;
  } else lastKey = undefined;
}

export function sourceKeyOf(resource: ResourceInfo): string {
  let key = keys.get(resource);
  if (key === undefined) {
    key = lastKeyFor(resource.attributes);
    if (key !== undefined) return key;
    key = digest(canonical(resource.attributes));
    remember(resource.attributes, key);
    keys.set(resource, key);
  }
  return key;
}
