// Property-based fuzzing of the decoders, shared by fuzz.test.ts (a few thousand cases per property) and
// bench/fuzz-decoders.ts (many more). Random model-like data is encoded by an independent encoder
// (protobufjs with the schema in proto/, and a plain OTLP/JSON writer here) and must decode to exactly
// that data; mutated, truncated or random inputs must decode or throw OtlpDecodeError, never anything else.
import fc from 'fast-check';
import {
  OtlpDecodeError,
  decodeLogsRequest,
  decodeLogsRequestJson,
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  decodeTraceRequest,
  decodeTraceRequestJson,
} from '../../../src/otlp/decode/index.js';

export { metricsCase } from './fuzz-metrics.js';
export { logsCase, traceCase } from './fuzz-signals.js';

/** Edits a valid payload: flips, overwrites, inserts, deletes, truncates, or splices in random bytes. */
export const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);
export type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

export function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = Uint8Array.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    switch (m.kind) {
      case 'flip':
        if (at < out.length) out[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (at < out.length) out[at] = m.byte;
        break;
      case 'insert':
        out = Uint8Array.from([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)]);
        break;
      case 'delete':
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + m.count)]);
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
    }
  }
  return out;
}

/** Edits JSON text character-wise: the result is usually invalid JSON or valid JSON of the wrong shape. */
export function mutateText(textIn: string, mutations: Mutation[]): string {
  const chars = '{}[]":,0123456789-eE.truefalsnl \\x';
  let out = textIn;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    const char = chars[(m.kind === 'set' ? m.byte : m.at) % chars.length];
    if (m.kind === 'delete' || m.kind === 'flip') out = out.slice(0, at) + out.slice(at + 1);
    else if (m.kind === 'truncate') out = out.slice(0, at);
    else out = out.slice(0, at) + char + out.slice(m.kind === 'set' ? at + 1 : at);
  }
  return out;
}

export const PROTOBUF_DECODERS = [decodeTraceRequest, decodeMetricsRequest, decodeLogsRequest] as const;
export const JSON_DECODERS = [
  decodeTraceRequestJson,
  decodeMetricsRequestJson,
  decodeLogsRequestJson,
] as const;

/**
 * Runs `decode` and returns whether it failed the right way: true when it returned a well-formed batch or
 * threw OtlpDecodeError, false (with the culprit rethrown for fast-check to report) otherwise.
 */
export function decodesOrRefuses(decode: () => { rejected: number; rejectMessage: string }): true {
  try {
    const batch = decode();
    if (!Number.isInteger(batch.rejected) || typeof batch.rejectMessage !== 'string') {
      throw new Error('decoder returned a malformed batch');
    }
  } catch (error) {
    if (!(error instanceof OtlpDecodeError)) throw error;
    if (!/^(traces|metrics|logs): \S/.test(error.message))
      throw new Error(`unhelpful message: ${error.message}`, { cause: error });
  }
  return true;
}

/** Arbitrary JSON documents that look like OTLP requests with random values in random places. */
export const otlpShapedJson = fc
  .record({
    top: fc.constantFrom('resourceSpans', 'resourceMetrics', 'resourceLogs', 'resource_spans'),
    middle: fc.constantFrom('scopeSpans', 'scopeMetrics', 'scopeLogs', 'scope_logs'),
    leaf: fc.constantFrom('spans', 'metrics', 'logRecords', 'attributes', 'dataPoints'),
    items: fc.array(
      fc.dictionary(fc.constantFrom(...JSON_FIELD_NAMES()), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }),
      {
        maxLength: 3,
      },
    ),
  })
  .map(({ top, middle, leaf, items }) => JSON.stringify({ [top]: [{ [middle]: [{ [leaf]: items }] }] }));

function JSON_FIELD_NAMES(): string[] {
  return [
    'traceId',
    'spanId',
    'parentSpanId',
    'name',
    'kind',
    'startTimeUnixNano',
    'endTimeUnixNano',
    'attributes',
    'events',
    'status',
    'timeUnixNano',
    'observedTimeUnixNano',
    'eventName',
    'gauge',
    'sum',
    'histogram',
    'exponentialHistogram',
    'summary',
    'dataPoints',
    'asInt',
    'asDouble',
    'count',
    'bucketCounts',
    'explicitBounds',
    'scale',
    'positive',
    'negative',
    'zeroCount',
    'exemplars',
    'key',
    'value',
    'resource',
    'scope',
  ];
}
