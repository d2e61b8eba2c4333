// Ingest latency while the judge works (`npm run bench -- ingest-latency`): a client in a separate process
// sends an 8-span OTLP/HTTP-protobuf export every 20 ms to a sidecar (this process) whose judge ticks every
// 5 s and snapshots every 10 s over 0 or 1 000 running analyses, each holding 10 000 observations (as in
// the judge-tick benchmark). The window covers at least two ticks and one snapshot; the runs receive no new
// evidence during it (the exports match no analysis). Reported: export latency percentiles, the p99 as a
// ratio to the one with 0 analyses measured in the same run, and this process's longest event-loop delay
// (perf_hooks), i.e. the longest stall ingest saw, and the longest slices of the judge's last tick and snapshot.
// With 1 000 analyses the window opens either right after the runs were filled (it holds their first tick and
// first snapshot, which copy and write every run's evidence) or once those are over (the steady state).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { quantileSorted } from 'simple-statistics';
import type { Observation } from '../src/accumulate/observation.js';
import { analysisSchema } from '../src/config/analysis.js';
import { parseConfig } from '../src/config/load.js';
import { startSidecar } from '../src/sidecar.js';
import { createLogger } from '../src/telemetry/logger.js';
import { buildTraceRequestPayload } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
const INTERVAL_MS = 20;
const client = fileURLToPath(new URL('./latency-client.js', import.meta.url));

/**
 * Starts the client now (before the runs fill this process: see latency-client.ts --on-stdin); `go()` makes it
 * start sending and resolves with what it printed.
 */
function startClient(url: string, payloadFile: string): { go: () => Promise<string> } {
  const child = spawn(
    process.execPath,
    [client, url, payloadFile, String(SECONDS), String(INTERVAL_MS), '--on-stdin'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<string>((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`client exited with ${code}`)),
    ),
  );
  return {
    go: () => {
      child.stdin.end('go\n');
      return exited;
    },
  };
}

function observations(runId: string, arm: 'baseline' | 'canary', count: number, seed: number): Observation[] {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    kind: 'span' as const,
    runId,
    arm,
    sourceKey: `${arm}-pod`,
    timeUnixMs: now - 10_000 + Math.floor((10_000 * i) / count),
    durationNanos: Math.round(
      50e6 * Math.exp(0.5 * Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < 0.01,
  }));
}

async function measure(
  dir: string,
  payloadFile: string,
  analyses: number,
  afterFirstTick = false,
): Promise<ResultRow> {
  const config = parseConfig({
    otlp: { grpc: { enabled: false }, http: { port: 0 } },
    api: { port: 0 },
    storage: { path: join(dir, `latency-${analyses}${afterFirstTick ? '-steady' : ''}.sqlite`) },
    judge: { maxAnalyses: 2000, maxRunningRuns: 2000 },
  });
  const sidecar = await startSidecar(config, { logger: createLogger('silent') });
  const latencyClient = startClient(`http://127.0.0.1:${sidecar.ports.http}`, payloadFile);
  for (let i = 0; i < analyses; i += 1) {
    const id = `analysis-${i}`;
    const spec = analysisSchema.parse({
      id,
      match: { service: `service-${i}` },
      variant: { flag: `flag-${i}` },
      baseline: 'off',
      canary: 'on',
      judge: { maxDurationSeconds: 86_400 },
    });
    sidecar.judge.putAnalysis(spec, 'api', false);
    const { runId } = sidecar.judge.startRun(id, 'rev-1', { declaredBy: 'api' }).document;
    sidecar.accumulator.accept(observations(runId, 'baseline', 9000, i * 2 + 1));
    sidecar.accumulator.accept(observations(runId, 'canary', 1000, i * 2 + 2));
  }
  if (afterFirstTick) {
    // The steady state: the first tick after the runs started (every run's evidence copied and judged for the
    // first time, its chart point and series created) and the first snapshot (every run's evidence written)
    // are over before the window opens.
    while (sidecar.judge.lastTickMs === 0 || sidecar.judge.lastSnapshotSliceMs === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const stdout = await latencyClient.go();
  delay.disable();
  const { latencies, failed } = JSON.parse(stdout.trim()) as { latencies: number[]; failed: number };
  const tickMs = sidecar.judge.lastTickMs;
  const sliceMs = sidecar.judge.lastTickSliceMs;
  const snapshotSliceMs = sidecar.judge.lastSnapshotSliceMs;
  await sidecar.stop();
  latencies.sort((a, b) => a - b);
  return {
    analyses: afterFirstTick ? `${analyses}, after the first tick and snapshot` : analyses,
    exports: latencies.length,
    failed,
    'p50 ms': Number(quantileSorted(latencies, 0.5).toFixed(1)),
    'p99 ms': Number(quantileSorted(latencies, 0.99).toFixed(1)),
    'max ms': Number(latencies[latencies.length - 1].toFixed(1)),
    'longest event-loop delay ms': Number((delay.max / 1e6).toFixed(1)),
    'last tick ms (evaluating)': Math.round(tickMs),
    'its longest slice ms': Number(sliceMs.toFixed(1)),
    'last snapshot: longest slice ms': Number(snapshotSliceMs.toFixed(1)),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-latency-'));
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, buildTraceRequestPayload({ spans: 8 }));
  const rows = [
    await measure(dir, payloadFile, 0),
    await measure(dir, payloadFile, 1000),
    await measure(dir, payloadFile, 1000, true),
  ];
  const p99 = (row: ResultRow) => Number(row['p99 ms']);
  for (const row of rows) row['p99 / 0 analyses'] = Number((p99(row) / p99(rows[0])).toFixed(2));
  rmSync(dir, { recursive: true, force: true });
  writeResults('ingest-latency', rows, {
    seconds: SECONDS,
    intervalMs: INTERVAL_MS,
    spansPerExport: 8,
    note: 'judge ticks every 5 s (the timer tick, in slices that yield), snapshots every 10 s; 10 000 observations per run',
  });
}

void main();
