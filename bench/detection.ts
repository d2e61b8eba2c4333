// Detection benchmark (issue 2): false-fail rate over A/A runs and time to a `fail` verdict for known
// regressions, for canary-judge's anytime-valid policy against repeated fixed-horizon tests and a
// Flagger-style fixed threshold, all judging the same seeded simulated traffic in the same process.
//
// Setup: 500 rps, 10% canary, evaluated every 5 s for at most 30 simulated minutes; baseline error rate 1%,
// latency lognormal with median 50 ms and sigma 0.5. Regressions: error rate 1% -> 2%; p95 +20% with the
// median unchanged (sigma raised, a tail regression); p95 +20% by scaling every latency by 1.2.
// Runs are split over worker threads (one per core, at most 4); results do not depend on the split.
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type ArmLaw, runScenario, type Scenario } from './sim/canary-simulation.js';
import { allowedFailures, clopperPearsonUpper } from './sim/binomial-bounds.js';
import { baseScenario } from './sim/scenarios.js';
import { anytimeValidJudge, flaggerStyleJudge, repeatedFixedHorizonJudge } from './sim/judges.js';
import { writeResults, type ResultRow } from './results.js';
import { DEFAULT_METRICS, DEFAULT_POLICY } from '../src/stats/analysis-policy.js';
import { normalQuantile } from '../src/stats/normal-distribution.js';

const AA_RUNS = Number(process.env.DETECTION_AA_RUNS ?? 2000);
const POWER_RUNS = Number(process.env.DETECTION_POWER_RUNS ?? 300);
const ALPHA = 0.01;
const Z95 = normalQuantile(0.95);

const baseline: ArmLaw = { errorRate: 0.01, mu: Math.log(50e6), sigma: 0.5 };
const scenarios: Record<string, ArmLaw> = {
  'A/A': baseline,
  'error rate 1% -> 2%': { ...baseline, errorRate: 0.02 },
  'p95 +20% (tail, median same)': { ...baseline, sigma: baseline.sigma + Math.log(1.2) / Z95 },
  'p95 +20% (all latencies x1.2)': { ...baseline, mu: baseline.mu + Math.log(1.2) },
};

const JUDGES = [
  'anytime-valid, tolerance 0',
  'anytime-valid, default tolerances',
  'repeated fixed-horizon (alpha/m)',
  'repeated fixed-horizon (alpha per metric)',
  'flagger-style threshold',
] as const;

function judges() {
  const strict = DEFAULT_METRICS.map((m) => ({ ...m, tolerance: 0 }));
  const policy = { ...DEFAULT_POLICY, alpha: ALPHA, evidence: 'decisions-only' as const };
  const named = <T extends { name: string }>(j: T, name: string): T => ({ ...j, name });
  return [
    named(anytimeValidJudge(strict, policy), JUDGES[0]),
    named(anytimeValidJudge(DEFAULT_METRICS, policy), JUDGES[1]),
    repeatedFixedHorizonJudge(strict, ALPHA, DEFAULT_POLICY.minSamplesPerArm, true),
    repeatedFixedHorizonJudge(strict, ALPHA, DEFAULT_POLICY.minSamplesPerArm, false),
    flaggerStyleJudge({
      intervalSeconds: 60,
      threshold: 2,
      maxErrorRate: 0.015,
      latencyQuantile: 0.95,
      maxLatencyNanos: 1.1 * Math.exp(baseline.mu + baseline.sigma * Z95),
    }),
  ];
}

interface Task {
  scenario: string;
  seeds: number[];
}
type Outcomes = Record<string, (number | null)[]>;

function runTask(task: Task): Outcomes {
  const law = scenarios[task.scenario];
  const scenario: Scenario = baseScenario(law);
  const out: Outcomes = {};
  for (const name of JUDGES) out[name] = [];
  for (const seed of task.seeds) {
    const { failSeconds } = runScenario(scenario, seed, judges());
    for (const name of JUDGES) out[name].push(failSeconds[name]);
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
  return Number.isFinite(x) ? `${x} s` : '> 1800 s';
}

async function main(): Promise<void> {
  const started = Date.now();
  const workers = Math.max(1, Math.min(4, availableParallelism()));
  const results: Record<string, Outcomes> = {};
  for (const scenario of Object.keys(scenarios)) {
    const runs = scenario === 'A/A' ? AA_RUNS : POWER_RUNS;
    const base =
      scenario === 'A/A' ? 1_000_000 : 2_000_000 + Object.keys(scenarios).indexOf(scenario) * 100_000;
    const chunks: Task[] = Array.from({ length: workers }, (_, w) => ({
      scenario,
      seeds: Array.from({ length: runs }, (_, i) => base + i).filter((_, i) => i % workers === w),
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
    const merged: Outcomes = {};
    for (const name of JUDGES) merged[name] = parts.flatMap((p) => p[name]);
    results[scenario] = merged;
    process.stdout.write(
      `${scenario}: ${runs} runs done at ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
  }

  const rows: ResultRow[] = JUDGES.map((name) => {
    const aa = results['A/A'][name];
    const falseFails = aa.filter((t) => t !== null).length;
    const row: ResultRow = {
      judge: name,
      'A/A false fails': `${falseFails}/${aa.length} = ${((100 * falseFails) / aa.length).toFixed(2)}%`,
      'false-fail 99% upper bound': `${(100 * clopperPearsonUpper(falseFails, aa.length, 0.99)).toFixed(2)}%`,
    };
    for (const scenario of Object.keys(scenarios).slice(1)) {
      const times = results[scenario][name].map((t) => t ?? Infinity).sort((a, b) => a - b);
      const detected = times.filter(Number.isFinite).length;
      row[`${scenario}: median / p90 time to fail (detected)`] =
        `${fmtSeconds(percentile(times, 0.5))} / ${fmtSeconds(percentile(times, 0.9))} (${detected}/${times.length})`;
    }
    return row;
  });
  writeResults('detection', rows, {
    setup:
      '500 rps, 10% canary, tick 5 s, 30 simulated min; baseline 1% errors, lognormal latency median 50 ms sigma 0.5',
    alpha: ALPHA,
    aaRuns: AA_RUNS,
    powerRunsPerScenario: POWER_RUNS,
    aaAllowedFailuresAtAlpha: `${allowedFailures(AA_RUNS, ALPHA)} (0.999 quantile of Binomial(runs, alpha))`,
    metrics: 'error_rate, latency p50/p95/p99; default tolerances 0.005 absolute, 0.10 relative',
    policy: 'DEFAULT_POLICY (srmAlpha 0.001 of alpha, min 200 samples per arm, Holm across metrics)',
    flagger:
      'every 60 s on the last 60 s of canary only: error rate > 1.5% or p95 > 1.1 x true baseline p95; rollback at 2 failed checks',
    fixedHorizon: 'one-sided Wald z on error rate, order-statistic CIs on quantiles, every tick, tolerance 0',
    workers,
    wallSeconds: ((Date.now() - started) / 1000).toFixed(0),
  });
}
