// The gRPC admission interceptor against grpc-js as installed: it reaches each call's HTTP/2 stream (the
// per-frame accounting that src/otlp/grpc-admission.ts documents), so calls are charged by what they send,
// not by a worst-case reservation; refused calls get UNAVAILABLE with RetryInfo on their first frame; and an
// idle connection is closed after otlp.grpc.idleTimeoutMs.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { GRPC_EXPORT_HEADERS, grpcMessagePrefix, paddedMessage } from '../support/raw-clients.js';
import { metricValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { exportOnce, knownSpans, succeeded, traceExporter } from '../support/telemetry.js';

let harness: TestSidecar | undefined;
const sessions: ClientHttp2Session[] = [];
afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  await harness?.stop();
  harness = undefined;
});

/** 1 MiB messages and the smallest budget the config check allows for them (5 x 1 MiB + 20), no rate rules. */
const ONE_MIB_LIMITS = {
  minReceiveBytesPerSecond: 0,
  maxIngestBytes: 5 * 1024 * 1024 + 20,
  maxDecompressedBytes: 1024 * 1024,
  http: { maxBodyBytes: 1024 * 1024 },
  grpc: { maxMessageBytes: 1024 * 1024 },
};

function openSession(h: TestSidecar): ClientHttp2Session {
  const session = connect(`http://127.0.0.1:${h.sidecar.ports.grpc}`, { maxSessionMemory: 1024 });
  session.on('error', () => undefined);
  sessions.push(session);
  return session;
}

/** A raw trace Export call on `session` (gzip-encoded with `gzip`); its stream errors are the test's to read. */
function exportStream(session: ClientHttp2Session, gzip = false): ClientHttp2Stream {
  const stream = session.request(
    gzip ? { ...GRPC_EXPORT_HEADERS, 'grpc-encoding': 'gzip' } : GRPC_EXPORT_HEADERS,
  );
  stream.on('error', () => undefined);
  return stream;
}

/** A call that declares a `declared`-byte message (gzip-compressed with `gzip`) and sends `sent` bytes of it. */
function partialCall(
  session: ClientHttp2Session,
  declared: number,
  sent: number,
  gzip = false,
): ClientHttp2Stream {
  const stream = exportStream(session, gzip);
  const prefix = grpcMessagePrefix(declared, gzip);
  stream.write(Buffer.concat([prefix, Buffer.alloc(sent, 0x0a)]));
  return stream;
}

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition never held');
}

