// Auth, overload, TLS and graceful shutdown, over real sockets.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest, type ClientRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, credentials, Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { rawGrpc, rawHttp, TRACE_EXPORT } from '../support/raw-clients.js';
import { exportOnce, knownSpans, succeeded, traceExporter } from '../support/telemetry.js';

const validProto = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
const PROTO = { 'Content-Type': 'application/x-protobuf' };
const TOKEN = 'a-test-token-of-enough-length';

let harness: TestSidecar | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

/** Starts a request and sends part of its body, holding one in-flight slot until `finish()`. */
function holdRequest(url: string): { request: ClientRequest; finish: () => Promise<number> } {
  let resolveStatus: (status: number) => void = () => undefined;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  const request = httpRequest(
    url,
    { method: 'POST', headers: { ...PROTO, 'Content-Length': validProto.length } },
    (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    },
  );
  request.write(validProto.subarray(0, 10));
  return {
    request,
    finish: () => {
      request.end(validProto.subarray(10));
      return status;
    },
  };
}

async function untilInFlight(h: TestSidecar, count: number): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    const text = await (await fetch(`${h.apiUrl}/metrics`)).text();
    if (text.includes(`canary_judge_otlp_in_flight_requests ${count}`)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`in-flight requests never reached ${count}`);
}

describe('bearer-token auth', () => {
  it('refuses OTLP requests without the token with 401 / UNAUTHENTICATED and accepts them with it', async () => {
    harness = await startTestSidecar({ otlp: { authToken: TOKEN } });
    const address = `127.0.0.1:${harness.sidecar.ports.grpc}`;
    const url = `${harness.httpUrl}/v1/traces`;
    const refused = await rawHttp(url, { headers: PROTO, body: validProto });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer');
    expect(
      (
        await rawHttp(url, {
          headers: { ...PROTO, Authorization: 'Bearer wrong-token-wrong-token' },
          body: validProto,
        })
      ).status,
    ).toBe(401);
    expect(
      (await rawHttp(url, { headers: { ...PROTO, Authorization: `Bearer ${TOKEN}` }, body: validProto }))
        .status,
    ).toBe(200);
    expect((await rawGrpc(address, TRACE_EXPORT, validProto)).error?.code).toBe(GrpcStatus.UNAUTHENTICATED);
    expect(
      (await rawGrpc(address, TRACE_EXPORT, validProto, { authorization: `Bearer ${TOKEN}` })).error,
    ).toBeUndefined();
    // The real exporter with its headers option gets through.
    const exporter = traceExporter('http-protobuf', {
      grpcUrl: harness.grpcUrl,
      httpUrl: harness.httpUrl,
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(succeeded(await exportOnce(exporter, knownSpans()))).toBe(true);
    await exporter.shutdown();
  });
});

describe('overload', () => {
  it('refuses requests past maxInFlightRequests with 503 + Retry-After and UNAVAILABLE + RetryInfo', async () => {
    harness = await startTestSidecar({
      otlp: { maxInFlightRequests: 1, retryAfterSeconds: 2, minReceiveBytesPerSecond: 0 },
    });
    const held = holdRequest(`${harness.httpUrl}/v1/traces`);
    await untilInFlight(harness, 1);

    const refused = await rawHttp(`${harness.httpUrl}/v1/traces`, { headers: PROTO, body: validProto });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    const { error } = await rawGrpc(`127.0.0.1:${harness.sidecar.ports.grpc}`, TRACE_EXPORT, validProto);
    expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
    const details = error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');

    expect(await held.finish()).toBe(200);
    expect(harness.sink.spans).toHaveLength(3);
  });

  it('lets the real OTel exporter retry a 503 and succeed once capacity frees up', async () => {
    harness = await startTestSidecar({
      otlp: { maxInFlightRequests: 1, retryAfterSeconds: 1, minReceiveBytesPerSecond: 0 },
    });
    const held = holdRequest(`${harness.httpUrl}/v1/traces`);
    await untilInFlight(harness, 1);
    const exporter = traceExporter('http-protobuf', { grpcUrl: harness.grpcUrl, httpUrl: harness.httpUrl });
    const exported = exportOnce(exporter, knownSpans());
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await held.finish()).toBe(200);
    expect(succeeded(await exported)).toBe(true);
    await exporter.shutdown();
    expect(harness.sink.spans).toHaveLength(6);
    const text = await (await fetch(`${harness.apiUrl}/metrics`)).text();
    expect(text).toMatch(
      /canary_judge_otlp_requests_total\{transport="http",signal="traces",outcome="OTLP_OVERLOADED"\} [1-9]/,
    );
  });
});

describe('graceful shutdown', () => {
  it('finishes an accepted request, refuses new ones, and then stops', async () => {
    harness = await startTestSidecar({ otlp: { minReceiveBytesPerSecond: 0 } });
    const h = harness;
    const held = holdRequest(`${h.httpUrl}/v1/traces`);
    await untilInFlight(h, 1);
    const stopped = h.sidecar.stop();
    const ready = await fetch(`${h.apiUrl}/readyz`);
    expect(ready.status).toBe(503);
    const refused = await rawGrpc(`127.0.0.1:${h.sidecar.ports.grpc}`, TRACE_EXPORT, validProto).catch(
      () => ({ error: { code: -1 } }),
    );
    expect(refused.error?.code).toBe(GrpcStatus.UNAVAILABLE);
    // The listener stays open while draining: a new connection gets an answer, not a reset or a refusal.
    const refusedHttp = await rawHttp(`${h.httpUrl}/v1/traces`, { headers: PROTO, body: validProto });
    expect(refusedHttp.status).toBe(503);
    expect(refusedHttp.headers['retry-after']).toBe('1');
    expect(refusedHttp.headers.connection).toBe('close');
    expect(await held.finish()).toBe(200);
    await stopped;
    expect(h.sink.spans).toHaveLength(3);
  });
});

describe('TLS', () => {
  it('serves both OTLP ports over TLS when configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-judge-tls-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    harness = await startTestSidecar({ otlp: { tls: { certFile, keyFile } } });
    const ca = readFileSync(certFile);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        `${harness!.httpUrl}/v1/traces`,
        { method: 'POST', headers: PROTO, ca },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(validProto);
    });
    expect(status).toBe(200);
    const client = new Client(`localhost:${harness.sidecar.ports.grpc}`, credentials.createSsl(ca));
    const grpcError = await new Promise<unknown>((resolve) =>
      client.makeUnaryRequest(
        TRACE_EXPORT,
        (b: Buffer) => b,
        (b: Buffer) => b,
        validProto,
        new Metadata(),
        (error) => resolve(error),
      ),
    );
    client.close();
    expect(grpcError).toBeNull();
    expect(harness.sink.spans).toHaveLength(6);
    rmSync(dir, { recursive: true, force: true });
  });
});
