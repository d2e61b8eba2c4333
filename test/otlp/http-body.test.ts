// How the OTLP/HTTP receiver assembles a body that arrives in pieces (src/otlp/http-receiver.ts): an
// uncompressed body of declared length is copied into one buffer as its chunks arrive; a body in one chunk is
// kept as it is; chunked (undeclared) and compressed bodies are joined at the end. Each must reach the
// pipeline byte for byte, whatever the pieces. And what a full success is answered with: an empty protobuf
// body or `{}` in JSON, each with its Content-Length.
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildTraceRequestPayload } from '../../bench/payloads.js';
import { decodeTraceRequest } from '../../src/otlp/decode/index.js';
import { plainSpan } from '../../src/otlp/decode/lazy-attributes.js';
import { paddedMessage } from '../support/raw-clients.js';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';

let harness: TestSidecar;
beforeAll(async () => {
  harness = await startTestSidecar({ otlp: { http: { maxBodyBytes: 1024 * 1024 } } });
});
afterAll(async () => harness.stop());
beforeEach(() => harness.sink.clear());

const payload = buildTraceRequestPayload({ spans: 64 });

/** POSTs `body` in `pieces` writes, each after a pause, so the server reads them as separate chunks. */
function postInPieces(body: Buffer, pieces: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${harness.httpUrl}/v1/traces`,
      { method: 'POST', headers: { 'Content-Type': 'application/x-protobuf', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.flushHeaders();
    const size = Math.ceil(body.length / pieces);
    let at = 0;
    const next = (): void => {
      if (at >= body.length) return void req.end();
      req.write(body.subarray(at, at + size));
      at += size;
      setTimeout(next, 5);
    };
    next();
  });
}

function receivedSpans(): unknown[] {
  return harness.sink.spans.map(plainSpan);
}

const expected = decodeTraceRequest(payload).spans.map(plainSpan);

describe('OTLP/HTTP request bodies in pieces', () => {
  it('assembles a declared-length body from several chunks byte for byte', async () => {
    const body = Buffer.from(payload);
    expect(await postInPieces(body, 7, { 'Content-Length': String(body.length) })).toBe(200);
    expect(receivedSpans()).toEqual(expected);
  });

  it('keeps a declared-length body that arrives in one chunk', async () => {
    const body = Buffer.from(payload);
    expect(await postInPieces(body, 1, { 'Content-Length': String(body.length) })).toBe(200);
    expect(receivedSpans()).toEqual(expected);
  });

  it('joins a chunked (undeclared) body and a gzip body in pieces', async () => {
    expect(await postInPieces(Buffer.from(payload), 5, {})).toBe(200);
    const gzipped = gzipSync(payload);
    expect(
      await postInPieces(gzipped, 4, {
        'Content-Encoding': 'gzip',
        'Content-Length': String(gzipped.length),
      }),
    ).toBe(200);
    expect(receivedSpans()).toEqual([...expected, ...expected]);
  });

  it('decodes each of many bodies received at once from its own bytes', async () => {
    const bodies = [1, 2, 3, 4].map((seed) => Buffer.from(buildTraceRequestPayload({ spans: 16, seed })));
    const statuses = await Promise.all(
      bodies.map((body) => postInPieces(body, 3, { 'Content-Length': String(body.length) })),
    );
    expect(statuses).toEqual([200, 200, 200, 200]);
    const wanted = bodies.flatMap((body) => decodeTraceRequest(body).spans.map(plainSpan));
    const sortKey = (span: unknown) => JSON.stringify(span);
    expect(receivedSpans().map(sortKey).sort()).toEqual(wanted.map(sortKey).sort());
  });
});

describe('OTLP/HTTP success answers', () => {
  /** POSTs `body` whole and returns the answer's status, headers and bytes. */
  function post(body: Uint8Array, contentType: string) {
    return new Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }>(
      (resolve, reject) => {
        const req = httpRequest(
          `${harness.httpUrl}/v1/traces`,
          { method: 'POST', headers: { 'Content-Type': contentType } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      },
    );
  }

  it('answers a full success in protobuf with an empty body, and in JSON with {}', async () => {
    const protobuf = await post(payload, 'application/x-protobuf');
    expect(protobuf.status).toBe(200);
    expect(protobuf.headers['content-length']).toBe('0');
    expect(protobuf.headers['content-type']).toBe('application/x-protobuf');
    expect(protobuf.headers['transfer-encoding']).toBeUndefined();
    expect(protobuf.bytes.length).toBe(0);
    const json = await post(Buffer.from(JSON.stringify({ resourceSpans: [] })), 'application/json');
    expect(json.status).toBe(200);
    expect(json.headers['content-length']).toBe('2');
    expect(json.bytes.toString()).toBe('{}');
  });
});

describe('OTLP/HTTP compressed bodies and the default budget', () => {
  it('admits a gzip body that inflates to exactly maxDecompressedBytes, with the default limits', async () => {
    // Such a body holds its wire bytes, the payload with its decoded batch (4 x) and, while its blocks are
    // joined, one copy more: with the wire bytes still charged at the join, a 2 MiB body inflating to 16 MiB
    // was charged 2 + 5 x 16 MiB, past the 81 MiB budget, and refused with 503 on every retry.
    const h = await startTestSidecar();
    try {
      const max = h.config.otlp.maxDecompressedBytes;
      // Its first 2 MiB of padding random, so that the body does not compress to almost nothing.
      const message = paddedMessage(payload, max, randomBytes(2 * 1024 * 1024));
      expect(message.length).toBe(max);
      const body = gzipSync(message);
      expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          `${h.httpUrl}/v1/traces`,
          {
            method: 'POST',
            headers: {
              'Content-Type': 'application/x-protobuf',
              'Content-Encoding': 'gzip',
              'Content-Length': String(body.length),
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(status).toBe(200);
      expect(h.sink.spans.length).toBe(expected.length);
    } finally {
      await h.stop();
    }
  });
});
