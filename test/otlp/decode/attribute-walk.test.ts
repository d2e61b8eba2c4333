// The decode walk's validation of attribute fields (src/otlp/decode/attribute-walk.ts): the straight-line walk
// of simple KeyValues and the walk of a run of them accept, refuse and record exactly what the general walk of
// one KeyValue at a time does.
import fc from 'fast-check';
import { Writer } from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  attributeRunFields,
  setSimpleKeyValueWalk,
  validAttributeRunEnd,
  validKeyValueEnd,
} from '../../../src/otlp/decode/attribute-walk.js';
import { decodeTraceRequest } from '../../../src/otlp/decode/index.js';
import { readAttribute } from '../../../src/otlp/decode/lazy-attributes.js';
import { WalkRecords, resetWatchedKeys } from '../../../src/otlp/decode/watched-keys.js';
import { keyValue, sameAsEager, seed, spanBytes } from './eager-reference.js';

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

describe('the general walk of one KeyValue', () => {
  /** An AnyValue holding a bool, wrapped `levels` times in an array_value or a kvlist_value (key "k"). */
  function nestedValue(levels: number, kvlist: boolean): Uint8Array {
    let value = Writer.create().uint32(16).bool(true).finish();
    for (let i = 0; i < levels; i++) {
      const list = kvlist
        ? Writer.create()
            .uint32(10)
            .bytes(Writer.create().uint32(10).string('k').uint32(18).bytes(value).finish())
            .finish()
        : Writer.create().uint32(10).bytes(value).finish();
      value = Writer.create()
        .uint32(kvlist ? 50 : 42)
        .bytes(list)
        .finish();
    }
    return value;
  }

  it("accepts values nested through arrays and kvlists up to the decoder's depth limit and refuses one deeper", () => {
    for (const kvlist of [false, true]) {
      for (const levels of [30, 31, 32, 33]) {
        const kv = Writer.create()
          .uint32(10)
          .string('deep')
          .uint32(18)
          .bytes(nestedValue(levels, kvlist))
          .finish();
        const field = Writer.create().bytes(kv).finish(); // with its length prefix, as in a span
        // The innermost value is `levels` deep; decodeAnyValue refuses depth 32 (MAX_ANY_VALUE_DEPTH).
        expect(validKeyValueEnd(field, 0, field.length) >= 0).toBe(levels <= 31);
        const span = spanBytes((w) => w.uint32(74).bytes(kv));
        if (levels > 31) expect(() => decodeTraceRequest(span)).toThrow(/nested deeper than 32/);
        sameAsEager(span);
      }
    }
  });

  it("refuses a kvlist_value past the decoder's per-list limit, which the decoder refuses at decode time", () => {
    // 4,097 KeyValues in one kvlist: decodeKeyValueList throws, so a span that left it for a lazy read threw
    // from inside attribution (a read of span.attributes or of the key) instead of refusing the request (400).
    for (const count of [4096, 4097]) {
      const list = Writer.create();
      for (let i = 0; i < count; i++)
        list.uint32(10).bytes(keyValue(`k${i}`, (v) => v.uint32(16).bool(true)));
      const listBytes = list.finish();
      const kv = keyValue('http.response.status_code', (v) => v.uint32(50).bytes(listBytes));
      const field = Writer.create().bytes(kv).finish();
      expect(validKeyValueEnd(field, 0, field.length) >= 0).toBe(count === 4096);
      const span = spanBytes((w) => w.uint32(74).bytes(kv));
      if (count === 4097) expect(() => decodeTraceRequest(span)).toThrow(/more than 4096 attributes/);
      else
        expect(
          Object.keys(readAttribute(decodeTraceRequest(span).spans[0], 'http.response.status_code')!),
        ).toHaveLength(4096);
      sameAsEager(span);
    }
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
