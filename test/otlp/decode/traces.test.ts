import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Writer } from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { TRACE_REQUEST, encodeMessage } from '../../../bench/payloads.js';
import { decodeTraceRequest, decodeTraceRequestJson } from '../../../src/otlp/decode/index.js';
import { RESOURCE_ATTRIBUTES, START, sdkSpans } from './sdk-telemetry.js';
import { plainSpan } from '../../../src/otlp/decode/lazy-attributes.js';
import { plainBatch } from './plain-batch.js';

function byName(spans: ReadableSpan[], name: string): ReadableSpan {
  return spans.find((s) => s.name === name)!;
}

const START_MS = START[0] * 1e3 + START[1] / 1e6;

describe('decodeTraceRequest on payloads from the OpenTelemetry JS protobuf serializer', () => {
  const spans = sdkSpans();
  const batch = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(spans)!);
  const decoded = (name: string) => batch.spans.find((s) => s.name === name)!;

  it('keeps every span and rejects none', () => {
    expect(batch.spans).toHaveLength(3);
    expect(batch.rejected).toBe(0);
    expect(batch.rejectMessage).toBe('');
  });

  it('decodes trace, span and parent ids as lowercase hex', () => {
    for (const name of ['GET /cart', 'SELECT cart', 'charge']) {
      const sdk = byName(spans, name);
      expect(decoded(name).traceId).toBe(sdk.spanContext().traceId);
      expect(decoded(name).spanId).toBe(sdk.spanContext().spanId);
      expect(decoded(name).parentSpanId).toBe(sdk.parentSpanContext?.spanId ?? '');
    }
    expect(decoded('GET /cart').parentSpanId).toBe('');
  });

  it('computes exact nanosecond durations from the 64-bit timestamps, across second boundaries', () => {
    expect(decoded('SELECT cart').durationNanos).toBe(3000);
    expect(decoded('charge').durationNanos).toBe(3);
    expect(decoded('GET /cart').durationNanos).toBe(2_000_000_000);
    expect(decoded('GET /cart').startTimeUnixMs).toBeCloseTo(START_MS, 3);
  });

  it('decodes kind, status and attributes of every AnyValue type the SDK emits', () => {
    const root = decoded('GET /cart');
    expect(root.kind).toBe(2);
    expect(decoded('SELECT cart').kind).toBe(3);
    expect(decoded('charge').statusCode).toBe(2);
    expect(decoded('charge').statusMessage).toBe('card declined');
    expect(root.attributes).toEqual({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'server.duration_ratio': 0.25,
      'user.beta': true,
      'http.request.header.accept': ['application/json', 'text/html'],
      'retry.counts': [1, 2, 3],
    });
  });

  it('decodes span events with name, time and attributes', () => {
    expect(plainSpan(decoded('SELECT cart')).events).toEqual([
      {
        name: 'feature_flag.evaluation',
        timeUnixMs: expect.closeTo(START_MS + 0.002, 6),
        attributes: { 'feature_flag.key': 'new-cart', 'feature_flag.result.variant': 'on' },
      },
    ]);
  });

  it('shares one resource object between the spans of a ResourceSpans, with service name and scope', () => {
    expect(batch.spans[0].resource).toEqual({ serviceName: 'checkout', attributes: RESOURCE_ATTRIBUTES });
    expect(batch.spans[1].resource).toBe(batch.spans[0].resource);
    expect(batch.spans.every((s) => s.scopeName === 'checkout-http')).toBe(true);
  });

  it('decodes the JSON serializer output of the same spans to the same batch', () => {
    const fromJson = decodeTraceRequestJson(JsonTraceSerializer.serializeRequest(spans)!);
    expect(fromJson).toEqual(plainBatch(batch));
  });
});

