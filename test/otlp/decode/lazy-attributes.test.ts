// Lazily decoded span and event attributes (src/otlp/decode/lazy-attributes.ts) must read exactly as the
// eager decoder's, and never throw when read: every malformed payload is still refused at decode time.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import { Writer } from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import { TRACE_REQUEST, encodeMessage, realisticTraceRequest } from '../../../bench/payloads.js';
import { OtlpDecodeError, decodeTraceRequest } from '../../../src/otlp/decode/index.js';
import { setLazyAttributes } from '../../../src/otlp/decode/attribute-walk.js';
import { ProtobufSpan, plainSpan, readAttribute } from '../../../src/otlp/decode/lazy-attributes.js';
import { MAX_WATCHED_KEYS, resetWatchedKeys, watchTable } from '../../../src/otlp/decode/watched-keys.js';
import type { Attributes, SpanBatch } from '../../../src/otlp/model.js';
import { attempt, eager, keyValue, sameAsEager, seed, spanBytes } from './eager-reference.js';
import { mutate, mutation, traceCase } from './fuzz-properties.js';
import { sdkSpans } from './sdk-telemetry.js';

afterEach(() => {
  setLazyAttributes(true);
});

describe('lazy span attributes', () => {
  it('are decoded on first read and cached, can be replaced, and are plain data in JSON and plainSpan', () => {
    const batch = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(sdkSpans())!);
    const span = batch.spans.find((s) => s.name === 'SELECT cart')!;
    expect(span).toBeInstanceOf(ProtobufSpan);
    expect(span.attributes).toBe(span.attributes); // decoded once, then cached
    const plain = plainSpan(span);
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(plain.attributes).toBe(span.attributes);
    expect(plain.events[0].attributes).toBe(span.events[0].attributes);
    expect(JSON.parse(JSON.stringify(span))).toEqual(JSON.parse(JSON.stringify(plain)));
    expect(JSON.parse(JSON.stringify(span)).events[0].attributes).toEqual({
      'feature_flag.key': 'new-cart',
      'feature_flag.result.variant': 'on',
    });
    span.attributes = { replaced: true };
    expect(span.attributes).toEqual({ replaced: true });
  });

  it('equal the eager decode on the OpenTelemetry JS serializer payloads', () => {
    sameAsEager(ProtobufTraceSerializer.serializeRequest(sdkSpans())!);
  });

  it('equal the eager decode on the benchmark payload (512 spans, events with attributes)', () => {
    sameAsEager(encodeMessage(TRACE_REQUEST, realisticTraceRequest({ spans: 512 })));
  });

  it('equal the eager decode on random valid requests (500 cases)', () => {
    fc.assert(
      fc.property(traceCase, ({ bytes }) => {
        sameAsEager(bytes);
      }),
      { numRuns: 500, seed },
    );
  });

  it('equal the eager decode, or fail the same way at decode time, on damaged requests (2,000 cases)', () => {
    fc.assert(
      fc.property(traceCase, fc.array(mutation, { minLength: 1, maxLength: 4 }), ({ bytes }, mutations) => {
        sameAsEager(mutate(bytes, mutations));
      }),
      { numRuns: 2000, seed },
    );
  });

  it('keep wire order when attribute fields are split by other fields, and last duplicate wins', () => {
    const bytes = spanBytes((w) => {
      w.uint32(74).bytes(keyValue('a', (v) => v.uint32(10).string('first')));
      w.uint32(42).string('split');
      w.uint32(74).bytes(keyValue('b', (v) => v.uint32(24).int64(-7)));
      w.uint32(74).bytes(keyValue('a', (v) => v.uint32(10).string('second')));
    });
    sameAsEager(bytes);
    expect(decodeTraceRequest(bytes).spans[0].attributes).toEqual({ a: 'second', b: -7 });
    expect(Object.keys(decodeTraceRequest(bytes).spans[0].attributes)).toEqual(['a', 'b']);
  });

  it('decode what the validation walk does not check itself (non-ASCII, nesting, bytes) as before', () => {
    const nested = Writer.create()
      .uint32(10)
      .bytes(Writer.create().uint32(10).string('x').finish())
      .uint32(10)
      .bytes(Writer.create().uint32(33).double(1.5).finish())
      .finish();
    const bytes = spanBytes((w) => {
      w.uint32(74).bytes(keyValue('ascii', (v) => v.uint32(10).string('plain')));
      w.uint32(74).bytes(keyValue('naïve', (v) => v.uint32(10).string('café ☕')));
      w.uint32(74).bytes(keyValue('list', (v) => v.uint32(42).bytes(nested)));
      w.uint32(74).bytes(keyValue('raw', (v) => v.uint32(58).bytes(new Uint8Array([0, 255]))));
    });
    sameAsEager(bytes);
    expect(decodeTraceRequest(bytes).spans[0].attributes).toEqual({
      ascii: 'plain',
      naïve: 'café ☕',
      list: ['x', 1.5],
      raw: '00ff',
    });
  });

  it('refuse malformed attribute bytes at decode time, with the eager message', () => {
    const badUtf8 = spanBytes((w) => {
      w.uint32(74).bytes(keyValue('ok', (v) => v.uint32(10).string('fine')));
      w.uint32(74).bytes(keyValue('bad', (v) => v.uint32(10).bytes(new Uint8Array([0xc3, 0x28]))));
    });
    const truncated = spanBytes((w) => {
      w.uint32(74).bytes(new Uint8Array([10, 5, 0x61])); // key says 5 bytes, 1 follows
    });
    const deep = spanBytes((w) => {
      let value = Writer.create().uint32(10).string('leaf').finish();
      for (let i = 0; i < 40; i++)
        value = Writer.create().uint32(42).bytes(Writer.create().uint32(10).bytes(value).finish()).finish();
      w.uint32(74).bytes(Writer.create().uint32(10).string('deep').uint32(18).bytes(value).finish());
    });
    for (const bytes of [badUtf8, truncated, deep]) {
      expect(() => decodeTraceRequest(bytes)).toThrow(OtlpDecodeError);
      sameAsEager(bytes);
    }
  });
});

