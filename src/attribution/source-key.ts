// A short, stable key for the process that exported a span or point: a digest of its resource attributes,
// computed once per decoded resource (every span and point of one ResourceSpans/ResourceMetrics shares the
// ResourceInfo object). The accumulator tracks how far each source's data has arrived (its watermark).
import type { AttributeValue, ResourceInfo } from '../otlp/model.js';

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

export function sourceKeyOf(resource: ResourceInfo): string {
  let key = keys.get(resource);
  if (key === undefined) {
    key = digest(canonical(resource.attributes));
    keys.set(resource, key);
  }
  return key;
}