describe('decodeTraceRequest item checks (partial success)', () => {
  const good = { traceId: new Uint8Array(16).fill(1), spanId: new Uint8Array(8).fill(2), name: 'ok' };
  const payload = encodeMessage(TRACE_REQUEST, {
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              good,
              { ...good, name: 'short', traceId: new Uint8Array(15).fill(1) },
              { ...good, name: 'zero', spanId: new Uint8Array(8) },
              { ...good, name: 'parent', parentSpanId: new Uint8Array(3).fill(1) },
              { ...good, name: 'zero-parent', parentSpanId: new Uint8Array(8) },
            ],
          },
        ],
      },
    ],
  });

  it('rejects spans with unusable ids, counts them and says why, and keeps the rest', () => {
    const batch = decodeTraceRequest(payload);
    expect(batch.spans.map((s) => s.name)).toEqual(['ok', 'zero-parent']);
    expect(batch.rejected).toBe(3);
    expect(batch.rejectMessage).toBe(
      '3 spans rejected; first: span "short": trace_id must be 16 bytes, got 15',
    );
  });

  it('reads an all-zero parent span id as a root span', () => {
    expect(decodeTraceRequest(payload).spans[1].parentSpanId).toBe('');
  });

  it('makes 8-byte span and parent ids hex when read (kept as halves), and takes assigned ids', () => {
    const spanId = Uint8Array.from([0x00, 0x01, 0x7f, 0x80, 0xa5, 0xfe, 0xff, 0x10]);
    const parentSpanId = Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0x01]);
    const [span, root] = decodeTraceRequest(
      encodeMessage(TRACE_REQUEST, {
        resourceSpans: [{ scopeSpans: [{ spans: [{ ...good, spanId, parentSpanId }, { ...good }] }] }],
      }),
    ).spans;
    expect([span.spanId, span.parentSpanId]).toEqual(['00017f80a5feff10', 'ff00000000000001']);
    expect([root.spanId, root.parentSpanId]).toEqual(['0202020202020202', '']);
    expect(JSON.parse(JSON.stringify(span))).toMatchObject({ spanId: '00017f80a5feff10' });
    span.spanId = 'replaced';
    root.parentSpanId = 'assigned';
    expect([span.spanId, span.parentSpanId, root.parentSpanId]).toEqual([
      'replaced',
      'ff00000000000001',
      'assigned',
    ]);
  });

  it('reads every trace id right through the memo of repeated ids, colliding slots included', () => {
    // Ids that share their last two bytes (the memo's slot), repeated and interleaved.
    const ids = Array.from({ length: 6 }, (_, n) => {
      const id = new Uint8Array(16).fill(n + 1);
      id[14] = 0xab;
      id[15] = 0xcd;
      return id;
    });
    const order = [0, 1, 0, 2, 2, 3, 1, 4, 5, 0, 5];
    const spans = order.map((n) => ({ ...good, traceId: ids[n] }));
    const decoded = decodeTraceRequest(
      encodeMessage(TRACE_REQUEST, { resourceSpans: [{ scopeSpans: [{ spans }] }] }),
    ).spans;
    expect(decoded.map((span) => span.traceId)).toEqual(
      order.map((n) => Buffer.from(ids[n]).toString('hex')),
    );
  });

  it('reports span ids of another length with their length, as before', () => {
    const batch = decodeTraceRequest(
      encodeMessage(TRACE_REQUEST, {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  { ...good, name: 'long', spanId: new Uint8Array(9).fill(3) },
                  { ...good, name: 'none', spanId: new Uint8Array(0) },
                  { ...good, name: 'long-parent', parentSpanId: new Uint8Array(16).fill(1) },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(batch.spans).toEqual([]);
    expect(batch.rejectMessage).toBe('3 spans rejected; first: span "long": span_id must be 8 bytes, got 9');
    expect(
      decodeTraceRequest(
        encodeMessage(TRACE_REQUEST, {
          resourceSpans: [
            { scopeSpans: [{ spans: [{ ...good, name: 'none', spanId: new Uint8Array(0) }] }] },
          ],
        }),
      ).rejectMessage,
    ).toBe('1 span rejected: span "none": span_id must be 8 bytes, got 0');
  });

  it('treats an empty request as a success with nothing in it', () => {
    expect(decodeTraceRequest(new Uint8Array(0))).toEqual({ spans: [], rejected: 0, rejectMessage: '' });
    expect(decodeTraceRequestJson('{}')).toEqual({ spans: [], rejected: 0, rejectMessage: '' });
    expect(decodeTraceRequestJson('')).toEqual({ spans: [], rejected: 0, rejectMessage: '' });
  });

  it('decodes AnyValue kvlists, bytes (as hex), large int64, empty values and a __proto__ key', () => {
    const batch = decodeTraceRequest(
      encodeMessage(TRACE_REQUEST, {
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    ...good,
                    attributes: [
                      {
                        key: 'kv',
                        value: { kvlistValue: { values: [{ key: 'a', value: { intValue: '-7' } }] } },
                      },
                      { key: 'bytes', value: { bytesValue: new Uint8Array([0, 255, 16]) } },
                      { key: 'big', value: { intValue: '9007199254740993' } },
                      { key: 'empty', value: {} },
                      {
                        key: 'nested',
                        value: {
                          arrayValue: { values: [{ arrayValue: { values: [{ boolValue: false }] } }] },
                        },
                      },
                      { key: '__proto__', value: { stringValue: 'not a prototype' } },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const attributes = batch.spans[0].attributes;
    expect(attributes.kv).toEqual({ a: -7 });
    expect(attributes.bytes).toBe('00ff10');
    expect(attributes.big).toBe(9007199254740992); // nearest double: int64 -> number is exact below 2^53
    expect(attributes.empty).toBeNull();
    expect(attributes.nested).toEqual([[false]]);
    expect(Object.getOwnPropertyDescriptor(attributes, '__proto__')?.value).toBe('not a prototype');
    expect(Object.getPrototypeOf(attributes)).toBe(Object.prototype);
  });
});

describe('decodeTraceRequestJson tolerance (OTLP/JSON rules)', () => {
  const hexTrace = '5b8efff798038103d269b633813fc60c';
  const hexSpan = 'eee19b7ec3c1b174';
  const document = {
    resource_spans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { string_value: 'cart' } }] },
        scope_spans: [
          {
            scope: { name: 'lib' },
            spans: [
              {
                trace_id: Buffer.from(hexTrace, 'hex').toString('base64'),
                span_id: Buffer.from(hexSpan, 'hex').toString('base64'),
                name: 'legacy',
                kind: 'SPAN_KIND_CLIENT',
                start_time_unix_nano: 1_700_000_000_000_000_000,
                end_time_unix_nano: '1700000000000001500',
                status: { code: 'STATUS_CODE_ERROR' },
                attributes: [{ key: 'n', value: { int_value: 3 } }],
                somethingNew: { ignored: true },
              },
              { traceId: hexTrace.toUpperCase(), spanId: hexSpan, name: 'modern', kind: 2 },
            ],
          },
        ],
      },
    ],
  };

  it('accepts snake_case keys, base64 ids, enum names, int64 as numbers or strings, and ignores unknown fields', () => {
    const batch = decodeTraceRequestJson(JSON.stringify(document));
    expect(batch.rejected).toBe(0);
    const [legacy, modern] = batch.spans;
    expect(legacy).toMatchObject({
      traceId: hexTrace,
      spanId: hexSpan,
      kind: 3,
      statusCode: 2,
      durationNanos: 1500,
      attributes: { n: 3 },
      scopeName: 'lib',
      resource: { serviceName: 'cart' },
    });
    expect(modern).toMatchObject({ traceId: hexTrace, spanId: hexSpan, kind: 2 });
  });

  it('accepts UTF-8 bytes as well as text', () => {
    const bytes = new TextEncoder().encode(JSON.stringify(document));
    expect(decodeTraceRequestJson(bytes)).toEqual(decodeTraceRequestJson(JSON.stringify(document)));
  });
});

