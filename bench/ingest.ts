// Ingest benchmark (`npm run bench:ingest`): spans/s and MB/s through OTLP/HTTP-protobuf and OTLP/gRPC
// into the real sidecar, against a null receiver on the same transport in the same run. The null
// receiver reads each request whole and answers an empty success without decoding, so the ratio
// sidecar/null is what our decoding, limits and counting cost on this machine, whatever its speed.
//
// Every receiver runs in a fresh process of its own for each turn, so no row pays for the garbage, GC or JIT
// of another: the null receivers (bench/null-receiver.ts), the sidecar started as `npm start` starts it
// (`node <its flags> <its script> --config <file>`, bench/start-command.ts) and, when Go is installed, a Go receiver
// doing a full protobuf-go unmarshal (bench/go-peer); the table says why when it is not measured. Each turn
// warms its receiver up (WARMUP_SECONDS of the same load) before the measured window. Spans per CPU-second
// count the receiver process's CPU time (user + system, all its threads: GC and JIT threads count, as
// the Go runtime's do) during the measured window, read from /proc, so they do not depend on what else the
// machine does. Where taskset is available every receiver is pinned to the same core and the load generator
// (bench/load-generator.ts, a process of its own) to the others (go-peer.ts corePinning); the output says
// when they are not. Peak RSS is the receiver process's (VmHWM). Before each turn a machine-speed probe
// (speed-probe.ts: a fixed decode workload in a fresh process on the receivers' core) is timed and reported per
// turn and per row: this VM's core was seen to switch between two speeds ~1.6x apart, which, not the sidecar,
// made fresh processes read bimodal; the probe changes no figure, it shows in which state each row ran.
//
// The real path: over OTLP/HTTP the sidecar is also measured with 1, 100 and 1 000 analyses running (exactly
// one matches the payload's service and flag; the others name other services and flags), as ratios against
// the same sidecar with no analysis, measured in the same rounds.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { median } from 'simple-statistics';
import {
  buildGoPeer,
  corePinning,
  onCores,
  processCpuSeconds,
  startGoPeer,
  type CorePinning,
} from './go-peer.js';
import { buildTraceRequestPayload, ingestBenchAnalysis } from './payloads.js';
import { markdownTable, writeResults, type ResultRow } from './results.js';
import { productionMainScript, productionNodeFlags } from './start-command.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const SPANS_PER_REQUEST = 512;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ANALYSIS_COUNTS = [1, 100, 1000];
const generator = fileURLToPath(new URL('./load-generator.js', import.meta.url));
const nullReceiver = fileURLToPath(new URL('./null-receiver.js', import.meta.url));
const speedProbe = fileURLToPath(new URL('./speed-probe.js', import.meta.url));
const sidecarMain = productionMainScript();
/** The node flags of `npm start` (package.json), so each sidecar runs as users run it. */
const SIDECAR_NODE_FLAGS = productionNodeFlags();
const pinning: CorePinning = corePinning();