describe('lazy event attributes', () => {
  it('equal the eager decode and are refused at decode time when malformed', () => {
    const event = (attributes: Uint8Array[]) => {
      const w = Writer.create().uint32(9).fixed64(1).uint32(18).string('feature_flag.evaluation');
      for (const kv of attributes) w.uint32(26).bytes(kv);
      return w.finish();
    };
    const good = spanBytes((w) => {
      w.uint32(90).bytes(
        event([
          keyValue('feature_flag.key', (v) => v.uint32(10).string('new-checkout')),
          keyValue('feature_flag.result.variant', (v) => v.uint32(10).string('on')),
        ]),
      );
    });
    sameAsEager(good);
    expect(decodeTraceRequest(good).spans[0].events[0].attributes).toEqual({
      'feature_flag.key': 'new-checkout',
      'feature_flag.result.variant': 'on',
    });
    const bad = spanBytes((w) => {
      w.uint32(90).bytes(event([keyValue('k', (v) => v.uint32(10).bytes(new Uint8Array([0xff])))]));
    });
    expect(() => decodeTraceRequest(bad)).toThrow(OtlpDecodeError);
    sameAsEager(bad);
  });
});

/**
 * Single-key reads on a fresh lazy decode of `bytes` equal the eager decode's attributes, key by key, for
 * every key present and a few absent or awkward ones, on spans and events, before any object is built.
 */
function singleKeyReadsAsEager(bytes: Uint8Array): void {
  const reference = attempt(() => eager(bytes));
  if ('error' in reference) return; // refused at decode time either way (sameAsEager checks that)
  // Three ways to the same answers: decoded with no key watched (every read walks the bytes, and watches
  // its key), decoded again once the keys are watched (reads come from the walk's records), and the first
  // decode read again, its keys watched only after it was decoded (walks again, or the built object).
  resetWatchedKeys();
  const unwatched = decodeTraceRequest(bytes);
  readsAsEager(reference.batch, unwatched);
  readsAsEager(reference.batch, decodeTraceRequest(bytes));
  readsAsEager(reference.batch, unwatched);
}

function readsAsEager(reference: SpanBatch, lazy: SpanBatch): void {
  const expected = (attributes: Attributes, key: string) =>
    Object.hasOwn(attributes, key) ? attributes[key] : undefined;
  const awkward = ['', 'absent', '__proto__', 'constructor', 'toString', 'naïve'];
  reference.spans.forEach((eagerSpan, i) => {
    const span = lazy.spans[i];
    for (const key of [...Object.keys(eagerSpan.attributes), ...awkward])
      expect(readAttribute(span, key)).toEqual(expected(eagerSpan.attributes, key));
    eagerSpan.events.forEach((eagerEvent, e) => {
      for (const key of [...Object.keys(eagerEvent.attributes), ...awkward])
        expect(readAttribute(span.events[e], key)).toEqual(expected(eagerEvent.attributes, key));
    });
  });
}

