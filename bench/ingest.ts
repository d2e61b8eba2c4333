// Ingest benchmark (`npm run bench:ingest`): spans/s and MB/s through OTLP/HTTP-protobuf and OTLP/gRPC
// into the real sidecar, against a null receiver on the same transport in the same run. The null
// receiver reads each request whole and answers an empty success without decoding, so the ratio
// sidecar/null is what our decoding, limits and counting cost on this machine, whatever its speed.
// A load generator runs in a separate process (bench/load-generator.ts); peak RSS is this process's.
//
// The real path: over OTLP/HTTP the sidecar is also measured with 1, 100 and 1 000 analyses running (exactly
// one matches the payload's service and flag; the others name other services and flags), as ratios against
// the same sidecar with no analysis, measured in the same rounds. Spans per CPU-second count this process's
// CPU time (user + system) while a round runs, so they do not depend on what else the machine does.
// Each sidecar is started for its turn and stopped after it, so an idle sidecar's ticks disturb no other.
// When Go is installed, a Go receiver doing a full protobuf-go unmarshal (bench/go-peer) takes its turn too,
// its CPU read from /proc; the table says why when it is not measured. Where taskset is available, this process
// (every receiver but the Go peer runs in it) and the Go peer are pinned to the same core and the load
// generator to the others (go-peer.ts corePinning); the output says when they are not.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { median } from 'simple-statistics';
import { analysisSchema } from '../src/config/analysis.js';
import { parseConfig } from '../src/config/load.js';
import { startSidecar } from '../src/sidecar.js';
import { createLogger } from '../src/telemetry/logger.js';
import {
  buildGoPeer,
  corePinning,
  onCores,
  pinProcess,
  processCpuSeconds,
  startGoPeer,
  type CorePinning,
} from './go-peer.js';
import { buildTraceRequestPayload } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SPANS_PER_REQUEST = 512;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const generator = fileURLToPath(new URL('./load-generator.js', import.meta.url));
const pinning: CorePinning = corePinning();

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

let sidecars = 0;

/**
 * A sidecar on a fresh database with `analyses` running: `analysis-0` matches the payload (service
 * `checkout`, flag `new-checkout`, joined by trace), the others name services and flags the payload lacks.
 */
async function sidecarTarget(transport: 'http' | 'grpc', dir: string, analyses = 0): Promise<Target> {
  sidecars += 1;
  const config = parseConfig({
    otlp: { grpc: { port: 0 }, http: { port: 0 }, maxInFlightRequests: 256 },
    api: { port: 0 },
    storage: { path: join(dir, `bench-${transport}-${sidecars}.sqlite`) },
    judge: { maxAnalyses: 2000, maxRunningRuns: 2000 },
  });
  const sidecar = await startSidecar(config, { logger: createLogger('silent') });
  for (let i = 0; i < analyses; i += 1) {
    const id = `analysis-${i}`;
    const spec = analysisSchema.parse({
      id,
      match: { service: i === 0 ? 'checkout' : `service-${i}`, spanKind: 'client' },
      variant: { flag: i === 0 ? 'new-checkout' : `flag-${i}` },
      baseline: 'off',
      canary: 'on',
      judge: { maxDurationSeconds: 86_400 },
    });
    sidecar.judge.putAnalysis(spec, 'api', false);
    sidecar.judge.startRun(id, 'rev-1', { declaredBy: 'api' });
  }
  const url =
    transport === 'http' ? `http://127.0.0.1:${sidecar.ports.http}` : `127.0.0.1:${sidecar.ports.grpc}`;
  return { url, stop: () => sidecar.stop() };
}

const execFileAsync = promisify(execFile);

interface Run {
  ok: number;
  failed: number;
  elapsedSeconds: number;
  /** This process's CPU seconds (user + system) during the run. */
  cpuSeconds: number;
}

