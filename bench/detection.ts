// Detection benchmark (issues 2, 10, 11): false-fail rates over A/A runs and time to a `fail` verdict for
// known regressions, for canary-judge's anytime-valid policy against repeated fixed-horizon tests and a
// Flagger-style fixed threshold, all judging the same seeded simulated traffic in the same process.
//
// Scenarios (bench/sim/scenarios.ts): 500 rps, 10% canary, evaluated every 5 s for at most 30 simulated
// minutes; baseline 1% errors, lognormal latency median 50 ms sigma 0.5. A/A variants: 2 rps, 10 ms ties,
// 0.1% errors, 1% share, shared latency drift, shared and in-arm error bursts, OTel default explicit buckets,
// a 10 -> 50% ramp with a latency drift of x2 (stratified, and pooled to show why stages matter).
// Regressions: error rate 1% -> 2% (also with bursts); p95 +20% (tail, and all latencies x1.2); explicit
// buckets 30% and 5% slower; a ramp that regresses from its 30% step; a healthy ramp (pass, split checks).
//
// Runs are split over worker threads (one per core, at most 4); results do not depend on the split. Each
// scenario's outcomes are written to bench/results/detection-runs/<key>.json, and DETECTION_SCENARIOS
// (comma-separated keys) reruns only those, so the benchmark can be run in parts; the tables are always
// built from every scenario's latest outcomes. DETECTION_AA_RUNS (default 1000; the base A/A runs twice as
// many) and DETECTION_POWER_RUNS (default 300) set the runs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runScenario, type SimulatedJudge } from './sim/canary-simulation.js';
import { clopperPearsonUpper } from './sim/binomial-bounds.js';
import {
  anytimeValidJudge,
  anytimeValidOutcomeJudge,
  flaggerStyleJudge,
  repeatedFixedHorizonJudge,
} from './sim/judges.js';
import { ALL_SCENARIOS, BASE_LAW, type NamedScenario } from './sim/scenarios.js';
import { writeResults, type ResultRow } from './results.js';
import { DEFAULT_METRICS, DEFAULT_POLICY, type MetricSpec } from '../src/stats/analysis-policy.js';
import { normalQuantile } from '../src/stats/normal-distribution.js';
import { tenfoldSampleSize } from '../src/stats/tenfold-sample-size.js';

const AA_RUNS = Number(process.env.DETECTION_AA_RUNS ?? 1000);
const POWER_RUNS = Number(process.env.DETECTION_POWER_RUNS ?? 300);
const ALPHA = 0.01;
const BASE_KEYS = ['aa', 'error', 'tail', 'scale'];
const MEAN: MetricSpec = { id: 'latency_mean', kind: 'latency_mean', tolerance: 0.1 };

const J = {
  strict: 'anytime-valid, tolerance 0',
  defaults: 'anytime-valid, default tolerances',
  pooled: 'anytime-valid, default tolerances, pooled over stages (no stratification)',
  fixedM: 'repeated fixed-horizon (alpha/m)',
  fixed: 'repeated fixed-horizon (alpha per metric)',
  flagger: 'flagger-style threshold',
} as const;

function runsOf(s: NamedScenario): number {
  if (s.kind !== 'aa') return POWER_RUNS;
  return s.key === 'aa' ? 2 * AA_RUNS : AA_RUNS;
}

function judgesFor(s: NamedScenario): SimulatedJudge[] {
  const metrics = s.mean ? [...DEFAULT_METRICS, MEAN] : DEFAULT_METRICS;
  const strict = metrics.map((m) => ({ ...m, tolerance: 0 }));
  const policy = { ...DEFAULT_POLICY, alpha: ALPHA, evidence: 'decisions-only' as const };
  const named = <T extends { name: string }>(j: T, name: string): T => ({ ...j, name });
  if (s.kind === 'healthy')
    return [anytimeValidOutcomeJudge(metrics, policy, J.defaults, s.scenario.stages.length - 1)];
  const judges: SimulatedJudge[] = [named(anytimeValidJudge(metrics, policy), J.defaults)];
  if (s.kind === 'aa' || BASE_KEYS.includes(s.key))
    judges.push(named(anytimeValidJudge(strict, policy), J.strict));
  if (s.key === 'aa-ramp-drift') judges.push(named(anytimeValidJudge(metrics, policy, 'pooled'), J.pooled));
  if (BASE_KEYS.includes(s.key)) {
    const z95 = normalQuantile(0.95);
    judges.push(
      repeatedFixedHorizonJudge(strict, ALPHA, DEFAULT_POLICY.minSamplesPerArm, true),
      repeatedFixedHorizonJudge(strict, ALPHA, DEFAULT_POLICY.minSamplesPerArm, false),
      flaggerStyleJudge({
        intervalSeconds: 60,
        threshold: 2,
        maxErrorRate: 0.015,
        latencyQuantile: 0.95,
        maxLatencyNanos: 1.1 * Math.exp(BASE_LAW.mu + BASE_LAW.sigma * z95),
      }),
    );
  }
  return judges;
}

