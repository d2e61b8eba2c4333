// Ingest benchmark (`npm run bench:ingest`): spans/s and MB/s through OTLP/HTTP-protobuf and OTLP/gRPC
// into the real sidecar, against a null receiver on the same transport in the same run. The null
// receiver reads each request whole and answers an empty success without decoding, so the ratio
// sidecar/null is what our decoding, limits and counting cost on this machine, whatever its speed.
// A load generator runs in a separate process (bench/load-generator.ts); peak RSS is this process's.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { parseConfig } from '../src/config/load.js';
import { startSidecar } from '../src/sidecar.js';
import { createLogger } from '../src/telemetry/logger.js';
import { buildTraceRequestPayload } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SPANS_PER_REQUEST = 512;
const generator = fileURLToPath(new URL('./load-generator.js', import.meta.url));

interface Target {
  url: string;
  stop(): Promise<void>;
}

async function nullHttp(): Promise<Target> {
  const server = createServer((request, response) => {
    // Reads the body whole, as any receiver must before decoding, then answers without decoding it.
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      Buffer.concat(chunks);
      response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': 0 });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function nullGrpc(): Promise<Target> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const identity = (bytes: Buffer) => bytes;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    {
      Export: (_call: unknown, callback: (error: null, response: Buffer) => void) =>
        callback(null, Buffer.alloc(0)),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    url: `127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

async function sidecarTarget(transport: 'http' | 'grpc', dir: string): Promise<Target> {
  const config = parseConfig({
    otlp: { grpc: { port: 0 }, http: { port: 0 }, maxInFlightRequests: 256 },
    api: { port: 0 },
    storage: { path: join(dir, `bench-${transport}.sqlite`) },
  });
  const sidecar = await startSidecar(config, { logger: createLogger('silent') });
  const url =
    transport === 'http' ? `http://127.0.0.1:${sidecar.ports.http}` : `127.0.0.1:${sidecar.ports.grpc}`;
  return { url, stop: () => sidecar.stop() };
}

const execFileAsync = promisify(execFile);

/** Runs the load generator in a child process; asynchronous, because the receiver under test shares this event loop. */
async function drive(
  transport: 'http' | 'grpc',
  url: string,
  payloadFile: string,
): Promise<{ ok: number; failed: number; elapsedSeconds: number }> {
  const { stdout: output } = await execFileAsync(
    process.execPath,
    [generator, transport, url, payloadFile, String(SECONDS), String(CONCURRENCY)],
    { encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').pop()!) as {
    ok: number;
    failed: number;
    elapsedSeconds: number;
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-'));
  const payload = buildTraceRequestPayload({ spans: SPANS_PER_REQUEST });
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, payload);
  let peakRssBytes = 0;
  const sampler = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)), 50);
  const rows: ResultRow[] = [];
  for (const transport of ['http', 'grpc'] as const) {
    const rates: Record<string, number> = {};
    for (const receiver of ['null', 'sidecar'] as const) {
      const target =
        receiver === 'null'
          ? await (transport === 'http' ? nullHttp() : nullGrpc())
          : await sidecarTarget(transport, dir);
      await drive(transport, target.url, payloadFile); // warm-up run, discarded
      peakRssBytes = 0;
      const run = await drive(transport, target.url, payloadFile);
      await target.stop();
      const spansPerSecond = (run.ok * SPANS_PER_REQUEST) / run.elapsedSeconds;
      rates[receiver] = spansPerSecond;
      rows.push({
        transport: transport === 'http' ? 'OTLP/HTTP protobuf' : 'OTLP/gRPC',
        receiver,
        'spans/s': Math.round(spansPerSecond),
        'MB/s': Number(((run.ok * payload.length) / run.elapsedSeconds / 1e6).toFixed(1)),
        'failed requests': run.failed,
        'peak RSS MB': receiver === 'sidecar' ? Math.round(peakRssBytes / 1e6) : '-',
        'ratio to null': receiver === 'sidecar' ? Number((spansPerSecond / rates.null).toFixed(2)) : 1,
      });
    }
  }
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
  writeResults('ingest', rows, {
    payloadBytes: payload.length,
    spansPerRequest: SPANS_PER_REQUEST,
    seconds: SECONDS,
    concurrency: CONCURRENCY,
    note: 'sidecar and null receiver run in this process (one core); the load generator in a child process',
    cpu: cpus()[0]?.model ?? 'unknown',
  });
}

void main();
