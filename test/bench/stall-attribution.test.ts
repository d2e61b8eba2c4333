import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  attributeGap,
  describeStall,
  overlap,
  parsePressureSomeTotalUs,
  parseProcStatCpu,
  parseSchedstat,
  type CounterSample,
} from '../../bench/stall-attribution.js';

// Read off this project's 2-vCPU VM (kernel 6.18, 2026-12-01 00:49 UTC).
const SCHEDSTAT = '7108408 18551115 4\n';
const PRESSURE =
  'some avg10=88.55 avg60=38.12 avg300=15.28 total=2645127243\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
const PROC_STAT =
  'cpu  1158323 3440 237610 1929966 19902 0 40303 0 0 0\n' +
  'cpu0 456010 1770 107758 1107448 2729 0 23354 0 0 0\n' +
  'cpu1 702313 1669 129852 822517 17173 0 16949 0 0 0\n';

describe('the kernel counters', () => {
  it('reads a thread schedstat line as ns on a CPU, ns waiting and timeslices', () => {
    expect(parseSchedstat(SCHEDSTAT)).toEqual({ runNs: 7108408, waitNs: 18551115, timeslices: 4 });
  });

  it("reads this process's main thread, whose counters only grow", () => {
    const path = `/proc/self/task/${process.pid}/schedstat`;
    const first = parseSchedstat(readFileSync(path, 'latin1'));
    let spin = 0;
    for (let i = 0; i < 5e6; i += 1) spin += i;
    const second = parseSchedstat(readFileSync(path, 'latin1'));
    expect(spin).toBeGreaterThan(0);
    expect(second.runNs).toBeGreaterThan(first.runNs);
    expect(second.waitNs).toBeGreaterThanOrEqual(first.waitNs);
  });

  it('refuses a line that is not a schedstat line', () => {
    expect(() => parseSchedstat('7108408 18551115\n')).toThrow(/not a schedstat line/);
    expect(() => parseSchedstat('a b c')).toThrow(/not a schedstat line/);
  });

  it('reads the "some" total of /proc/pressure/cpu in µs, not the "full" one', () => {
    expect(parsePressureSomeTotalUs(PRESSURE)).toBe(2645127243);
    expect(() => parsePressureSomeTotalUs('full avg10=0.00 total=0\n')).toThrow(/some/);
  });

  it("sums /proc/stat's busy ticks (user nice system irq softirq steal) and adds idle and iowait for all", () => {
    expect(parseProcStatCpu(PROC_STAT)).toEqual({
      busyTicks: 1158323 + 3440 + 237610 + 0 + 40303 + 0,
      totalTicks: 1158323 + 3440 + 237610 + 40303 + 1929966 + 19902,
    });
    expect(() => parseProcStatCpu('cpu0 456010 1770 107758 1107448 2729 0 23354 0 0 0\n')).toThrow(
      /not \/proc\/stat/,
    );
  });

  it('counts irq and steal as busy where a machine reports them (this VM reports neither: zeros above)', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    expect(parseProcStatCpu('cpu  100 2 30 500 7 11 13 17 0 0\n')).toEqual({
      busyTicks: 100 + 2 + 30 + 11 + 13 + 17,
      totalTicks: 100 + 2 + 30 + 11 + 13 + 17 + 500 + 7,
    });
  });
});

describe('overlap', () => {
  it('is the shared part of two intervals, and 0 when they only touch or are apart', () => {
    expect(overlap(100, 125, 120, 140)).toBe(5);
    expect(overlap(100, 125, 90, 130)).toBe(25);
    expect(overlap(100, 125, 105, 110)).toBe(5);
    expect(overlap(100, 125, 125, 140)).toBe(0);
    expect(overlap(100, 125, 60, 70)).toBe(0);
  });
});

describe('attributeGap', () => {
  // A 24.9 ms gap of the steady window of 2026-12-01 00:53 UTC: a mark-compact of 22.3 ms, the main thread
  // 12.7 ms on a CPU and 10.7 ms waiting for one while the GC's helper threads ran.
  const before: CounterSample = {
    atMs: 7658.0,
    main: { runNs: 30_000_000_000, waitNs: 4_000_000_000, timeslices: 90_000 },
    pressureUs: 2_645_127_243,
    machineBusyTicks: 1_440_000,
    processCpuUs: 40_000_000,
  };
  const after: CounterSample = {
    atMs: 7682.9,
    main: { runNs: 30_012_700_000, waitNs: 4_010_700_000, timeslices: 90_083 },
    pressureUs: 2_645_147_043,
    machineBusyTicks: 1_440_004,
    processCpuUs: 40_044_000,
  };

  it('splits the gap into on CPU, waiting and neither, and sums what overlaps it by kind', () => {
    const stall = attributeGap(
      before,
      after,
      [
        { startMs: 7600, durationMs: 5, kind: 1 }, // before the gap
        { startMs: 7660.1, durationMs: 22.3, kind: 4 },
        { startMs: 7655, durationMs: 4, kind: 1 }, // 1 ms of it inside
      ],
      [
        { startMs: 7650, durationMs: 1.5, work: 'tick' }, // before the gap
        { startMs: 7681.9, durationMs: 1.5, work: 'snapshot' }, // 1 ms of it inside
      ],
    );
    expect(stall).toEqual({
      startMs: 7658,
      gapMs: 24.9,
      onCpuMs: 12.7,
      waitingMs: 10.7,
      neitherMs: 1.5,
      timeslices: 83,
      gcMs: 23.3,
      gcByKind: { 'mark-compact': 22.3, scavenge: 1 },
      judgeMs: 1,
      judgeByWork: { snapshot: 1 },
      longestSliceMs: 1.5,
      otherThreadsMs: 31.3,
      pressureMs: 19.8,
      otherProcessesMs: -4,
    });
    expect(describeStall(stall, 0)).toBe(
      'at 7658 ms: gap 24.9 ms = on CPU 12.7 + waiting for a CPU 10.7 + neither 1.5 (83 timeslices);' +
        ' GC 23.3 (mark-compact 22.3, scavenge 1); judge 1 (snapshot 1; longest slice 1.5);' +
        ' other threads of this process on CPU 31.3; machine: PSI cpu some 19.8,' +
        " other processes' CPU ~-4 (10 ms ticks)",
    );
  });

  it('keeps a negative residual as it is (counters read one after another around a wait for a CPU)', () => {
    // The thread's counters grew by 0.6 ms more than the wall-clock gap between the two samples.
    const late: CounterSample = {
      ...after,
      main: { runNs: 30_013_000_000, waitNs: 4_012_500_000, timeslices: 90_083 },
    };
    const stall = attributeGap(before, late, [], []);
    expect(stall.onCpuMs).toBe(13);
    expect(stall.waitingMs).toBe(12.5);
    expect(stall.neitherMs).toBe(-0.6);
    expect(stall.onCpuMs + stall.waitingMs + stall.neitherMs).toBeCloseTo(stall.gapMs, 6);
  });

  it('names no GC and no judge work when none overlaps', () => {
    const stall = attributeGap(before, after, [], [{ startMs: 7700, durationMs: 3, work: 'tick' }]);
    expect(stall.gcMs).toBe(0);
    expect(stall.gcByKind).toEqual({});
    expect(stall.judgeMs).toBe(0);
    expect(stall.longestSliceMs).toBe(0);
    expect(describeStall(stall, 7000)).toContain('at 658 ms: gap 24.9 ms');
    expect(describeStall(stall, 7000)).toContain('GC 0; judge 0;');
  });
});
