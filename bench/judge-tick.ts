// Judge-tick benchmark (`npm run bench:judge`): how long one tick takes for 1 000 running analyses with
// realistic arms, as a share of the tick interval (the figure that must stay well under 1), and the
// cost per analysis. Runs the real JudgeService over a real SQLite file. Ticks compute decisions only; the
// full evidence (fixed-horizon tests) is computed when a run's document is read or its verdict changes, so
// the table shows what one such read costs. Three kinds of tick: the first (every run's evidence read and
// judged for the first time), ticks where every run got new evidence since the last (what 1 000 runs under
// traffic cost: the figure to plan with; measured twice, before and after every run has the error rate's
// MIN_ERROR_BLOCKS blocks, when its boundary searches start), and ticks where none did (each run's last
// evaluation is reused). The sliced ticks run after the blocks, as a sidecar's ticks do a minute into a run.
// The sidecar's timer ticks and snapshots in slices that yield (JudgeService.tickInSlices, snapshotInSlices);
// their longest slices are how long the judge holds up ingest.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { Registry } from 'prom-client';
import { median } from 'simple-statistics';
import { Accumulator } from '../src/accumulate/accumulator.js';
import type { Observation } from '../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../src/accumulate/source-watermark.js';
import { analysisSchema } from '../src/config/analysis.js';
import { JudgeService } from '../src/judge/judge-service.js';
import { renderMetrics } from '../src/publish/metrics-exposition.js';
import { VerdictMetrics } from '../src/publish/verdict-metrics.js';
import { AnalysesRepository } from '../src/store/analyses-repository.js';
import { Store } from '../src/store/database.js';
import { RunsRepository } from '../src/store/runs-repository.js';
import { MIN_ERROR_BLOCKS } from '../src/stats/error-blocks.js';
import { createLogger } from '../src/telemetry/logger.js';
import { writeResults, type ResultRow } from './results.js';

const ANALYSES = Number(process.env.BENCH_ANALYSES ?? 1000);
const TICK_INTERVAL_MS = 5000;

