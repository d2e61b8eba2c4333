// Ingest latency while the judge works (`npm run bench -- ingest-latency`): a client in a separate process
// sends an 8-span OTLP/HTTP-protobuf export every 20 ms to a sidecar (this process) whose judge ticks every
// 5 s and snapshots every 10 s over 0 or 1 000 running analyses, each holding 10 000 observations (as in
// the judge-tick benchmark). The window covers at least two ticks and one snapshot. The exports match no
// analysis; the runs' own traffic arrives meanwhile in this process, a few observations for each run about
// every second (RUN_TRAFFIC_RUNS per 20 ms), so every tick has new evidence to judge in every run, as 1 000
// rollouts under traffic would give it (a run without new evidence reuses its last evaluation, and ticks
// over runs that all are quiet would cost next to nothing: see the judge-tick benchmark).
// Reported: export latency percentiles, the p99 as a ratio to the one with 0 analyses measured in the same
// round, and this process's longest event-loop delay (perf_hooks), i.e. the longest stall ingest saw, and the
// longest slices of the judge's last tick and snapshot. With 1 000 analyses the window opens either right
// after the runs were filled (it holds their first tick and first snapshot, which copy, judge and write every
// run's evidence for the first time) or in the steady state: the runs ticked MIN_ERROR_BLOCKS times first, so
// that their error rates' tests count, as a minute into a rollout (ageRuns; until stop 30 this window's runs
// were younger than that and each tick ~30% lighter), and the first snapshot over. The three windows are
// measured in BENCH_ROUNDS alternated rounds (a fresh sidecar each): the p99 of 0 analyses, the denominator,
// moves by a few ms from one window to the next on a shared machine, so every round is reported and the
// median of the rounds' ratios beside them.
// What each long delay was made of (always on; bench/stall-recorder.ts): a 2 ms interval timer reads the main
// thread's scheduler counters (/proc/self/task/<pid>/schedstat), the machine's CPU pressure and CPU time, and
// this process's CPU time at every turn, so the turn after a stall brackets it. Per window the table gives the
// longest gap between two turns (a delay of gap - 2 ms) and of it: the main thread on a CPU, waiting for a CPU,
// neither (asleep: blocking I/O, a futex such as the GC's helper threads, or an idle wait while the host did
// not run this VM; time the host takes from a busy vCPU counts as on CPU, as this VM reports no steal), and
// the GC pauses inside it (PerformanceObserver 'gc').
// Below the table (bench/stall-summary.ts), every gap over 30 ms and each window's longest, with the judge's
// tick and snapshot slices inside them (the judge's own slice histogram, observed as each slice ends). Its
// cost, printed per window: over 69 windows (2026-12-01) 33 us of the timer's work per turn, 1.0-2.2% of a
// core (1.32% in all), and a wake-up of the loop every 2 ms; the counters are parsed only around a gap.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { median, quantileSorted } from 'simple-statistics';
import type { Observation } from '../src/accumulate/observation.js';
import { analysisSchema } from '../src/config/analysis.js';
import { parseConfig } from '../src/config/load.js';
import { startSidecar } from '../src/sidecar.js';
import { MIN_ERROR_BLOCKS } from '../src/stats/error-blocks.js';
import { createLogger } from '../src/telemetry/logger.js';
import { buildTraceRequestPayload } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';
import { productionNodeFlags } from './start-command.js';
import type { StallAttribution } from './stall-attribution.js';
import { recordStalls, RECORD_GAP_MS, SAMPLE_INTERVAL_MS } from './stall-recorder.js';
import { GAP_PARTS, LONGEST_GAP, STALL_REPORT_MS, stallLines, traceLines } from './stall-summary.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INTERVAL_MS = 20;
/** Runs that get new observations every 20 ms (round robin): 1 000 runs each about once a second. */
const RUN_TRAFFIC_RUNS = 20;
const RUN_TRAFFIC_SPANS = 4;
/**
 * BENCH_TRACE=1: print, per window, the judge's ticks and snapshots, every gap of the stall recorder's 2 ms timer
 * over 15 ms and every GC pause over 5 ms, with times (stall-summary.ts traceLines).
 */
const TRACE = process.env.BENCH_TRACE === '1';

/** The steady window's label: its runs past the error rate's blocks (ageRuns), its first snapshot over. */
const STEADY = `after ${MIN_ERROR_BLOCKS} ticks and the first snapshot`;

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

function observations(
  runId: string,
  arm: 'baseline' | 'canary',
  count: number,
  seed: number,
  spanMs = 10_000,
): Observation[] {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    kind: 'span' as const,
    runId,
    arm,
    sourceKey: `${arm}-pod`,
    timeUnixMs: now - spanMs + Math.floor((spanMs * i) / count),
    durationNanos: Math.round(
      50e6 * Math.exp(0.5 * Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < 0.01,
  }));
}

