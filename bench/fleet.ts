// Fleet benchmark (`npm run bench -- fleet`): what fleet mode costs the judging instance.
//   1. Merge cost per forwarded state (one run x stage x arm: requests, errors, split, latency histogram,
//      values without sum), through the real path: the forwarder's fleetResourceMetrics and the OTel SDK's
//      protobuf serializer, then at the judge decodeMetricsRequest and FleetIntake into the Accumulator.
//      Baseline, same run: accepting one span observation into an accumulator.
//   2. Judging throughput with 1, 4 and 16 forwarders: RUNS running runs on a real JudgeService (SQLite),
//      SPANS_PER_RUN spans per run per export interval split across the forwarders; the judge's CPU per
//      interval (decode + merge every forwarder's export, one tick) and the spans it judges per CPU second.
//      Baseline, same run: one instance that is fed the same spans itself (accept + tick).
// All in one process, no sockets: the figures are the judge's CPU work, not network.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { Registry } from 'prom-client';
import { median } from 'simple-statistics';
import { Accumulator } from '../src/accumulate/accumulator.js';
import type { Observation } from '../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../src/accumulate/source-watermark.js';
import { analysisSchema } from '../src/config/analysis.js';
import { fleetResourceMetrics, type RunStateExport } from '../src/fleet/state-export.js';
import { FleetIntake } from '../src/fleet/state-intake.js';
import { JudgeService } from '../src/judge/judge-service.js';
import { decodeMetricsRequest } from '../src/otlp/decode/index.js';
import type { TelemetrySink } from '../src/otlp/model.js';
import { VerdictMetrics } from '../src/publish/verdict-metrics.js';
import { AnalysesRepository } from '../src/store/analyses-repository.js';
import { Store } from '../src/store/database.js';
import { RunsRepository } from '../src/store/runs-repository.js';
import { createLogger } from '../src/telemetry/logger.js';
import { writeResults, type ResultRow } from './results.js';

const RUNS = Number(process.env.BENCH_FLEET_RUNS ?? 100);
const SPANS_PER_RUN = Number(process.env.BENCH_FLEET_SPANS ?? 2_000);
const INTERVALS = 6;
const INTERVAL_MS = 2_000;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const WATERMARK = { ...DEFAULT_WATERMARK_SETTINGS, lagMs: 0, maxHoldMs: 0 };

function randomSource(seed: number): () => number {
  let state = seed;
  return () => ((state = (state * 1103515245 + 12345) % 2147483648) + 1) / 2147483649;
}

/** One interval's spans of a run: 90% baseline, 10% canary, log-normal latencies around 50 ms, 1% errors. */
function spans(runId: string, interval: number, seed: number): Observation[] {
  const random = randomSource(seed);
  const startMs = T0 + interval * INTERVAL_MS;
  return Array.from({ length: SPANS_PER_RUN }, (_, i) => ({
    kind: 'span' as const,
    runId,
    arm: i % 10 === 0 ? ('canary' as const) : ('baseline' as const),
    sourceKey: `pod-${i % 8}`,
    timeUnixMs: startMs + Math.floor((i / SPANS_PER_RUN) * (INTERVAL_MS - 500)),
    durationNanos: Math.round(
      50e6 * Math.exp(0.5 * Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random())),
    ),
    isError: random() < 0.01,
  }));
}

const noSink: TelemetrySink = { acceptSpans() {}, acceptMetrics() {}, acceptLogs() {} };

interface Judge {
  judge: JudgeService;
  accumulator: Accumulator;
  intake: FleetIntake;
  runIds: string[];
  stages: Array<{ startedAtMs: number; canaryShare: number | null }>;
  close(): void;
}

