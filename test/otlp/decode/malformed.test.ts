// Malformed payloads refuse the whole request with an OtlpDecodeError that says what and where. The bad
// inputs are fixture files under test/fixtures/otlp/ (made by make-fixtures.ts there).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  OtlpDecodeError,
  decodeLogsRequest,
  decodeLogsRequestJson,
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  decodeTraceRequest,
  decodeTraceRequestJson,
} from '../../../src/otlp/decode/index.js';

function fixture(name: string): Uint8Array {
  return readFileSync(new URL(`../../fixtures/otlp/${name}`, import.meta.url));
}

function errorOf(run: () => unknown): OtlpDecodeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OtlpDecodeError);
    return error as OtlpDecodeError;
  }
  throw new Error('expected an OtlpDecodeError');
}

describe('protobuf payloads that refuse the whole request', () => {
  it.each([
    [
      'truncated-trace.bin',
      /^traces: truncated message \(length \d+ runs past its container\) at byte 2 in ExportTraceServiceRequest\.resource_spans$/,
    ],
    [
      'span-overruns-scope.bin',
      /^traces: truncated message .* at byte \d+ in ExportTraceServiceRequest\.resource_spans > ResourceSpans\.scope_spans > ScopeSpans\.spans$/,
    ],
    ['bad-wire-type-trace.bin', /^traces: invalid wire type 7 for field 15 at byte \d+ in .*Span/],
    [
      'invalid-utf8-span-name.bin',
      /^traces: invalid UTF-8 in a string field at byte \d+ in .*ScopeSpans\.spans$/,
    ],
    [
      'overlong-length-trace.bin',
      /^traces: truncated message \(length 1000 .* at byte 3 in ExportTraceServiceRequest\.resource_spans$/,
    ],
    ['field-zero-trace.bin', /^traces: invalid field number 0 at byte 1 in ExportTraceServiceRequest$/],
  ])('%s throws OtlpDecodeError: %s', (name, message) => {
    const error = errorOf(() => decodeTraceRequest(fixture(name)));
    expect(error.message).toMatch(message);
    expect(error.code).toBe('OTLP_DECODE_MALFORMED');
    expect(error.signal).toBe('traces');
  });

  it('names the metrics and logs signals and their messages', () => {
    const truncated = fixture('truncated-trace.bin');
    expect(errorOf(() => decodeMetricsRequest(truncated)).message).toMatch(
      /^metrics: .* in ExportMetricsServiceRequest/,
    );
    expect(errorOf(() => decodeLogsRequest(truncated)).message).toMatch(
      /^logs: .* in ExportLogsServiceRequest/,
    );
  });

  it('refuses AnyValues nested deeper than the limit instead of recursing without bound', () => {
    expect(errorOf(() => decodeTraceRequest(fixture('deep-anyvalue-trace.bin'))).message).toMatch(
      /nested deeper than 32/,
    );
  });

  it('skips unknown fields of every wire type, groups included', () => {
    expect(decodeTraceRequest(fixture('unknown-fields-trace.bin')).spans).toHaveLength(1);
  });
});

describe('OTLP/JSON payloads that refuse the whole request', () => {
  it.each([
    ['{"resourceSpans": [', /^traces: invalid JSON/],
    ['[]', /^traces: \$: expected an object, found array$/],
    ['{"resourceSpans": {}}', /^traces: \$\.resourceSpans: expected an array/],
    [
      '{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 3}]}]}]}',
      /^traces: \$\.resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.name: expected a string, found number$/,
    ],
    [
      '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708", "startTimeUnixNano": "soon"}]}]}]}',
      /startTimeUnixNano: expected a non-negative integer of nanoseconds, found string$/,
    ],
  ])('%s', (text, message) => {
    expect(errorOf(() => decodeTraceRequestJson(text)).message).toMatch(message);
  });

  it('refuses a body that is not UTF-8', () => {
    expect(errorOf(() => decodeTraceRequestJson(new Uint8Array([0x7b, 0xff, 0x7d]))).message).toBe(
      'traces: invalid UTF-8 in JSON body',
    );
  });

  it('refuses wrong types in metrics and logs', () => {
    const metrics =
      '{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","sum":{"dataPoints":[{"asInt":"x"}]}}]}]}]}';
    expect(errorOf(() => decodeMetricsRequestJson(metrics)).message).toMatch(/asInt: expected an integer/);
    const logs = '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":{}}]}]}]}';
    expect(errorOf(() => decodeLogsRequestJson(logs)).message).toMatch(
      /attributes: expected an array, found object/,
    );
  });
});

describe('OTLP/JSON timestamps', () => {
  it('refuses a fixed64 timestamp above 2^64 - 1', () => {
    const span = (start: string) =>
      JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              { spans: [{ traceId: '01'.repeat(16), spanId: '02'.repeat(8), startTimeUnixNano: start }] },
            ],
          },
        ],
      });
    expect(decodeTraceRequestJson(span('18446744073709551615')).spans).toHaveLength(1);
    expect(errorOf(() => decodeTraceRequestJson(span('18446744073709551616'))).message).toMatch(
      /startTimeUnixNano: 18446744073709551616 is out of range for fixed64$/,
    );
  });
});
