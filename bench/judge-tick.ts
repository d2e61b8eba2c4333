// Judge-tick benchmark (`npm run bench:judge`): how long one tick takes for 1 000 running analyses with
// realistic arms, as a share of the tick interval (the figure that must stay well under 1), and the
// cost per analysis. Runs the real JudgeService over a real SQLite file. Every sixth tick (the first one
// included) also computes the full evidence, so the decision ticks' median hides it: the table shows the
// full-evidence tick and the longest tick too: how long tick() would hold the event loop ingest shares.
// The sidecar's timer ticks in slices that yield (JudgeService.tickInSlices); its longest slice is shown.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { median } from 'simple-statistics';
import { Accumulator } from '../src/accumulate/accumulator.js';
import type { Observation } from '../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../src/accumulate/source-watermark.js';
import { analysisSchema } from '../src/config/analysis.js';
import { JudgeService } from '../src/judge/judge-service.js';
import { VerdictMetrics } from '../src/publish/verdict-metrics.js';
import { AnalysesRepository } from '../src/store/analyses-repository.js';
import { Store } from '../src/store/database.js';
import { RunsRepository } from '../src/store/runs-repository.js';
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

async function measure(): Promise<ResultRow> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-judge-'));
  const store = Store.open(join(dir, 'state.sqlite'));
  // No watermark hold: every observation below is judged at once.
  const accumulator = new Accumulator({ watermark: { ...DEFAULT_WATERMARK_SETTINGS, maxHoldMs: 0 } });
  const judge = new JudgeService({
    analyses: new AnalysesRepository(store),
    runs: new RunsRepository(store),
    accumulator,
    routing: { routeRun: () => undefined, unrouteRun: () => true },
    metrics: new VerdictMetrics(new Registry()),
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
  // Ticks 0 and 6 compute the full evidence (judge-service.ts, FULL_EVIDENCE_EVERY_TICKS), 1-5 decide only.
  const decisionTicks: number[] = [];
  const fullTicks: number[] = [];
  for (let i = 0; i < 7; i += 1) {
    judge.tick();
    (i % 6 === 0 ? fullTicks : decisionTicks).push(judge.lastTickMs);
  }
  // The timer's tick (tickInSlices) yields the event loop every ~10 ms: ticks 7-12 (12 is full-evidence);
  // its longest slice is the longest the judge holds ingest up.
  let longestSliceMs = 0;
  for (let i = 7; i <= 12; i += 1) {
    await judge.tickInSlices();
    longestSliceMs = Math.max(longestSliceMs, judge.lastTickSliceMs);
  }
  const snapshotStarted = performance.now();
  judge.snapshot();
  const snapshotMs = performance.now() - snapshotStarted;
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const tickMs = median(decisionTicks);
  return {
    analyses: ANALYSES,
    'samples per analysis': 10_000,
    'tick median ms': Math.round(tickMs),
    'full-evidence tick ms': Math.round(median(fullTicks)),
    'max tick ms': Math.round(Math.max(...decisionTicks, ...fullTicks)),
    'per analysis ms': Number((tickMs / ANALYSES).toFixed(3)),
    'tick / 5 s interval': Number((tickMs / TICK_INTERVAL_MS).toFixed(3)),
    'max tick / 5 s interval': Number(
      (Math.max(...decisionTicks, ...fullTicks) / TICK_INTERVAL_MS).toFixed(3),
    ),
    'sliced tick: longest slice ms': Number(longestSliceMs.toFixed(1)),
    'snapshot ms': Math.round(snapshotMs),
    'peak RSS MB': Math.round(process.memoryUsage().rss / 1e6),
  };
}

writeResults('judge-tick', [await measure()], { tickIntervalMs: TICK_INTERVAL_MS });