function lognormalObservations(
  id: string,
  arm: 'baseline' | 'canary',
  count: number,
  seed: number,
): Observation[] {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
  return Array.from({ length: count }, () => ({
    kind: 'span' as const,
    runId: id,
    arm,
    sourceKey: `${arm}-pod`,
    timeUnixMs: 0,
    durationNanos: Math.round(
      50e6 * Math.exp(0.5 * Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < 0.01,
  }));
}

/**
 * Bytes `run` allocated on V8's heap: the used heap's growth between collections, summed (each collection's
 * used size before it, less the size the previous one left, and the end's less the last one's). Counts what
 * was allocated and collected within `run` too, which is what drives young-generation scavenges; not
 * ArrayBuffers' backing stores outside the heap.
 */
function allocatedBytes(run: () => void): number {
  const profiler = new GCProfiler();
  const startUsed = getHeapStatistics().used_heap_size;
  profiler.start();
  run();
  const endUsed = getHeapStatistics().used_heap_size;
  const collections = profiler.stop().statistics;
  let bytes = 0;
  let last = startUsed;
  for (const gc of collections) {
    bytes += gc.beforeGC.heapStatistics.usedHeapSize - last;
    last = gc.afterGC.heapStatistics.usedHeapSize;
  }
  return bytes + endUsed - last;
}

async function measure(): Promise<ResultRow> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-judge-'));
  const store = Store.open(join(dir, 'state.sqlite'));
  // No watermark hold: every observation below is judged at once.
  const accumulator = new Accumulator({ watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 } });
  const registry = new Registry();
  const judge = new JudgeService({
    analyses: new AnalysesRepository(store),
    runs: new RunsRepository(store),
    accumulator,
    routing: { routeRun: () => undefined, unrouteRun: () => true },
    metrics: new VerdictMetrics(registry),
    tickIntervalMs: TICK_INTERVAL_MS,
    snapshotIntervalMs: 10_000,
    maxAnalyses: ANALYSES,
    maxRunningRuns: ANALYSES,
    maxFinishedRuns: ANALYSES,
    logger: createLogger('silent'),
  });
  for (let i = 0; i < ANALYSES; i += 1) {
    const id = `analysis-${i}`;
    const spec = analysisSchema.parse({
      id,
      variant: { flag: 'f' },
      baseline: 'off',
      canary: 'on',
      judge: { maxDurationSeconds: 86_400 },
    });
    judge.putAnalysis(spec, 'api', false);
    const { runId } = judge.startRun(id, 'rev-1', { declaredBy: 'api' }).document;
    accumulator.accept(lognormalObservations(runId, 'baseline', 9000, i * 2 + 1));
    accumulator.accept(lognormalObservations(runId, 'canary', 1000, i * 2 + 2));
  }
  const runIds = judge.runningRuns().map((run) => run.runId);
  // More traffic for every run: 900 baseline and 100 canary spans more, as a second of ~1 000 requests would
  // bring (accepted outside the timed tick, as ingest does between ticks).
  let round = 0;
  const newEvidence = () => {
    round += 1;
    runIds.forEach((runId, i) => {
      accumulator.accept(lognormalObservations(runId, 'baseline', 900, (i + round * ANALYSES) * 2 + 1));
      accumulator.accept(lognormalObservations(runId, 'canary', 100, (i + round * ANALYSES) * 2 + 2));
    });
  };
  // The first tick reads and judges every run's evidence for the first time; then ticks where every run has
  // new evidence (what 1 000 runs under traffic cost), and ticks where none has (each run's last evaluation
  // is reused: run-judgement.ts evaluate).
  judge.tick();
  const firstTickMs = judge.lastTickMs;
  const ticks: number[] = [];
  const allocated: number[] = [];
  for (let i = 0; i < 7; i += 1) {
    newEvidence();
    allocated.push(allocatedBytes(() => judge.tick()));
    ticks.push(judge.lastTickMs);
  }
  // The error rate's test counts once each arm has MIN_ERROR_BLOCKS per-tick blocks (error-blocks.ts): from
  // then on every run's tick does the error rate's boundary searches too, the state of every run older than
  // ~50 s at a 5 s interval. Two more ticks bring every run past it, then seven are measured.
  for (let i = 0; i < 2; i += 1) {
    newEvidence();
    judge.tick();
  }
  const matureTicks: number[] = [];
  const matureAllocated: number[] = [];
  for (let i = 0; i < 7; i += 1) {
    newEvidence();
    matureAllocated.push(allocatedBytes(() => judge.tick()));
    matureTicks.push(judge.lastTickMs);
  }
  const quietTicks: number[] = [];
  for (let i = 0; i < 7; i += 1) {
    judge.tick();
    quietTicks.push(judge.lastTickMs);
  }
  // A document read computes the run's full evidence from the last tick's inputs (once per tick and run).
  const reads: number[] = [];
  for (const { runId } of judge.runningRuns().slice(0, 20)) {
    const started = performance.now();
    judge.getRun(runId);
    reads.push(performance.now() - started);
  }
  // The timer's tick (tickInSlices) yields the event loop every few ms; its longest slice is the longest the
  // judge holds ingest up.
  let longestSliceMs = 0;
  const slicedBusy: number[] = [];
  for (let i = 0; i < 6; i += 1) {
    newEvidence();
    await judge.tickInSlices();
    longestSliceMs = Math.max(longestSliceMs, judge.lastTickSliceMs);
    slicedBusy.push(judge.lastTickMs);
  }
  const snapshotStarted = performance.now();
  judge.snapshot();
  const snapshotMs = performance.now() - snapshotStarted;
  // The timer's snapshot: no evidence arrived since the one above, so it rewrites the run rows only.
  const slicedStarted = performance.now();
  await judge.snapshotInSlices();
  const unchangedSnapshotMs = performance.now() - slicedStarted;
  // /metrics over every analysis's series: prom-client's whole render, then the sidecar's sliced one, with the
  // longest the event loop waited during it (a 1 ms timer's longest gap).
  const wholeStarted = performance.now();
  const exposition = await registry.metrics();
  const wholeRenderMs = performance.now() - wholeStarted;
  let lastTurn = performance.now();
  let longestHoldMs = 0;
  const turns = setInterval(() => {
    const now = performance.now();
    longestHoldMs = Math.max(longestHoldMs, now - lastTurn);
    lastTurn = now;
  }, 1);
  const slicedRenderStarted = performance.now();
  await renderMetrics(registry);
  const slicedRenderMs = performance.now() - slicedRenderStarted;
  longestHoldMs = Math.max(longestHoldMs, performance.now() - lastTurn);
  clearInterval(turns);
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const tickMs = median(ticks);
  return {
    analyses: ANALYSES,
    'samples per analysis': '10 000, +1 000 per tick',
    'first tick ms': Math.round(firstTickMs),
    'tick, new evidence in every run: median ms': Math.round(tickMs),
    'max ms': Math.round(Math.max(...ticks)),
    'its heap allocation: median MB': Math.round(median(allocated) / 1e6),
    [`tick, runs past ${MIN_ERROR_BLOCKS} error blocks: median ms`]: Math.round(median(matureTicks)),
    'its heap allocation (past the blocks): median MB': Math.round(median(matureAllocated) / 1e6),
    'per analysis ms': Number((tickMs / ANALYSES).toFixed(3)),
    'tick / 5 s interval': Number((tickMs / TICK_INTERVAL_MS).toFixed(3)),
    'tick, no new evidence: median ms': Number(median(quietTicks).toFixed(1)),
    'document read with full evidence ms (median of 20)': Number(median(reads).toFixed(1)),
    'sliced tick: busy median ms': Math.round(median(slicedBusy)),
    'sliced tick: longest slice ms': Number(longestSliceMs.toFixed(1)),
    'snapshot ms': Math.round(snapshotMs),
    'sliced snapshot, no new evidence ms': Math.round(unchangedSnapshotMs),
    'its longest slice ms': Number(judge.lastSnapshotSliceMs.toFixed(1)),
    '/metrics series': exposition.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length,
    '/metrics whole render ms': Math.round(wholeRenderMs),
    '/metrics sliced render ms': Math.round(slicedRenderMs),
    'its longest hold ms': Number(longestHoldMs.toFixed(1)),
    'peak RSS MB': Math.round(process.memoryUsage().rss / 1e6),
  };
}

writeResults('judge-tick', [await measure()], { tickIntervalMs: TICK_INTERVAL_MS });
