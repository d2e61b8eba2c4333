// What an event-loop stall was made of (bench ingest-latency, issue 13): pure helpers that read the kernel's
// counters and join a gap of the loop with the GC pauses and judge slices that overlap it. The recorder that
// samples them is bench/stall-recorder.ts.
//
// Sources (Linux): /proc/<pid>/task/<tid>/schedstat is "<ns on CPU> <ns waiting on a run queue> <timeslices>"
// for one thread (Documentation/scheduler/sched-stats.rst); /proc/pressure/cpu's "some ... total=<us>" is the
// time at least one runnable task of the machine waited for a CPU (Documentation/accounting/psi.rst);
// /proc/stat's first line is the machine's CPU time in USER_HZ ticks (1/100 s; proc(5)). A thread that is
// neither on a CPU nor waiting for one sleeps: blocking I/O (an fsync), a futex (the main thread waiting for
// the GC's helper threads), a page fault served from disk, or its idle wait for the next timer when the host
// did not run this VM when that timer was due (perf, 2026-12-01: 26 ms in which neither vCPU switched a task,
// the main thread in epoll_wait with a 2 ms timer pending). Time the hypervisor takes from a busy vCPU shows
// as steal only, which this VM does not report: a thread on a preempted vCPU counts as on CPU.

/** One thread's scheduler counters (ns since it started; timeslices = times it was put on a CPU). */
export interface Schedstat {
  runNs: number;
  waitNs: number;
  timeslices: number;
}

export function parseSchedstat(text: string): Schedstat {
  const fields = text.trim().split(/\s+/).map(Number);
  if (fields.length < 3 || fields.some((field) => !Number.isFinite(field))) {
    throw new Error(`not a schedstat line: ${JSON.stringify(text)}`);
  }
  return { runNs: fields[0], waitNs: fields[1], timeslices: fields[2] };
}

/** The "some" total of /proc/pressure/cpu, in µs. */
export function parsePressureSomeTotalUs(text: string): number {
  const match = /^some .*\btotal=(\d+)/m.exec(text);
  if (!match) throw new Error(`no "some ... total=" line: ${JSON.stringify(text.slice(0, 120))}`);
  return Number(match[1]);
}

/** The machine's CPU time from /proc/stat's first line, in USER_HZ ticks (10 ms): busy and all. */
export function parseProcStatCpu(text: string): { busyTicks: number; totalTicks: number } {
  const line = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) throw new Error(`not /proc/stat: ${JSON.stringify(line)}`);
  // user nice system idle iowait irq softirq steal [guest guest_nice]; guest time is already inside user.
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.slice(1, 9).map(Number);
  const busyTicks = user + nice + system + irq + softirq + steal;
  return { busyTicks, totalTicks: busyTicks + idle + iowait };
}

/** How long [aStart, aEnd] and [bStart, bEnd] share, in their unit (0 when they do not meet). */
export function overlap(aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  return Math.max(0, Math.min(aEnd, bEnd) - Math.max(aStart, bStart));
}

/** One sample of the counters, taken by the recorder's timer (times in performance.now() ms). */
export interface CounterSample {
  atMs: number;
  main: Schedstat;
  /** /proc/pressure/cpu some total, µs. */
  pressureUs: number;
  /** /proc/stat, ticks of 10 ms. */
  machineBusyTicks: number;
  /** This process's CPU time (all threads), µs (process.cpuUsage). */
  processCpuUs: number;
}

/** A GC pause as PerformanceObserver reports it ('gc' entries; kind as perf_hooks.constants). */
export interface GcPause {
  startMs: number;
  durationMs: number;
  kind: number;
}

/** A slice of the judge's timer work (a tick's or a snapshot's), as it measured it. */
export interface JudgeSlice {
  startMs: number;
  durationMs: number;
  work: 'tick' | 'snapshot' | 'other';
}

const GC_KIND_NAMES: Record<number, string> = {
  1: 'scavenge',
  4: 'mark-compact',
  8: 'incremental marking',
  16: 'weak callbacks',
};
export const gcKindName = (kind: number): string => GC_KIND_NAMES[kind] ?? `kind ${kind}`;