interface Task {
  key: string;
  seeds: number[];
}
/**
 * Per judge: seconds to fail (null: never) per run; for healthy runs also the first pass, how many runs
 * passed in the last stage, and how many ever failed the traffic split.
 */
interface Outcomes {
  fails: Record<string, (number | null)[]>;
  passes: (number | null)[];
  passedInLastStage: number;
  splitFailures: number;
}

function runTask(task: Task): Outcomes {
  const s = ALL_SCENARIOS.find((x) => x.key === task.key)!;
  const out: Outcomes = { fails: {}, passes: [], passedInLastStage: 0, splitFailures: 0 };
  for (const seed of task.seeds) {
    const judges = judgesFor(s);
    const { failSeconds } = runScenario(s.scenario, seed, judges);
    for (const j of judges) (out.fails[j.name] ??= []).push(failSeconds[j.name]);
    if (s.kind === 'healthy') {
      const outcome = judges[0] as ReturnType<typeof anytimeValidOutcomeJudge>;
      out.passes.push(outcome.firstPassSeconds);
      if (outcome.passedInLastStage) out.passedInLastStage++;
      if (outcome.splitFailed) out.splitFailures++;
    }
  }
  return out;
}

if (!isMainThread) {
  parentPort!.postMessage(runTask(workerData as Task));
} else {
  await main();
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function fmtSeconds(x: number): string {
  return Number.isFinite(x) ? `${x} s` : 'never';
}

function falseFails(times: (number | null)[]): string {
  const k = times.filter((t) => t !== null).length;
  const upper = 100 * clopperPearsonUpper(k, times.length, 0.975);
  return `${k}/${times.length} = ${((100 * k) / times.length).toFixed(2)}% (95% CI upper ${upper.toFixed(2)}%)`;
}

function detection(times: (number | null)[]): string {
  const sorted = times.map((t) => t ?? Infinity).sort((a, b) => a - b);
  const detected = sorted.filter(Number.isFinite).length;
  return `${fmtSeconds(percentile(sorted, 0.5))} / ${fmtSeconds(percentile(sorted, 0.9))} (${detected}/${sorted.length})`;
}

async function runScenarioRuns(s: NamedScenario, workers: number): Promise<Outcomes> {
  const runs = runsOf(s);
  const chunks: Task[] = Array.from({ length: workers }, (_, w) => ({
    key: s.key,
    seeds: Array.from({ length: runs }, (_, i) => s.seedBase + i).filter((_, i) => i % workers === w),
  }));
  const parts = await Promise.all(
    chunks.map(
      (task) =>
        new Promise<Outcomes>((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: task });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  const merged: Outcomes = { fails: {}, passes: [], passedInLastStage: 0, splitFailures: 0 };
  for (const p of parts) {
    for (const [name, times] of Object.entries(p.fails)) (merged.fails[name] ??= []).push(...times);
    merged.passes.push(...p.passes);
    merged.passedInLastStage += p.passedInLastStage;
    merged.splitFailures += p.splitFailures;
  }
  return merged;
}

async function main(): Promise<void> {
  const started = Date.now();
  const workers = Math.max(1, Math.min(4, availableParallelism()));
  const runsDir = fileURLToPath(new URL('../../bench/results/detection-runs/', import.meta.url));
  mkdirSync(runsDir, { recursive: true });
  const only = (process.env.DETECTION_SCENARIOS ?? '').split(',').filter((k) => k !== '');
  for (const s of ALL_SCENARIOS) {
    if (only.length > 0 && !only.includes(s.key)) continue;
    const outcomes = await runScenarioRuns(s, workers);
    writeFileSync(
      `${runsDir}${s.key}.json`,
      `${JSON.stringify({ key: s.key, date: new Date().toISOString(), outcomes })}\n`,
    );
    process.stdout.write(
      `${s.name}: ${runsOf(s)} runs done at ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
  }
  const results: Record<string, Outcomes> = {};
  for (const s of ALL_SCENARIOS) {
    try {
      results[s.key] = (
        JSON.parse(readFileSync(`${runsDir}${s.key}.json`, 'utf8')) as { outcomes: Outcomes }
      ).outcomes;
    } catch {
      // not run yet: left out of the tables
    }
  }

  // Table 1 (the summary's): every judge on the base scenarios.
  const base = ALL_SCENARIOS.filter((s) => BASE_KEYS.includes(s.key) && results[s.key]);
  const judgeNames = [J.strict, J.defaults, J.fixedM, J.fixed, J.flagger];
  const mainRows: ResultRow[] = judgeNames.map((name) => {
    const row: ResultRow = { judge: name };
    for (const s of base) {
      const times = results[s.key].fails[name] ?? [];
      if (s.kind === 'aa') row['A/A false fails (Clopper-Pearson 95% CI upper)'] = falseFails(times);
      else row[`${s.name}: median / p90 time to fail (detected)`] = detection(times);
    }
    return row;
  });
  writeResults('detection', mainRows, {
    setup:
      '500 rps, 10% canary, tick 5 s, 30 simulated min; baseline 1% errors, lognormal latency median 50 ms sigma 0.5',
    alpha: ALPHA,
    aaRuns: 2 * AA_RUNS,
    powerRunsPerScenario: POWER_RUNS,
    metrics: 'error_rate, latency p50/p95/p99; default tolerances 0.005 absolute, 0.10 relative',
    policy:
      'DEFAULT_POLICY (srmAlpha 0.001 of alpha, min 200 samples per arm, mean of e-values across metrics)',
    flagger:
      'every 60 s on the last 60 s of canary only: error rate > 1.5% or p95 > 1.1 x true baseline p95; rollback at 2 failed checks',
    fixedHorizon: 'one-sided Wald z on error rate, order-statistic CIs on quantiles, every tick, tolerance 0',
    workers,
  });

  // Table 2: every scenario, canary-judge's judges.
  const rows: ResultRow[] = [];
  for (const s of ALL_SCENARIOS) {
    const r = results[s.key];
    if (!r) continue;
    for (const [name, times] of Object.entries(r.fails)) {
      if (!([J.strict, J.defaults, J.pooled] as string[]).includes(name)) continue;
      const row: ResultRow = { scenario: s.name, judge: name, runs: times.length };
      row['A/A false fails (95% CI upper)'] = s.kind === 'aa' ? falseFails(times) : '';
      row['median / p90 time to fail (detected)'] = s.kind === 'aa' ? '' : detection(times);
      row['healthy: median / p90 first pass (passed); passed in last stage; split failures'] =
        s.kind === 'healthy'
          ? `${detection(r.passes)}; ${r.passedInLastStage}/${times.length}; ${r.splitFailures}/${times.length}`
          : '';
      rows.push(row);
    }
  }
  writeResults('detection-scenarios', rows, {
    setup:
      'bench/sim/scenarios.ts; latency_mean (tolerance 0.10) is judged too in the explicit-bucket scenarios',
    alpha: ALPHA,
    aaRunsPerScenario: AA_RUNS,
    powerRunsPerScenario: POWER_RUNS,
  });

  // Table 3: canary samples the sequential tests need before a tenfold regression can fail.
  const metricsAlpha = ALPHA - DEFAULT_POLICY.srmAlpha;
  const tenfold: ResultRow[] = [...DEFAULT_METRICS, MEAN].map((spec) => {
    const row: ResultRow = { metric: spec.id, tolerance: spec.tolerance };
    for (const m of [1, 5]) {
      // Alone (e-value needs 1/alpha) and as one of five metrics (needs 5/alpha when the others show nothing).
      for (const share of [0.1, 0.5]) {
        const policy = { ...DEFAULT_POLICY, minSamplesPerArm: 1 };
        row[`${m} metric${m > 1 ? 's' : ''}, ${share * 100}% canary`] = tenfoldSampleSize(
          spec,
          policy,
          metricsAlpha / m,
          share,
        );
      }
    }
    return row;
  });
  writeResults('detection-tenfold', tenfold, {
    what: 'canary samples before a x10 regression can fail (most favourable data; min samples per arm set to 1)',
    alpha: ALPHA,
    wallSeconds: ((Date.now() - started) / 1000).toFixed(0),
  });
}
