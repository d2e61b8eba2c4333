// The demo's live view: what it shows from the judge's verdict document, and how it draws on a terminal
// (in place) and elsewhere (plain lines at an interval).
import { describe, expect, it } from 'vitest';
import {
  evidenceProgress,
  fitToWidth,
  LiveView,
  renderStatus,
  type StatusSnapshot,
} from '../../demo/live-view.js';
import { Narration } from '../../demo/narration.js';
import { rolloutBucket } from '../../demo/shop/flag-client.js';
import type { VerdictDocument } from '../../src/judge/verdict-document.js';
import type { ArmSummary, MetricResult } from '../../src/stats/analysis-policy.js';
import { CapturedOutput } from './demo-output.js';
import { FakeTerminal } from './fake-terminal.js';

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

const withReason = (doc: VerdictDocument, reason: string): VerdictDocument => ({ ...doc, reason });

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

  it('redraws in place on an 80-column terminal with no stale rows when lines wrap, events above the block', () => {
    const long = withReason(
      document([metric('errors', 0.5, 1)]),
      'fail: latency p95 ratio x1.340 exceeds the tolerance x1.200 by the stitched two-sample test at level 0.0050 (lower bound x1.214 > x1.200), decided in stage 2 of 3',
    );
    const short = withReason(document([metric('errors', 0.5, 1)]), 'collecting evidence');
    expect(renderStatus(snapshot(long)).some((line) => line.length > 80)).toBe(true);
    const terminal = new FakeTerminal(80);
    const view = new LiveView(terminal, true);
    const event =
      '>> the new checkout flow regresses: median 20 -> 30 ms, errors 1% -> 6%, and this event line is long enough to wrap';
    view.print('>> rollout: new-checkout-flow -> 5% (stage 1/3)');
    view.update(snapshot(long));
    view.update(snapshot(short));
    view.update(snapshot(long));
    view.print(event);
    view.update(snapshot(long));
    view.update(snapshot(short));

    const fit = (lines: string[]) => lines.flatMap((line) => fitToWidth(line, 80));
    expect(terminal.screen).toEqual(
      fit(['>> rollout: new-checkout-flow -> 5% (stage 1/3)', event, ...renderStatus(snapshot(short))]),
    );
    // Every row fits without the terminal wrapping it; the long lines were broken, not cut.
    expect(terminal.screen.every((row) => row.length < 80)).toBe(true);
    expect(terminal.screen.join(' ').replace(/ +/g, ' ')).toContain(event);
  });

  it('(the fake terminal catches the bug: rewinding by lines, not rows, leaves stale rows when lines wrap)', () => {
    const terminal = new FakeTerminal(80);
    const wide = ['x'.repeat(100), 'y'.repeat(30)];
    terminal.feed(`${wide.join('\n')}\n`);
    terminal.feed(`\x1b[${wide.length}F\x1b[Jshort\n`);
    expect(terminal.screen).toEqual(['x'.repeat(80), 'short']);
  });

  it('fits a line to the width at spaces, indenting continuations, and breaks a word longer than a row', () => {
    expect(fitToWidth('  short', 80)).toEqual(['  short']);
    const rows = fitToWidth(`  verdict FAIL ${'word '.repeat(30)}`, 40);
    expect(rows.every((row) => row.length <= 39)).toBe(true);
    expect(rows.slice(1).every((row) => row.startsWith('      '))).toBe(true);
    expect(rows.join(' ').replace(/ +/g, ' ').trim()).toBe(`verdict FAIL ${'word '.repeat(30)}`.trim());
    expect(fitToWidth('z'.repeat(100), 80)).toEqual(['z'.repeat(79), `    ${'z'.repeat(21)}`]);
  });

  it('tells the verdict before its effect, even when the webhook rolls back before the API is read', () => {
    const terminal = new FakeTerminal(80);
    const view = new LiveView(terminal, true);
    const narration = new Narration(view, 3);
    const running = { ...document([metric('errors', 0.5, 1)]), updatedAt: '2026-11-29T22:00:01.000Z' };
    const failed: VerdictDocument = {
      ...running,
      verdict: 'fail',
      action: 'rollback',
      state: 'finished',
      reason: 'error rate +3.5 points exceeds the tolerance of +1 point',
      updatedAt: '2026-11-29T22:00:02.000Z',
    };
    narration.observe(running);
    view.update(snapshot(narration.document));
    // The flag service acts on the signed webhook (carrying the fail) before the demo's next API read.
    narration.flagChanged({ atMs: 0, percent: 0, by: 'rollback', verdict: failed }, -1);
    view.update({ ...snapshot(narration.document), flagPercent: 0, rolledBack: true });
    // Then the API read brings the same verdict: told once only. An older read does not undo it.
    narration.observe(running);
    narration.verdict(failed);
    view.update({ ...snapshot(narration.document), flagPercent: 0, rolledBack: true });

    const screen = terminal.screen;
    const verdictRow = screen.findIndex((row) => row.startsWith('>> judge: verdict FAIL -> rollback'));
    const rollbackRow = screen.findIndex((row) => row.includes('ROLLED BACK new-checkout-flow -> 0%'));
    expect(verdictRow).toBeGreaterThanOrEqual(0);
    expect(rollbackRow).toBeGreaterThan(verdictRow);
    expect(screen.filter((row) => row.startsWith('>> judge: verdict')).length).toBe(1);
    expect(screen.join('\n')).toContain('verdict FAIL -> rollback: error rate');
    expect(screen.join('\n')).not.toContain('verdict RUNNING');
    expect(narration.document).toBe(failed);
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
