// Records, for one window of bench ingest-latency, every gap of the event loop over RECORD_GAP_MS with what it
// was made of (bench/stall-attribution.ts): a 2 ms interval timer reads the main thread's scheduler counters,
// the machine's CPU pressure and CPU time and this process's CPU time at each of its turns, so a late turn
// brackets the stall; GC pauses come from a PerformanceObserver, the judge's slices from the histogram the
// judge already feeds (canary_judge_judge_slice_duration_seconds: each observation is a slice's length, made
// as the slice ends). Cost: the timer's work is timed and reported (33 µs a turn on average, 1.0-2.2% of a
// core, over 69 windows of 2026-12-01); the counters are parsed only around a gap.
import { closeSync, openSync, readSync } from 'node:fs';
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import type { Histogram, Registry } from 'prom-client';
import type { JudgeService } from '../src/judge/judge-service.js';
import {
  attributeGap,
  parsePressureSomeTotalUs,
  parseProcStatCpu,
  parseSchedstat,
  type CounterSample,
  type GcPause,
  type JudgeSlice,
  type StallAttribution,
} from './stall-attribution.js';

export const SAMPLE_INTERVAL_MS = 2;
/** Gaps kept for attribution: a delay of 10 ms or more beyond the timer's interval. */
export const RECORD_GAP_MS = SAMPLE_INTERVAL_MS + 10;
const SLICE_HISTOGRAM = 'canary_judge_judge_slice_duration_seconds';

export interface StallReport {
  openedMs: number;
  /** Add to a performance.now() time for the wall clock (Date.now()) and CLOCK_MONOTONIC (perf, /proc). */
  wallClockOffsetMs: number;
  monotonicOffsetMs: number;
  /** Every gap over RECORD_GAP_MS in time order, attributed (when there is none, the window's longest). */
  stalls: StallAttribution[];
  gcPauses: GcPause[];
  slices: JudgeSlice[];
  /** The judge's tick and snapshot calls in the window, each from its start to its end (ms, performance.now()). */
  judgeCalls: Array<{ work: 'tick' | 'snapshot'; startMs: number; endMs: number }>;
  /** The timer's own work: turns taken and the ms they ran. */
  samplerTurns: number;
  samplerMs: number;
  windowMs: number;
}

interface RawSample {
  atMs: number;
  main: string;
  pressure: string;
  machine: string;
  processCpuUs: number;
}

/** Reads a /proc file again from its start through one open descriptor (no open and close per read). */
function procReader(path: string): { read: () => string; close: () => void } {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(4096);
  return {
    read: () => buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0)),
    close: () => closeSync(fd),
  };
}

function parseSample(raw: RawSample): CounterSample {
  return {
    atMs: raw.atMs,
    main: parseSchedstat(raw.main),
    pressureUs: parsePressureSomeTotalUs(raw.pressure),
    machineBusyTicks: parseProcStatCpu(raw.machine).busyTicks,
    processCpuUs: raw.processCpuUs,
  };
}

/** Starts recording; the returned function stops it and attributes the gaps it saw. */
export function recordStalls(judge: JudgeService, registry: Registry): () => StallReport {
  const openedMs = performance.now();
  const wallClockOffsetMs = Date.now() - openedMs;
  const monotonicOffsetMs = Number(process.hrtime.bigint()) / 1e6 - openedMs;
  // The main thread's task id is the process id.
  const readers = {
    main: procReader(`/proc/self/task/${process.pid}/schedstat`),
    pressure: procReader('/proc/pressure/cpu'),
    machine: procReader('/proc/stat'),
  };
  const take = (): RawSample => {
    const usage = process.cpuUsage();
    return {
      atMs: performance.now(),
      main: readers.main.read(),
      pressure: readers.pressure.read(),
      machine: readers.machine.read(),
      processCpuUs: usage.user + usage.system,
    };
  };
  const gaps: Array<[RawSample, RawSample]> = [];
  // The longest gap is kept even when it is under RECORD_GAP_MS (the table reports it for every window).
  let longest: [RawSample, RawSample] | undefined;
  let last = take();
  let samplerTurns = 0;
  let samplerMs = 0;
  const timer = setInterval(() => {
    const next = take();
    const gapMs = next.atMs - last.atMs;
    if (gapMs >= RECORD_GAP_MS) gaps.push([last, next]);
    else if (!longest || gapMs > longest[1].atMs - longest[0].atMs) longest = [last, next];
    last = next;
    samplerTurns += 1;
    samplerMs += performance.now() - next.atMs;
  }, SAMPLE_INTERVAL_MS);

  const gcPauses: GcPause[] = [];
  const collect = (entries: PerformanceEntry[]) => {
    for (const entry of entries) {
      // Entries are handed to observers after the fact: a new observer also gets the pauses of the synchronous
      // work just before it (filling the runs).
      if (entry.startTime < openedMs) continue;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0;
      gcPauses.push({ startMs: entry.startTime, durationMs: entry.duration, kind });
    }
  };
  const gc = new PerformanceObserver((list) => collect(list.getEntries()));
  gc.observe({ entryTypes: ['gc'] });

  // The judge's slices, named by the timer work under way: tick and snapshot run one after the other in
  // the judge's lane, first called first, so the oldest call not yet over is the one running.
  const slices: JudgeSlice[] = [];
  const underWay: Array<{ work: 'tick' | 'snapshot' }> = [];
  const judgeCalls: StallReport['judgeCalls'] = [];
  const originals = { tickInSlices: judge.tickInSlices, snapshotInSlices: judge.snapshotInSlices };
  for (const [method, work] of [
    ['tickInSlices', 'tick'],
    ['snapshotInSlices', 'snapshot'],
  ] as const) {
    judge[method] = async function (this: JudgeService) {
      const call = { work };
      const startMs = performance.now();
      underWay.push(call);
      try {
        await originals[method].call(this);
      } finally {
        underWay.splice(underWay.indexOf(call), 1);
        judgeCalls.push({ work, startMs, endMs: performance.now() });
      }
    };
  }
  const histogram = registry.getSingleMetric(SLICE_HISTOGRAM) as Histogram | undefined;
  if (!histogram) throw new Error(`${SLICE_HISTOGRAM} is not registered`);
  const observe = histogram.observe as (...args: unknown[]) => void;
  histogram.observe = function (this: Histogram, ...args: unknown[]) {
    const seconds = args[0];
    if (typeof seconds === 'number') {
      const durationMs = seconds * 1000;
      slices.push({
        startMs: performance.now() - durationMs,
        durationMs,
        work: underWay[0]?.work ?? 'other',
      });
    }
    observe.apply(this, args);
  } as Histogram['observe'];

  return () => {
    clearInterval(timer);
    collect(gc.takeRecords());
    gc.disconnect();
    histogram.observe = observe as Histogram['observe'];
    judge.tickInSlices = originals.tickInSlices;
    judge.snapshotInSlices = originals.snapshotInSlices;
    for (const reader of Object.values(readers)) reader.close();
    if (gaps.length === 0 && longest) gaps.push(longest);
    return {
      openedMs,
      wallClockOffsetMs,
      monotonicOffsetMs,
      stalls: gaps.map(([before, after]) =>
        attributeGap(parseSample(before), parseSample(after), gcPauses, slices),
      ),
      gcPauses,
      slices,
      judgeCalls,
      samplerTurns,
      samplerMs,
      windowMs: performance.now() - openedMs,
    };
  };
}