/** A receiver running in a child process of its own. */
interface Receiver {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `command args` on the receivers' core; resolves with the port `portOf` finds in a line of its stdout. */
async function startReceiver(
  command: string,
  args: string[],
  portOf: (line: string) => number | undefined,
  url: (port: number) => string,
): Promise<Receiver> {
  // taskset execs the command, so the child's pid is the receiver's.
  const [pinned, pinnedArgs] = onCores(pinning, 'receiver', command, args);
  const child: ChildProcess = spawn(pinned, pinnedArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${command} ${args.join(' ')} exited (${code})`)));
    lines.on('line', (line) => {
      const found = portOf(line);
      if (found !== undefined) resolve(found);
    });
  });
  lines.removeAllListeners('line');
  lines.on('line', () => undefined); // keep draining its output
  return {
    url: url(port),
    pid: child.pid!,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const listeningPort = (line: string) => {
  const match = /^listening (\d+)$/.exec(line);
  return match ? Number(match[1]) : undefined;
};

function startNull(transport: 'http' | 'grpc'): Promise<Receiver> {
  return startReceiver(process.execPath, [nullReceiver, transport], listeningPort, (port) =>
    transport === 'http' ? `http://127.0.0.1:${port}` : `127.0.0.1:${port}`,
  );
}

let sidecars = 0;

/**
 * A sidecar process on a fresh database with `analyses` running (ingestBenchAnalysis), from a config file as in
 * production.
 */
function startSidecarProcess(transport: 'http' | 'grpc', dir: string, analyses: number): Promise<Receiver> {
  sidecars += 1;
  const configFile = join(dir, `bench-${sidecars}.json`);
  const config = {
    otlp: { grpc: { port: 0 }, http: { port: 0 }, maxInFlightRequests: 256 },
    api: { port: 0 },
    storage: { path: join(dir, `bench-${sidecars}.sqlite`) },
    log: { level: 'info', format: 'json' },
    judge: { maxAnalyses: 2000, maxRunningRuns: 2000 },
    analyses: Array.from({ length: analyses }, (_, i) => ({
      ...ingestBenchAnalysis(i),
      judge: { maxDurationSeconds: 86_400 },
      run: { revision: 'rev-1' },
    })),
  };
  writeFileSync(configFile, JSON.stringify(config));
  const portOf = (line: string) => {
    if (!line.includes('canary-judge started')) return undefined;
    const { ports } = JSON.parse(line) as { ports: { http: number; grpc: number } };
    return transport === 'http' ? ports.http : ports.grpc;
  };
  return startReceiver(
    process.execPath,
    [...SIDECAR_NODE_FLAGS, sidecarMain, '--config', configFile],
    portOf,
    (port) => (transport === 'http' ? `http://127.0.0.1:${port}` : `127.0.0.1:${port}`),
  );
}

const execFileAsync = promisify(execFile);

interface Run {
  ok: number;
  failed: number;
  elapsedSeconds: number;
  /** The receiver process's CPU seconds (user + system, all threads) during the measured window. */
  cpuSeconds: number;
  /** The receiver process's peak RSS so far (VmHWM), bytes. */
  peakRssBytes: number;
  /** The machine-speed probe's CPU microseconds per decode just before the turn (speed-probe.ts). */
  probeMicros: number;
}

function peakRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function load(transport: 'http' | 'grpc', url: string, payloadFile: string, seconds: number) {
  const [command, args] = onCores(pinning, 'generator', process.execPath, [
    generator,
    transport,
    url,
    payloadFile,
    String(seconds),
    String(CONCURRENCY),
  ]);
  const { stdout } = await execFileAsync(command, args, { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Omit<Run, 'cpuSeconds' | 'peakRssBytes'>;
}

/** The machine-speed probe (speed-probe.ts) on the receivers' core: CPU microseconds per decode right now. */
async function probeMicros(payloadFile: string): Promise<number> {
  const [command, args] = onCores(pinning, 'receiver', process.execPath, [speedProbe, payloadFile]);
  const { stdout } = await execFileAsync(command, args, { encoding: 'utf8' });
  return Number(stdout.trim());
}

/** One turn: the speed probe, then a fresh receiver, warmed up, then measured for SECONDS, then stopped. */
async function turn(
  transport: 'http' | 'grpc',
  start: () => Promise<Receiver>,
  payloadFile: string,
): Promise<Run> {
  const probe = await probeMicros(payloadFile);
  const receiver = await start();
  try {
    await load(transport, receiver.url, payloadFile, WARMUP_SECONDS);
    const cpuBefore = processCpuSeconds(receiver.pid);
    const run = await load(transport, receiver.url, payloadFile, SECONDS);
    const cpuSeconds = processCpuSeconds(receiver.pid) - cpuBefore;
    return { ...run, cpuSeconds, peakRssBytes: peakRssBytes(receiver.pid), probeMicros: probe };
  } finally {
    await receiver.stop();
  }
}

const spansPerSecond = (run: Run) => (run.ok * SPANS_PER_REQUEST) / run.elapsedSeconds;
const spansPerCpuSecond = (run: Run) => (run.ok * SPANS_PER_REQUEST) / Math.max(run.cpuSeconds, 1e-9);

type Key = number | 'null' | 'go';

/** OTLP/HTTP: the Go peer, the null receiver and the sidecar with 0, 1, 100 and 1 000 analyses take turns; medians of ROUNDS. */
async function realPathRows(dir: string, payloadFile: string, payloadBytes: number): Promise<ResultRow[]> {
  const variants = [0, ...ANALYSIS_COUNTS];
  const built = buildGoPeer(dir);
  if ('unavailable' in built) process.stdout.write(`Go peer not measured: ${built.unavailable}\n`);
  const starts = new Map<Key, () => Promise<Receiver>>([['null', () => startNull('http')]]);
  if ('binary' in built) starts.set('go', () => startGoPeer(built.binary, pinning));
  for (const n of variants) starts.set(n, () => startSidecarProcess('http', dir, n));
  // BENCH_INGEST_KEYS=go,1 measures only those rows (quicker A/B comparisons; results are then not written).
  const keys = process.env.BENCH_INGEST_KEYS?.split(',');
  if (keys) for (const key of [...starts.keys()]) if (!keys.includes(String(key))) starts.delete(key);
  const runs = new Map<Key, Run[]>([...starts.keys()].map((key) => [key, []]));
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [key, start] of starts) {
      const run = await turn('http', start, payloadFile);
      runs.get(key)!.push(run);
      // Every turn, so a reader can see which turns ran while the machine was slow (speed-probe.ts).
      process.stdout.write(
        `round ${round + 1} ${String(key)}: ${Math.round(spansPerCpuSecond(run))} spans per CPU-s, probe ${run.probeMicros} us\n`,
      );
    }
  }
  const measuredGo = starts.has('go');
  const rate = (key: Key) => (starts.has(key) ? median(runs.get(key)!.map(spansPerSecond)) : NaN);
  const perCpu = (key: Key) => (starts.has(key) ? median(runs.get(key)!.map(spansPerCpuSecond)) : NaN);
  /** A ratio of two medians to two places, or '-' when either row was not measured (BENCH_INGEST_KEYS). */
  const ratioOf = (value: number, to: number) =>
    Number.isNaN(value) || Number.isNaN(to) ? '-' : Number((value / to).toFixed(2));
  // The same ratio taken within each round, then its median over the rounds (a paired estimate, beside the
  // ratio of the medians above, which stays). The host switches between two speeds ~1.6x apart, and a round's
  // turns run within a minute of each other, so they share its state more often than turns of different
  // rounds; a ratio of medians can divide a fast round's turn by a slow round's. Rounds are printed below.
  const roundRatios = (key: Key, to: Key): number[] =>
    runs.get(key)!.map((run, round) => spansPerCpuSecond(run) / spansPerCpuSecond(runs.get(to)![round]));
  const pairedRatio = (key: Key, to: Key) =>
    starts.has(key) && starts.has(to) ? Number(median(roundRatios(key, to)).toFixed(2)) : '-';
  for (const key of variants) {
    if (!starts.has(key)) continue;
    const against = ([0, 'go'] as Key[]).filter((to) => to !== key && starts.has(to));
    if (against.length === 0) continue;
    const listed = against.map(
      (to) =>
        `to ${to === 'go' ? 'Go' : '0 analyses'} ${roundRatios(key, to)
          .map((ratio) => ratio.toFixed(2))
          .join(', ')}`,
    );
    process.stdout.write(`${key} analyses, per-round ratios per CPU-s: ${listed.join('; ')}\n`);
  }
  const peakRss = (key: Key) => Math.round(Math.max(...runs.get(key)!.map((run) => run.peakRssBytes)) / 1e6);
  const probe = (key: Key) => Math.round(median(runs.get(key)!.map((run) => run.probeMicros)));
  const rows: ResultRow[] = [];
  rows.push({
    transport: 'OTLP/HTTP protobuf',
    receiver: `Go net/http + protobuf-go Unmarshal, GOMAXPROCS=1${'unavailable' in pinning ? '' : ', same core'}`,
    'spans/s (median)': measuredGo
      ? Math.round(rate('go'))
      : `not measured: ${'unavailable' in built ? built.unavailable : 'not in BENCH_INGEST_KEYS'}`,
    'spans per CPU-s': measuredGo ? Math.round(perCpu('go')) : '-',
    'MB/s': measuredGo ? Number(((rate('go') / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)) : '-',
    'failed requests': measuredGo ? runs.get('go')!.reduce((sum, run) => sum + run.failed, 0) : '-',
    'peak RSS MB': measuredGo ? peakRss('go') : '-',
    'ratio to null': measuredGo ? ratioOf(rate('go'), rate('null')) : '-',
    'ratio to 0 analyses (per CPU-s)': '-',
    'ratio to Go (per CPU-s)': measuredGo ? 1 : '-',
    'ratio to 0 analyses (per CPU-s), median of rounds': '-',
    'ratio to Go (per CPU-s), median of rounds': measuredGo ? 1 : '-',
    'speed probe us (median)': measuredGo ? probe('go') : '-',
  });
  for (const key of ['null' as const, ...variants]) {
    if (!starts.has(key)) continue;
    rows.push({
      transport: 'OTLP/HTTP protobuf',
      receiver: key === 'null' ? 'null' : `sidecar, ${key} analyses${key > 0 ? ' (1 matching)' : ''}`,
      'spans/s (median)': Math.round(rate(key)),
      'spans per CPU-s': Math.round(perCpu(key)),
      'MB/s': Number(((rate(key) / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)),
      'failed requests': runs.get(key)!.reduce((sum, run) => sum + run.failed, 0),
      'peak RSS MB': peakRss(key),
      'ratio to null': ratioOf(rate(key), rate('null')),
      'ratio to 0 analyses (per CPU-s)': key === 'null' ? '-' : ratioOf(perCpu(key), perCpu(0)),
      'ratio to Go (per CPU-s)': ratioOf(perCpu(key), perCpu('go')),
      'ratio to 0 analyses (per CPU-s), median of rounds': key === 'null' ? '-' : pairedRatio(key, 0),
      'ratio to Go (per CPU-s), median of rounds': pairedRatio(key, 'go'),
      'speed probe us (median)': probe(key),
    });
  }
  return rows;
}

/** OTLP/gRPC: the null receiver and the sidecar with no analysis take turns; medians of ROUNDS. */
async function grpcRows(dir: string, payloadFile: string, payloadBytes: number): Promise<ResultRow[]> {
  const starts = {
    null: () => startNull('grpc'),
    sidecar: () => startSidecarProcess('grpc', dir, 0),
  };
  const runs: Record<'null' | 'sidecar', Run[]> = { null: [], sidecar: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const receiver of ['null', 'sidecar'] as const)
      runs[receiver].push(await turn('grpc', starts[receiver], payloadFile));
  }
  const rate = (receiver: 'null' | 'sidecar') => median(runs[receiver].map(spansPerSecond));
  return (['null', 'sidecar'] as const).map((receiver) => ({
    transport: 'OTLP/gRPC',
    receiver,
    'spans/s (median)': Math.round(rate(receiver)),
    'spans per CPU-s': Math.round(median(runs[receiver].map(spansPerCpuSecond))),
    'MB/s': Number(((rate(receiver) / SPANS_PER_REQUEST) * (payloadBytes / 1e6)).toFixed(1)),
    'failed requests': runs[receiver].reduce((sum, run) => sum + run.failed, 0),
    'peak RSS MB': Math.round(Math.max(...runs[receiver].map((run) => run.peakRssBytes)) / 1e6),
    'ratio to null': receiver === 'sidecar' ? Number((rate('sidecar') / rate('null')).toFixed(2)) : 1,
    'ratio to 0 analyses (per CPU-s)': receiver === 'sidecar' ? 1 : '-',
    'ratio to Go (per CPU-s)': '-',
    'ratio to 0 analyses (per CPU-s), median of rounds': '-',
    'ratio to Go (per CPU-s), median of rounds': '-',
    'speed probe us (median)': Math.round(median(runs[receiver].map((run) => run.probeMicros))),
  }));
}

/** What the output and the results say about core pinning. */
function pinningNote(): string {
  return 'unavailable' in pinning
    ? `receivers not pinned: ${pinning.unavailable}`
    : `every receiver (null, sidecar, Go peer; each a fresh process per turn) pinned to core ${pinning.receiverCore} with taskset; load generator on core(s) ${pinning.generatorCores}`;
}

async function main(): Promise<void> {
  process.stdout.write(`${pinningNote()}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-'));
  const payload = buildTraceRequestPayload({ spans: SPANS_PER_REQUEST });
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, payload);
  const only = process.env.BENCH_INGEST_KEYS === undefined ? process.env.BENCH_INGEST_ONLY : 'http'; // quicker comparisons
  const rows: ResultRow[] = [
    ...(only === 'grpc' ? [] : await realPathRows(dir, payloadFile, payload.length)),
    ...(only === 'http' ? [] : await grpcRows(dir, payloadFile, payload.length)),
  ];
  rmSync(dir, { recursive: true, force: true });
  if (only !== undefined) {
    process.stdout.write(`${markdownTable(rows)}(a subset of the rows: results not written)\n`);
    return;
  }
  writeResults('ingest', rows, {
    payloadBytes: payload.length,
    spansPerRequest: SPANS_PER_REQUEST,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    note: 'every receiver a fresh process per turn (the sidecar as `npm start` runs it), warmed up before the measured window; CPU is the receiver process’s, all threads, from /proc; OTLP/HTTP rows with analyses: one analysis matching',
    pinning: pinningNote(),
    cpu: cpus()[0]?.model ?? 'unknown',
  });
}

void main();