/** A gap of the loop (two consecutive samples) with what happened in it; ms unless named otherwise. */
export interface StallAttribution {
  startMs: number;
  gapMs: number;
  /** The main thread on a CPU (its own work, GC included, and any time the hypervisor took from its vCPU). */
  onCpuMs: number;
  /** The main thread runnable, waiting on a run queue. */
  waitingMs: number;
  /**
   * Neither: the rest of the gap. Asleep (blocking I/O, a futex such as the GC's helpers, a page fault, the host
   * not running the VM), and also the loop's ordinary wait in epoll until the timer is due (up to the interval,
   * 2 ms): a few ms here are no evidence of I/O. A sample's counters are read one after another, so a wait for a
   * CPU around a sample can move ~1 ms between the parts (a check with 60 busy gaps read -1.03 ms once, median
   * 0.01); the residual is kept as it is, negative or not.
   */
  neitherMs: number;
  timeslices: number;
  /** GC pauses inside the gap, by kind name, and their sum. */
  gcMs: number;
  gcByKind: Record<string, number>;
  /** Judge slices inside the gap, by work, their sum and the longest slice met. */
  judgeMs: number;
  judgeByWork: Record<string, number>;
  longestSliceMs: number;
  /** This process's other threads on a CPU (GC helpers, the compiler, libuv's pool). */
  otherThreadsMs: number;
  /** The machine: time some task waited for a CPU (PSI), and CPU time of other processes (10 ms ticks). */
  pressureMs: number;
  otherProcessesMs: number;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

function addTo(totals: Record<string, number>, key: string, value: number): void {
  if (value > 0) totals[key] = round1((totals[key] ?? 0) + value);
}

/** Joins the gap between samples `before` and `after` with the pauses and slices that overlap it. */
export function attributeGap(
  before: CounterSample,
  after: CounterSample,
  gcPauses: readonly GcPause[],
  slices: readonly JudgeSlice[],
): StallAttribution {
  const startMs = before.atMs;
  const endMs = after.atMs;
  const gapMs = endMs - startMs;
  const onCpuMs = (after.main.runNs - before.main.runNs) / 1e6;
  const waitingMs = (after.main.waitNs - before.main.waitNs) / 1e6;
  const gcByKind: Record<string, number> = {};
  let gcMs = 0;
  for (const pause of gcPauses) {
    const inside = overlap(startMs, endMs, pause.startMs, pause.startMs + pause.durationMs);
    gcMs += inside;
    addTo(gcByKind, gcKindName(pause.kind), inside);
  }
  const judgeByWork: Record<string, number> = {};
  let judgeMs = 0;
  let longestSliceMs = 0;
  for (const slice of slices) {
    const inside = overlap(startMs, endMs, slice.startMs, slice.startMs + slice.durationMs);
    if (inside <= 0) continue;
    judgeMs += inside;
    longestSliceMs = Math.max(longestSliceMs, slice.durationMs);
    addTo(judgeByWork, slice.work, inside);
  }
  const processCpuMs = (after.processCpuUs - before.processCpuUs) / 1000;
  return {
    startMs: round1(startMs),
    gapMs: round1(gapMs),
    onCpuMs: round1(onCpuMs),
    waitingMs: round1(waitingMs),
    neitherMs: round1(gapMs - onCpuMs - waitingMs),
    timeslices: after.main.timeslices - before.main.timeslices,
    gcMs: round1(gcMs),
    gcByKind,
    judgeMs: round1(judgeMs),
    judgeByWork,
    longestSliceMs: round1(longestSliceMs),
    otherThreadsMs: round1(processCpuMs - onCpuMs),
    pressureMs: round1((after.pressureUs - before.pressureUs) / 1000),
    otherProcessesMs: round1((after.machineBusyTicks - before.machineBusyTicks) * 10 - processCpuMs),
  };
}

const byKey = (totals: Record<string, number>) =>
  Object.entries(totals)
    .map(([key, ms]) => `${key} ${ms}`)
    .join(', ');

/** One line for a stall: where the gap's time went, then what ran in it. */
export function describeStall(stall: StallAttribution, openedMs: number): string {
  return (
    `at ${(stall.startMs - openedMs).toFixed(0)} ms: gap ${stall.gapMs} ms = on CPU ${stall.onCpuMs}` +
    ` + waiting for a CPU ${stall.waitingMs} + neither ${stall.neitherMs} (${stall.timeslices} timeslices);` +
    ` GC ${stall.gcMs}${stall.gcMs > 0 ? ` (${byKey(stall.gcByKind)})` : ''};` +
    ` judge ${stall.judgeMs}${stall.judgeMs > 0 ? ` (${byKey(stall.judgeByWork)}; longest slice ${stall.longestSliceMs})` : ''};` +
    ` other threads of this process on CPU ${stall.otherThreadsMs}; machine: PSI cpu some ${stall.pressureMs},` +
    ` other processes' CPU ~${stall.otherProcessesMs} (10 ms ticks)`
  );
}
