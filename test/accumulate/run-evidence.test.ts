// A run's evidence: stages by event time, and the watermark that keeps export batching from deciding what a
// tick judges (src/accumulate/run-evidence.ts, source-watermark.ts).
import { describe, expect, it } from 'vitest';
import type { Arm, Observation } from '../../src/accumulate/observation.js';
import { RunEvidence, SLICE_MS } from '../../src/accumulate/run-evidence.js';
import { DEFAULT_WATERMARK_SETTINGS, type WatermarkSettings } from '../../src/accumulate/source-watermark.js';

const T0 = 1_760_000_000_000;
const settings: WatermarkSettings = { ...DEFAULT_WATERMARK_SETTINGS, lagMs: 1_000, maxHoldMs: 60_000 };

/** `count` spans of one source and arm, evenly spread over [fromMs, toMs). */
function batch(sourceKey: string, arm: Arm, count: number, fromMs: number, toMs: number): Observation[] {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'span' as const,
    runId: 'r',
    arm,
    sourceKey,
    timeUnixMs: fromMs + Math.floor(((toMs - fromMs) * i) / count),
    durationNanos: 1_000_000,
    isError: false,
  }));
}

function judged(evidence: RunEvidence, nowMs: number): Array<{ baseline: number; canary: number }> {
  evidence.advance(nowMs);
  return evidence
    .read()
    .map((stage) => ({ baseline: stage.baseline.requests, canary: stage.canary.requests }));
}

const accept = (evidence: RunEvidence, observations: Observation[], nowMs: number): void =>
  observations.forEach((o) => evidence.accept(o, nowMs));

describe('RunEvidence watermark', () => {
  it('judges nothing while only the baseline has reported, so early stable batches cannot look like a split mismatch', () => {
    // Two stable pods export 5 s batches (270 spans each) twice before the canary pod's first batch arrives:
    // judged on arrival this was 540 baseline vs 0 canary spans.
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: 0.1 }, settings);
    accept(evidence, batch('stable-a', 'baseline', 135, T0, T0 + 5_000), T0 + 5_200);
    accept(evidence, batch('stable-b', 'baseline', 135, T0, T0 + 5_000), T0 + 5_300);
    accept(evidence, batch('stable-a', 'baseline', 135, T0 + 5_000, T0 + 10_000), T0 + 10_200);
    accept(evidence, batch('stable-b', 'baseline', 135, T0 + 5_000, T0 + 10_000), T0 + 10_300);
    expect(judged(evidence, T0 + 10_400)).toEqual([{ baseline: 0, canary: 0 }]);
    // The canary's first batch covers the first 5 s: from now on both arms are judged up to the oldest
    // source's latest event (minus the lag), which is the canary's.
    accept(evidence, batch('canary-a', 'canary', 30, T0, T0 + 5_000), T0 + 10_500);
    const [stage] = judged(evidence, T0 + 10_600);
    expect(stage.baseline / (stage.baseline + stage.canary)).toBeCloseTo(0.9, 1);
    expect(evidence.watermark).toBeLessThanOrEqual(T0 + 5_000 - settings.lagMs);
  });

  it('takes late data at once and holds newer data until every active source has passed it', () => {
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: null }, settings);
    accept(evidence, batch('b', 'baseline', 10, T0, T0 + 10_000), T0 + 10_000);
    accept(evidence, batch('c', 'canary', 10, T0, T0 + 10_000), T0 + 10_000);
    judged(evidence, T0 + 10_000);
    const watermark = evidence.watermark;
    expect(watermark).toBe(T0 + 9_000 - settings.lagMs);
    accept(evidence, batch('b', 'baseline', 1, T0, T0 + 1), T0 + 10_000); // late: before the watermark
    accept(evidence, batch('b', 'baseline', 1, T0 + 20_000, T0 + 20_001), T0 + 20_500); // ahead of the canary
    expect(judged(evidence, T0 + 20_500)[0].baseline).toBe(9); // 8 below the watermark, plus the late one
    expect(evidence.heldSlices).toBeGreaterThan(0);
  });

  it('stops waiting for a source silent past sourceIdleMs, and never holds evidence past maxHoldMs', () => {
    const idle = { ...settings, sourceIdleMs: 10_000, maxHoldMs: 30_000 };
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: null }, idle);
    // Canary pod c2 reports its first second, then goes quiet (it ended); b and c1 keep reporting.
    accept(evidence, batch('c2', 'canary', 10, T0, T0 + 1_000), T0 + 1_000);
    for (let s = 0; s < 20; s += 1) {
      const from = T0 + s * 1_000;
      accept(evidence, batch('b', 'baseline', 10, from, from + 1_000), from + 1_000);
      accept(evidence, batch('c1', 'canary', 10, from, from + 1_000), from + 1_000);
    }
    // While c2 counts as active it holds the watermark at its latest event (minus the lag)...
    expect(judged(evidence, T0 + 5_000)[0]).toEqual({ baseline: 0, canary: 0 });
    // ...once it is silent for 10 s it does not: b and c1 have reached 19.9 s.
    expect(judged(evidence, T0 + 20_000)[0]).toEqual({ baseline: 180, canary: 190 });
    // With every source silent, the maxHoldMs floor lets the rest through.
    expect(judged(evidence, T0 + 20_000 + 30_000 + SLICE_MS)[0]).toEqual({ baseline: 200, canary: 210 });
  });

  it('clamps event times ahead of the judge clock, so a fast sender clock cannot park evidence', () => {
    const evidence = new RunEvidence(
      { startedAtMs: T0, canaryShare: null },
      { ...settings, maxHoldMs: 5_000 },
    );
    accept(evidence, batch('b', 'baseline', 3, T0 + 3_600_000, T0 + 3_600_003), T0);
    expect(judged(evidence, T0 + 5_000 + SLICE_MS)[0].baseline).toBe(3);
  });

  it('holds no evidence older than maxHoldMs, also before its first tick, so old event times cannot pile up slices', () => {
    // Before the first advance the watermark is -Infinity: every second of event time, however old, waited in a
    // held slice of its own (two arm states, ~1.2 KB), 20,000 spans one second apart made 20,000 slices (~24 MB)
    // until the judge's first tick; that tick would have put them all in the first stage at once.
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: 0.1 }, settings);
    const now = T0 + 1_000;
    for (let i = 0; i < 20_000; i++)
      evidence.acceptSpan('canary', now - 1_000 * (i + 1), 'src', 1e6, false, undefined, now);
    expect(evidence.heldSlices).toBeLessThanOrEqual(settings.maxHoldMs / SLICE_MS + 1);
    expect(evidence.received().canary.requests).toBe(20_000);
    // The first tick judges what is older than now - maxHoldMs, as it did when all of it waited.
    expect(judged(evidence, now + 5_000)).toEqual([{ baseline: 0, canary: 20_000 - 55 }]);
    expect(evidence.heldSlices).toBe(55);
  });

  it('forgets the longest-silent source beyond maxSources and counts it', () => {
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: null }, { ...settings, maxSources: 2 });
    accept(evidence, batch('a', 'baseline', 1, T0, T0 + 1), T0);
    accept(evidence, batch('b', 'baseline', 1, T0, T0 + 1), T0 + 1);
    accept(evidence, batch('c', 'canary', 1, T0, T0 + 1), T0 + 2);
    expect(evidence.evictedSources).toBe(1);
  });
});

