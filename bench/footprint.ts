// Footprint benchmark (`npm run bench -- footprint`): the sidecar as a user runs it (its own process, started
// like `npm start` and the Dockerfile: `node <the start script's flags> <its script> --config ...`, one
// analysis with a running run) beside a service instrumented with
// the real OpenTelemetry JS SDK (BasicTracerProvider, BatchSpanProcessor with its defaults, OTLP/HTTP
// protobuf exporter), at 1k and 5k spans/s, and idle. Reported: the sidecar process's CPU share of one core
// (utime + stime from /proc over the measured window), CPU microseconds per span, and its RSS (median of
// samples every 250 ms = steady, max = peak), beside the OpenTelemetry Collector's published load test
// (opentelemetry-collector-contrib docs/benchmarks/loadtests, Trace10kSPS OTLP-HTTP: 5.4% of a core and
// 51 MiB RSS at 10k spans/s) scaled linearly to the same rate. The load (this process) and the sidecar
// share the machine; the figures are the sidecar's own. Measured twice: with the defaults, and with
// api.eventLoopLagResolutionMs at 100 (the event-loop sampler, src/otlp/event-loop-lag.ts, samples a busy loop
// every 100 ms instead of every 20 ms while export requests arrive; a mostly free loop, as at these rates, and
// an idle one it samples once a second either way, so the two rows differ only where the loop turns busy).
// The floor: the same SDK load sent to bench/null-receiver.ts's OTLP/HTTP receiver (Node's HTTP server reading
// each body whole and answering an empty success, no decode), started with the same node flags, so each sidecar
// row also reads its CPU above what Node's HTTP transport and process alone take at that load.
// Opt-in rows `steady-null` and `steady` hold 5k spans/s for BENCH_STEADY_WARMUP_MS (120 s) more, then measure
// a minute: at ~10 exports a second V8 takes minutes to optimise the code a request runs (its counters fill
// slowly), and what outlives a scavenge grows the old generation until a major GC (until stop 23 every
// correlation window's trace keys did), which a 20 s window after 5 s of load does not show
// (docs/performance-notes.md, footprint). Options: BENCH_FOOTPRINT_ROWS (comma list of null, defaults, lag-100,
// from-start, steady-null, steady; default the first four) and
// BENCH_FOOTPRINT_LOADS (comma list of spans/s, 0 = idle; default 0,1000,5000) run a part of the table, e.g.
// for A/B pairs of one row; BENCH_FOOTPRINT_EXTRA_FLAGS adds node flags to the measured processes (diagnosis);
// BENCH_STEADY_WARMUP_MS and BENCH_STEADY_MEASURE_MS set the steady rows' hold and window (e.g. 0 and 200000 for
// a 200 s window from the start of the load); BENCH_FOOTPRINT_RSS_TRACE=1 prints each window's RSS per 10 s;
// BENCH_FOOTPRINT_THREADS=1 prints each window's CPU split by thread (the main thread, V8's and libuv's workers).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { median } from 'simple-statistics';
import { writeResults, type ResultRow } from './results.js';
import { productionMainScript, productionNodeFlags } from './start-command.js';

const WARM_UP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5_000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 20_000);
/** The loads measured after the idle window, in spans/s (0 is the idle window itself). */
const LOADS = (process.env.BENCH_FOOTPRINT_LOADS ?? '0,1000,5000').split(',').map(Number);
const ROWS = (process.env.BENCH_FOOTPRINT_ROWS ?? 'null,defaults,lag-100,from-start').split(',');
const STEADY_RATE = 5_000;
/** BENCH_FOOTPRINT_RSS_TRACE=1 prints each window's RSS per 10 s (diagnosis). */
const RSS_TRACE = process.env.BENCH_FOOTPRINT_RSS_TRACE === '1';
/**
 * BENCH_FOOTPRINT_THREADS=1 prints each window's CPU by thread: the process figure also holds V8's background
 * threads (TurboFan, concurrent marking, parallel scavenges), which decide whether a cut belongs in our code.
 */
