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
// api.eventLoopLagResolutionMs at 100 (the event-loop sampler, src/otlp/event-loop-lag.ts, wakes the process
// every 100 ms instead of every 20 ms while export requests arrive; idle, it samples once a second either way).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { median } from 'simple-statistics';
import { writeResults, type ResultRow } from './results.js';
import { productionMainScript, productionNodeFlags } from './start-command.js';

const WARM_UP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5_000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 20_000);
const RATES = [1_000, 5_000];
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

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The sidecar configurations measured: settings merged into the config below, and how the table names them. */
const CONFIGURATIONS: Array<{ name: string; settings: { api?: Record<string, unknown> } }> = [
  { name: 'defaults', settings: {} },
  { name: 'api.eventLoopLagResolutionMs 100', settings: { api: { eventLoopLagResolutionMs: 100 } } },
];

async function startSidecar(
  dir: string,
  settings: { api?: Record<string, unknown> },
): Promise<{ child: ChildProcess; httpPort: number }> {
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
        },
      ],
    }),
  );
  const child = spawn(process.execPath, [...NODE_FLAGS, mainScript, '--config', configPath], {
    stdio: 'inherit',
  });
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${apiPort}/healthz`)).ok) return { child, httpPort };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error('the sidecar did not become healthy');
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
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const cpu = cpuSeconds(pid) - cpuBefore;
  const elapsed = (performance.now() - started) / 1000;
  clearInterval(sampler);
  return { cpuPercent: (100 * cpu) / elapsed, rss };
}

async function main(): Promise<void> {
  const rows: ResultRow[] = [];
  for (const configuration of CONFIGURATIONS) rows.push(...(await measureConfiguration(configuration)));
  rows.push(await measureLoadFromStart());
  writeResults('footprint', rows, {
    idleSettleMs: IDLE_SETTLE_MS,
    warmUpMs: WARM_UP_MS,
    measureMs: MEASURE_MS,
    collector:
      'opentelemetry-collector-contrib docs/benchmarks/loadtests Trace10kSPS OTLP-HTTP: 5.4% CPU, 51 MiB RSS at 10k spans/s, scaled linearly',
    sdk: 'BasicTracerProvider + BatchSpanProcessor (defaults) + @opentelemetry/exporter-trace-otlp-proto, in the bench process',
    nodeFlags: NODE_FLAGS.join(' ') || '(none)',
    script: mainScript,
  });
}

/**
 * The defaults with 5k spans/s from the moment the sidecar answers, as beside a service that starts with it:
 * V8 shrinks the young generation that start-up grew (~25 MB of RSS) only in a memory-reducing GC, which it
 * starts only once the allocation rate is low (README, footprint), so the rows measured after the idle window
 * read lower than a sidecar that never idled.
 */
async function measureLoadFromStart(): Promise<ResultRow> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-footprint-'));
  const { child, httpPort } = await startSidecar(dir, {});
  const rate = 5_000;
  try {
    const provider = sdkExporting(httpPort);
    const started = performance.now();
    const stop = startLoad(provider, rate);
    await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
    const sample = await measure(child.pid!, MEASURE_MS);
    const sentPerSecond = stop() / ((performance.now() - started) / 1000);
    await provider.shutdown();
    return row('defaults, load from start', rate, sample, sentPerSecond);
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

function sdkExporting(httpPort: number): BasicTracerProvider {
  return new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout', 'service.version': '2.1.0' }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `http://127.0.0.1:${httpPort}/v1/traces` })),
    ],
  });
}

/** One table row: `sample` of the sidecar `name` at `rate` spans/s (0: idle). */
function row(
  name: string,
  rate: number,
  sample: { cpuPercent: number; rss: number[] },
  sentPerSecond: number,
): ResultRow {
  const collectorCpu = (COLLECTOR.cpuPercent * rate) / COLLECTOR.spansPerSecond;
  return {
    sidecar: name,
    load: rate === 0 ? 'idle' : `${rate} spans/s`,
    'spans/s sent': Math.round(sentPerSecond),
    'sidecar CPU % of a core': Number(sample.cpuPercent.toFixed(2)),
    'CPU us per span': rate === 0 ? '-' : Math.round((sample.cpuPercent * 1e4) / sentPerSecond),
    'Collector CPU % scaled': rate === 0 ? '-' : Number(collectorCpu.toFixed(2)),
    'CPU ratio to Collector': rate === 0 ? '-' : Number((sample.cpuPercent / collectorCpu).toFixed(2)),
    'RSS MB steady (median)': Math.round(median(sample.rss) / 1e6),
    'RSS MB peak': Math.round(Math.max(...sample.rss) / 1e6),
  };
}

/** Idle, then the SDK's load at each rate, against a fresh sidecar with `configuration`. */
async function measureConfiguration(configuration: (typeof CONFIGURATIONS)[number]): Promise<ResultRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-footprint-'));
  const { child, httpPort } = await startSidecar(dir, configuration.settings);
  const pid = child.pid!;
  const rows: ResultRow[] = [];
  try {
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS)); // start-up settles
    rows.push(row(configuration.name, 0, await measure(pid, MEASURE_MS), 0));
    for (const rate of RATES) {
      const provider = sdkExporting(httpPort);
      const started = performance.now();
      const stop = startLoad(provider, rate);
      await new Promise((resolve) => setTimeout(resolve, WARM_UP_MS));
      const sample = await measure(pid, MEASURE_MS);
      // Spans made per second over warm-up and measurement (the rate the SDK actually produced).
      const sentPerSecond = stop() / ((performance.now() - started) / 1000);
      await provider.shutdown();
      rows.push(row(configuration.name, rate, sample, sentPerSecond));
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

void main();
