// The live terminal view. `renderStatus` is pure (what to show); `LiveView` decides how: on a TTY it
// redraws the block in place, otherwise (CI logs, pipes, tests) it appends one plain line per interval.
import type { Writable } from 'node:stream';
import type { VerdictDocument } from '../src/judge/verdict-document.js';
import type { ArmSummary, MetricResult } from '../src/stats/analysis-policy.js';
import type { TrafficCounts } from './load-driver.js';

export interface StatusSnapshot {
  elapsedMs: number;
  stage: { index: number; count: number; percent: number } | undefined;
  flagPercent: number;
  rolledBack: boolean;
  regressing: boolean;
  traffic: TrafficCounts;
  document: VerdictDocument | undefined;
  minSamplesPerArm: number;
  /** Family-wise alpha of the analysis: a metric decides at alpha / metrics (Holm's first step). */
  alpha: number;
}

const BAR_WIDTH = 24;

function bar(fraction: number): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}

function p95Ms(arm: ArmSummary | undefined): string {
  const q = arm?.quantiles.find((quantile) => quantile.quantile === 0.95);
  return q && Number.isFinite(q.estimateNanos) ? `${(q.estimateNanos / 1e6).toFixed(1)} ms` : '-';
}

function percent(rate: number | undefined): string {
  return rate !== undefined && Number.isFinite(rate) ? `${(rate * 100).toFixed(2)}%` : '-';
}

/**
 * How far the evidence is: first samples against the minimum per arm, then the always-valid p-value
 * closest to deciding, on a log scale from 1 to its threshold (alpha / metrics), toward fail or pass.
 */
export function evidenceProgress(snapshot: StatusSnapshot): { fraction: number; label: string } {
  const doc = snapshot.document;
  const samples = doc ? Math.min(doc.samples.baseline, doc.samples.canary) : 0;
  if (!doc || samples < snapshot.minSamplesPerArm || doc.metrics.length === 0) {
    return {
      fraction: samples / snapshot.minSamplesPerArm,
      label: `samples ${samples}/${snapshot.minSamplesPerArm} per arm`,
    };
  }
  const threshold = snapshot.alpha / doc.metrics.length;
  const toward = (p: number) => Math.min(1, Math.log(Math.max(p, 1e-300)) / Math.log(threshold));
  const worst = doc.metrics.reduce((a: MetricResult, b: MetricResult) =>
    a.alwaysValidPValue <= b.alwaysValidPValue ? a : b,
  );
  const failFraction = toward(worst.alwaysValidPValue);
  // Pass needs every metric, so the slowest one sets the pace.
  const slowest = doc.metrics.reduce((a: MetricResult, b: MetricResult) =>
    a.withinPValue >= b.withinPValue ? a : b,
  );
  const passFraction = toward(slowest.withinPValue);
  if (failFraction > passFraction) {
    return {
      fraction: failFraction,
      label: `toward fail: ${worst.id} worse, p=${worst.alwaysValidPValue.toPrecision(2)} (fails at ${threshold.toPrecision(2)})`,
    };
  }
  return {
    fraction: passFraction,
    label: `toward pass: slowest ${slowest.id} within, p=${slowest.withinPValue.toPrecision(2)} (passes at ${threshold.toPrecision(2)})`,
  };
}

export function renderStatus(snapshot: StatusSnapshot): string[] {
  const doc = snapshot.document;
  const { classic, newFlow } = snapshot.traffic;
  const stage = snapshot.stage
    ? `stage ${snapshot.stage.index + 1}/${snapshot.stage.count} (${snapshot.stage.percent}%)`
    : 'starting';
  const flag = snapshot.rolledBack
    ? `flag ${snapshot.flagPercent}% (ROLLED BACK)`
    : `flag ${snapshot.flagPercent}%`;
  const progress = evidenceProgress(snapshot);
  const arm = (name: string, summary: ArmSummary | undefined) =>
    `  ${name.padEnd(17)} ${String(summary?.requests ?? 0).padStart(7)} req   p95 ${p95Ms(summary).padStart(9)}   errors ${percent(summary?.errorRate).padStart(7)}`;
  return [
    `t=${(snapshot.elapsedMs / 1000).toFixed(0).padStart(3)}s  ${stage}  ${flag}${snapshot.regressing ? '  [new flow degraded]' : ''}`,
    `  shop served       classic ${classic.requests} (${classic.errors} errors)   new ${newFlow.requests} (${newFlow.errors} errors)`,
    `  judge sees:`,
    arm('baseline (off)', doc?.arms?.baseline),
    arm('canary (on)', doc?.arms?.canary),
    `  verdict ${(doc?.verdict ?? 'waiting').toUpperCase()} -> ${doc?.action ?? '-'}: ${doc?.reason ?? 'waiting for the first tick'}`,
    `  evidence ${bar(progress.fraction)} ${progress.label}`,
  ];
}

