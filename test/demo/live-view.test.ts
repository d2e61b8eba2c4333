// The demo's live view: what it shows from the judge's verdict document, and how it draws on a terminal
// (in place) and elsewhere (plain lines at an interval).
import { describe, expect, it } from 'vitest';
import { evidenceProgress, LiveView, renderStatus, type StatusSnapshot } from '../../demo/live-view.js';
import { rolloutBucket } from '../../demo/shop/flag-client.js';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import type { ArmSummary, MetricResult } from '../../src/stats/analysis-policy.js';
import { CapturedOutput } from './demo-output.js';

function arm(requests: number, errors: number, p95Ms: number): ArmSummary {
  return {
    requests,
    errors,
    errorRate: errors / requests,
    latencySamples: requests,
    coarseLatencySamples: 0,
    meanNanos: 'undefined',
    quantiles: [0.5, 0.95].map((quantile) => ({
      quantile,
      estimateNanos: (quantile === 0.95 ? p95Ms : p95Ms / 2) * 1e6,
      lowerNanos: NaN,
      upperNanos: NaN,
    })),
  };
}

function metric(id: string, worse: number, within: number): MetricResult {
  return { id, alwaysValidPValue: worse, withinPValue: within } as MetricResult;
}

function snapshot(document: VerdictDocument | undefined): StatusSnapshot {
  return {
    elapsedMs: 12_000,
    stage: { index: 1, count: 3, percent: 25 },
    flagPercent: 25,
    rolledBack: false,
    regressing: true,
    traffic: {
      classic: { requests: 900, errors: 9 },
      newFlow: { requests: 300, errors: 15 },
      failedCalls: 0,
    },
    document,
    minSamplesPerArm: 500,
    alpha: 0.01,
  };
}

const document = (metrics: MetricResult[], canary = 600): VerdictDocument => ({
  analysisId: 'checkout-new-flow',
  runId: 'run-1',
  revision: 'new-checkout-flow@v2',
  attempt: 1,
  state: 'running',
  verdict: 'running',
  action: 'continue',
  reason: 'collecting evidence',
  startedAt: '',
  updatedAt: '',
  endedAt: null,
  endReason: null,
  elapsedSeconds: 12,
  stage: 2,
  stages: [],
  evidenceUntil: null,
  samples: { baseline: 900, canary },
  arms: { baseline: arm(900, 9, 35.2), canary: arm(canary, 30, 48.8) },
  metrics,
  trafficSplit: null,
});

describe('demo live view', () => {
  it('shows stage, per-arm requests, p95 and error rate as the judge reports them, and the verdict', () => {
    const text = renderStatus(snapshot(document([metric('errors', 0.5, 1)]))).join('\n');
    expect(text).toContain('stage 2/3 (25%)');
    expect(text).toMatch(/baseline \(off\) +900 req +p95 +35\.2 ms +errors +1\.00%/);
    expect(text).toMatch(/canary \(on\) +600 req +p95 +48\.8 ms +errors +5\.00%/);
    expect(text).toContain('verdict RUNNING -> continue');
  });

  it('measures evidence first as samples against the minimum, then as the p-value nearest its threshold', () => {
    expect(evidenceProgress(snapshot(document([metric('errors', 0.5, 1)], 250)))).toEqual({
      fraction: 0.5,
      label: 'samples 250/500 per arm',
    });
    // Two metrics: each decides at 0.01 / 2 = 0.005; p = 0.005^0.5 is half way on the log scale.
    const halfWay = Math.sqrt(0.005);
    const progress = evidenceProgress(snapshot(document([metric('a', halfWay, 1), metric('b', 1, 1)])));
    expect(progress.fraction).toBeCloseTo(0.5, 10);
    expect(progress.label).toMatch(/^toward fail: a worse/);
    const pass = evidenceProgress(snapshot(document([metric('a', 1, 0.001), metric('b', 1, halfWay)])));
    expect(pass.fraction).toBeCloseTo(0.5, 10);
    expect(pass.label).toMatch(/^toward pass: slowest b within/);
  });

  it('redraws in place on a terminal, with event lines above the block', () => {
    const out = new CapturedOutput();
    const view = new LiveView(out, true);
    view.update(snapshot(undefined));
    view.print('>> an event');
    view.update(snapshot(undefined));
    const lines = renderStatus(snapshot(undefined)).length;
    expect(out.text.split(`\x1b[${lines}F\x1b[J`)).toHaveLength(3);
    expect(out.text).toContain('>> an event\n');
  });

  it('writes one plain line per interval when not a terminal', () => {
    const out = new CapturedOutput();
    const view = new LiveView(out, false, 3_000);
    for (const elapsedMs of [0, 1_000, 2_000, 3_000, 4_000])
      view.update({ ...snapshot(undefined), elapsedMs });
    expect(out.text).not.toContain('\x1b[');
    expect(out.text.trim().split('\n')).toHaveLength(2);
  });

  it('buckets users evenly, so a percentage of the flag is that share of users', () => {
    const users = Array.from({ length: 20_000 }, (_, i) => `u${i}`);
    const share = users.filter((user) => rolloutBucket(user) < 25).length / users.length;
    expect(share).toBeGreaterThan(0.23);
    expect(share).toBeLessThan(0.27);
  });
});