/** Runs the load generator in a child process; asynchronous, because the receiver under test shares this event loop. */
async function drive(
  transport: 'http' | 'grpc',
  url: string,
  payloadFile: string,
  seconds = SECONDS,
  /** The receiver's process when it is not this one (the Go peer). */
  receiverPid?: number,
): Promise<Run> {
  const cpuBefore = process.cpuUsage();
  const peerCpuBefore = receiverPid === undefined ? 0 : processCpuSeconds(receiverPid);
  const [command, args] = onCores(pinning, 'generator', process.execPath, [
    generator,
    transport,
    url,
    payloadFile,
    String(seconds),
    String(CONCURRENCY),
  ]);
  const { stdout: output } = await execFileAsync(command, args, { encoding: 'utf8' });
  const cpu = process.cpuUsage(cpuBefore);
  const run = JSON.parse(output.trim().split('\n').pop()!) as Omit<Run, 'cpuSeconds'>;
  const cpuSeconds =
    receiverPid === undefined
      ? (cpu.user + cpu.system) / 1e6
      : processCpuSeconds(receiverPid) - peerCpuBefore;
  return { ...run, cpuSeconds };
}

const spansPerSecond = (run: Run) => (run.ok * SPANS_PER_REQUEST) / run.elapsedSeconds;
const spansPerCpuSecond = (run: Run) => (run.ok * SPANS_PER_REQUEST) / Math.max(run.cpuSeconds, 1e-9);

/**
 * OTLP/HTTP: the null receiver and the sidecar with 0, 1, 100 and 1 000 running analyses take turns, a
 * fresh sidecar for each turn (a short warm-up first); medians of ROUNDS.
 */