const THREAD_TRACE = process.env.BENCH_FOOTPRINT_THREADS === '1';
const STEADY_WARMUP_MS = Number(process.env.BENCH_STEADY_WARMUP_MS ?? 120_000);
const STEADY_MEASURE_MS = Number(process.env.BENCH_STEADY_MEASURE_MS ?? 60_000);
const nullReceiverScript = fileURLToPath(new URL('./null-receiver.js', import.meta.url));
/**
 * Idle is measured from this long after the sidecar answers /healthz: past its first ticks and snapshot, whose
 * one-time work (the first tick's cached sample-size searches, JIT compilation, the young generation's growth)
 * made the earlier 2-12 s window read about twice the steady idle CPU.
 */
const IDLE_SETTLE_MS = Number(process.env.BENCH_IDLE_SETTLE_MS ?? 15_000);
/** The Collector's Trace10kSPS OTLP-HTTP row: CPU % of a core and RSS MiB at 10k spans/s. */
const COLLECTOR = { spansPerSecond: 10_000, cpuPercent: 5.4, rssMiB: 51 };
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux
/** The node flags and script of `npm start` (package.json), which the Dockerfile's ENTRYPOINT repeats. */
const NODE_FLAGS = productionNodeFlags();
/** Node flags added for a diagnosis only (BENCH_FOOTPRINT_EXTRA_FLAGS, e.g. --perf-basic-prof for perf). */
const EXTRA_FLAGS = (process.env.BENCH_FOOTPRINT_EXTRA_FLAGS ?? '').split(/\s+/).filter(Boolean);
const mainScript = productionMainScript();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** CPU seconds per thread so far (/proc/<pid>/task/<tid>/stat), keyed `<tid> <name>`; the main thread's tid is the pid. */
function threadCpuSeconds(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(`${tid} ${name}`, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/** Each thread's CPU % of a core over `elapsed` s, summed by thread name, the main thread apart. */
function threadSplit(pid: number, before: Map<string, number>, elapsed: number): string {
  const byName = new Map<string, number>();
  for (const [key, seconds] of threadCpuSeconds(pid)) {
    const [tid, name] = [key.slice(0, key.indexOf(' ')), key.slice(key.indexOf(' ') + 1)];
    const label = tid === String(pid) ? 'main' : name;
    byName.set(label, (byName.get(label) ?? 0) + seconds - (before.get(key) ?? 0));
  }
  return [...byName]
    .sort((a, b) => b[1] - a[1])
    .map(([name, seconds]) => `${name} ${((100 * seconds) / elapsed).toFixed(2)}`)
    .join(', ');
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The sidecar configurations measured: settings merged into the config below, and how the table names them. */
type Settings = { api?: Record<string, unknown>; judge?: Record<string, unknown> };

const CONFIGURATIONS: Array<{ key: string; name: string; settings: Settings }> = [
  { key: 'defaults', name: 'defaults', settings: {} },
  {
    key: 'lag-100',
    name: 'api.eventLoopLagResolutionMs 100',
    settings: { api: { eventLoopLagResolutionMs: 100 } },
  },
];

/** A process receiving the SDK's exports: its pid, its OTLP/HTTP port, and how to stop it. */
interface Target {
  pid: number;
  httpPort: number;
  stop(): Promise<void>;
  /** The sidecar's run verdict (`running` while it judges; a final verdict stops its attribution). */
  verdict?(): Promise<string>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return () => {
    child.kill('SIGTERM');
    return exited;
  };
}

/** bench/null-receiver.ts's OTLP/HTTP receiver, started with the sidecar's node flags. */
async function startNullReceiver(): Promise<Target> {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...EXTRA_FLAGS, nullReceiverScript, 'http'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = stopper(child);
  const lines = createInterface({ input: child.stdout! });
  const httpPort = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the null receiver exited (${code})`)));
    lines.on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  return { pid: child.pid!, httpPort, stop };
}

async function startSidecar(dir: string, settings: Settings): Promise<Target> {
  const [httpPort, grpcPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      otlp: { http: { port: httpPort }, grpc: { port: grpcPort } },
      api: { port: apiPort, ...settings.api },
      storage: { path: join(dir, 'state.sqlite') },
      log: { level: 'warn', format: 'json' },
      analyses: [
        {
          id: 'checkout',
          match: { service: 'checkout', spanKind: 'client' },
          variant: { flag: 'new-checkout' },
          baseline: 'off',
          canary: 'on',
          run: { revision: 'rev-1' },
          ...(settings.judge ? { judge: settings.judge } : {}),
        },
      ],
    }),
  );
  const child = spawn(process.execPath, [...NODE_FLAGS, ...EXTRA_FLAGS, mainScript, '--config', configPath], {
    stdio: 'inherit',
  });
  const stop = stopper(child);
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${apiPort}/healthz`)).ok)
        return { pid: child.pid!, httpPort, stop, verdict: () => runVerdict(apiPort) };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error('the sidecar did not become healthy');
}