/**
 * The runs' own traffic: every 20 ms, a few observations for each of the next RUN_TRAFFIC_RUNS runs (3 of 4
 * baseline), so that each run has new evidence at every tick. Returns the function that stops it.
 */
function runTraffic(accept: (batch: Observation[]) => void, runIds: readonly string[]): () => void {
  if (runIds.length === 0) return () => undefined;
  let next = 0;
  let seed = 1;
  const timer = setInterval(() => {
    for (let k = 0; k < RUN_TRAFFIC_RUNS; k += 1) {
      const runId = runIds[next];
      next = (next + 1) % runIds.length;
      seed += 2;
      // Both arms each time: the watermark waits for both (source-watermark.ts).
      accept([
        ...observations(runId, 'baseline', RUN_TRAFFIC_SPANS - 1, seed, INTERVAL_MS),
        ...observations(runId, 'canary', 1, seed + 1, INTERVAL_MS),
      ]);
    }
  }, INTERVAL_MS);
  return () => clearInterval(timer);
}

/**
 * Brings every run to the state it is in a minute into a rollout: MIN_ERROR_BLOCKS ticks, each after new
 * evidence in both arms, so the error rate's test counts and its boundary searches run at every tick (before
 * its blocks, error-blocks.ts, a run's tick is ~30% lighter: bench judge-tick). Synchronous, before the
 * client sends, so no timer tick interleaves. The evidence is dated 30-10 s back, under the watermark the
 * fill set (its latest minus 1 s), so each tick closes a block.
 */
function ageRuns(
  judge: { tick(): void },
  accept: (batch: Observation[]) => void,
  runIds: readonly string[],
): void {
  for (let block = 0; block < MIN_ERROR_BLOCKS; block += 1) {
    runIds.forEach((runId, i) => {
      const seed = (block + 1) * 1_000_003 + i * 2;
      accept([
        ...observations(runId, 'baseline', 3, seed, 30_000).slice(0, 2),
        ...observations(runId, 'canary', 3, seed + 1, 30_000).slice(0, 2),
      ]);
    });
    judge.tick();
  }
}

