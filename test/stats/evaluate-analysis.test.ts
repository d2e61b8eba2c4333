import { describe, expect, it } from 'vitest';
import { ArmState } from '../../src/accumulate/arm-state.js';
import {
  type AnalysisPolicy,
  DEFAULT_METRICS,
  DEFAULT_POLICY,
  type MetricSpec,
  initialSequentialState,
} from '../../src/stats/analysis-policy.js';
import { evaluateAnalysis as evaluateStages } from '../../src/stats/evaluate-analysis.js';
import type { ArmState as Arm } from '../../src/accumulate/arm-state.js';
import type { AnalysisPolicy as Policy } from '../../src/stats/analysis-policy.js';

/** One stage whose declared share is the policy's (these tests judge a single stage). */
const evaluateAnalysis = (
  arms: { baseline: Arm; canary: Arm },
  ...rest: [Parameters<typeof evaluateStages>[1], Policy, Parameters<typeof evaluateStages>[3]]
) => evaluateStages([{ ...arms, canaryShare: rest[1].canaryShare }], ...rest);
import { Random } from '../../bench/sim/random.js';

const policy: AnalysisPolicy = { ...DEFAULT_POLICY };

/** An arm with n requests, `errors` errors and lognormal latencies (median `medianMs`, sigma). */
function arm(n: number, errors: number, medianMs: number, sigma = 0.5, seed = 1, zeroShare = 0): ArmState {
  const a = new ArmState();
  const random = new Random(seed);
  a.requests = n;
  a.errors = errors;
  for (let i = 0; i < n; i++) {
    if (random.uniform() < zeroShare) {
      a.latency.record(0);
      continue;
    }
    const z = Math.sqrt(-2 * Math.log(1 - random.uniform())) * Math.cos(2 * Math.PI * random.uniform());
    a.latency.record(medianMs * 1e6 * Math.exp(sigma * z));
  }
  return a;
}

const errorRateOnly: MetricSpec[] = [{ id: 'error_rate', kind: 'error_rate', tolerance: 0.005 }];

