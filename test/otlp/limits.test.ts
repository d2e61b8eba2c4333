// Bad input and overload on both transports: each gets a clear refusal with the right status, the
// sender is told whether to retry, nothing crashes, and the sidecar still serves a valid request after.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { metricValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { rawGrpc, rawHttp, TRACE_EXPORT } from '../support/raw-clients.js';
import { knownSpans } from '../support/telemetry.js';

const validProto = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
const validJson = Buffer.from(JsonTraceSerializer.serializeRequest(knownSpans())!);
const PROTO = { 'Content-Type': 'application/x-protobuf' };
const JSON_TYPE = { 'Content-Type': 'application/json' };

let harness: TestSidecar;
beforeAll(async () => {
  harness = await startTestSidecar({
    otlp: {
      http: { maxBodyBytes: 64 * 1024 },
      grpc: { maxMessageBytes: 64 * 1024 },
      maxDecompressedBytes: 256 * 1024,
    },
  });
});
afterAll(async () => harness.stop());

const traces = () => `${harness.httpUrl}/v1/traces`;
const grpcAddress = () => `127.0.0.1:${harness.sidecar.ports.grpc}`;

async function stillServes(): Promise<void> {
  const ok = await rawHttp(traces(), { headers: PROTO, body: validProto });
  expect(ok.status).toBe(200);
  const viaGrpc = await rawGrpc(grpcAddress(), TRACE_EXPORT, validProto);
  expect(viaGrpc.error).toBeUndefined();
}

describe('OTLP/HTTP refusals', () => {
  it('answers 400 with a google.rpc.Status message for a malformed protobuf body', async () => {
    const response = await rawHttp(traces(), { headers: PROTO, body: Buffer.from([0x0a, 0xff, 0xff, 0x01]) });
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/x-protobuf');
    expect(response.body.length).toBeGreaterThan(2);
    await stillServes();
  });

  it('answers 400 with a JSON Status naming the problem for malformed JSON', async () => {
    const response = await rawHttp(traces(), { headers: JSON_TYPE, body: '{"resourceSpans": [' });
    expect(response.status).toBe(400);
    const status = JSON.parse(response.body.toString()) as { code: number; message: string };
    expect(status.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(status.message.length).toBeGreaterThan(5);
  });

  it('accepts an empty request as a success with no partial_success', async () => {
    const proto = await rawHttp(traces(), { headers: PROTO, body: Buffer.alloc(0) });
    expect(proto.status).toBe(200);
    expect(proto.body.length).toBe(0);
    // The empty success still declares its type and length.
    expect(proto.headers['content-type']).toBe('application/x-protobuf');
    expect(proto.headers['content-length']).toBe('0');
    const json = await rawHttp(traces(), { headers: JSON_TYPE, body: '{}' });
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body.toString())).toEqual({});
  });

  it('answers in JSON to a JSON request', async () => {
    const response = await rawHttp(traces(), { headers: JSON_TYPE, body: validJson });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body.toString())).toEqual({});
  });

  it('answers 415 to an unsupported content type or content encoding', async () => {
    expect((await rawHttp(traces(), { headers: { 'Content-Type': 'text/plain' }, body: 'x' })).status).toBe(
      415,
    );
    expect(
      (await rawHttp(traces(), { headers: { ...PROTO, 'Content-Encoding': 'br' }, body: validProto })).status,
    ).toBe(415);
  });

  it('answers 405 with Allow: POST to other methods and 404 to other paths', async () => {
    const get = await rawHttp(traces(), { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(
      (await rawHttp(`${harness.httpUrl}/v1/profiles`, { headers: PROTO, body: validProto })).status,
    ).toBe(404);
  });

  it('answers 413 (not retryable) to a body over the limit, declared or streamed', async () => {
    const big = Buffer.alloc(65 * 1024, 1);
    const declared = await rawHttp(traces(), { headers: PROTO, body: big });
    expect(declared.status).toBe(413);
    expect(declared.headers['retry-after']).toBeUndefined();
    await stillServes();
  });

  it('answers 413 to a gzip bomb that expands past the decompressed limit', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const response = await rawHttp(traces(), {
      headers: { ...PROTO, 'Content-Encoding': 'gzip' },
      body: bomb,
    });
    expect(response.status).toBe(413);
    await stillServes();
  });

  it('answers 400 to a body that claims gzip but is not', async () => {
    const response = await rawHttp(traces(), {
      headers: { ...PROTO, 'Content-Encoding': 'gzip' },
      body: validProto,
    });
    expect(response.status).toBe(400);
  });

  it('counts every refusal by outcome', async () => {
    expect(
      await metricValue(harness.apiUrl, 'canary_judge_otlp_requests_total', {
        transport: 'http',
        outcome: 'OTLP_BAD_PAYLOAD',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await metricValue(harness.apiUrl, 'canary_judge_otlp_requests_total', {
        transport: 'http',
        outcome: 'OTLP_PAYLOAD_TOO_LARGE',
      }),
    ).toBeGreaterThanOrEqual(2);
  });
});

describe('OTLP/gRPC refusals', () => {
  it('answers INVALID_ARGUMENT with a message for a malformed message', async () => {
    const { error } = await rawGrpc(grpcAddress(), TRACE_EXPORT, Buffer.from([0x0a, 0xff, 0xff, 0x01]));
    expect(error?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error?.details.length).toBeGreaterThan(5);
    expect(error?.metadata.get('grpc-status-details-bin')[0]).toBeInstanceOf(Buffer);
    await stillServes();
  });

  it('answers RESOURCE_EXHAUSTED to a message over the limit', async () => {
    const { error } = await rawGrpc(grpcAddress(), TRACE_EXPORT, Buffer.alloc(65 * 1024, 0));
    expect(error?.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    await stillServes();
  });

  it('accepts an empty message', async () => {
    const { error, response } = await rawGrpc(grpcAddress(), TRACE_EXPORT, Buffer.alloc(0));
    expect(error).toBeUndefined();
    expect(response?.length).toBe(0);
  });
});
