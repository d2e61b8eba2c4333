// Reduced detection benchmark for iterating on the latency tests: only canary-judge's anytime-valid judge at
// tolerance 0, only the A/A and latency scenarios, fewer runs, one worker thread per core (at most 2).
// QUICK_AA_RUNS (default 200), QUICK_POWER_RUNS (default 100), QUICK_POLICY (JSON merged into the policy),
// QUICK_SCENARIOS (comma-separated subset of: aa, tail, scale, error), QUICK_METRICS (comma-separated ids of
// DEFAULT_METRICS to judge, default all), QUICK_CANARY_SHARE (default 0.1). Same seeds as bench/detection.ts.
// Prints one line per scenario; writes nothing. Run: npm run build:all && node dist/bench/sim/quick-detection.js
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DEFAULT_METRICS, DEFAULT_POLICY } from '../../src/stats/analysis-policy.js';
import { normalQuantile } from '../../src/stats/normal-distribution.js';
import { clopperPearsonUpper } from './binomial-bounds.js';
import { type ArmLaw, runScenario } from './canary-simulation.js';
import { anytimeValidJudge } from './judges.js';

const Z95 = normalQuantile(0.95);
const baseline: ArmLaw = { errorRate: 0.01, mu: Math.log(50e6), sigma: 0.5 };
const scenarios: Record<string, { law: ArmLaw; seedBase: number }> = {
  aa: { law: baseline, seedBase: 1_000_000 },
  error: { law: { ...baseline, errorRate: 0.02 }, seedBase: 2_100_000 },
  tail: { law: { ...baseline, sigma: baseline.sigma + Math.log(1.2) / Z95 }, seedBase: 2_200_000 },
  scale: { law: { ...baseline, mu: baseline.mu + Math.log(1.2) }, seedBase: 2_300_000 },
};

interface Task {
  scenario: string;
  seeds: number[];
  policy: string;
  metrics: string[];
  canaryShare: number;
}

function runTask(task: Task): (number | null)[] {
  const metrics = DEFAULT_METRICS.filter((m) => task.metrics.length === 0 || task.metrics.includes(m.id)).map(
    (m) => ({ ...m, tolerance: 0 }),
  );
  const policy = {
    ...DEFAULT_POLICY,
    canaryShare: task.canaryShare,
    evidence: 'decisions-only' as const,
    ...(JSON.parse(task.policy) as object),
  };
  const { law } = scenarios[task.scenario];
  return task.seeds.map((seed) => {
    const judge = anytimeValidJudge(metrics, policy);
    const scenario = {
      rps: 500,
      canaryShare: task.canaryShare,
      tickSeconds: 5,
      durationSeconds: 1800,
      baseline,
      canary: law,
    };
    return runScenario(scenario, seed, [judge]).failSeconds[judge.name];
  });
}

if (!isMainThread) {
  parentPort!.postMessage(runTask(workerData as Task));
} else {
  const workers = Math.max(1, Math.min(2, availableParallelism()));
  const aaRuns = Number(process.env.QUICK_AA_RUNS ?? 200);
  const powerRuns = Number(process.env.QUICK_POWER_RUNS ?? 100);
  const policy = process.env.QUICK_POLICY ?? '{}';
  const names = (process.env.QUICK_SCENARIOS ?? 'aa,tail,scale').split(',');
  const metrics = (process.env.QUICK_METRICS ?? '').split(',').filter((m) => m !== '');
  const canaryShare = Number(process.env.QUICK_CANARY_SHARE ?? 0.1);
  const started = Date.now();
  for (const name of names) {
    const runs = name === 'aa' ? aaRuns : powerRuns;
    const seeds = Array.from({ length: runs }, (_, i) => scenarios[name].seedBase + i);
    const parts = await Promise.all(
      Array.from(
        { length: workers },
        (_, w) =>
          new Promise<(number | null)[]>((resolve, reject) => {
            const task: Task = {
              scenario: name,
              seeds: seeds.filter((_, i) => i % workers === w),
              policy,
              metrics,
              canaryShare,
            };
            const worker = new Worker(new URL(import.meta.url), { workerData: task });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    const times = parts
      .flat()
      .map((t) => t ?? Infinity)
      .sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
    const fails = times.filter(Number.isFinite).length;
    const summary =
      name === 'aa'
        ? `false fails ${fails}/${runs} (99% upper ${(100 * clopperPearsonUpper(fails, runs, 0.99)).toFixed(2)}%)`
        : `median ${at(0.5)} s, p90 ${at(0.9)} s, mean ${(times.reduce((a, b) => a + Math.min(b, 1800), 0) / runs).toFixed(1)} s`;
    process.stdout.write(`${policy} ${name}: ${summary} [${((Date.now() - started) / 1000).toFixed(0)} s]\n`);
  }
}