/** One line for logs that are not a terminal. */
export function renderLine(snapshot: StatusSnapshot): string {
  const doc = snapshot.document;
  const progress = evidenceProgress(snapshot);
  return [
    `t=${(snapshot.elapsedMs / 1000).toFixed(0)}s`,
    snapshot.stage ? `stage=${snapshot.stage.percent}%` : 'stage=-',
    `flag=${snapshot.flagPercent}%${snapshot.rolledBack ? '(rolled back)' : ''}`,
    `baseline=${doc?.arms?.baseline.requests ?? 0} p95=${p95Ms(doc?.arms?.baseline)} err=${percent(doc?.arms?.baseline.errorRate)}`,
    `canary=${doc?.arms?.canary.requests ?? 0} p95=${p95Ms(doc?.arms?.canary)} err=${percent(doc?.arms?.canary.errorRate)}`,
    `verdict=${doc?.verdict ?? 'waiting'}`,
    `evidence=${Math.round(progress.fraction * 100)}% ${progress.label}`,
  ].join(' ');
}

/**
 * Breaks a line into rows of at most `columns - 1` characters, at spaces where it can (continuations
 * indented under the line's own indentation). The view then knows exactly how many terminal rows it drew:
 * a row never reaches the last column, where terminals disagree about whether the newline after it takes
 * a row of its own, and no row is wrapped by the terminal behind the view's back.
 */
export function fitToWidth(line: string, columns: number): string[] {
  const width = Math.max(20, columns - 1);
  const chars = Array.from(line);
  if (chars.length <= width) return [line];
  const indent = ' '.repeat(Math.min(line.length - line.trimStart().length + 4, Math.floor(width / 2)));
  const rows: string[] = [];
  let rest = chars;
  let prefix = '';
  while (prefix.length + rest.length > width) {
    const room = width - prefix.length;
    const space = rest.lastIndexOf(' ', room);
    // Break at the last space that fits, unless it would leave the row mostly empty.
    const cut = space > room / 2 ? space : room;
    rows.push(prefix + rest.slice(0, cut).join('').trimEnd());
    rest = rest.slice(cut);
    while (rest[0] === ' ') rest = rest.slice(1);
    prefix = indent;
  }
  if (rest.length > 0) rows.push(prefix + rest.join(''));
  return rows;
}

export class LiveView {
  private drawnLines: string[] = [];
  /** Terminal rows the last block took (its lines, wrapped to the width at the time). */
  private drawnRows = 0;
  private lastLineMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly out: Writable,
    private readonly isTTY: boolean,
    private readonly lineIntervalMs = 3_000,
    /** The terminal's width now: a tty stream's `columns`, 80 when it does not say. */
    private readonly columns: () => number = () => {
      const columns = (out as { columns?: unknown }).columns;
      return typeof columns === 'number' && columns > 0 ? columns : 80;
    },
  ) {}

  update(snapshot: StatusSnapshot, force = false): void {
    if (this.isTTY) {
      const rewind = this.rewind();
      this.out.write(`${rewind}${this.draw(renderStatus(snapshot))}`);
      return;
    }
    if (!force && snapshot.elapsedMs - this.lastLineMs < this.lineIntervalMs) return;
    this.lastLineMs = snapshot.elapsedMs;
    this.out.write(`${renderLine(snapshot)}\n`);
  }

  /** An event line: on a TTY it goes above the live block, which is redrawn under it. */
  print(text: string): void {
    if (!this.isTTY) {
      this.out.write(`${text}\n`);
      return;
    }
    const rewind = this.rewind();
    const event = text
      .split('\n')
      .flatMap((line) => fitToWidth(line, this.columns()))
      .join('\n');
    this.out.write(`${rewind}${event}\n${this.draw(this.drawnLines)}`);
  }

  /** Ends live drawing: what follows is printed below the last block. */
  release(): void {
    this.drawnLines = [];
    this.drawnRows = 0;
  }

  /** The block's text, wrapped to the terminal's width now, remembering how many rows it takes. */
  private draw(lines: string[]): string {
    const rows = lines.flatMap((line) => fitToWidth(line, this.columns()));
    this.drawnLines = lines;
    this.drawnRows = rows.length;
    return rows.length > 0 ? `${rows.join('\n')}\n` : '';
  }

  /**
   * Cursor to the first row of the block drawn last (every row of it, wrapped ones included), and clear
   * to the end of the screen.
   */
  private rewind(): string {
    return this.drawnRows > 0 ? `\r\x1b[${this.drawnRows}A\x1b[J` : '';
  }
}
