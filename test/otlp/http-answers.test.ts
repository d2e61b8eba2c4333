// What OTLP/HTTP answers when a request is cut or can never be admitted, judged by what senders do with it.
//
// Upstream behaviour these tests rest on:
// - OTLP spec, opentelemetry-proto docs/specification.md at ac2c4b5d1f3a6079de62f9afec860158ecc8af09,
//   "Retryable Response Codes": 429, 502, 503 and 504 SHOULD be retried and "All other 4xx or 5xx response
//   status codes MUST NOT be retried" (so 408 loses the data); "OTLP/HTTP Throttling": an overloaded server
//   answers 429 or 503 with Retry-After.
// - @opentelemetry/otlp-exporter-base 0.223.1 (the exporter used here), build/src/is-export-retryable.js:
//   isExportHTTPErrorRetryable retries exactly 429, 502, 503 and 504 and parseRetryAfterToMills honours
//   Retry-After; build/src/transport/http-transport-utils.js: anything else is a failure, and a connection
//   error is retried only for ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT, EAI_AGAIN, ENOTFOUND, ENETUNREACH
//   and EHOSTUNREACH (isHttpTransportNetworkErrorRetryable).
// - The Collector's otlphttp exporter, opentelemetry-collector exporter/otlphttpexporter/otlp.go at
//   7b6e87acde73e35bae515dbdad6f2f9839b0388a: isRetryableStatusCode is 429, 502, 503 and 504, every other
//   status is consumererror.NewPermanent; 429 and 503 with Retry-After become a throttled retry.
import { gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { ExportResultCode } from '@opentelemetry/core';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterEach, describe, expect, it } from 'vitest';
import { rawHttp } from '../support/raw-clients.js';
import { metricValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { startStallingProxy, type StallingProxy } from '../support/stalling-proxy.js';
import { exportOnce, knownSpans, succeeded, traceExporter } from '../support/telemetry.js';

const MiB = 1024 * 1024;

let harness: TestSidecar | undefined;
let proxy: StallingProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await harness?.stop();
  harness = undefined;
});

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition never held');
}

/** The status line and Retry-After of a raw HTTP answer. */
function statusAndRetryAfter(answer: string): [string, string | undefined] {
  return [answer.split('\r\n')[0], /^retry-after: *(\S+)\r$/im.exec(answer)?.[1]];
}

describe('OTLP/HTTP senders cut part way through their body', () => {
  it('answers a sender stalled mid-body 503 + Retry-After, so the OTel JS exporter retries and its spans arrive', async () => {
    harness = await startTestSidecar({ otlp: { receiveGraceMs: 300, retryAfterSeconds: 1 } });
    const h = harness;
    // The first connection stalls after 20 body bytes; the exporter's retry opens a second one, untouched.
    proxy = await startStallingProxy(h.httpUrl, (connection) => (connection === 0 ? 20 : undefined));
    const exporter = traceExporter('http-protobuf', { grpcUrl: '', httpUrl: proxy.url });
    try {
      const result = await exportOnce(exporter, knownSpans());
      expect(succeeded(result), String(result.error?.message)).toBe(true);
    } finally {
      await exporter.shutdown();
    }
    const answers = proxy.answers();
    expect(statusAndRetryAfter(answers[0])).toEqual(['HTTP/1.1 503 Service Unavailable', '1']);
    expect(answers[0]).toContain('otlp.minReceiveBytesPerSecond');
    expect(answers[1].split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(h.sink.spans).toHaveLength(knownSpans().length);
    expect(
      await metricValue(h.apiUrl, 'canary_judge_otlp_requests_total', {
        transport: 'http',
        outcome: 'OTLP_TOO_SLOW',
      }),
    ).toBe(1);
    expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(0);
  });

  it('answers a stalled sender preempted for a request that needs its slot 503 + Retry-After, and both exports arrive', async () => {
    // A minimum rate of 1 byte/s over 10 s windows: the stalled request is neither swept nor the slowest by
    // rate, so it is cut only as stalled for STALL_PREEMPT_MS (1 s) when the next request needs the one slot.
    harness = await startTestSidecar({
      otlp: {
        maxInFlightRequests: 1,
        minReceiveBytesPerSecond: 1,
        receiveGraceMs: 10_000,
        retryAfterSeconds: 1,
      },
    });
    const h = harness;
    proxy = await startStallingProxy(h.httpUrl, (connection) => (connection === 0 ? 20 : undefined));
    const stalled = traceExporter('http-protobuf', { grpcUrl: '', httpUrl: proxy.url });
    const next = traceExporter('http-protobuf', { grpcUrl: '', httpUrl: h.httpUrl });
    try {
      const first = exportOnce(stalled, knownSpans());
      await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 1);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const second = await exportOnce(next, knownSpans());
      expect(succeeded(second), String(second.error?.message)).toBe(true);
      const result = await first;
      expect(succeeded(result), String(result.error?.message)).toBe(true);
    } finally {
      await Promise.all([stalled.shutdown(), next.shutdown()]);
    }
    const answers = proxy.answers();
    expect(statusAndRetryAfter(answers[0])).toEqual(['HTTP/1.1 503 Service Unavailable', '1']);
    expect(answers[0]).toContain('while others wait for its share');
    expect(h.sink.spans).toHaveLength(2 * knownSpans().length);
  });
});

