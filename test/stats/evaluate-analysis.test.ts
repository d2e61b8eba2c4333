import { describe, expect, it } from 'vitest';
import { ArmState } from '../../src/accumulate/arm-state.js';
import {
  type AnalysisEvaluation,
  type AnalysisPolicy,
  type AnalysisSequentialState,
  DEFAULT_METRICS,
  DEFAULT_POLICY,
  type MetricSpec,
  initialSequentialState,
  type StageArms,
} from '../../src/stats/analysis-policy.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { evaluateAnalysis } from '../../src/stats/evaluate-analysis.js';
import { PRECISION } from '../../src/stats/quantile-fail-bound.js';
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
    a.latency.record(medianMs * 1e6 * Math.exp(sigma * random.normal()));
  }
  return a;
}

const stage = (baseline: ArmState, canary: ArmState, canaryShare: number | null = 0.1): StageArms => ({
  baseline,
  canary,
  canaryShare,
});

/**
 * Evaluates `stages` as the judge would after `ticks` evaluations: the requests and errors arrive evenly over
 * the ticks (so the error rate has its per-tick blocks), the latencies are the final ones at every tick (the
 * latency tests do not depend on how often they are looked at, beyond their running minima).
 */
function afterTicks(
  stages: StageArms[],
  metrics: MetricSpec[],
  p: AnalysisPolicy = policy,
  ticks = MIN_ERROR_BLOCKS + 2,
  carried: AnalysisSequentialState = initialSequentialState(),
): AnalysisEvaluation {
  let state = carried;
  let r: AnalysisEvaluation | undefined;
  for (let t = 1; t <= ticks; t++) {
    const scaled = stages.map((s) => {
      const part = (a: ArmState): ArmState => {
        const copy = a.clone();
        copy.requests = Math.round((a.requests * t) / ticks);
        copy.errors = Math.round((a.errors * t) / ticks);
        return copy;
      };
      return { ...s, baseline: part(s.baseline), canary: part(s.canary) };
    });
    r = evaluateAnalysis(scaled, metrics, p, state);
    state = JSON.parse(JSON.stringify(r.state)) as AnalysisSequentialState;
  }
  return r!;
}

const errorRateOnly: MetricSpec[] = [{ id: 'error_rate', kind: 'error_rate', tolerance: 0.005 }];

