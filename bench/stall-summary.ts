// The stall recorder's findings for one window of bench ingest-latency, as the table's columns and the lines
// printed below it (bench/stall-recorder.ts records them; bench/stall-attribution.ts joins them).
import { describeStall, gcKindName, type StallAttribution } from './stall-attribution.js';
import { RECORD_GAP_MS, SAMPLE_INTERVAL_MS, type StallReport } from './stall-recorder.js';

/** Gaps of the loop listed below the table (with each window's longest). */
export const STALL_REPORT_MS = 30;

/** The longest gap between two turns of the stall recorder's timer (its delay is this less the interval). */
export const LONGEST_GAP = `longest gap of a ${SAMPLE_INTERVAL_MS} ms timer, ms`;
/** Parts of the longest gap: a median of each over rounds would not add up, so median rows leave them out. */
export const GAP_PARTS = ['of it on CPU', 'waiting for a CPU', 'neither', 'GC inside'];

/** A window's gaps over STALL_REPORT_MS (and its longest), its GC pauses in brief, and the recorder's cost. */
export function stallLines(
  label: string,
  report: StallReport,
  longest: StallAttribution | undefined,
): string[] {
  const listed = report.stalls.filter((stall) => stall.gapMs > STALL_REPORT_MS || stall === longest);
  const pauses = new Map<string, { count: number; maxMs: number; totalMs: number }>();
  for (const pause of report.gcPauses) {
    const kind = gcKindName(pause.kind);
    const seen = pauses.get(kind) ?? { count: 0, maxMs: 0, totalMs: 0 };
    pauses.set(kind, {
      count: seen.count + 1,
      maxMs: Math.max(seen.maxMs, pause.durationMs),
      totalMs: seen.totalMs + pause.durationMs,
    });
  }
  const gc = [...pauses]
    .map(
      ([kind, { count, maxMs, totalMs }]) =>
        `${count} ${kind} (max ${maxMs.toFixed(1)}, total ${totalMs.toFixed(0)} ms)`,
    )
    .join(', ');
  const longSlices = report.slices.filter((slice) => slice.durationMs > 5);
  const longestSlice = report.slices.reduce((found, slice) => Math.max(found, slice.durationMs), 0);
  const judge =
    report.slices.length === 0
      ? 'none'
      : `${report.slices.length} slices, longest ${longestSlice.toFixed(1)} ms, ${longSlices.length} over 5 ms ` +
        `(${longSlices.filter((slice) => slice.work === 'tick').length} of a tick)`;
  const long = report.stalls.filter((stall) => stall.gapMs >= RECORD_GAP_MS);
  const sum = (part: (stall: StallAttribution) => number) =>
    long.reduce((total, stall) => total + part(stall), 0).toFixed(0);
  return [
    `${label}: in the gaps over ${RECORD_GAP_MS} ms, in all: ${sum((stall) => stall.gapMs)} ms = on CPU ` +
      `${sum((stall) => stall.onCpuMs)} + waiting ${sum((stall) => stall.waitingMs)} + neither ` +
      `${sum((stall) => stall.neitherMs)}, GC ${sum((stall) => stall.gcMs)}, judge ${sum((stall) => stall.judgeMs)}`,
    `${label}: ${long.length} gaps over ${RECORD_GAP_MS} ms; GC: ${gc || 'none'}; judge: ${judge}; recorder: ` +
      `${report.samplerTurns} turns, ${report.samplerMs.toFixed(0)} ms of work in ${(report.windowMs / 1000).toFixed(1)} s`,
    ...listed.map((stall) => {
      const utc = new Date(stall.startMs + report.wallClockOffsetMs).toISOString().slice(11, 23);
      const monotonic = ((stall.startMs + report.monotonicOffsetMs) / 1000).toFixed(3);
      return `  ${utc} UTC (monotonic ${monotonic} s) ${describeStall(stall, report.openedMs)}`;
    }),
  ];
}

/**
 * BENCH_TRACE=1's lines for a window, in time order, ms from its start: the judge's tick and snapshot calls, the
 * recorded gaps over 15 ms and the GC pauses over 5 ms (from the stall recorder's report: no second timer).
 */
export function traceLines(label: string, report: StallReport): string[] {
  const at = (ms: number) => ms - report.openedMs;
  const events: Array<[number, string]> = [
    ...report.judgeCalls.map((call): [number, string] => [
      at(call.startMs),
      `${call.work} until ${at(call.endMs).toFixed(0)}`,
    ]),
    ...report.stalls
      .filter((stall) => stall.gapMs > 15)
      .map((stall): [number, string] => [at(stall.startMs), `gap ${stall.gapMs} ms`]),
    ...report.gcPauses
      .filter((pause) => pause.durationMs > 5)
      .map((pause): [number, string] => [
        at(pause.startMs),
        `gc ${gcKindName(pause.kind)} ${pause.durationMs.toFixed(1)} ms`,
      ]),
  ];
  events.sort((a, b) => a[0] - b[0]);
  return [label, ...events.map(([ms, text]) => `  ${ms.toFixed(0)}: ${text}`)];
}
