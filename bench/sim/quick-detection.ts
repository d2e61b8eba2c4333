// Reduced detection benchmark for iterating on the tests: only canary-judge's anytime-valid judge, chosen
// scenarios (bench/sim/scenarios.ts keys), fewer runs, one worker thread per core (at most 2).
// QUICK_SCENARIOS (comma-separated keys, default aa,error,tail,scale), QUICK_AA_RUNS (default 200),
// QUICK_POWER_RUNS (default 100), QUICK_POLICY (JSON merged into the policy), QUICK_TOLERANCE ('default' or
// a number applied to every metric; default 'default'), QUICK_METRICS (comma-separated metric ids, default
// all), QUICK_POOLED=1 (judge pooled evidence). Same seeds as bench/detection.ts. Prints one line per
// scenario; writes nothing. Run: npm run build:all && node dist/bench/sim/quick-detection.js
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DEFAULT_METRICS, DEFAULT_POLICY, type MetricSpec } from '../../src/stats/analysis-policy.js';
import { clopperPearsonUpper } from './binomial-bounds.js';
import { runScenario } from './canary-simulation.js';
import { anytimeValidJudge } from './judges.js';
import { ALL_SCENARIOS } from './scenarios.js';

interface Task {
  key: string;
  seeds: number[];
  policy: string;
  metrics: string[];
  tolerance: string;
  pooled: boolean;
}

export const MEAN_METRIC: MetricSpec = { id: 'latency_mean', kind: 'latency_mean', tolerance: 0.1 };

function runTask(task: Task): (number | null)[] {
  const named = ALL_SCENARIOS.find((s) => s.key === task.key)!;
  const all = named.mean ? [...DEFAULT_METRICS, MEAN_METRIC] : DEFAULT_METRICS;
  const metrics = all
    .filter((m) => task.metrics.length === 0 || task.metrics.includes(m.id))
    .map((m) => (task.tolerance === 'default' ? m : { ...m, tolerance: Number(task.tolerance) }));
  const policy = {
    ...DEFAULT_POLICY,
    evidence: 'decisions-only' as const,
    ...(JSON.parse(task.policy) as object),
  };
  return task.seeds.map((seed) => {
    const judge = anytimeValidJudge(metrics, policy, task.pooled ? 'pooled' : 'stages');
    return runScenario(named.scenario, seed, [judge]).failSeconds[judge.name];
  });
}

if (!isMainThread) {
  parentPort!.postMessage(runTask(workerData as Task));
} else {
  const workers = Math.max(1, Math.min(2, availableParallelism()));
  const aaRuns = Number(process.env.QUICK_AA_RUNS ?? 200);
  const powerRuns = Number(process.env.QUICK_POWER_RUNS ?? 100);
  const policy = process.env.QUICK_POLICY ?? '{}';
  const keys = (process.env.QUICK_SCENARIOS ?? 'aa,error,tail,scale').split(',');
  const metrics = (process.env.QUICK_METRICS ?? '').split(',').filter((m) => m !== '');
  const tolerance = process.env.QUICK_TOLERANCE ?? 'default';
  const pooled = process.env.QUICK_POOLED === '1';
  const started = Date.now();
  for (const key of keys) {
    const named = ALL_SCENARIOS.find((s) => s.key === key);
    if (!named)
      throw new Error(`unknown scenario ${key}; known: ${ALL_SCENARIOS.map((s) => s.key).join(', ')}`);
    const runs = named.kind === 'aa' ? aaRuns : powerRuns;
    const seeds = Array.from({ length: runs }, (_, i) => named.seedBase + i);
    const parts = await Promise.all(
      Array.from(
        { length: workers },
        (_, w) =>
          new Promise<(number | null)[]>((resolve, reject) => {
            const task: Task = {
              key,
              seeds: seeds.filter((_, i) => i % workers === w),
              policy,
              metrics,
              tolerance,
              pooled,
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
      named.kind === 'aa'
        ? `false fails ${fails}/${runs} (95% upper ${(100 * clopperPearsonUpper(fails, runs, 0.95)).toFixed(2)}%)`
        : `median ${at(0.5)} s, p90 ${at(0.9)} s, failed ${fails}/${runs}`;
    process.stdout.write(
      `${policy} tol=${tolerance} ${key}: ${summary} [${((Date.now() - started) / 1000).toFixed(0)} s]\n`,
    );
  }
}