async function realPathRows(dir: string, payloadFile: string, payloadBytes: number): Promise<ResultRow[]> {
  const nullTarget = await nullHttp();
  const variants = [0, ...ANALYSIS_COUNTS];
  const runs = new Map<number | 'null' | 'go', Run[]>([
    ['null', []],
    ['go', []],
  ]);
  for (const n of variants) runs.set(n, []);
  const peakRss = new Map<number, number>();
  const built = buildGoPeer(dir);
  const goPeer = 'binary' in built ? await startGoPeer(built.binary, pinning) : undefined;
  if ('unavailable' in built) process.stdout.write(`Go peer not measured: ${built.unavailable}\n`);
  await drive('http', nullTarget.url, payloadFile, 1);
  if (goPeer) await drive('http', goPeer.url, payloadFile, 1, goPeer.pid);
  for (let round = 0; round < ROUNDS; round += 1) {
    runs.get('null')!.push(await drive('http', nullTarget.url, payloadFile));
    if (goPeer) runs.get('go')!.push(await drive('http', goPeer.url, payloadFile, SECONDS, goPeer.pid));
    for (const analyses of variants) {
      const target = await sidecarTarget('http', dir, analyses);
      await drive('http', target.url, payloadFile, 1); // warm-up
      peakRssBytes = 0;
      runs.get(analyses)!.push(await drive('http', target.url, payloadFile));
      peakRss.set(analyses, Math.max(peakRss.get(analyses) ?? 0, peakRssBytes));
      await target.stop();
    }
  }
  await nullTarget.stop();
  await goPeer?.stop();
  const rate = (key: number | 'null' | 'go') => median(runs.get(key)!.map(spansPerSecond));
  const perCpu = (key: number | 'null' | 'go') => median(runs.get(key)!.map(spansPerCpuSecond));
  const rows: ResultRow[] = [];
  rows.push({
    transport: 'OTLP/HTTP protobuf',
    receiver: `Go net/http + protobuf-go Unmarshal, GOMAXPROCS=1${'unavailable' in pinning ? '' : ', same core'}`,
    'spans/s (median)': goPeer
      ? Math.round(rate('go'))
      : `not measured: ${(built as { unavailable: string }).unavailable}`,
    'spans per CPU-s': goPeer ? Math.round(perCpu('go')) : '-',
    'MB/s': goPeer ? Number(((rate('go') / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)) : '-',
    'failed requests': runs.get('go')!.reduce((sum, run) => sum + run.failed, 0),
    'peak RSS MB': '-',
    'ratio to null': goPeer ? Number((rate('go') / rate('null')).toFixed(2)) : '-',
    'ratio to 0 analyses (per CPU-s)': '-',
    'ratio to Go (per CPU-s)': goPeer ? 1 : '-',
  });
  for (const key of ['null' as const, ...variants]) {
    rows.push({
      transport: 'OTLP/HTTP protobuf',
      receiver: key === 'null' ? 'null' : `sidecar, ${key} analyses${key > 0 ? ' (1 matching)' : ''}`,
      'spans/s (median)': Math.round(rate(key)),
      'spans per CPU-s': Math.round(perCpu(key)),
      'MB/s': Number(((rate(key) / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)),
      'failed requests': runs.get(key)!.reduce((sum, run) => sum + run.failed, 0),
      'peak RSS MB': key === 'null' ? '-' : Math.round(peakRss.get(key)! / 1e6),
      'ratio to null': Number((rate(key) / rate('null')).toFixed(2)),
      'ratio to 0 analyses (per CPU-s)': key === 'null' ? '-' : Number((perCpu(key) / perCpu(0)).toFixed(2)),
      'ratio to Go (per CPU-s)':
        key === 'null' || !goPeer ? '-' : Number((perCpu(key) / perCpu('go')).toFixed(2)),
    });
  }
  return rows;
}

const ANALYSIS_COUNTS = [1, 100, 1000];
let peakRssBytes = 0;

/** What the output and the results say about core pinning. */
function pinningNote(): string {
  return 'unavailable' in pinning
    ? `receivers not pinned: ${pinning.unavailable}`
    : `receivers (this process, hosting the sidecar and the null receivers, and the Go peer) pinned to core ${pinning.receiverCore} with taskset; load generator on core(s) ${pinning.generatorCores}`;
}

async function main(): Promise<void> {
  if (!('unavailable' in pinning)) pinProcess(process.pid, pinning.receiverCore);
  process.stdout.write(`${pinningNote()}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-'));
  const payload = buildTraceRequestPayload({ spans: SPANS_PER_REQUEST });
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, payload);
  const sampler = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss)), 50);
  const rows: ResultRow[] = await realPathRows(dir, payloadFile, payload.length);
  {
    // OTLP/gRPC: both receivers stay up and take turns, so a change in machine load hits both alike; medians of ROUNDS.
    const transport = 'grpc';
    const targets = {
      null: await nullGrpc(),
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
    const rate = {
      null: median(runs.null.map(spansPerSecond)),
      sidecar: median(runs.sidecar.map(spansPerSecond)),
    };
    for (const receiver of ['null', 'sidecar'] as const) {
      rows.push({
        transport: 'OTLP/gRPC',
        receiver,
        'spans/s (median)': Math.round(rate[receiver]),
        'spans per CPU-s': Math.round(median(runs[receiver].map(spansPerCpuSecond))),
        'MB/s': Number(((rate[receiver] / SPANS_PER_REQUEST) * (payload.length / 1e6)).toFixed(1)),
        'failed requests': runs[receiver].reduce((sum, run) => sum + run.failed, 0),
        'peak RSS MB': receiver === 'sidecar' ? Math.round(sidecarPeakRss / 1e6) : '-',
        'ratio to null': receiver === 'sidecar' ? Number((rate.sidecar / rate.null).toFixed(2)) : 1,
        'ratio to 0 analyses (per CPU-s)': receiver === 'sidecar' ? 1 : '-',
        'ratio to Go (per CPU-s)': '-',
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
    note: 'sidecar and null receiver run in this process (one core); the load generator in a child process; OTLP/HTTP rows with analyses: a fresh sidecar per turn, one analysis matching',
    pinning: pinningNote(),
    cpu: cpus()[0]?.model ?? 'unknown',
  });
}

void main();
