// The judge's side of forwarded state, rule by rule: a restarted forwarder is detected by its start time and its
// earlier life's evidence kept; points of that earlier life arriving late are stale; a forwarder's newer state
// waits until every forwarder has reached its time, unless the other one went silent; waiting is bounded; the
// state survives a snapshot and a restart of the judge; the number of forwarders is bounded.
import { describe, expect, it } from 'vitest';
import { MAX_PENDING, type ForwardedPoint } from '../../src/accumulate/forwarded-evidence.js';
import { RunEvidence } from '../../src/accumulate/run-evidence.js';
import type { WatermarkSettings } from '../../src/accumulate/source-watermark.js';

const T0 = 1_800_000_000_000;
const SETTINGS: WatermarkSettings = { lagMs: 1_000, sourceIdleMs: 30_000, maxHoldMs: 120_000, maxSources: 3 };

function judge(): RunEvidence {
  return new RunEvidence({ startedAtMs: T0, canaryShare: 0.5 }, SETTINGS);
}

/** The points of one forwarder's export: requests of both arms (and a latency and a coarse bucket). */
function exportOf(
  forwarderId: string,
  startTimeMs: number,
  timeMs: number,
  requests: { baseline: number; canary: number },
): ForwardedPoint[] {
  const base = { runId: 'run-1', forwarderId, startTimeMs, timeMs, stage: 1 };
  return (['baseline', 'canary'] as const).flatMap((arm) => [
    { ...base, arm, value: { field: 'requests' as const, value: requests[arm] } },
    { ...base, arm, value: { field: 'splitRequests' as const, value: requests[arm] } },
    {
      ...base,
      arm,
      value: {
        field: 'coarseLatency' as const,
        interval: {
          nominalLowerNanos: 1e9,
          nominalUpperNanos: Infinity,
          lowerNanos: 1e9,
          upperNanos: Infinity,
          count: requests[arm],
        },
      },
    },
  ]);
}

function send(evidence: RunEvidence, points: ForwardedPoint[], nowMs: number): string[] {
  return points.map((point) => evidence.acceptForwarded(point, nowMs));
}

function requests(evidence: RunEvidence, nowMs: number): { baseline: number; canary: number } {
  evidence.advance(nowMs);
  const [stage] = evidence.read();
  return { baseline: stage.baseline.requests, canary: stage.canary.requests };
}