/**
 * The benchmark run's verdict. A run that reaches a final verdict (with this A/A load, `pass` after a few
 * minutes) is closed and its traffic no longer attributed, so a window measured after that reads a sidecar
 * that only decodes: each row says what the run was at the end of its window.
 */
async function runVerdict(apiPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${apiPort}/api/v1/analyses/checkout/runs/rev-1/verdict`);
  if (!response.ok) return `HTTP ${response.status}`;
  const document = (await response.json()) as { verdict?: string; updatedAt?: string };
  return document.verdict ?? '?';
}

/** A service's traffic: traces of 4 spans (a server span, 3 client spans), a flag evaluation on the root. */
function startLoad(provider: BasicTracerProvider, spansPerSecond: number): () => number {
  const tracer = provider.getTracer('bench-footprint');
  const TICK_MS = 20;
  let sent = 0;
  let owed = 0;
  const timer = setInterval(() => {
    owed += (spansPerSecond * TICK_MS) / 1000;
    for (; owed >= 4; owed -= 4) {
      const root = tracer.startSpan('POST /checkout', {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'POST', 'http.route': '/checkout', 'url.scheme': 'https' },
      });
      root.addEvent('feature_flag.evaluation', {
        'feature_flag.key': 'new-checkout',
        'feature_flag.result.variant': Math.random() < 0.5 ? 'on' : 'off',
      });
      const parent = trace.setSpan(ROOT_CONTEXT, root);
      for (let c = 0; c < 3; c += 1) {
        const child = tracer.startSpan(
          'GET /inventory',
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'http.request.method': 'GET',
              'server.address': 'inventory',
              'http.response.status_code': Math.random() < 0.01 ? 503 : 200,
            },
          },
          parent,
        );
        child.end();
      }
      root.setAttribute('http.response.status_code', 200);
      root.end();
      sent += 4;
    }
  }, TICK_MS);
  return () => {
    clearInterval(timer);
    return sent;
  };
}

async function measure(pid: number, ms: number): Promise<{ cpuPercent: number; rss: number[] }> {
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(rssBytes(pid)), 250);
  const threadsBefore = THREAD_TRACE ? threadCpuSeconds(pid) : undefined;
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const cpu = cpuSeconds(pid) - cpuBefore;
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  if (threadsBefore)
    process.stdout.write(`CPU % of a core by thread: ${threadSplit(pid, threadsBefore, elapsed)}\n`);
  if (RSS_TRACE) {
    // Highest RSS of each 10 s of the window (40 samples), to see it climb between major collections.
    const tens = [];
    for (let at = 0; at < rss.length; at += 40)
      tens.push(Math.round(Math.max(...rss.slice(at, at + 40)) / 1e6));
    process.stdout.write(`RSS MB per 10 s (max): ${tens.join(' ')}\n`);
  }
  return { cpuPercent: (100 * cpu) / elapsed, rss };
}

type Sample = { cpuPercent: number; rss: number[] };

async function main(): Promise<void> {
  const rows: ResultRow[] = [];
  // The floor first, so that each sidecar row can read its CPU above it at the same load.
  const floor = new Map<string, number>();
  if (ROWS.includes('null')) {
    for (const measured of await measureLoads(NULL_RECEIVER, startNullReceiver)) {
      floor.set(loadName(measured), measured.sample.cpuPercent);
      rows.push(row(NULL_RECEIVER, measured, floor));
    }
  }
  if (ROWS.includes('steady-null')) {
    const measured = await measureSteady(startNullReceiver);
    floor.set(loadName(measured), measured.sample.cpuPercent);
    rows.push(row(NULL_RECEIVER, measured, floor));
  }
  for (const configuration of CONFIGURATIONS) {
    if (!ROWS.includes(configuration.key)) continue;
    const measured = await measureLoads(configuration.name, (dir) =>
      startSidecar(dir, configuration.settings),
    );
    rows.push(...measured.map((one) => row(configuration.name, one, floor)));
  }
  if (ROWS.includes('from-start'))
    rows.push(row('defaults, load from start', await measureLoadFromStart(), floor));
  if (ROWS.includes('steady'))
    rows.push(row('defaults', await measureSteady((dir) => startSidecar(dir, STILL_JUDGING)), floor));
  writeResults('footprint', rows, {
    idleSettleMs: IDLE_SETTLE_MS,
    warmUpMs: WARM_UP_MS,
    measureMs: MEASURE_MS,
    ...(ROWS.some((key) => key.startsWith('steady'))
      ? { steadyWarmUpMs: STEADY_WARMUP_MS, steadyMeasureMs: STEADY_MEASURE_MS }
      : {}),
    collector:
      'opentelemetry-collector-contrib docs/benchmarks/loadtests Trace10kSPS OTLP-HTTP: 5.4% CPU, 51 MiB RSS at 10k spans/s, scaled linearly',
    sdk: 'BasicTracerProvider + BatchSpanProcessor (defaults) + @opentelemetry/exporter-trace-otlp-proto, in the bench process',
    floor: `${NULL_RECEIVER}: bench/null-receiver.ts http (reads each body whole, answers an empty 200, no decode), same node flags; "above floor" = the row's CPU minus its CPU at the same load in this run`,
    nodeFlags: [...NODE_FLAGS, ...EXTRA_FLAGS].join(' ') || '(none)',
    script: mainScript,
  });
}