/** Sends only the headers of a request declaring `declared` body bytes and resolves with the answer. */
function declareOnly(
  url: string,
  headers: Record<string, string>,
  declared: number,
): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': declared } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined,
            body: Buffer.concat(chunks).toString('latin1'),
          });
          request.destroy();
        });
      },
    );
    request.on('error', reject);
    request.flushHeaders();
  });
}

describe('OTLP/HTTP bodies that can never be admitted', () => {
  // http.maxBodyBytes far above maxDecompressedBytes, as the config check allows (maxIngestBytes >= 8 MiB + 4 x
  // 256 KiB): an uncompressed body of 3 MiB would be charged 4 x 3 MiB with its decoded batch, past the 10 MiB
  // budget, and was refused with a retryable 503 on every attempt although its payload is over the limit.
  const LIMITS = {
    http: { maxBodyBytes: 8 * MiB, maxJsonBytes: 8 * MiB },
    grpc: { maxMessageBytes: 256 * 1024 },
    maxDecompressedBytes: 256 * 1024,
    maxIngestBytes: 10 * MiB,
  };

  it('answers 413, not a retryable 503, to an uncompressed body over maxDecompressedBytes, protobuf or JSON', async () => {
    harness = await startTestSidecar({ otlp: LIMITS });
    const traces = `${harness.httpUrl}/v1/traces`;
    for (const contentType of ['application/x-protobuf', 'application/json']) {
      for (let attempt = 0; attempt < 3; attempt++) {
        const answer = await declareOnly(traces, { 'Content-Type': contentType }, 3 * MiB);
        expect([answer.status, answer.retryAfter], `${contentType}, attempt ${attempt}`).toEqual([
          413,
          undefined,
        ]);
        expect(answer.body).toContain(
          `payload of ${3 * MiB} bytes exceeds the limit of ${256 * 1024} bytes (otlp.maxDecompressedBytes)`,
        );
      }
    }
    // Within both limits, an uncompressed body is admitted as before.
    const exporter = traceExporter('http-protobuf', { grpcUrl: '', httpUrl: harness.httpUrl });
    try {
      expect(succeeded(await exportOnce(exporter, knownSpans()))).toBe(true);
    } finally {
      await exporter.shutdown();
    }
  });

  it('answers 413 at once, not a retryable 503, to a body without Content-Length growing past the payload limit (as the OTel JS exporter sends)', async () => {
    // The OTel JS OTLP/HTTP exporter pipes its body into the request (otlp-exporter-base 0.223.1,
    // build/src/transport/http-transport-utils.js, compressAndSend), so Node sends it chunked, with no
    // Content-Length, and the declared-length check above never sees it. Limits the config check allows
    // (maxIngestBytes >= 128 KiB + 4 x 16 KiB): 100 copies of knownSpans() are a 77,600-byte payload, in one or
    // two reads of at least 48 KiB, and charged 4 x before the payload limit was checked they passed the 192 KiB
    // budget: 503 on each of the exporter's 6 attempts over about 5 s, and the export failed as "retryable".
    harness = await startTestSidecar({
      otlp: {
        http: { maxBodyBytes: 128 * 1024, maxJsonBytes: 16 * 1024 },
        grpc: { maxMessageBytes: 16 * 1024 },
        maxDecompressedBytes: 16 * 1024,
        maxIngestBytes: 192 * 1024,
      },
    });
    const h = harness;
    const exporter = traceExporter('http-protobuf', { grpcUrl: '', httpUrl: h.httpUrl });
    try {
      const tooLarge = await exportOnce(exporter, Array.from({ length: 100 }, () => knownSpans()).flat());
      expect([tooLarge.code, (tooLarge.error as { code?: number } | undefined)?.code]).toEqual([
        ExportResultCode.FAILED,
        413,
      ]);
      // Within the limit, a chunked body is admitted as before.
      expect(succeeded(await exportOnce(exporter, knownSpans()))).toBe(true);
    } finally {
      await exporter.shutdown();
    }
    const outcome = (name: string) =>
      metricValue(h.apiUrl, 'canary_judge_otlp_requests_total', { transport: 'http', outcome: name });
    expect([await outcome('OTLP_PAYLOAD_TOO_LARGE'), await outcome('OTLP_OVERLOADED')]).toEqual([1, 0]);
    expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(0);
  });

  it('holds an OTLP/JSON payload to maxDecompressedBytes too when http.maxJsonBytes is larger: 413 for a gzip body inflating past it', async () => {
    harness = await startTestSidecar({ otlp: LIMITS });
    const answer = await rawHttp(`${harness.httpUrl}/v1/traces`, {
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
      body: gzipSync(Buffer.alloc(3 * MiB, 0x20)),
    });
    expect(answer.status).toBe(413);
    expect(answer.body.toString()).toContain(
      `exceeds the limit of ${256 * 1024} bytes (otlp.maxDecompressedBytes)`,
    );
  });

  it('holds OTLP/JSON to http.maxJsonBytes where it is the smaller limit (as by default), declared, chunked or gzip, and names it', async () => {
    harness = await startTestSidecar({
      otlp: { http: { maxJsonBytes: 16 * 1024 }, maxDecompressedBytes: 256 * 1024 },
    });
    const h = harness;
    const spans = Array.from({ length: 40 }, () => knownSpans()).flat();
    const json = Buffer.from(JsonTraceSerializer.serializeRequest(spans)!);
    const proto = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(json.length).toBeGreaterThan(16 * 1024);
    expect(json.length).toBeLessThan(256 * 1024);
    const traces = `${h.httpUrl}/v1/traces`;
    const jsonType = { 'Content-Type': 'application/json' };
    for (const [what, answer] of [
      ['declared', await rawHttp(traces, { headers: jsonType, body: json })],
      [
        'gzip',
        await rawHttp(traces, { headers: { ...jsonType, 'Content-Encoding': 'gzip' }, body: gzipSync(json) }),
      ],
    ] as const) {
      expect(answer.status, what).toBe(413);
      expect(answer.body.toString(), what).toContain(`limit of ${16 * 1024} bytes (otlp.http.maxJsonBytes)`);
    }
    // The OTel JS OTLP/JSON exporter sends it chunked; the same spans as protobuf are within maxDecompressedBytes.
    const exporter = traceExporter('http-json', { grpcUrl: '', httpUrl: h.httpUrl });
    try {
      const chunked = await exportOnce(exporter, spans);
      expect((chunked.error as { code?: number } | undefined)?.code).toBe(413);
    } finally {
      await exporter.shutdown();
    }
    expect(
      (await rawHttp(traces, { headers: { 'Content-Type': 'application/x-protobuf' }, body: proto })).status,
    ).toBe(200);
  });
});