async function measure(
  dir: string,
  payloadFile: string,
  analyses: number,
  round: number,
  afterFirstTick = false,
): Promise<{ row: ResultRow; stallLines: string[] }> {
  const config = parseConfig({
    otlp: { grpc: { enabled: false }, http: { port: 0 } },
    api: { port: 0 },
    storage: {
      path: join(dir, `latency-${round}-${analyses}${afterFirstTick ? '-steady' : ''}.sqlite`),
    },
    judge: { maxAnalyses: 2000, maxRunningRuns: 2000 },
  });
  const sidecar = await startSidecar(config, { logger: createLogger('silent') });
  const latencyClient = startClient(`http://127.0.0.1:${sidecar.ports.http}`, payloadFile);
  const runIds: string[] = [];
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
    runIds.push(runId);
    sidecar.accumulator.accept(observations(runId, 'baseline', 9000, i * 2 + 1));
    sidecar.accumulator.accept(observations(runId, 'canary', 1000, i * 2 + 2));
  }
  if (afterFirstTick) ageRuns(sidecar.judge, (batch) => sidecar.accumulator.accept(batch), runIds);
  const stopTraffic = runTraffic((batch) => sidecar.accumulator.accept(batch), runIds);
  if (afterFirstTick) {
    // The steady state: the runs' first ticks (every run's evidence copied and judged for the first time, its
    // chart point and series created; ageRuns) and the first snapshot (every run's evidence written) are over
    // before the window opens.
    while (sidecar.judge.lastTickMs === 0 || sidecar.judge.lastSnapshotSliceMs === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const endStalls = recordStalls(sidecar.judge, sidecar.registry);
  const stdout = await latencyClient.go();
  delay.disable();
  const stalls = endStalls();
  const label = `round ${round}, ${analyses} analyses${afterFirstTick ? ', steady' : ''}`;
  if (TRACE) process.stderr.write(`${traceLines(label, stalls).join('\n')}\n`);
  const { latencies, failed } = JSON.parse(stdout.trim()) as { latencies: number[]; failed: number };
  const tickMs = sidecar.judge.lastTickMs;
  const sliceMs = sidecar.judge.lastTickSliceMs;
  const snapshotSliceMs = sidecar.judge.lastSnapshotSliceMs;
  stopTraffic();
  await sidecar.stop();
  latencies.sort((a, b) => a - b);
  const longest = stalls.stalls.reduce<StallAttribution | undefined>(
    (found, stall) => (found && found.gapMs >= stall.gapMs ? found : stall),
    undefined,
  );
  const row: ResultRow = {
    round,
    analyses: afterFirstTick ? `${analyses}, ${STEADY}` : analyses,
    exports: latencies.length,
    failed,
    'p50 ms': Number(quantileSorted(latencies, 0.5).toFixed(1)),
    'p99 ms': Number(quantileSorted(latencies, 0.99).toFixed(1)),
    'max ms': Number(latencies[latencies.length - 1].toFixed(1)),
    'longest event-loop delay ms': Number((delay.max / 1e6).toFixed(1)),
    [LONGEST_GAP]: longest?.gapMs ?? 0,
    'of it on CPU': longest?.onCpuMs ?? 0,
    'waiting for a CPU': longest?.waitingMs ?? 0,
    neither: longest?.neitherMs ?? 0,
    'GC inside': longest?.gcMs ?? 0,
    'last tick ms (evaluating)': Math.round(tickMs),
    'its longest slice ms': Number(sliceMs.toFixed(1)),
    'last snapshot: longest slice ms': Number(snapshotSliceMs.toFixed(1)),
  };
  return { row, stallLines: stallLines(label, stalls, longest) };
}

const ROW_KINDS = ['0', '1000', `1000, ${STEADY}`] as const;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-latency-'));
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, buildTraceRequestPayload({ spans: 8 }));
  const rows: ResultRow[] = [];
  const stallReport: string[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    const windows = [
      await measure(dir, payloadFile, 0, round),
      await measure(dir, payloadFile, 1000, round),
      await measure(dir, payloadFile, 1000, round, true),
    ];
    for (const { stallLines: lines } of windows) {
      stallReport.push(...lines);
      process.stderr.write(`${lines.join('\n')}\n`);
    }
    const [zero, fromStart, steady] = windows.map((window) => window.row);
    const p99 = (row: ResultRow) => Number(row['p99 ms']);
    for (const row of [zero, fromStart, steady]) {
      row['p99 / 0 analyses'] = Number((p99(row) / p99(zero)).toFixed(2));
      rows.push(row);
    }
  }
  // Per window, the median of the rounds (each column on its own).
  for (const kind of ROW_KINDS) {
    const mine = rows.filter((row) => String(row.analyses) === kind);
    const summary: ResultRow = { round: `median of ${mine.length}`, analyses: kind };
    for (const column of Object.keys(mine[0])) {
      if (column === 'round' || column === 'analyses') continue;
      if (GAP_PARTS.includes(column)) {
        summary[column] = '';
        continue;
      }
      summary[column] = Number(median(mine.map((row) => Number(row[column]))).toFixed(2));
    }
    rows.push(summary);
  }
  rmSync(dir, { recursive: true, force: true });
  writeResults('ingest-latency', rows, {
    stalls: stallReport.join(' | '),
    seconds: SECONDS,
    rounds: ROUNDS,
    intervalMs: INTERVAL_MS,
    spansPerExport: 8,
    nodeFlags: process.execArgv.join(' '),
    stallRecorder: `a ${SAMPLE_INTERVAL_MS} ms timer reads /proc/self/task/<pid>/schedstat, /proc/pressure/cpu, /proc/stat and process.cpuUsage() each turn; gaps over ${RECORD_GAP_MS} ms attributed`,
    note: `judge ticks every 5 s (the timer tick, in slices that yield), snapshots every 10 s; 10 000 observations per run, then ${RUN_TRAFFIC_SPANS} more for ${RUN_TRAFFIC_RUNS} runs every ${INTERVAL_MS} ms`,
  });
  process.stdout.write(
    `\nGaps of the loop over ${STALL_REPORT_MS} ms, and each window's longest (times from the window's start):\n${stallReport.join('\n')}\n`,
  );
}

/**
 * The sidecar runs in this process, so this process runs with the node flags `npm start` gives the sidecar
 * (package.json; today `--max-semi-space-size=8`, which sets the young generation whose collections land in
 * the judge's slices): started without them, it runs itself again with them.
 */
function rerunWithProductionFlags(): boolean {
  const missing = productionNodeFlags().filter((flag) => !process.execArgv.includes(flag));
  if (missing.length === 0) return false;
  const script = fileURLToPath(import.meta.url);
  const rerun = spawnSync(
    process.execPath,
    [...process.execArgv, ...missing, script, ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exitCode = rerun.status ?? 1;
  return true;
}

if (!rerunWithProductionFlags()) void main();