const NULL_RECEIVER = 'null receiver (Node HTTP floor)';

/**
 * The steady row's run cannot pass (more samples per arm than the window sends): with the defaults this A/A
 * load's run passed ~150 s into the load and was closed, and the window after that measured a sidecar that
 * no longer attributed spans. Nothing else changes: it is judged on every tick as before.
 */
const STILL_JUDGING: Settings = { judge: { minSamplesPerArm: 1_000_000_000 } };

/** What one load measured: the rate asked for, the spans/s the SDK actually made, and the sample. */
interface Measured {
  rate: number;
  sentPerSecond: number;
  sample: Sample;
  /** The load held this long before the measured window (the steady rows), when longer than WARM_UP_MS. */
  heldMs?: number;
  /** The run's verdict at the end of the window (sidecar rows). */
  verdict?: string;
}

function loadName({ rate, heldMs }: Measured): string {
  if (rate === 0) return 'idle';
  return heldMs === undefined ? `${rate} spans/s` : `${rate} spans/s after ${Math.round(heldMs / 1000)} s`;
}

/** After start-up settles, STEADY_RATE spans/s held STEADY_WARMUP_MS + WARM_UP_MS, then measured STEADY_MEASURE_MS. */
async function measureSteady(start: (dir: string) => Promise<Target>): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-footprint-'));
  const target = await start(dir);
  try {
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
    const held = WARM_UP_MS + STEADY_WARMUP_MS;
    return { ...(await measureLoad(target, STEADY_RATE, held, STEADY_MEASURE_MS)), heldMs: held };
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The defaults with 5k spans/s from the moment the sidecar answers, as beside a service that starts with it:
 * V8 shrinks the young generation that start-up grew (~25 MB of RSS) only in a memory-reducing GC, which it
 * starts only once the allocation rate is low (README, footprint), so the rows measured after the idle window
 * read lower than a sidecar that never idled.
 */
async function measureLoadFromStart(): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-footprint-'));
  const target = await startSidecar(dir, {});
  try {
    return await measureLoad(target, 5_000);
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The SDK's load at `rate` spans/s against `target`: warm-up, then the measured window. */
async function measureLoad(
  target: Target,
  rate: number,
  warmUpMs = WARM_UP_MS,
  measureMs = MEASURE_MS,
): Promise<Measured> {
  const provider = sdkExporting(target.httpPort);
  const started = performance.now();
  const stop = startLoad(provider, rate);
  await new Promise((resolve) => setTimeout(resolve, warmUpMs));
  const sample = await measure(target.pid, measureMs);
  const verdict = await target.verdict?.();
  // Spans made per second over warm-up and measurement (the rate the SDK actually produced).
  const sentPerSecond = stop() / ((performance.now() - started) / 1000);
  await provider.shutdown();
  return { rate, sentPerSecond, sample, verdict };
}

function sdkExporting(httpPort: number): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.1.0' }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` })),
    ],
  });
}