describe('attribute key memo', () => {
  it('returns the new key when the caller reuses its buffer with different bytes', () => {
    const build = (key: string) =>
      Buffer.from(
        encodeMessage(TRACE_REQUEST, {
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: new Uint8Array(16).fill(1),
                      spanId: new Uint8Array(8).fill(2),
                      attributes: [{ key, value: { boolValue: true } }],
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
    const buffer = build('tenant.a');
    expect(Object.keys(decodeTraceRequest(buffer).spans[0].attributes)).toEqual(['tenant.a']);
    buffer.set(build('tenant.b')); // same length, one byte differs, same memory
    expect(Object.keys(decodeTraceRequest(buffer).spans[0].attributes)).toEqual(['tenant.b']);
  });
});

describe('field order', () => {
  it('shares the resource and scope with spans that precede them on the wire (protobuf allows any order)', () => {
    const span = encodeMessage('opentelemetry.proto.trace.v1.Span', {
      traceId: new Uint8Array(16).fill(1),
      spanId: new Uint8Array(8).fill(2),
      name: 'early',
    });
    const resource = encodeMessage('opentelemetry.proto.resource.v1.Resource', {
      attributes: [{ key: 'service.name', value: { stringValue: 'late' } }],
    });
    const scope = encodeMessage('opentelemetry.proto.common.v1.InstrumentationScope', { name: 'late-scope' });
    const scopeSpans = Writer.create().uint32(18).bytes(span).uint32(10).bytes(scope).finish(); // spans, then scope
    const resourceSpans = Writer.create().uint32(18).bytes(scopeSpans).uint32(10).bytes(resource).finish();
    const request = Writer.create().uint32(10).bytes(resourceSpans).finish();
    const [decoded] = decodeTraceRequest(request).spans;
    expect(decoded.resource.serviceName).toBe('late');
    expect(decoded.scopeName).toBe('late-scope');
  });
});