describe('RunEvidence stages', () => {
  it('puts each observation in the stage its event time falls in, also when it waited for the watermark', () => {
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: 0.1 }, settings);
    accept(evidence, batch('b', 'baseline', 90, T0, T0 + 10_000), T0 + 10_000);
    accept(evidence, batch('c', 'canary', 10, T0, T0 + 10_000), T0 + 10_000);
    evidence.declareStage({ startedAtMs: T0 + 10_000, canaryShare: 0.5 });
    accept(evidence, batch('b', 'baseline', 50, T0 + 10_000, T0 + 20_000), T0 + 20_000);
    accept(evidence, batch('c', 'canary', 50, T0 + 10_000, T0 + 20_000), T0 + 20_000);
    // Everything up to the watermark (T0 + 18 s): the first stage whole, the second up to 18 s.
    const stages = judged(evidence, T0 + 20_000);
    expect(stages[0]).toEqual({ baseline: 90, canary: 10 });
    expect(stages[1]).toEqual({ baseline: 40, canary: 40 });
    expect(evidence.currentStage).toEqual({ startedAtMs: T0 + 10_000, canaryShare: 0.5 });
  });

  it('counts a stage`s requests for the traffic split only once its weight has had settleMs to take effect', () => {
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: 0.1 }, settings, {}, 5_000);
    evidence.declareStage({ startedAtMs: T0 + 10_000, canaryShare: 0.5 });
    // The mesh applies 50% two seconds after the declaration: its first seconds still run at 10%.
    accept(evidence, batch('b', 'baseline', 18, T0 + 10_000, T0 + 12_000), T0 + 30_000);
    accept(evidence, batch('c', 'canary', 2, T0 + 10_000, T0 + 12_000), T0 + 30_000);
    accept(evidence, batch('b', 'baseline', 80, T0 + 12_000, T0 + 20_000), T0 + 30_000);
    accept(evidence, batch('c', 'canary', 80, T0 + 12_000, T0 + 20_000), T0 + 30_000);
    evidence.advance(T0 + 30_000 + settings.maxHoldMs); // everything judged
    const [, stage] = evidence.read();
    expect([stage.baseline.requests, stage.canary.requests]).toEqual([98, 82]);
    expect(stage.settled).toEqual({ baseline: 50, canary: 50 }); // from T0 + 15 s on
  });

  it('snapshots stages and waiting slices and restores them exactly', () => {
    const evidence = new RunEvidence({ startedAtMs: T0, canaryShare: 0.2 }, settings);
    accept(evidence, batch('b', 'baseline', 8, T0, T0 + 8_000), T0 + 8_000);
    accept(evidence, batch('c', 'canary', 2, T0, T0 + 4_000), T0 + 8_000);
    evidence.declareStage({ startedAtMs: T0 + 6_000, canaryShare: 0.3 });
    evidence.advance(T0 + 8_000);
    const snapshot = JSON.parse(JSON.stringify(evidence.toSnapshot()));
    const restored = RunEvidence.fromSnapshot(snapshot, settings);
    expect(restored.toSnapshot()).toEqual(evidence.toSnapshot());
    expect(judged(restored, T0 + 8_000 + 60_000 + SLICE_MS)).toEqual(
      judged(evidence, T0 + 68_000 + SLICE_MS),
    );
    expect(restored.received().baseline.requests).toBe(8);
  });
});
