// Overload benchmark (`npm run bench -- overload`): the sidecar under twice the load it can take, on
// OTLP/HTTP and OTLP/gRPC, with 1,000- and 20,000-span batches (issue 9, case 8). For each, its capacity is
// measured first in the same run (the most it accepts as the offered rate doubles), then an open-loop
// generator in another process offers 2x that rate for OVERLOAD_SECONDS. Reported: how much was shed (503 / UNAVAILABLE) and how much
// was left to time out, accepted spans/s and their ratio to capacity, the worst event-loop delay inside the
// sidecar (perf_hooks.monitorEventLoopDelay, 10 ms resolution), and peak RSS. The sidecar runs in this
// process with the shipped defaults and one analysis that matches the spans, so attribution works too.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { startSidecar, type Sidecar } from '../src/sidecar.js';
import { createLogger } from '../src/telemetry/logger.js';
import { buildTraceRequestPayload } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const CAPACITY_SECONDS = Number(process.env.BENCH_CAPACITY_SECONDS ?? 3);
/** The capacity search starts at this offered rate and doubles it. */
const PROBE_START_SPANS_PER_SECOND = Number(process.env.BENCH_PROBE_START_SPANS_PER_SECOND ?? 50_000);
const OVERLOAD_SECONDS = Number(process.env.BENCH_OVERLOAD_SECONDS ?? 10);
const MAX_OUTSTANDING = 512;
const execFileAsync = promisify(execFile);
const openLoop = fileURLToPath(new URL('./overload-generator.js', import.meta.url));

async function startTarget(dir: string, name: string): Promise<Sidecar> {
  const config = parseConfig({
    otlp: { grpc: { port: 0 }, http: { port: 0 } },
    api: { port: 0 },
    storage: { path: join(dir, `${name}.sqlite`) },
    analyses: [
      {
        id: 'checkout',
        match: { service: 'checkout', spanKind: 'server' },
        variant: { attribute: 'service.version' },
        baseline: '2.0.0',
        canary: '2.1.0',
      },
    ],
  });
  return startSidecar(config, { logger: createLogger('silent') });
}

function targetOf(sidecar: Sidecar, transport: 'http' | 'grpc'): string {
  return transport === 'http' ? `http://127.0.0.1:${sidecar.ports.http}` : `127.0.0.1:${sidecar.ports.grpc}`;
}

interface OpenLoopRun {
  sent: number;
  skipped: number;
  answers: Record<string, number>;
  elapsedSeconds: number;
}

async function openLoopRun(
  transport: 'http' | 'grpc',
  target: string,
  payloadFile: string,
  seconds: number,
  requestsPerSecond: number,
): Promise<OpenLoopRun> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      openLoop,
      transport,
      target,
      payloadFile,
      String(seconds),
      requestsPerSecond.toFixed(2),
      String(MAX_OUTSTANDING),
    ],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as OpenLoopRun;
}

function accepted(run: OpenLoopRun): number {
  return (run.answers['200'] ?? 0) + (run.answers['grpc-0'] ?? 0);
}

/**
 * Capacity: the most requests per second the sidecar accepts, found with the same open-loop generator as the
 * overload itself: starting at PROBE_START_SPANS_PER_SECOND, the offered rate doubles until the sidecar
 * accepts less than 90% of it. (A closed-loop client measures its own round trips as much as the sidecar,
 * and grpc-js spends seconds framing a 10 MB message, so neither is used here; offering far more than the
 * capacity at once would measure goodput under collapse instead.)
 */
async function capacity(
  transport: 'http' | 'grpc',
  target: string,
  payloadFile: string,
  spans: number,
): Promise<number> {
  let rate = PROBE_START_SPANS_PER_SECOND / spans;
  let best = 0;
  for (let step = 0; step < 8; step++) {
    const run = await openLoopRun(transport, target, payloadFile, CAPACITY_SECONDS, rate);
    const acceptedPerSecond = accepted(run) / CAPACITY_SECONDS;
    best = Math.max(best, acceptedPerSecond);
    if (acceptedPerSecond < 0.9 * rate) break;
    rate *= 2;
  }
  return best;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-overload-'));
  const rows: ResultRow[] = [];
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  for (const spans of [1000, 20_000]) {
    const payload = buildTraceRequestPayload({ spans });
    const payloadFile = join(dir, `payload-${spans}.bin`);
    writeFileSync(payloadFile, payload);
    for (const transport of ['http', 'grpc'] as const) {
      // BENCH_ONLY=http-1000 (for example) runs one scenario.
      if (process.env.BENCH_ONLY && process.env.BENCH_ONLY !== `${transport}-${spans}`) continue;
      const sidecar = await startTarget(dir, `${transport}-${spans}`);
      const target = targetOf(sidecar, transport);
      const capacityRequests = await capacity(transport, target, payloadFile, spans);
      const rate = 2 * capacityRequests;
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
      delay.reset();
      const run = await openLoopRun(transport, target, payloadFile, OVERLOAD_SECONDS, rate);
      clearInterval(sampler);
      const worstDelayMs = delay.max / 1e6;
      const p99DelayMs = delay.percentile(99) / 1e6;
      await sidecar.stop();
      const ok = accepted(run);
      const shed = (run.answers['503'] ?? 0) + (run.answers['grpc-14'] ?? 0);
      const other = run.sent - ok - shed;
      const acceptedSpansPerSecond = (ok * spans) / OVERLOAD_SECONDS;
      rows.push({
        transport: transport === 'http' ? 'OTLP/HTTP protobuf' : 'OTLP/gRPC',
        'spans/request': spans,
        'capacity spans/s': Math.round(capacityRequests * spans),
        'offered spans/s (2x)': Math.round(rate * spans),
        'requests sent': run.sent,
        'shed (503/UNAVAILABLE)': shed,
        'shed rate': Number((shed / Math.max(1, run.sent)).toFixed(2)),
        'timed out (10 s)': run.answers.timeout ?? 0,
        'other answers': other - (run.answers.timeout ?? 0),
        'not sent (512 outstanding)': run.skipped,
        'accepted spans/s': Math.round(acceptedSpansPerSecond),
        'accepted / capacity': Number((acceptedSpansPerSecond / (capacityRequests * spans)).toFixed(2)),
        'worst event-loop delay ms': Math.round(worstDelayMs),
        'p99 event-loop delay ms': Math.round(p99DelayMs),
        'peak RSS MB': Math.round(peakRss / 1e6),
      });
      process.stdout.write(`${transport} ${spans}: ${JSON.stringify(run.answers)}\n`);
    }
  }
  delay.disable();
  rmSync(dir, { recursive: true, force: true });
  writeResults('overload', rows, {
    capacitySeconds: CAPACITY_SECONDS,
    overloadSeconds: OVERLOAD_SECONDS,
    maxOutstanding: MAX_OUTSTANDING,
    note: 'sidecar in this process with default limits; closed-loop capacity, then open-loop 2x capacity from a child process',
  });
}

void main();
