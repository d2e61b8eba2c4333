// The verdict series as Prometheus reads them: promtool accepts the exposition, no gauge carries the label
// name `quantile` (reserved for summaries), the fixed-horizon p-value is exported under a descriptive name
// only, and an unbounded ratio is +Inf rather than missing.
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ArmState } from '../../src/accumulate/arm-state.js';
import { buildDocument } from '../../src/judge/verdict-document.js';
import { VerdictMetrics } from '../../src/publish/verdict-metrics.js';
import { DEFAULT_METRICS, DEFAULT_POLICY, initialSequentialState } from '../../src/stats/analysis-policy.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';

function arm(requests: number, zeros: number, slowNanos: number): ArmState {
  const a = new ArmState();
  a.requests = requests;
  a.latency.record(0, zeros);
  a.latency.record(slowNanos, requests - zeros);
  return a;
}

/** A running run's document at a 20% canary stage, from one evaluation of 3 000 baseline and 600 canary requests. */
function splitDocument(
  analysisId: string,
  runId: string,
  revision: string,
  atMs: number,
  verdict: 'running' | 'fail' = 'running',
) {
  const evaluation = evaluateAnalysis(
    [{ baseline: arm(3000, 0, 20e6), canary: arm(600, 0, 20e6), canaryShare: 0.2 }],
    DEFAULT_METRICS,
    DEFAULT_POLICY,
    initialSequentialState(),
  );
  return buildDocument(
    {
      analysisId,
      runId,
      revision,
      attempt: 1,
      state: 'running',
      startedAtMs: 0,
      endedAtMs: null,
      endReason: null,
    },
    [{ startedAtMs: 0, canaryShare: 0.2, declaredBy: 'api' }],
    atMs,
    { verdict, action: verdict === 'fail' ? 'rollback' : 'continue', reason: '' },
    evaluation,
    [],
    atMs,
  );
}

async function exposition(): Promise<string> {
  const registry = new Registry();
  const metrics = new VerdictMetrics(registry);
  // The baseline's p50 is 0: the ratio's upper bound is unbounded.
  const evaluation = evaluateAnalysis(
    [{ baseline: arm(3000, 2000, 20e6), canary: arm(3000, 1400, 20e6), canaryShare: 0.5 }],
    DEFAULT_METRICS,
    DEFAULT_POLICY,
    initialSequentialState(),
  );
  const run = {
    analysisId: 'checkout',
    runId: 'run-1',
    revision: 'r1',
    attempt: 1,
    state: 'running' as const,
    startedAtMs: 0,
    endedAtMs: null,
    endReason: null,
  };
  const stages = [{ startedAtMs: 0, canaryShare: 0.5, declaredBy: 'api' }];
  const decision = { verdict: 'running' as const, action: 'continue' as const, reason: '' };
  metrics.update('checkout', buildDocument(run, stages, 5000, decision, evaluation, [], 5000));
  return registry.metrics();
}

describe('verdict metrics', () => {
  it('pass promtool check metrics and use `q`, never `quantile`, as a gauge label', async () => {
    const text = await exposition();
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error)
      throw new Error(
        `promtool is needed for this test (apt-get install prometheus): ${promtool.error.message}`,
      );
    expect(promtool.stderr + promtool.stdout).not.toMatch(/error/i);
    expect(promtool.status).toBe(0);
    expect(text).not.toMatch(/quantile="/);
    expect(text).toMatch(/canary_judge_arm_latency_seconds\{analysis="checkout",arm="canary",q="0\.95"\}/);
  });

  it('exports the fixed-horizon p-value only under a name that says it is descriptive, and +Inf for an unbounded ratio', async () => {
    const text = await exposition();
    expect(text).toMatch(
      /^canary_judge_metric_always_valid_p_value\{analysis="checkout",metric="error_rate"\} /m,
    );
    expect(text).toMatch(
      /^canary_judge_metric_descriptive_fixed_horizon_p_value\{analysis="checkout",metric="latency_p50"\} /m,
    );
    expect(text).toMatch(/DESCRIPTIVE ONLY/);
    expect(text).not.toMatch(/canary_judge_metric_p_value/);
    expect(text).toMatch(
      /^canary_judge_metric_effect\{analysis="checkout",metric="latency_p50",bound="upper"\} \+Inf$/m,
    );
  });
});

