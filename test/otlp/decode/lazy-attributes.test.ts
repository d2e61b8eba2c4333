// Lazily decoded span and event attributes (src/otlp/decode/lazy-attributes.ts) must read exactly as the
// eager decoder's, and never throw when read: every malformed payload is still refused at decode time.
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import { Writer } from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import { TRACE_REQUEST, encodeMessage, realisticTraceRequest } from '../../../bench/payloads.js';
import { OtlpDecodeError, decodeTraceRequest } from '../../../src/otlp/decode/index.js';
import {
  attributeRunFields,
  setLazyAttributes,
  setSimpleKeyValueWalk,
  validAttributeRunEnd,
  validKeyValueEnd,
} from '../../../src/otlp/decode/attribute-walk.js';
import { ProtobufSpan, plainSpan, readAttribute } from '../../../src/otlp/decode/lazy-attributes.js';
import {
  MAX_WATCHED_KEYS,
  WalkRecords,
  resetWatchedKeys,
  watchTable,
} from '../../../src/otlp/decode/watched-keys.js';
import type { Attributes, SpanBatch } from '../../../src/otlp/model.js';
import { mutate, mutation, traceCase } from './fuzz-properties.js';
import { sdkSpans } from './sdk-telemetry.js';
import { plainBatch } from './plain-batch.js';

const seed = Number(process.env.FUZZ_SEED ?? 20261125);

function eager(bytes: Uint8Array): SpanBatch {
  const previous = setLazyAttributes(false);
  try {
    return decodeTraceRequest(bytes);
  } finally {
    setLazyAttributes(previous);
  }
}

type Outcome = { batch: SpanBatch } | { error: unknown };

function attempt(decode: () => SpanBatch): Outcome {
  try {
    return { batch: decode() };
  } catch (error) {
    return { error };
  }
}

/** Lazy and eager decodes of `bytes` agree: the same error, or batches equal once every getter is read. */
function sameAsEager(bytes: Uint8Array): void {
  const reference = attempt(() => eager(bytes));
  const lazy = attempt(() => decodeTraceRequest(bytes));
  if ('error' in reference) {
    expect(reference.error).toBeInstanceOf(OtlpDecodeError);
    expect('error' in lazy && lazy.error).toEqual(reference.error);
    return;
  }
  if ('error' in lazy) throw lazy.error;
  // Serialising reads every attributes getter, so a lazy read that throws fails here; it also checks
  // that keys come in the same order.
  expect(JSON.stringify(lazy.batch)).toBe(JSON.stringify(reference.batch));
  expect(plainBatch(lazy.batch)).toEqual(plainBatch(reference.batch));
}

/** A Span with the given raw fields after valid ids (field numbers from trace.proto). */
function spanBytes(build: (w: Writer) => void): Uint8Array {
  const span = Writer.create();
  span.uint32(10).bytes(new Uint8Array(16).fill(1)).uint32(18).bytes(new Uint8Array(8).fill(2));
  build(span);
  const spanEncoded = span.finish();
  const scope = Writer.create().uint32(18).bytes(spanEncoded).finish();
  const resourceSpans = Writer.create().uint32(18).bytes(scope).finish();
  return Writer.create().uint32(10).bytes(resourceSpans).finish();
}

function keyValue(key: string, value: (w: Writer) => void): Uint8Array {
  const anyValue = Writer.create();
  value(anyValue);
  return Writer.create().uint32(10).string(key).uint32(18).bytes(anyValue.finish()).finish();
}

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

