// Property-based fuzzing (fast-check) of the protobuf and JSON decoders; ~11,000 cases in all.
// bench/fuzz-decoders.ts runs the same properties with many more cases.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JSON_DECODERS,
  PROTOBUF_DECODERS,
  decodesOrRefuses,
  logsCase,
  metricsCase,
  mutate,
  mutateText,
  mutation,
  otlpShapedJson,
  traceCase,
} from './fuzz-properties.js';
import {
  decodeLogsRequest,
  decodeLogsRequestJson,
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  decodeTraceRequest,
  decodeTraceRequestJson,
} from '../../../src/otlp/decode/index.js';
import { plainBatch } from './plain-batch.js';

const seed = Number(process.env.FUZZ_SEED ?? 20261125);
const runs = (numRuns: number) => ({ numRuns, seed });

describe('random valid requests decode to exactly what was encoded', () => {
  it('traces, protobuf and JSON (1,000 cases)', () => {
    fc.assert(
      fc.property(traceCase, ({ bytes, json, expected }) => {
        expect(plainBatch(decodeTraceRequest(bytes))).toEqual(expected);
        expect(decodeTraceRequestJson(json)).toEqual(expected);
      }),
      runs(1000),
    );
  });

  it('metrics of every type, protobuf and JSON (1,000 cases)', () => {
    fc.assert(
      fc.property(metricsCase, ({ bytes, json, expected }) => {
        expect(decodeMetricsRequest(bytes)).toEqual(expected);
        expect(decodeMetricsRequestJson(json)).toEqual(expected);
      }),
      runs(1000),
    );
  });

  it('logs, keeping only flag evaluations, protobuf and JSON (1,000 cases)', () => {
    fc.assert(
      fc.property(logsCase, ({ bytes, json, expected }) => {
        expect(decodeLogsRequest(bytes)).toEqual(expected);
        expect(decodeLogsRequestJson(json)).toEqual(expected);
      }),
      runs(1000),
    );
  });
});

describe('damaged input decodes or throws OtlpDecodeError, nothing else', () => {
  const validPayload = fc.oneof(
    traceCase.map((c) => c.bytes),
    metricsCase.map((c) => c.bytes),
    logsCase.map((c) => c.bytes),
  );

  it('mutated and truncated protobuf payloads, through all three decoders (3,000 cases)', () => {
    fc.assert(
      fc.property(validPayload, fc.array(mutation, { minLength: 1, maxLength: 4 }), (bytes, mutations) => {
        const damaged = mutate(bytes, mutations);
        for (const decode of PROTOBUF_DECODERS) decodesOrRefuses(() => decode(damaged));
      }),
      runs(3000),
    );
  });

  it('random bytes, through all three decoders (2,000 cases)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const decode of PROTOBUF_DECODERS) decodesOrRefuses(() => decode(bytes));
      }),
      runs(2000),
    );
  });

  it('mutated OTLP/JSON text, through all three JSON decoders (2,000 cases)', () => {
    const validJson = fc.oneof(
      traceCase.map((c) => c.json),
      metricsCase.map((c) => c.json),
      logsCase.map((c) => c.json),
    );
    fc.assert(
      fc.property(validJson, fc.array(mutation, { minLength: 1, maxLength: 4 }), (json, mutations) => {
        const damaged = mutateText(json, mutations);
        for (const decode of JSON_DECODERS) decodesOrRefuses(() => decode(damaged));
      }),
      runs(2000),
    );
  });

  it('OTLP-shaped JSON with random values in every field (1,000 cases)', () => {
    fc.assert(
      fc.property(otlpShapedJson, (json) => {
        for (const decode of JSON_DECODERS) decodesOrRefuses(() => decode(json));
      }),
      runs(1000),
    );
  });
});