describe('evaluateAnalysis', () => {
  it('fails a clear error-rate regression with a reason naming the metric and the evidence', () => {
    const r = afterTicks([stage(arm(45000, 450, 50), arm(5000, 250, 50, 0.5, 2))], DEFAULT_METRICS);
    expect(r.decision).toBe('fail');
    expect(r.reason).toMatch(/^error_rate: canary 5\.00% vs baseline 1\.00%/);
    const m = r.metrics[0];
    expect(m.effect.lower).toBeGreaterThan(0.005);
    expect(m.fixedHorizon).toMatchObject({ use: 'descriptive', test: 'two-proportion-z' });
    expect(m.fixedHorizon.pValue).toBeLessThan(1e-10);
    expect(m.alwaysValidPValue).toBeLessThan(0.01 / 4);
    expect(m.canary.quantiles.map((q) => q.quantile)).toEqual([0.5, 0.9, 0.95, 0.99]);
  });

  it('fails a 30% latency slowdown; equal arms pass every metric at 20,000 canary requests', () => {
    const slow = evaluateAnalysis(
      [stage(arm(20000, 0, 50), arm(5000, 0, 65, 0.5, 3))],
      DEFAULT_METRICS,
      policy,
      initialSequentialState(),
    );
    expect(slow.decision).toBe('fail');
    expect(slow.metrics.find((m) => m.id === 'latency_p50')!.decision).toBe('fail');
    expect(slow.metrics[1].fixedHorizon.shiftNanos!.estimate).toBeGreaterThan(5e6);
    expect(slow.metrics[1].fixedHorizon.sample).toBe('buckets');
    const same = afterTicks([stage(arm(180000, 1800, 50), arm(20000, 200, 50, 0.5, 4))], DEFAULT_METRICS);
    expect(same.metrics.map((m) => m.decision)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(same.decision).toBe('pass');
    expect(same.reason).toBe('all 4 metrics within tolerance');
    // At 5,000 canary requests p99 is still undecided.
    const early = afterTicks([stage(arm(45000, 450, 50), arm(5000, 50, 50, 0.5, 4))], DEFAULT_METRICS);
    expect(early.metrics[3].decision).toBe('running');
    expect(early.reason).toMatch(/^collecting evidence: .*latency_p99.* undecided$/);
  });

  it('rule: an empty arm means running, waiting for samples, never fail or pass', () => {
    const r = evaluateAnalysis(
      [stage(arm(5000, 50, 50), new ArmState())],
      DEFAULT_METRICS,
      { ...policy, srmAlpha: 0 },
      initialSequentialState(),
    );
    expect(r.decision).toBe('running');
    expect(r.metrics.every((m) => !m.minSamplesMet)).toBe(true);
    expect(r.metrics[0].reason).toMatch(/waiting for 200 samples per arm \(baseline 5000, canary 0\)/);
  });

  it('rule: tiny samples do not decide even with a large observed difference, and the reason says what deciding a x10 shift needs', () => {
    const r = afterTicks([stage(arm(150, 0, 50), arm(20, 5, 100, 0.5, 5))], DEFAULT_METRICS, {
      ...policy,
      srmAlpha: 0,
    });
    expect(r.decision).toBe('running');
    expect(r.state.metrics.error_rate.worsePValue).toBe(1);
    // Kayenta-sized input: a handful of points per arm cannot be decided sequentially, and the reason says so.
    const few = afterTicks([stage(arm(8, 0, 50), arm(8, 0, 500, 0.5, 6), 0.5)], DEFAULT_METRICS, {
      ...policy,
      srmAlpha: 0,
    });
    expect(few.metrics[1].reason).toMatch(
      /fewer than the \d+ per arm the sequential tests need to decide even a x10 shift, so a handful of aggregated points \(as Kayenta judges\) cannot be decided here/,
    );
  });

  it('rule: the error rate waits for enough ticks to estimate its variance from blocks', () => {
    const r = evaluateAnalysis(
      [stage(arm(45000, 450, 50), arm(5000, 250, 50, 0.5, 2))],
      errorRateOnly,
      policy,
      initialSequentialState(),
    );
    expect(r.metrics[0].decision).toBe('running');
    expect(r.metrics[0].reason).toMatch(/waiting for 10 ticks with requests in both arms .* 1 so far/);
  });

  it('rule: zero baseline errors and one canary error is no evidence of regression', () => {
    const r = afterTicks([stage(arm(9000, 0, 50), arm(1000, 1, 50, 0.5, 6))], errorRateOnly);
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
    const r = evaluateAnalysis([stage(b, c)], DEFAULT_METRICS, policy, initialSequentialState());
    expect(r.metrics.slice(1).map((m) => m.decision)).toEqual(['pass', 'pass', 'pass']);
    expect(r.metrics[1].fixedHorizon.pValue).toBe(1);
  });

  it('rule: a zero-inflated canary (70% zero durations) is not failed for being faster', () => {
    const r = evaluateAnalysis(
      [stage(arm(20000, 0, 50), arm(3000, 0, 50, 0.5, 7, 0.7))],
      DEFAULT_METRICS,
      { ...policy, srmAlpha: 0 },
      initialSequentialState(),
    );
    expect(r.metrics.find((m) => m.id === 'latency_p50')!.decision).toBe('pass');
    expect(r.decision).not.toBe('fail');
  });

  it('fails a broken traffic split even when every metric looks fine, naming the stage and its declared share', () => {
    const r = evaluateAnalysis(
      [stage(arm(60000, 600, 50), arm(40000, 400, 50, 0.5, 8))],
      DEFAULT_METRICS,
      policy,
      initialSequentialState(),
    );
    expect(r.srm.mismatch).toBe(true);
    expect(r.decision).toBe('fail');
    expect(r.reason).toMatch(/^traffic split mismatch .*stage 1: canary share 40% vs declared 10%/);
  });

  it('skips the traffic-split check where no share is declared, and says so', () => {
    const r = evaluateAnalysis(
      [stage(arm(60000, 600, 50), arm(40000, 400, 50, 0.5, 8), null)],
      errorRateOnly,
      policy,
      initialSequentialState(),
    );
    expect(r.srm).toMatchObject({
      checked: false,
      mismatch: false,
      expectedCanaryShare: null,
      chiSquaredPValue: null,
    });
    expect(r.srm.stages[0].reason).toBe('stage 1: no canary share declared, traffic split not checked');
  });

  it('carries only running minima: a later, weaker look cannot raise the always-valid p-value', () => {
    const first = afterTicks([stage(arm(9000, 90, 50), arm(1000, 22, 50, 0.5, 9))], errorRateOnly);
    const weaker = [stage(arm(18000, 180, 50), arm(2000, 22, 50, 0.5, 10))];
    const second = evaluateAnalysis(weaker, errorRateOnly, policy, JSON.parse(JSON.stringify(first.state)));
    expect(second.metrics[0].alwaysValidPValue).toBe(first.metrics[0].alwaysValidPValue);
    const fresh = afterTicks(weaker, errorRateOnly);
    expect(fresh.metrics[0].alwaysValidPValue).toBeGreaterThan(first.metrics[0].alwaysValidPValue);
  });

  it("makes the same decisions and p-values with evidence 'decisions-only' as with 'full'", () => {
    const stages = [stage(arm(20000, 200, 50), arm(3000, 60, 60, 0.5, 11))];
    const full = afterTicks(stages, DEFAULT_METRICS);
    const lean = afterTicks(stages, DEFAULT_METRICS, { ...policy, evidence: 'decisions-only' });
    expect(lean.state).toEqual(full.state);
    expect(lean.metrics.map((m) => [m.decision, m.effect])).toEqual(
      full.metrics.map((m) => [m.decision, m.effect]),
    );
    expect(lean.metrics[1].fixedHorizon.test).toBe('skipped');
  });

  it('reports an unbounded ratio as "Infinity", which survives JSON, not as null', () => {
    const b = new ArmState();
    const c = new ArmState();
    b.requests = c.requests = 300;
    b.latency.record(0, 300);
    c.latency.record(0, 150);
    c.latency.record(5e6, 150);
    const r = evaluateAnalysis([stage(b, c, 0.5)], DEFAULT_METRICS, policy, initialSequentialState());
    const p50 = JSON.parse(JSON.stringify(r.metrics[1].effect)) as Record<string, unknown>;
    expect(p50.upper).toBe('Infinity');
    expect(r.metrics[1].reason).toMatch(/unbounded/);
  });

  it('carries each latency quantile’s fail bound as a warm start only: same decisions, bounds within the precision, with it, without it (states stored before it) or with a wrong one', () => {
    const metrics = DEFAULT_METRICS.filter((m) => m.kind === 'latency_quantile');
    // A 24% slower canary: the p50's bound crosses the 1.1 anchor between the two looks (it fails on the later
    // one), the p95's and p99's stay below it.
    const earlier = afterTicks([stage(arm(9000, 90, 50), arm(1000, 10, 62, 0.5, 13))], metrics);
    const later = [stage(arm(10800, 108, 50, 0.5, 14), arm(1200, 12, 62, 0.5, 15))];
    for (const spec of metrics) expect(earlier.state.metrics[spec.id].lower).toBeGreaterThan(0);
    const withBounds = (lower: number | undefined): AnalysisSequentialState => {
      const state = JSON.parse(JSON.stringify(earlier.state)) as AnalysisSequentialState;
      for (const m of Object.values(state.metrics)) {
        if (lower === undefined) delete m.lower;
        else m.lower = lower;
      }
      return state;
    };
    const warm = evaluateAnalysis(later, metrics, policy, earlier.state);
    for (const carried of [withBounds(undefined), withBounds(1e5), withBounds(1e-5), withBounds(1.1)]) {
      const other = evaluateAnalysis(later, metrics, policy, carried);
      expect(other.decision).toBe(warm.decision);
      other.metrics.forEach((m, i) => {
        const w = warm.metrics[i];
        expect([m.decision, m.alwaysValidPValue, m.withinPValue]).toEqual([
          w.decision,
          w.alwaysValidPValue,
          w.withinPValue,
        ]);
        const ratio = (m.effect.lower as number) / (w.effect.lower as number);
        expect(ratio).toBeGreaterThanOrEqual(1 / (1 + PRECISION));
        expect(ratio).toBeLessThanOrEqual(1 + PRECISION);
        expect(other.state.metrics[m.id].lower).toBe(m.effect.lower);
      });
    }
  });

  it('accepts a carried state from before stages (version 1) and keeps its running minima', () => {
    const v1 = {
      version: 1,
      metrics: { error_rate: { worsePValue: 0.5, withinPValue: 0.2 } },
      srmPValue: 0.9,
    };
    const r = evaluateAnalysis(
      [stage(arm(9000, 90, 50), arm(1000, 10, 50, 0.5, 12))],
      errorRateOnly,
      policy,
      v1 as unknown as AnalysisSequentialState,
    );
    expect(r.state.version).toBe(2);
    expect(r.state.metrics.error_rate.worsePValue).toBeLessThanOrEqual(0.5);
    expect(r.state.srmPValue).toBeLessThanOrEqual(0.9);
  });
});