describe('the straight-line walk of simple KeyValues', () => {
  /** What validKeyValueEnd says of bytes[0..] and which watched keys it records, with or without it. */
  function walk(bytes: Uint8Array, simple: boolean): [number, number[] | undefined] {
    const previous = setSimpleKeyValueWalk(simple);
    try {
      const found = new WalkRecords();
      return [validKeyValueEnd(bytes, 0, bytes.length, found), found.take()];
    } finally {
      setSimpleKeyValueWalk(previous);
    }
  }

  it('finds a non-ASCII byte anywhere in a key or string value, at every alignment of the bytes', () => {
    for (const simple of [true, false]) {
      for (let length = 0; length <= 40; length++) {
        for (let offset = 0; offset < 4; offset++) {
          const text = 'v'.repeat(length);
          const kv = Writer.create()
            .bytes(keyValue(`key-${text}`, (v) => v.uint32(10).string(text)))
            .finish();
          const backing = new Uint8Array(kv.length + offset + 5);
          backing.set(kv, offset);
          const bytes = backing.subarray(offset, offset + kv.length);
          const check = (): number => {
            const previous = setSimpleKeyValueWalk(simple);
            try {
              return validKeyValueEnd(bytes, 0, bytes.length);
            } finally {
              setSimpleKeyValueWalk(previous);
            }
          };
          expect(check()).toBe(bytes.length);
          // Set the high bit of each string byte in turn (key, then value): the walk must refuse each.
          const keyAt = kv.indexOf(0x6b); // 'k' of "key-"
          const valueAt = kv.length - length;
          for (const at of [...Array(4 + length).keys()]
            .map((i) => keyAt + i)
            .concat([...Array(length).keys()].map((i) => valueAt + i))) {
            const saved = bytes[at];
            bytes[at] = saved | 0x80;
            expect(check()).toBe(-1);
            bytes[at] = saved;
          }
        }
      }
    }
  });

  it('refuses and accepts as the general walk with a high bit set at any byte, tags and lengths included', () => {
    resetWatchedKeys();
    const values: ((v: Writer) => void)[] = [
      (v) => v.uint32(10).string('Mozilla/5.0 (X11; Linux x86_64)'),
      (v) => v.uint32(16).bool(true),
      (v) => v.uint32(24).int64(443),
      (v) => v.uint32(33).double(0.25),
    ];
    for (const value of values) {
      for (let offset = 0; offset < 4; offset++) {
        const kv = Writer.create().bytes(keyValue('user_agent.original', value)).finish();
        const backing = new Uint8Array(kv.length + offset + 3);
        backing.set(kv, offset);
        const bytes = backing.subarray(offset, offset + kv.length);
        expect(walk(bytes, true)[0]).toBe(bytes.length);
        for (let at = 0; at < bytes.length; at++) {
          const saved = bytes[at];
          bytes[at] = saved | 0x80;
          expect(walk(bytes, true)).toEqual(walk(bytes, false));
          bytes[at] = saved;
        }
      }
    }
  });

  it('accepts, refuses and records exactly what the general walk does (damaged KeyValues, 5,000 cases)', () => {
    resetWatchedKeys();
    // Watch two keys, as judging does (single-key reads of keys not yet watched).
    const watched = spanBytes((w) => w.uint32(74).bytes(keyValue('k', (v) => v.uint32(16).bool(true))));
    readAttribute(decodeTraceRequest(watched).spans[0], 'http.response.status_code');
    readAttribute(decodeTraceRequest(watched).spans[0], 'k');
    const values: ((v: Writer) => void)[] = [
      (v) => v.uint32(10).string('GET'),
      (v) => v.uint32(10).string('x'.repeat(100)),
      (v) => v.uint32(10).string(''),
      (v) => v.uint32(16).bool(true),
      (v) => v.uint32(24).int64(503),
      (v) => v.uint32(24).int64(-1),
      (v) => v.uint32(33).double(0.25),
      (v) => v.uint32(58).bytes(new Uint8Array([1, 2])),
      () => undefined,
    ];
    const keys = ['k', 'http.response.status_code', '', 'a.b', 'x'.repeat(130)];
    let simpleShapes = 0;
    fc.assert(
      fc.property(
        fc.nat(keys.length - 1),
        fc.nat(values.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }),
        fc.nat(3),
        (key, value, edits, cut) => {
          const kv = keyValue(keys[key], values[value]);
          const bytes = Writer.create().bytes(kv).finish(); // with its length prefix, as in a span
          for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
          const damaged = cut === 0 ? bytes.subarray(0, Math.max(0, bytes.length - 1)) : bytes;
          const simple = walk(damaged, true);
          expect(simple).toEqual(walk(damaged, false));
          if (simple[0] >= 0 && edits.length === 0) simpleShapes += 1;
        },
      ),
      { seed, numRuns: 5_000 },
    );
    expect(simpleShapes).toBeGreaterThan(500);
    resetWatchedKeys();
  });
});