describe('forwarded evidence', () => {
  it("keeps a restarted forwarder's earlier life and counts its new one from zero; its earlier points are stale", () => {
    const evidence = judge();
    send(evidence, exportOf('f1', T0, T0 + 5_000, { baseline: 90, canary: 10 }), T0 + 6_000);
    expect(requests(evidence, T0 + 7_000)).toEqual({ baseline: 90, canary: 10 });
    // Restarted at T0 + 8 s: it lost what it held, and counts again from zero.
    send(evidence, exportOf('f1', T0 + 8_000, T0 + 9_000, { baseline: 40, canary: 5 }), T0 + 10_000);
    expect(requests(evidence, T0 + 11_000)).toEqual({ baseline: 130, canary: 15 });
    // A retried export of the earlier life, late: ignored.
    const late = send(evidence, exportOf('f1', T0, T0 + 6_000, { baseline: 95, canary: 11 }), T0 + 12_000);
    expect(new Set(late)).toEqual(new Set(['stale']));
    expect(requests(evidence, T0 + 13_000)).toEqual({ baseline: 130, canary: 15 });
    expect(evidence.read()[0].baseline.coarseLatency.intervals()).toEqual([
      { lowerNanos: 1e9, upperNanos: Infinity, count: 130 },
    ]);
  });

  it('applies a retried export once and ignores an older one after a newer', () => {
    const evidence = judge();
    const first = exportOf('f1', T0, T0 + 5_000, { baseline: 9, canary: 1 });
    const second = exportOf('f1', T0, T0 + 7_000, { baseline: 18, canary: 2 });
    expect(new Set(send(evidence, second, T0 + 8_000))).toEqual(new Set(['accepted']));
    expect(new Set(send(evidence, second, T0 + 8_000))).toEqual(new Set(['duplicate']));
    expect(requests(evidence, T0 + 9_000)).toEqual({ baseline: 18, canary: 2 });
    expect(new Set(send(evidence, first, T0 + 9_000))).toEqual(new Set(['out_of_order']));
    expect(requests(evidence, T0 + 9_000)).toEqual({ baseline: 18, canary: 2 });
  });

  it("holds one forwarder's newer state until the others reach its time, unless they went silent", () => {
    const evidence = judge();
    send(evidence, exportOf('baseline-pod', T0, T0 + 5_000, { baseline: 50, canary: 0 }), T0 + 6_000);
    send(evidence, exportOf('canary-pod', T0, T0 + 5_000, { baseline: 0, canary: 50 }), T0 + 6_000);
    expect(requests(evidence, T0 + 6_000)).toEqual({ baseline: 50, canary: 50 });
    // The baseline's forwarder exports again first: its newer state waits for the canary's.
    send(evidence, exportOf('baseline-pod', T0, T0 + 10_000, { baseline: 100, canary: 0 }), T0 + 11_000);
    expect(requests(evidence, T0 + 11_000)).toEqual({ baseline: 50, canary: 50 });
    send(evidence, exportOf('canary-pod', T0, T0 + 10_000, { baseline: 0, canary: 100 }), T0 + 11_500);
    expect(requests(evidence, T0 + 11_500)).toEqual({ baseline: 100, canary: 100 });
    // The canary's forwarder goes silent (killed): after the idle limit the baseline's newest state counts.
    send(evidence, exportOf('baseline-pod', T0, T0 + 15_000, { baseline: 150, canary: 0 }), T0 + 16_000);
    expect(requests(evidence, T0 + 16_000)).toEqual({ baseline: 100, canary: 100 });
    send(evidence, exportOf('baseline-pod', T0, T0 + 41_000, { baseline: 400, canary: 0 }), T0 + 42_000);
    expect(requests(evidence, T0 + 42_000)).toEqual({ baseline: 400, canary: 100 });
  });

  it('takes the oldest waiting state at once beyond MAX_PENDING (counted as forced)', () => {
    const evidence = judge();
    send(evidence, exportOf('a', T0, T0 + 1_000, { baseline: 1, canary: 1 }), T0 + 2_000);
    send(evidence, exportOf('b', T0, T0 + 1_000, { baseline: 1, canary: 1 }), T0 + 2_000);
    const outcomes: string[] = [];
    for (let i = 1; i <= MAX_PENDING + 1; i += 1) {
      outcomes.push(
        ...send(evidence, exportOf('a', T0, T0 + 1_000 + i, { baseline: 1 + i, canary: 1 }), T0 + 2_000),
      );
    }
    expect(outcomes.filter((o) => o === 'forced').length).toBeGreaterThan(0);
    expect(requests(evidence, T0 + 2_000)).toEqual({ baseline: 3, canary: 2 });
  });

  it('survives a snapshot and restore, retired lives and infinite interval edges included', () => {
    const evidence = judge();
    send(evidence, exportOf('f1', T0, T0 + 5_000, { baseline: 90, canary: 10 }), T0 + 6_000);
    send(evidence, exportOf('f1', T0 + 8_000, T0 + 9_000, { baseline: 40, canary: 5 }), T0 + 10_000);
    send(evidence, exportOf('f2', T0, T0 + 9_000, { baseline: 7, canary: 3 }), T0 + 10_000);
    evidence.advance(T0 + 11_000);
    const restored = RunEvidence.fromSnapshot(JSON.parse(JSON.stringify(evidence.toSnapshot())), SETTINGS);
    expect(requests(restored, T0 + 11_000)).toEqual({ baseline: 137, canary: 18 });
    expect(restored.read()[0].canary.coarseLatency.intervals()).toEqual([
      { lowerNanos: 1e9, upperNanos: Infinity, count: 18 },
    ]);
    // After the judge's restart the forwarders' next exports carry on from where they are.
    send(restored, exportOf('f2', T0, T0 + 12_000, { baseline: 17, canary: 4 }), T0 + 13_000);
    send(restored, exportOf('f1', T0 + 8_000, T0 + 12_000, { baseline: 50, canary: 6 }), T0 + 13_000);
    expect(requests(restored, T0 + 13_000)).toEqual({ baseline: 157, canary: 20 });
  });

  it('refuses a forwarder beyond maxSources', () => {
    const evidence = judge();
    for (const id of ['a', 'b', 'c'])
      send(evidence, exportOf(id, T0, T0 + 1_000, { baseline: 1, canary: 1 }), T0 + 2_000);
    expect(
      new Set(send(evidence, exportOf('d', T0, T0 + 1_000, { baseline: 1, canary: 1 }), T0 + 2_000)),
    ).toEqual(new Set(['too_many_sources']));
    expect(evidence.forwarders).toBe(3);
  });
});
