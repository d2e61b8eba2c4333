import { JsonLogsSerializer, ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { LOGS_REQUEST, encodeMessage } from '../../../bench/payloads.js';
import { decodeLogsRequest, decodeLogsRequestJson } from '../../../src/otlp/decode/index.js';
import { RESOURCE_ATTRIBUTES, START, sdkLogRecords } from './sdk-telemetry.js';

describe('decodeLogsRequest on log records from the OpenTelemetry JS SDK', () => {
  it('keeps feature_flag.evaluation events (event_name or legacy event.name) and counts the rest as ignored', async () => {
    const batch = decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(await sdkLogRecords())!);
    expect(batch.ignored).toBe(1);
    expect(batch.rejected).toBe(0);
    expect(batch.flagEvaluations).toHaveLength(2);
    expect(batch.flagEvaluations[0]).toEqual({
      eventName: 'feature_flag.evaluation',
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      timeUnixMs: START[0] * 1e3 + START[1] / 1e6,
      attributes: { 'feature_flag.key': 'new-cart', 'feature_flag.result.variant': 'on' },
      resource: { serviceName: 'checkout', attributes: RESOURCE_ATTRIBUTES },
    });
    expect(batch.flagEvaluations[1]).toMatchObject({
      eventName: 'feature_flag.evaluation',
      traceId: '',
      spanId: '',
    });
  });

  it('decodes the JSON serializer output of the same records to the same batch', async () => {
    const records = await sdkLogRecords();
    const fromProto = decodeLogsRequest(ProtobufLogsSerializer.serializeRequest(records)!);
    expect(decodeLogsRequestJson(JsonLogsSerializer.serializeRequest(records)!)).toEqual(fromProto);
  });
});

describe('decodeLogsRequest on hand-built records', () => {
  const flag = {
    eventName: 'feature_flag.evaluation',
    attributes: [{ key: 'feature_flag.key', value: { stringValue: 'k' } }],
  };
  const payload = encodeMessage(LOGS_REQUEST, {
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              { ...flag, observedTimeUnixNano: '1700000000500000000' },
              { ...flag, traceId: new Uint8Array(5).fill(1) },
              { ...flag, traceId: new Uint8Array(16), spanId: new Uint8Array(8) },
              { eventName: 'session.start', traceId: new Uint8Array(3) },
            ],
          },
        ],
      },
    ],
  });
  const batch = decodeLogsRequest(payload);

  it('uses observed_time_unix_nano when time_unix_nano is unset', () => {
    expect(batch.flagEvaluations[0].timeUnixMs).toBe(1_700_000_000_500);
  });

  it('rejects flag evaluations with a malformed trace id, reads all-zero ids as absent, ignores other events', () => {
    expect(batch.flagEvaluations).toHaveLength(2);
    expect(batch.flagEvaluations[1]).toMatchObject({ traceId: '', spanId: '' });
    expect(batch.rejected).toBe(1);
    expect(batch.rejectMessage).toBe(
      '1 log record rejected: feature_flag.evaluation: trace_id must be 0 or 16 bytes, got 5',
    );
    expect(batch.ignored).toBe(1);
  });
});

describe('flag evaluation value in the event body (semantic conventions before v1.32)', () => {
  const body = { kvlistValue: { values: [{ key: 'value', value: { boolValue: true } }] } };
  const flag = {
    eventName: 'feature_flag.evaluation',
    body,
    attributes: [{ key: 'feature_flag.key', value: { stringValue: 'k' } }],
  };
  const request = {
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              flag,
              {
                ...flag,
                attributes: [
                  ...flag.attributes,
                  { key: 'feature_flag.result.value', value: { stringValue: 'attr' } },
                ],
              },
              // Not a flag evaluation: its body is never read, so this broken string does not matter.
              { eventName: 'other', body: { bytesValue: new Uint8Array([1]) } },
            ],
          },
        ],
      },
    ],
  };

  it('copies body.value to feature_flag.result.value unless the attribute is set', () => {
    const batch = decodeLogsRequest(encodeMessage(LOGS_REQUEST, request));
    expect(batch.flagEvaluations.map((f) => f.attributes['feature_flag.result.value'])).toEqual([
      true,
      'attr',
    ]);
    expect(batch.ignored).toBe(1);
  });

  it('does the same for OTLP/JSON', () => {
    const json = JSON.stringify(request, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v,
    );
    expect(decodeLogsRequestJson(json)).toEqual(decodeLogsRequest(encodeMessage(LOGS_REQUEST, request)));
  });
});
