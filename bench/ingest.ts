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
import { median } from 'simple-statistics';
import { parseConfig } from '../src/config/load.js';
import { startSidecar } from '../src/sidecar.js';
import { createLogger } from '../src/telemetry/logger.js';
import { buildTraceRequestPayload } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SPANS_PER_REQUEST = 512;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
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

interface Run {
  ok: number;
  failed: number;
  elapsedSeconds: number;
}

/** Runs the load generator in a child process; asynchronous, because the receiver under test shares this event loop. */
async function drive(transport: 'http' | 'grpc', url: string, payloadFile: string): Promise<Run> {
  const { stdout: output } = await execFileAsync(
    process.execPath,
    [generator, transport, url, payloadFile, String(SECONDS), String(CONCURRENCY)],
    { encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').pop()!) as Run;
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
    // Both receivers stay up and take turns, so a change in machine load hits both alike; medians of ROUNDS.
    const targets = {
      null: await (transport === 'http' ? nullHttp() : nullGrpc()),
      sidecar: await sidecarTarget(transport, dir),
    };
    const runs: Record<'null' | 'sidecar', Run[]> = { null: [], sidecar: [] };
    let sidecarPeakRss = 0;
    for (const receiver of ['null', 'sidecar'] as const)
      await drive(transport, targets[receiver].url, payloadFile); // warm-up
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const receiver of ['null', 'sidecar'] as const) {
        peakRssBytes = 0;
        runs[receiver].push(await drive(transport, targets[receiver].url, payloadFile));
        if (receiver === 'sidecar') sidecarPeakRss = Math.max(sidecarPeakRss, peakRssBytes);
      }
    }
    await Promise.all([targets.null.stop(), targets.sidecar.stop()]);
    const spansPerSecond = (run: Run) => (run.ok * SPANS_PER_REQUEST) / run.elapsedSeconds;
    const rate = {
      null: median(runs.null.map(spansPerSecond)),
      sidecar: median(runs.sidecar.map(spansPerSecond)),
    };
    for (const receiver of ['null', 'sidecar'] as const) {
      rows.push({
        transport: transport === 'http' ? 'OTLP/HTTP protobuf' : 'OTLP/gRPC',
        receiver,
        'spans/s (median)': Math.round(rate[receiver]),
        'MB/s': Number(((rate[receiver] / SPANS_PER_REQUEST) * (payload.length / 1e6)).toFixed(1)),
        'failed requests': runs[receiver].reduce((sum, run) => sum + run.failed, 0),
        'peak RSS MB': receiver === 'sidecar' ? Math.round(sidecarPeakRss / 1e6) : '-',
        'ratio to null': receiver === 'sidecar' ? Number((rate.sidecar / rate.null).toFixed(2)) : 1,
      });
    }
  }
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
  writeResults('ingest', rows, {
    payloadBytes: payload.length,
    spansPerRequest: SPANS_PER_REQUEST,
    seconds: SECONDS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    note: 'sidecar and null receiver run in this process (one core); the load generator in a child process',
    cpu: cpus()[0]?.model ?? 'unknown',
  });
}

void main();