function startJudge(clock: () => number): Judge {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-bench-fleet-'));
  const store = Store.open(join(dir, 'state.sqlite'));
  const accumulator = new Accumulator({ watermark: WATERMARK, clock });
  const judge = new JudgeService({
    analyses: new AnalysesRepository(store),
    runs: new RunsRepository(store),
    accumulator,
    routing: { routeRun: () => undefined, unrouteRun: () => true },
    metrics: new VerdictMetrics(new Registry()),
    tickIntervalMs: 5_000,
    snapshotIntervalMs: 86_400_000,
    maxAnalyses: RUNS,
    maxRunningRuns: RUNS,
    maxFinishedRuns: RUNS,
    logger: createLogger('silent'),
    clock,
  });
  const runIds: string[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const id = `analysis-${i}`;
    const spec = analysisSchema.parse({
      id,
      variant: { flag: 'f' },
      baseline: 'off',
      canary: 'on',
      judge: { maxDurationSeconds: 86_400, minSamplesPerArm: 1e9 }, // keeps every run running
    });
    judge.putAnalysis(spec, 'api', false);
    const { runId } = judge.startRun(id, 'rev-1', { declaredBy: 'api' }).document;
    analysisOf.set(runId, id);
    runIds.push(runId);
  }
  return {
    judge,
    accumulator,
    intake: new FleetIntake(noSink, accumulator, new Registry()),
    runIds,
    stages: judge.runningRuns()[0].stages,
    close() {
      judge.shutdown();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function forwarderOf(judge: Judge, clock: () => number): Accumulator {
  const accumulator = new Accumulator({ watermark: { ...WATERMARK, requireBothArms: false }, clock });
  for (const runId of judge.runIds) accumulator.open(runId, judge.stages[0]);
  return accumulator;
}

const analysisOf = new Map<string, string>();

/** A forwarder's export now: one protobuf request per analysis, as the SDK exporter sends them. */
function exportOf(forwarder: Accumulator, runIds: string[], id: string, nowMs: number): Uint8Array[] {
  const runs: RunStateExport[] = runIds.map((runId) => {
    const evidence = forwarder.evidence(runId)!;
    evidence.advance(nowMs);
    return {
      runId,
      analysisId: analysisOf.get(runId)!,
      startTimeMs: T0 - 1_000,
      watermarkMs: Math.min(evidence.watermark, nowMs),
      stages: evidence.readOwn(),
    };
  });
  return fleetResourceMetrics(runs, id).map((metrics) =>
    ProtobufMetricsSerializer.serializeRequest(metrics)!,
  );
}

function scenario(forwarders: number): { fleet: ResultRow; statesPerInterval: number; mergeMs: number } {
  let nowMs = T0;
  const clock = () => nowMs;
  const judge = startJudge(clock);
  const single = startJudge(clock);
  const fleet = Array.from({ length: forwarders }, () => forwarderOf(judge, clock));
  const merge: number[] = [];
  const tick: number[] = [];
  const singleWork: number[] = [];
  let states = 0;
  for (let interval = 0; interval < INTERVALS; interval += 1) {
    const traffic = judge.runIds.map((runId, r) => spans(runId, interval, r * 1_000 + interval + 1));
    const singleTraffic = traffic.map((runSpans, r) =>
      runSpans.map((span) => ({ ...span, runId: single.runIds[r] })),
    );
    // Forwarders: each span (a trace of its own) goes to one, as a split by trace id does.
    const pick = randomSource(interval + 1);
    for (const runSpans of traffic) {
      const shares = fleet.map((): Observation[] => []);
      for (const span of runSpans) shares[Math.floor(pick() * forwarders)].push(span);
      shares.forEach((share, f) => fleet[f].accept(share));
    }
    nowMs = T0 + (interval + 1) * INTERVAL_MS;
    const requests = fleet.flatMap((forwarder, f) =>
      exportOf(forwarder, judge.runIds, `forwarder-${f}`, nowMs),
    );
    let started = performance.now();
    states = 0;
    for (const bytes of requests) {
      const batch = decodeMetricsRequest(bytes);
      states += batch.points.filter((p) => p.metricName === 'canary_judge.fleet.requests').length;
      judge.intake.acceptMetrics(batch);
    }
    merge.push(performance.now() - started);
    started = performance.now();
    judge.judge.tick();
    tick.push(performance.now() - started);
    // The baseline: one instance fed the same spans itself.
    started = performance.now();
    for (const runSpans of singleTraffic) single.accumulator.accept(runSpans);
    single.judge.tick();
    singleWork.push(performance.now() - started);
  }
  // Both judged the same evidence: equal counts for every run.
  judge.runIds.forEach((runId, r) => {
    const [a] = judge.accumulator.read(runId);
    const [b] = single.accumulator.read(single.runIds[r]);
    if (a.baseline.requests !== b.baseline.requests || a.canary.requests !== b.canary.requests)
      throw new Error(`fleet and single instance disagree on run ${r}`);
  });
  judge.close();
  single.close();
  // The first interval pays for JIT warm-up: medians over the rest.
  const mergeMs = median(merge.slice(1));
  const judgeMs = mergeMs + median(tick.slice(1));
  const singleMs = median(singleWork.slice(1));
  const spansPerInterval = RUNS * SPANS_PER_RUN;
  return {
    statesPerInterval: states,
    mergeMs,
    fleet: {
      forwarders,
      'states merged / interval': states,
      'merge ms / interval': Number(mergeMs.toFixed(1)),
      'tick ms': Number(median(tick.slice(1)).toFixed(1)),
      'judge ms / 2 s interval': Number(judgeMs.toFixed(1)),
      'spans judged / judge CPU s': Math.round(spansPerInterval / (judgeMs / 1000)),
      'single instance ms (same spans)': Number(singleMs.toFixed(1)),
      'judge / single instance': Number((judgeMs / singleMs).toFixed(3)),
    },
  };
}

/** Baseline of the per-state figure: one span observation accepted into an accumulator, in ns. */
function spanAcceptNanos(): number {
  const accumulator = new Accumulator({ watermark: WATERMARK, clock: () => T0 + 60_000 });
  accumulator.open('run', { startedAtMs: T0, canaryShare: null });
  const observations = spans('run', 0, 7).concat(spans('run', 1, 8));
  const rounds: number[] = [];
  for (let round = 0; round < 7; round += 1) {
    const started = performance.now();
    accumulator.accept(observations);
    rounds.push(((performance.now() - started) * 1e6) / observations.length);
  }
  return median(rounds.slice(2));
}

const rows = [1, 4, 16].map((forwarders) => scenario(forwarders));
const spanNs = spanAcceptNanos();
const perState = rows.map(({ statesPerInterval, mergeMs }) => (mergeMs * 1e6) / statesPerInterval);
const mergeRows: ResultRow[] = rows.map(({ fleet }, i) => ({
  forwarders: fleet.forwarders,
  'merge µs / forwarded state': Number((perState[i] / 1000).toFixed(1)),
  'span accept µs (baseline)': Number((spanNs / 1000).toFixed(2)),
  'state / span': Number((perState[i] / spanNs).toFixed(0)),
}));
writeResults('fleet-merge', mergeRows, { runs: RUNS, spansPerRunPerInterval: SPANS_PER_RUN });
writeResults(
  'fleet',
  rows.map(({ fleet }) => fleet),
  { runs: RUNS, spansPerRunPerInterval: SPANS_PER_RUN, intervalMs: INTERVAL_MS, intervals: INTERVALS },
);