describe('gRPC admission', () => {
  it('charges each call for the message it declares on its first frame, so small calls are admitted together', async () => {
    harness = await startTestSidecar({ otlp: { minReceiveBytesPerSecond: 0 } });
    const h = harness;
    const session = openSession(h);
    partialCall(session, 1000, 10);
    partialCall(session, 1000, 10);
    await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 2);
    // Each holds its 1,005-byte message and the decoded batch it would become, 4 x 1,005; a worst-case
    // reservation per call would be 4 x 16 MiB and admit one call at a time.
    expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(2 * 4 * 1005);
  });

  it('refuses a call whose message would pass the budget on its first frame, with UNAVAILABLE and RetryInfo', async () => {
    // No slow-sender rules: the held call must not be cut or preempted for the second.
    harness = await startTestSidecar({ otlp: ONE_MIB_LIMITS });
    const session = openSession(harness);
    const first = partialCall(session, 1024 * 1024, 10);
    const second = partialCall(session, 1024 * 1024, 10);
    // The call admitted first holds its reservation; the other is answered at once.
    const refused = await Promise.race(
      [first, second].map(
        (stream) =>
          new Promise<Record<string, unknown>>((resolve) =>
            stream.on('response', (headers) => {
              if (headers['grpc-status'] !== undefined) resolve(headers);
            }),
          ),
      ),
    );
    expect(refused['grpc-status']).toBe('14');
    expect(String(refused['grpc-message'])).toContain('otlp.maxIngestBytes');
    const details = Buffer.from(String(refused['grpc-status-details-bin']), 'base64').toString('latin1');
    expect(details).toContain('type.googleapis.com/google.rpc.RetryInfo');
  });

  it('admits concurrent gzip-compressed exports of the OpenTelemetry JS gRPC exporter with the default budget', async () => {
    // The Collector's otlp exporter compresses with gzip by default and sends from several queue consumers at
    // once. Reserving the largest inflation grpc-js allows for each compressed call (4 x 16 MiB of the 81 MiB
    // budget) admitted one of them at a time and refused the others with UNAVAILABLE ("budget in use").
    harness = await startTestSidecar();
    const h = harness;
    const exporters = Array.from({ length: 4 }, () =>
      traceExporter('grpc', { grpcUrl: h.grpcUrl, httpUrl: h.httpUrl, gzip: true }),
    );
    try {
      const results = await Promise.all(exporters.map((exporter) => exportOnce(exporter, knownSpans())));
      expect(results.map((result) => (succeeded(result) ? 'ok' : String(result.error?.message)))).toEqual([
        'ok',
        'ok',
        'ok',
        'ok',
      ]);
    } finally {
      await Promise.all(exporters.map((exporter) => exporter.shutdown()));
    }
  });

  it("reserves for a compressed message what grpc-js may inflate it to: twice its frames, twice deflate's limit of 1,032 x, and the inflater", async () => {
    harness = await startTestSidecar({ otlp: { minReceiveBytesPerSecond: 0 } });
    const h = harness;
    const session = openSession(h);
    partialCall(session, 1000, 10, true);
    await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 1);
    // The frames and grpc-js's copy of them (2 x 1,005), its inflated parts and their concatenation (2 x 1,032,000),
    // and the inflater itself (zlib's state and window, and Node's output chunk: 64 KiB).
    const inflater = 64 * 1024;
    expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(
      2 * 1005 + 2 * 1032 * 1000 + inflater,
    );
    // A message large enough to inflate to grpc.maxMessageBytes (16 MiB) is reserved that much.
    partialCall(session, 64 * 1024, 10, true);
    await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 2);
    expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(
      2 * 1005 + 2 * 1032 * 1000 + 2 * (5 + 64 * 1024) + 2 * 16 * 1024 * 1024 + 2 * inflater,
    );
  });

  it('refuses a compressed call when its inflated message and decoded batch do not fit, and releases what it held', async () => {
    harness = await startTestSidecar({ otlp: ONE_MIB_LIMITS });
    const h = harness;
    const session = openSession(h);
    partialCall(session, 600 * 1024, 10); // holds 4 x 600 KiB (and change) of the 5 MiB
    await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 1);
    const held = await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes');
    // ~1 KB of gzip: admitted on its first frame (it may inflate to ~1 MB), refused once it has: the message
    // with its decoded batch is 4 MB.
    const bomb = gzipSync(Buffer.alloc(1_000_000));
    const call = exportStream(session, true);
    const prefix = grpcMessagePrefix(bomb.length, true);
    const status = await new Promise<Record<string, unknown>>((resolve) => {
      call.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) resolve(headers);
      });
      call.on('trailers', (headers) => resolve(headers));
      call.end(Buffer.concat([prefix, bomb]));
    });
    expect(status['grpc-status']).toBe('14');
    expect(decodeURIComponent(String(status['grpc-message']))).toContain('otlp.maxIngestBytes');
    await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 1);
    expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(held);
  });

  it('counts a gzip-compressed message in canary_judge_otlp_received_bytes_total by its bytes on the wire', async () => {
    harness = await startTestSidecar();
    const h = harness;
    const payload = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
    const compressed = gzipSync(payload);
    const received = () =>
      metricValue(h.apiUrl, 'canary_judge_otlp_received_bytes_total', {
        transport: 'grpc',
        signal: 'traces',
      });
    const before = await received();
    const call = exportStream(openSession(h), true);
    const prefix = grpcMessagePrefix(compressed.length, true);
    const status = await new Promise<unknown>((resolve) => {
      call.on('trailers', (headers) => resolve(headers['grpc-status']));
      call.resume();
      call.end(Buffer.concat([prefix, compressed]));
    });
    expect(status).toBe('0');
    // As over HTTP (the body's Content-Length), the message as it came, not the ${payload.length} it inflated to.
    expect((await received()) - before).toBe(compressed.length);
  });

  it("charges a call, while its batch is handled, for the frames grpc-js's decoder still holds beside the message", async () => {
    // grpc-js's StreamDecoder keeps the slices of the data frames it assembled the message from
    // (readPartialMessage) until the call ends, so the frames stay beside the message and its decoded batch.
    harness = await startTestSidecar();
    const h = harness;
    const gauge = h.sidecar.registry.getSingleMetric('canary_judge_otlp_ingest_bytes')!;
    const heldWhileHandled: number[] = [];
    const accept = h.sink.acceptSpans.bind(h.sink);
    h.sink.acceptSpans = (batch) => {
      void gauge.get().then((metric) => heldWhileHandled.push(metric.values[0].value));
      accept(batch);
    };
    const payload = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
    for (const gzip of [false, true]) {
      heldWhileHandled.length = 0;
      const message = gzip ? gzipSync(payload) : payload;
      const call = exportStream(openSession(h), gzip);
      const prefix = grpcMessagePrefix(message.length, gzip);
      const status = await new Promise<unknown>((resolve) => {
        call.on('trailers', (headers) => resolve(headers['grpc-status']));
        call.resume();
        call.end(Buffer.concat([prefix, message]));
      });
      expect(status).toBe('0');
      await until(async () => heldWhileHandled.length > 0);
      // The message with its decoded batch (4 x its inflated length), and its frames as they came.
      expect(heldWhileHandled[0], gzip ? 'gzip' : 'identity').toBe(4 * payload.length + 5 + message.length);
    }
  });

  it('refuses data after the one message of an Export call, which grpc-js would buffer uncharged until the call ends', async () => {
    // grpc-js's unary handler reads on after the first message (to see the half-close) and its decoder keeps
    // the frames of a second one; with the first message complete, nothing charged or timed them.
    harness = await startTestSidecar({ otlp: { minReceiveBytesPerSecond: 0 } });
    const h = harness;
    const payload = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
    const first = grpcMessagePrefix(payload.length);
    const second = grpcMessagePrefix(8 * 1024 * 1024);
    for (const together of [false, true]) {
      const call = exportStream(openSession(h));
      const status = new Promise<Record<string, unknown>>((resolve) => {
        call.on('response', (headers) => {
          if (headers['grpc-status'] !== undefined) resolve(headers);
        });
        call.on('trailers', (headers) => resolve(headers));
      });
      if (together) call.write(Buffer.concat([first, payload, second, Buffer.alloc(1024)]));
      else {
        call.write(Buffer.concat([first, payload]));
        await new Promise((resolve) => setTimeout(resolve, 50));
        call.write(Buffer.concat([second, Buffer.alloc(1024 * 1024)]));
      }
      const answered = await Promise.race([
        status,
        new Promise((resolve) => setTimeout(resolve, 2000, 'none')),
      ]);
      expect(answered, together ? 'in one frame' : 'in later frames').not.toBe('none');
      expect((answered as Record<string, unknown>)['grpc-status']).toBe('3');
      await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 0);
      expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(0);
    }
  });

  it('admits, with the default limits, a message of exactly grpc.maxMessageBytes', async () => {
    // Its whole charge is 5 x 16 MiB + 20 (4 x its frames on the first frame, grpc-js's copy when whole); with the
    // budget at 5 x 16 MiB, messages from 16 MiB - 3 bytes up were refused with UNAVAILABLE on every retry.
    harness = await startTestSidecar();
    const h = harness;
    const max = h.config.otlp.grpc.maxMessageBytes;
    const spans = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
    const message = paddedMessage(spans, max);
    expect(message.length).toBe(max);
    const call = exportStream(openSession(h));
    const prefix = grpcMessagePrefix(message.length);
    const status = await new Promise<Record<string, unknown>>((resolve) => {
      call.on('response', (headers) => {
        if (headers['grpc-status'] !== undefined) resolve(headers);
      });
      call.on('trailers', (headers) => resolve(headers));
      call.resume();
      call.end(Buffer.concat([prefix, message]));
    });
    expect(status['grpc-status'], decodeURIComponent(String(status['grpc-message']))).toBe('0');
    expect(h.sink.spans.length).toBeGreaterThan(0);
  });

  it('cuts an Export call whose message is whole but which never half-closes, and releases its slot and bytes', async () => {
    // grpc-js runs a unary handler only on the half-close (END_STREAM); the guard's rate checks ended with the
    // message, so such a call kept its slot and charge for ever (256 of them blocked all ingest).
    harness = await startTestSidecar({ otlp: { receiveGraceMs: 200 } });
    const h = harness;
    const payload = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
    for (const gzip of [false, true]) {
      const message = gzip ? gzipSync(payload) : payload;
      const call = exportStream(openSession(h), gzip);
      const status = new Promise<Record<string, unknown>>((resolve) => {
        call.on('response', (headers) => {
          if (headers['grpc-status'] !== undefined) resolve(headers);
        });
        call.on('trailers', (headers) => resolve(headers));
      });
      const prefix = grpcMessagePrefix(message.length, gzip);
      call.write(Buffer.concat([prefix, message])); // and no END_STREAM
      await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 1);
      const answered = await Promise.race([
        status,
        new Promise((resolve) => setTimeout(resolve, 3000, 'none')),
      ]);
      expect(answered, gzip ? 'gzip' : 'identity').not.toBe('none');
      const headers = answered as Record<string, unknown>;
      // DEADLINE_EXCEEDED, retryable in the OTLP spec's table (opentelemetry-proto docs/specification.md at
      // ac2c4b5d1f3a6079de62f9afec860158ecc8af09, "Failures"; the Collector's exporter/otlpexporter/otlp.go at
      // e912cf672711014f234a5a103697bc05a00e379d, shouldRetry), with RetryInfo carrying otlp.retryAfterSeconds.
      expect(headers['grpc-status']).toBe('4');
      expect(decodeURIComponent(String(headers['grpc-message']))).toContain(
        'did not half-close (END_STREAM) within 200 ms (otlp.receiveGraceMs); retry later',
      );
      const details = Buffer.from(String(headers['grpc-status-details-bin']), 'base64');
      expect(details.toString('latin1')).toContain('type.googleapis.com/google.rpc.RetryInfo');
      await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 0);
      expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(0);
    }
    expect(
      await metricValue(h.apiUrl, 'canary_judge_otlp_requests_total', {
        transport: 'grpc',
        signal: 'traces',
        outcome: 'OTLP_TOO_SLOW',
      }),
    ).toBe(2);
    expect(h.sink.spans).toHaveLength(0);
  });

  it("does not time a gzip call's wait for zlib once the client has half-closed", async () => {
    // Inflating runs on libuv's thread pool; with every thread taken (reads of a FIFO no one writes yet) the
    // message waits on our side, the client having sent END_STREAM with it.
    harness = await startTestSidecar({ otlp: { receiveGraceMs: 50 } });
    const h = harness;
    const dir = mkdtempSync(join(tmpdir(), 'canary-judge-fifo-'));
    const fifo = join(dir, 'pool');
    execFileSync('mkfifo', [fifo]);
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const blockers = Array.from({ length: threads }, () => open(fifo, 'r'));
    try {
      const payload = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
      const message = gzipSync(payload);
      const call = exportStream(openSession(h), true);
      const status = new Promise<unknown>((resolve) => {
        call.on('response', (headers) => {
          if (headers['grpc-status'] !== undefined) resolve(headers['grpc-status']);
        });
        call.on('trailers', (headers) => resolve(headers['grpc-status']));
      });
      call.resume();
      const prefix = grpcMessagePrefix(message.length, true);
      call.end(Buffer.concat([prefix, message]));
      // Several sweeps past the 50 ms grace while the message waits for a thread.
      const early = await Promise.race([
        status,
        new Promise((resolve) => setTimeout(resolve, 700, 'waiting')),
      ]);
      expect(early).toBe('waiting');
      expect(h.sink.spans).toHaveLength(0);
    } finally {
      const writer = openSync(fifo, 'w');
      closeSync(writer);
      for (const handle of await Promise.all(blockers)) await handle.close();
      rmSync(dir, { recursive: true, force: true });
    }
    await until(async () => h.sink.spans.length > 0);
    expect(
      await metricValue(h.apiUrl, 'canary_judge_otlp_requests_total', {
        transport: 'grpc',
        signal: 'traces',
        outcome: 'OTLP_TOO_SLOW',
      }),
    ).toBe(0);
  });

  it('admits Export calls of the OpenTelemetry JS gRPC exporter, which half-close with their message, under a grace of 0 ms', async () => {
    harness = await startTestSidecar({ otlp: { receiveGraceMs: 0 } });
    const h = harness;
    const exporters = [false, true].map((gzip) =>
      traceExporter('grpc', { grpcUrl: h.grpcUrl, httpUrl: h.httpUrl, gzip }),
    );
    try {
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(exporters.map((exporter) => exportOnce(exporter, knownSpans())));
        expect(results.map((result) => (succeeded(result) ? 'ok' : String(result.error?.message)))).toEqual([
          'ok',
          'ok',
        ]);
      }
    } finally {
      await Promise.all(exporters.map((exporter) => exporter.shutdown()));
    }
  });

  it('does not run the handler of a call cut for not half-closing when its END_STREAM comes in the same read', async () => {
    // The preempting call's frames and the cut call's END_STREAM reach the server in one write: grpc-js's
    // cancel (a nextTick after the cut's status) must come before the half-close, or the batch is handled and
    // counted after the client was told DEADLINE_EXCEEDED (retryable), and retried.
    harness = await startTestSidecar({ otlp: { receiveGraceMs: 10_000, maxInFlightRequests: 1 } });
    const h = harness;
    const socket = netConnect(Number(new URL(h.grpcUrl).port), '127.0.0.1');
    socket.on('error', () => undefined);
    let held: Buffer[] | undefined;
    const wire = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        if (held) held.push(chunk);
        else socket.write(chunk);
        callback();
      },
      final(callback) {
        socket.end();
        callback();
      },
    });
    socket.on('data', (chunk: Buffer) => wire.push(chunk));
    socket.on('end', () => wire.push(null));
    const session = connect(h.grpcUrl, { createConnection: () => wire });
    session.on('error', () => undefined);
    sessions.push(session);
    const payload = Buffer.from(ProtobufTraceSerializer.serializeRequest(knownSpans())!);
    const prefix = grpcMessagePrefix(payload.length);
    const call = (): { stream: ClientHttp2Stream; status: Promise<string> } => {
      const stream = exportStream(session);
      stream.resume();
      const status = new Promise<string>((resolve) => {
        stream.on('response', (headers) => {
          if (headers['grpc-status'] !== undefined) resolve(String(headers['grpc-status']));
        });
        stream.on('trailers', (headers) => resolve(String(headers['grpc-status'])));
      });
      return { stream, status };
    };
    const stalled = call();
    stalled.stream.write(Buffer.concat([prefix, payload])); // whole, not half-closed
    await new Promise((resolve) => setTimeout(resolve, 1300)); // past STALL_PREEMPT_MS
    held = [];
    const next = call();
    next.stream.end(Buffer.concat([prefix, payload]));
    await new Promise((resolve) => setTimeout(resolve, 30));
    stalled.stream.end();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const frames = Buffer.concat(held);
    held = undefined;
    socket.write(frames);
    expect(await Promise.all([stalled.status, next.status])).toEqual(['4', '0']);
    await until(async () => (await metricValue(h.apiUrl, 'canary_judge_otlp_in_flight_requests')) === 0);
    expect(h.sink.spans).toHaveLength(knownSpans().length);
    const outcome = (name: string): Promise<number | undefined> =>
      metricValue(h.apiUrl, 'canary_judge_otlp_requests_total', {
        transport: 'grpc',
        signal: 'traces',
        outcome: name,
      });
    expect([await outcome('OTLP_TOO_SLOW'), await outcome('ok')]).toEqual([1, 1]);
    expect(await metricValue(h.apiUrl, 'canary_judge_otlp_ingest_bytes')).toBe(0);
  });

  it('closes a connection idle for otlp.grpc.idleTimeoutMs with GOAWAY', async () => {
    harness = await startTestSidecar({ otlp: { grpc: { idleTimeoutMs: 200 } } });
    const session = openSession(harness);
    await new Promise<void>((resolve) => session.once('connect', () => resolve()));
    const started = Date.now();
    await new Promise<void>((resolve) => session.once('goaway', () => resolve()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});