describe('verdict metrics for dashboards', () => {
  it('export the tolerance line, sample progress, declared share, decisions and one run_info series per analysis', async () => {
    const registry = new Registry();
    const metrics = new VerdictMetrics(registry);
    metrics.update('checkout', splitDocument('checkout', 'run-1', 'r1', 5000));
    expect((await registry.metrics()).match(/^canary_judge_run_info\{.*$/gm)).toEqual([
      'canary_judge_run_info{analysis="checkout",run_id="run-1",revision="r1",attempt="1"} 1',
    ]);
    metrics.update('checkout', splitDocument('checkout', 'run-2', 'r2', 6000));
    const text = await registry.metrics();
    expect(spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' }).status).toBe(0);
    expect(text).toMatch(
      /^canary_judge_metric_effect_tolerance\{analysis="checkout",metric="latency_p95"\} 1\.1$/m,
    );
    expect(text).toMatch(
      /^canary_judge_metric_effect_tolerance\{analysis="checkout",metric="error_rate"\} 0\.005$/m,
    );
    expect(text).toMatch(/^canary_judge_metric_min_samples\{analysis="checkout",metric="error_rate"\} 200$/m);
    expect(text).toMatch(
      /^canary_judge_metric_samples\{analysis="checkout",metric="error_rate",arm="canary"\} 600$/m,
    );
    expect(text).toMatch(
      /^canary_judge_metric_decision\{analysis="checkout",metric="error_rate",decision="running"\} 1$/m,
    );
    expect(text).toMatch(/^canary_judge_expected_canary_share_ratio\{analysis="checkout"\} 0\.2$/m);
    expect(text).toMatch(/^canary_judge_traffic_split_always_valid_p_value\{analysis="checkout"\} /m);
    // The latest run only: run-1's series went when run-2 started.
    expect(text.match(/^canary_judge_run_info\{.*$/gm)).toEqual([
      'canary_judge_run_info{analysis="checkout",run_id="run-2",revision="r2",attempt="1"} 1',
    ]);
    metrics.remove('checkout');
    expect(await registry.metrics()).not.toMatch(/^canary_judge_run_info\{/m);
  });
});

describe('verdict metrics as the judge notes them', () => {
  it('are set when read, each analysis once from its latest document, and forget a removed analysis', async () => {
    const registry = new Registry();
    const metrics = new VerdictMetrics(registry);
    const document = (analysisId: string, verdict: 'running' | 'fail') =>
      splitDocument(analysisId, `run-${analysisId}`, 'r1', 5000, verdict);
    const ids = Array.from({ length: 400 }, (_, i) => `a-${i}`);
    for (const id of ids) metrics.update(id, document(id, 'running'));
    const verdictOf = (text: string, id: string) =>
      text.match(
        new RegExp(`^canary_judge_analysis_verdict\\{analysis="${id}",verdict="fail"\\} (\\d)$`, 'm'),
      )?.[1];
    // Noted while a read sets the series (it yields between slices): the latest document is the one set.
    const reading = registry.metrics();
    metrics.update('a-0', document('a-0', 'fail'));
    metrics.remove('a-1');
    const first = await reading;
    expect(verdictOf(first, 'a-399')).toBe('0');
    expect(first).not.toMatch(/analysis="a-1"/);
    const second = await registry.metrics();
    expect([verdictOf(second, 'a-0'), verdictOf(second, 'a-2'), verdictOf(second, 'a-399')]).toEqual([
      '1',
      '0',
      '0',
    ]);
    expect(second).not.toMatch(/analysis="a-1"/);
    expect(second.match(/^canary_judge_run_info\{/gm)).toHaveLength(399);
  });
});
