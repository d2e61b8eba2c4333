// The response encoders, checked by decoding their output with protobufjs and the schema in proto/.
import { describe, expect, it } from 'vitest';
import { loadOtlpSchema } from '../../../bench/payloads.js';
import {
  RETRY_INFO_TYPE_URL,
  durationJson,
  encodeExportResponse,
  encodeStatus,
} from '../../../src/otlp/encode/index.js';

const schema = loadOtlpSchema();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function decodeAs(typeName: string, bytes: Uint8Array): Record<string, unknown> {
  const type = schema.lookupType(typeName);
  return type.toObject(type.decode(bytes), { longs: Number }) as Record<string, unknown>;
}

describe('Export*ServiceResponse', () => {
  it.each([
    ['traces', 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse', 'rejectedSpans'],
    [
      'metrics',
      'opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse',
      'rejectedDataPoints',
    ],
    ['logs', 'opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse', 'rejectedLogRecords'],
  ] as const)('%s: partial_success carries the rejected count and message', (signal, typeName, field) => {
    const partial = { rejected: 3, errorMessage: '3 rejected; first: bad id' };
    expect(decodeAs(typeName, encodeExportResponse(signal, partial, 'protobuf'))).toEqual({
      partialSuccess: { [field]: 3, errorMessage: '3 rejected; first: bad id' },
    });
    expect(JSON.parse(text(encodeExportResponse(signal, partial, 'json')))).toEqual({
      partialSuccess: { [field]: '3', errorMessage: '3 rejected; first: bad id' },
    });
  });

  it('leaves partial_success unset on full success: no bytes in protobuf, {} in JSON', () => {
    expect(encodeExportResponse('traces', { rejected: 0, errorMessage: '' }, 'protobuf')).toHaveLength(0);
    expect(text(encodeExportResponse('traces', { rejected: 0, errorMessage: '' }, 'json'))).toBe('{}');
  });

  it('sends a warning (rejected 0 with a message) as a partial success', () => {
    const bytes = encodeExportResponse('logs', { rejected: 0, errorMessage: 'deprecated field' }, 'protobuf');
    expect(decodeAs('opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse', bytes)).toEqual({
      partialSuccess: { errorMessage: 'deprecated field' },
    });
  });
});

describe('google.rpc.Status', () => {
  it('encodes code and message, without details when there is no retry delay', () => {
    const bytes = encodeStatus({ code: 3, message: 'traces: truncated message' }, 'protobuf');
    expect(decodeAs('google.rpc.Status', bytes)).toEqual({ code: 3, message: 'traces: truncated message' });
    expect(JSON.parse(text(encodeStatus({ code: 3, message: 'x' }, 'json')))).toEqual({
      code: 3,
      message: 'x',
    });
  });

  it('attaches RetryInfo as an Any whose retry_delay is a Duration', () => {
    const bytes = encodeStatus({ code: 14, message: 'overloaded', retryDelayMs: 1500 }, 'protobuf');
    const status = schema.lookupType('google.rpc.Status').decode(bytes) as unknown as {
      code: number;
      details: { type_url?: string; typeUrl?: string; value: Uint8Array }[];
    };
    expect(status.code).toBe(14);
    expect(status.details).toHaveLength(1);
    const any = status.details[0];
    expect(any.typeUrl ?? any.type_url).toBe(RETRY_INFO_TYPE_URL);
    expect(decodeAs('google.rpc.RetryInfo', any.value)).toEqual({
      retryDelay: { seconds: 1, nanos: 500_000_000 },
    });
  });

  it('writes RetryInfo in JSON with "@type" and a Duration string', () => {
    expect(JSON.parse(text(encodeStatus({ code: 14, message: 'busy', retryDelayMs: 5000 }, 'json')))).toEqual(
      {
        code: 14,
        message: 'busy',
        details: [{ '@type': RETRY_INFO_TYPE_URL, retryDelay: '5s' }],
      },
    );
  });

  it('formats Durations with 0, 3, 6 or 9 fractional digits', () => {
    expect(durationJson(0)).toBe('0s');
    expect(durationJson(1500)).toBe('1.500s');
    expect(durationJson(0.001)).toBe('0.000001s');
    expect(durationJson(0.0000015)).toBe('0.000000002s');
    expect(durationJson(-5)).toBe('0s');
  });
});