describe('evaluateAnalysis', () => {
  it('fails a clear error-rate regression with a reason naming the metric and the evidence', () => {
    const r = evaluateAnalysis(
      { baseline: arm(45000, 450, 50), canary: arm(5000, 250, 50, 0.5, 2) },
      DEFAULT_METRICS,
      policy,
      initialSequentialState(),
    );
    expect(r.decision).toBe('fail');
    expect(r.reason).toMatch(/^error_rate: canary 5\.00% vs baseline 1\.00%/);
    const m = r.metrics[0];
    expect(m.effect.lower).toBeGreaterThan(0.005);
    expect(m.fixedHorizon.test).toBe('two-proportion-z');
    expect(m.fixedHorizon.pValue).toBeLessThan(1e-10);
    expect(m.alwaysValidPValue).toBeLessThan(0.01 / 4);
    expect(m.canary.quantiles.map((q) => q.quantile)).toEqual([0.5, 0.9, 0.95, 0.99]);
  });

  it('fails a 30% latency slowdown; equal arms pass error rate, p50 and p95 at 20,000 canary requests while p99 still runs', () => {
    const slow = evaluateAnalysis(
      { baseline: arm(20000, 0, 50), canary: arm(5000, 0, 65, 0.5, 3) },
      DEFAULT_METRICS,
      policy,
      initialSequentialState(),
    );
    expect(slow.decision).toBe('fail');
    expect(slow.metrics.find((m) => m.id === 'latency_p50')!.decision).toBe('fail');
    expect(slow.metrics[1].fixedHorizon.shiftNanos!.estimate).toBeGreaterThan(5e6);
    const same = evaluateAnalysis(
      { baseline: arm(180000, 1800, 50), canary: arm(20000, 200, 50, 0.5, 4) },
      DEFAULT_METRICS,
      policy,
      initialSequentialState(),
    );
    expect(same.metrics.map((m) => m.decision)).toEqual(['pass', 'pass', 'pass', 'running']);
    expect(same.decision).toBe('running');
    expect(same.reason).toBe('collecting evidence: latency_p99 undecided');
  });

  it('rule: an empty arm means running, waiting for samples, never fail or pass', () => {
    const r = evaluateAnalysis(
      { baseline: arm(5000, 50, 50), canary: new ArmState() },
      DEFAULT_METRICS,
      { ...policy, srmAlpha: 0 },
      initialSequentialState(),
    );
    expect(r.decision).toBe('running');
    expect(r.metrics.every((m) => !m.minSamplesMet)).toBe(true);
    expect(r.metrics[0].reason).toMatch(/waiting for 200 samples per arm \(baseline 5000, canary 0\)/);
  });

  it('rule: tiny samples do not decide even with a large observed difference', () => {
    const r = evaluateAnalysis(
      { baseline: arm(150, 0, 50), canary: arm(20, 5, 100, 0.5, 5) },
      DEFAULT_METRICS,
      { ...policy, srmAlpha: 0 },
      initialSequentialState(),
    );
    expect(r.decision).toBe('running');
    expect(r.state.metrics.error_rate.worsePValue).toBe(1);
  });

  it('rule: zero baseline errors and one canary error is no evidence of regression', () => {
    const r = evaluateAnalysis(
      { baseline: arm(9000, 0, 50), canary: arm(1000, 1, 50, 0.5, 6) },
      errorRateOnly,
      policy,
      initialSequentialState(),
    );
    expect(r.metrics[0].decision).not.toBe('fail');
    expect(r.metrics[0].fixedHorizon.test).toBe('fisher-exact');
  });

  it('rule: all-identical latencies pass within a 10% tolerance and never fail', () => {
    const b = new ArmState();
    const c = new ArmState();
    b.requests = 9000;
    c.requests = 1000;
    b.latency.record(30e6, 9000);
    c.latency.record(30e6, 1000);
    const r = evaluateAnalysis({ baseline: b, canary: c }, DEFAULT_METRICS, policy, initialSequentialState());
    expect(r.metrics.slice(1).map((m) => m.decision)).toEqual(['pass', 'pass', 'pass']);
    expect(r.metrics[1].fixedHorizon.pValue).toBe(1);
  });

  it('rule: a zero-inflated canary (70% zero durations) is not failed for being faster', () => {
    const r = evaluateAnalysis(
      { baseline: arm(20000, 0, 50), canary: arm(3000, 0, 50, 0.5, 7, 0.7) },
      DEFAULT_METRICS,
      { ...policy, srmAlpha: 0 },
      initialSequentialState(),
    );
    expect(r.metrics.find((m) => m.id === 'latency_p50')!.decision).toBe('pass');
    expect(r.decision).not.toBe('fail');
  });

  it('fails a broken traffic split even when every metric looks fine', () => {
    const r = evaluateAnalysis(
      { baseline: arm(60000, 600, 50), canary: arm(40000, 400, 50, 0.5, 8) },
      DEFAULT_METRICS,
      policy,
      initialSequentialState(),
    );
    expect(r.srm.mismatch).toBe(true);
    expect(r.decision).toBe('fail');
    expect(r.reason).toMatch(/^traffic split mismatch/);
  });

  it('carries only running minima: a later, weaker look cannot raise the always-valid p-value', () => {
    const first = evaluateAnalysis(
      { baseline: arm(9000, 90, 50), canary: arm(1000, 22, 50, 0.5, 9) },
      errorRateOnly,
      policy,
      initialSequentialState(),
    );
    const carried = JSON.parse(JSON.stringify(first.state));
    const second = evaluateAnalysis(
      { baseline: arm(18000, 180, 50), canary: arm(2000, 22, 50, 0.5, 10) },
      errorRateOnly,
      policy,
      carried,
    );
    expect(second.metrics[0].alwaysValidPValue).toBe(first.metrics[0].alwaysValidPValue);
    const fresh = evaluateAnalysis(
      { baseline: arm(18000, 180, 50), canary: arm(2000, 22, 50, 0.5, 10) },
      errorRateOnly,
      policy,
      initialSequentialState(),
    );
    expect(fresh.metrics[0].alwaysValidPValue).toBeGreaterThan(first.metrics[0].alwaysValidPValue);
  });

  it("makes the same decisions and p-values with evidence 'decisions-only' as with 'full'", () => {
    const arms = { baseline: arm(20000, 200, 50), canary: arm(3000, 60, 60, 0.5, 11) };
    const full = evaluateAnalysis(arms, DEFAULT_METRICS, policy, initialSequentialState());
    const lean = evaluateAnalysis(
      arms,
      DEFAULT_METRICS,
      { ...policy, evidence: 'decisions-only' },
      initialSequentialState(),
    );
    expect(lean.state).toEqual(full.state);
    expect(lean.metrics.map((m) => [m.decision, m.effect])).toEqual(
      full.metrics.map((m) => [m.decision, m.effect]),
    );
    expect(lean.metrics[1].fixedHorizon.test).toBe('skipped');
  });
});
