import { describe, expect, it } from 'vitest';
import type { StallAttribution } from '../../bench/stall-attribution.js';
import type { StallReport } from '../../bench/stall-recorder.js';
import { traceLines } from '../../bench/stall-summary.js';

/** A gap as attributeGap returns it; only its start and length matter to traceLines. */
function gap(startMs: number, gapMs: number): StallAttribution {
  return {
    startMs,
    gapMs,
    onCpuMs: gapMs,
    waitingMs: 0,
    neitherMs: 0,
    timeslices: 1,
    gcMs: 0,
    gcByKind: {},
    judgeMs: 0,
    judgeByWork: {},
    longestSliceMs: 0,
    otherThreadsMs: 0,
    pressureMs: 0,
    otherProcessesMs: 0,
  };
}

describe('traceLines (BENCH_TRACE=1)', () => {
  it("lists the judge's calls, gaps over 15 ms and GC pauses over 5 ms in time order, ms from the window's start", () => {
    const report: StallReport = {
      openedMs: 1000,
      wallClockOffsetMs: 0,
      monotonicOffsetMs: 0,
      stalls: [gap(1400, 14.9), gap(1250, 22.4)],
      gcPauses: [
        { startMs: 1300, durationMs: 5, kind: 1 },
        { startMs: 1260, durationMs: 12.25, kind: 4 },
      ],
      slices: [],
      judgeCalls: [
        { work: 'snapshot', startMs: 2000, endMs: 2900.4 },
        { work: 'tick', startMs: 1100, endMs: 1650 },
      ],
      samplerTurns: 0,
      samplerMs: 0,
      windowMs: 3000,
    };
    expect(traceLines('round 1, 1000 analyses', report)).toEqual([
      'round 1, 1000 analyses',
      '  100: tick until 650',
      '  250: gap 22.4 ms',
      '  260: gc mark-compact 12.3 ms',
      '  1000: snapshot until 1900',
    ]);
  });
});