describe('single-key attribute reads (readAttribute)', () => {
  it('equal the eager decode on the SDK and benchmark payloads', () => {
    singleKeyReadsAsEager(ProtobufTraceSerializer.serializeRequest(sdkSpans())!);
    singleKeyReadsAsEager(encodeMessage(TRACE_REQUEST, realisticTraceRequest({ spans: 512 })));
  });

  it('equal the eager decode on random valid and damaged requests (300 cases)', () => {
    fc.assert(
      fc.property(traceCase, fc.array(mutation, { maxLength: 3 }), ({ bytes }, mutations) => {
        singleKeyReadsAsEager(mutate(bytes, mutations));
      }),
      { numRuns: 300, seed },
    );
  });

  it('take the last duplicate, read a KeyValue without a value as null and one without a key as ""', () => {
    const bytes = spanBytes((w) => {
      w.uint32(74).bytes(keyValue('a', (v) => v.uint32(10).string('first')));
      w.uint32(74).bytes(keyValue('__proto__', (v) => v.uint32(24).int64(3)));
      w.uint32(74).bytes(Writer.create().uint32(10).string('no-value').finish());
      w.uint32(74).bytes(
        Writer.create().uint32(18).bytes(Writer.create().uint32(16).bool(true).finish()).finish(),
      );
      w.uint32(74).bytes(keyValue('a', (v) => v.uint32(10).string('second')));
      w.uint32(74).bytes(keyValue('naïve', (v) => v.uint32(10).string('eager now')));
    });
    singleKeyReadsAsEager(bytes);
    const span = decodeTraceRequest(bytes).spans[0];
    expect(readAttribute(span, 'a')).toBe('second');
    expect(readAttribute(span, '__proto__')).toBe(3);
    expect(readAttribute(span, 'no-value')).toBeNull();
    expect(readAttribute(span, '')).toBe(true);
    expect(readAttribute(span, 'naïve')).toBe('eager now');
    expect(readAttribute(span, 'missing')).toBeUndefined();
  });

  it('read watched keys from the records of the decode walk, not by walking the bytes again', () => {
    resetWatchedKeys();
    const bytes = spanBytes((w) => {
      w.uint32(74).bytes(keyValue('http.response.status_code', (v) => v.uint32(24).int64(503)));
      w.uint32(74).bytes(keyValue('feature_flag.key', (v) => v.uint32(10).string('new-checkout')));
      w.uint32(74).bytes(Writer.create().uint32(10).string('no-value').finish());
    });
    const first = decodeTraceRequest(bytes).spans[0];
    for (const key of ['http.response.status_code', 'no-value', 'absent'])
      expect(readAttribute(first, key)).toEqual(
        key === 'absent' ? undefined : key === 'no-value' ? null : 503,
      );
    expect([...watchTable().index.keys()]).toEqual(['http.response.status_code', 'no-value', 'absent']);
    // Decoded now, with those keys watched: spoil the watched key's name in the buffer after decoding. A walk
    // would no longer find it; the walk's record of where its value lies still does.
    const copy = bytes.slice();
    const second = decodeTraceRequest(copy).spans[0];
    const name = new TextEncoder().encode('http.response.status_code');
    const at = Buffer.from(copy).indexOf(Buffer.from(name));
    copy[at] = 'H'.charCodeAt(0);
    expect(readAttribute(second, 'http.response.status_code')).toBe(503);
    expect(readAttribute(second, 'no-value')).toBeNull();
    expect(readAttribute(second, 'absent')).toBeUndefined();
    // Not watched when this span was decoded: walked (and watched from now on).
    expect(readAttribute(second, 'feature_flag.key')).toBe('new-checkout');
    expect(watchTable().index.has('feature_flag.key')).toBe(true);
  });

  it('watch at most MAX_WATCHED_KEYS keys, and read the others by walking the bytes', () => {
    resetWatchedKeys();
    const keys = Array.from({ length: MAX_WATCHED_KEYS + 3 }, (_, i) => `key-${i}`);
    const bytes = spanBytes((w) => {
      for (const key of keys)
        w.uint32(74).bytes(keyValue(key, (v) => v.uint32(10).string(key.toUpperCase())));
    });
    // A span reads at most 8 keys from its bytes before its object is built (and answers the rest), so one
    // fresh span per key.
    for (const key of keys) readAttribute(decodeTraceRequest(bytes).spans[0], key);
    expect(watchTable().index.size).toBe(MAX_WATCHED_KEYS);
    const second = decodeTraceRequest(bytes).spans[0];
    for (const key of keys) expect(readAttribute(second, key)).toBe(key.toUpperCase());
    resetWatchedKeys();
  });

  it('read plain attribute objects (JSON-decoded items, points) by own keys only', () => {
    const item = { attributes: { 'http.response.status_code': 503 } as Attributes };
    expect(readAttribute(item, 'http.response.status_code')).toBe(503);
    expect(readAttribute(item, 'constructor')).toBeUndefined();
  });
});