/** One table row: what `name` measured at one load (rate 0: idle), beside the floor's CPU at that load. */
function row(name: string, measured: Measured, floor: Map<string, number>): ResultRow {
  const { rate, sentPerSecond, sample } = measured;
  const collectorCpu = (COLLECTOR.cpuPercent * rate) / COLLECTOR.spansPerSecond;
  const floorCpu = floor.get(loadName(measured));
  return {
    process: name,
    load: loadName(measured),
    'spans/s sent': Math.round(sentPerSecond),
    'CPU % of a core': Number(sample.cpuPercent.toFixed(2)),
    'CPU % above floor':
      name === NULL_RECEIVER || floorCpu === undefined
        ? '-'
        : Number((sample.cpuPercent - floorCpu).toFixed(2)),
    'CPU us per span': rate === 0 ? '-' : Math.round((sample.cpuPercent * 1e4) / sentPerSecond),
    'Collector CPU % scaled': rate === 0 ? '-' : Number(collectorCpu.toFixed(2)),
    'CPU ratio to Collector': rate === 0 ? '-' : Number((sample.cpuPercent / collectorCpu).toFixed(2)),
    'RSS MB steady (median)': Math.round(median(sample.rss) / 1e6),
    'RSS MB peak': Math.round(Math.max(...sample.rss) / 1e6),
    'run at end': measured.verdict ?? '-',
  };
}

/** Idle (after start-up settles), then the SDK's load at each rate, against one fresh process from `start`. */
async function measureLoads(name: string, start: (dir: string) => Promise<Target>): Promise<Measured[]> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-footprint-'));
  const target = await start(dir);
  const measured: Measured[] = [];
  try {
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS)); // start-up settles
    for (const rate of LOADS) {
      if (rate === 0)
        measured.push({ rate, sentPerSecond: 0, sample: await measure(target.pid, MEASURE_MS) });
      else measured.push(await measureLoad(target, rate));
      process.stdout.write(
        `${name}, ${rate} spans/s: ${measured.at(-1)!.sample.cpuPercent.toFixed(2)}% CPU\n`,
      );
    }
  } finally {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return measured;
}

void main();