describe('the walk of a run of attribute fields', () => {
  const SPAN_ATTRIBUTES = 74;

  /** validAttributeRunEnd over bytes[1..] (bytes[0] is the first field's tag): its end, fields and records. */
  function runWalk(
    bytes: Uint8Array,
    simple: boolean,
    maxFields = 4096,
  ): [number, number, number[] | undefined] {
    const previous = setSimpleKeyValueWalk(simple);
    try {
      const found = new WalkRecords();
      const end = validAttributeRunEnd(bytes, 1, bytes.length, SPAN_ATTRIBUTES, maxFields, found);
      return [end, attributeRunFields(), found.take()];
    } finally {
      setSimpleKeyValueWalk(previous);
    }
  }

  /** Attribute fields (tag 74 and a length-delimited KeyValue each), one after the other. */
  function run(keyValues: readonly Uint8Array[]): Uint8Array {
    const w = Writer.create();
    for (const kv of keyValues) w.uint32(SPAN_ATTRIBUTES).bytes(kv);
    return w.finish();
  }

  // Every shape the run treats apart: strings (one range with their neighbours), a bool and a one-byte int
  // (wholly ASCII), a longer int and a double (their value bytes skipped), and KeyValues of other shapes (the
  // general walk: a bytes value, a long string, a missing value).
  const shapes: Uint8Array[] = [
    keyValue('http.request.method', (v) => v.uint32(10).string('GET')),
    keyValue('http.route', (v) => v.uint32(10).string('/api/cart/{id}')),
    keyValue('http.response.status_code', (v) => v.uint32(24).int64(200)),
    keyValue('server.port', (v) => v.uint32(24).int64(7)),
    keyValue('ok', (v) => v.uint32(16).bool(true)),
    keyValue('user_agent.original', (v) => v.uint32(10).string('Mozilla/5.0 (X11; Linux x86_64)')),
    keyValue('http.server.request.body.size', (v) => v.uint32(33).double(1234)),
    keyValue('b', (v) => v.uint32(58).bytes(new Uint8Array([0x80, 0xff]))),
    keyValue('long', (v) => v.uint32(10).string('x'.repeat(200))),
    Writer.create().uint32(10).string('no.value').finish(),
    keyValue('client.address', (v) => v.uint32(10).string('10.0.1.2')),
  ];

  function watchSome(): void {
    resetWatchedKeys();
    const span = decodeTraceRequest(
      spanBytes((w) => w.uint32(74).bytes(keyValue('k', (v) => v.uint32(16).bool(true)))),
    ).spans[0];
    for (const key of ['http.route', 'http.response.status_code', 'client.address', 'long'])
      readAttribute(span, key);
  }

  it('ends, counts and records as the walk of one KeyValue at a time, with a high bit set at every byte and alignment', () => {
    watchSome();
    const whole = run(shapes);
    expect(runWalk(whole, true)[0]).toBe(whole.length);
    expect(runWalk(whole, true)[1]).toBe(shapes.length);
    expect(runWalk(whole, true)).toEqual(runWalk(whole, false));
    let shorter = 0;
    for (let offset = 0; offset < 4; offset++) {
      const backing = new Uint8Array(whole.length + offset + 3);
      backing.set(whole, offset);
      const bytes = backing.subarray(offset, offset + whole.length);
      // Each byte in turn (tags, lengths, keys, values), so every class of position holds a non-ASCII byte.
      for (let at = 1; at < bytes.length; at++) {
        const saved = bytes[at];
        bytes[at] = saved | 0x80;
        const walked = runWalk(bytes, true);
        expect(walked).toEqual(runWalk(bytes, false));
        if (walked[0] < bytes.length) shorter += 1;
        bytes[at] = saved;
      }
    }
    // Most such bytes end the run early (the rest are in int, double and bytes values, or a high bit already set).
    expect(shorter).toBeGreaterThan(whole.length * 2);
    resetWatchedKeys();
  });

  it('stops after maxFields KeyValues, and before a field that is not an attribute', () => {
    const three = run(shapes.slice(0, 3));
    expect(runWalk(three, true, 2)).toEqual(runWalk(three, false, 2));
    expect(runWalk(three, true, 2)[1]).toBe(2);
    expect(runWalk(three, true, 2)[0]).toBe(run(shapes.slice(0, 2)).length);
    const then = new Uint8Array([...three, 42, 1, 0x41]); // a span name after the run
    expect(runWalk(then, true)).toEqual([three.length, 3, undefined]);
  });

  it('count toward the per-list limit: 4,096 attributes of a span or an event decode, 4,097 are refused as before', () => {
    for (const count of [4096, 4097]) {
      const kvs = Array.from({ length: count }, (_, i) => keyValue(`k${i}`, (v) => v.uint32(10).string('v')));
      const span = spanBytes((w) => {
        for (const kv of kvs) w.uint32(74).bytes(kv);
      });
      const event = Writer.create();
      for (const kv of kvs) event.uint32(26).bytes(kv);
      const withEvent = spanBytes((w) => w.uint32(90).bytes(event.finish()));
      for (const bytes of [span, withEvent]) {
        sameAsEager(bytes);
        if (count === 4097) expect(() => decodeTraceRequest(bytes)).toThrow(/more than 4096 attributes/);
        else expect(decodeTraceRequest(bytes).spans).toHaveLength(1);
      }
    }
  });

  it('accepts, counts and records what the walk of one KeyValue at a time does (damaged runs, 3,000 cases)', () => {
    watchSome();
    fc.assert(
      fc.property(
        fc.array(fc.nat(shapes.length - 1), { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 3 }),
        fc.nat(3),
        fc.integer({ min: 1, max: 9 }),
        (picked, edits, cut, maxFields) => {
          const bytes = run(picked.map((i) => shapes[i]));
          for (const [at, byte] of edits) bytes[1 + (at % (bytes.length - 1))] = byte;
          const damaged = cut === 0 ? bytes.subarray(0, Math.max(1, bytes.length - 1)) : bytes;
          expect(runWalk(damaged, true, maxFields)).toEqual(runWalk(damaged, false, maxFields));
        },
      ),
      { seed, numRuns: 3_000 },
    );
    resetWatchedKeys();
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
