// @ts-check
// Numbers as the judge's reasons write them (src/stats/result-reasons.ts): ratios as x1.234, error-rate
// differences in percentage points, latencies in ms, p-values to two significant digits.

/**
 * A reported number (the API spells non-finite values out: 'Infinity', '-Infinity', 'undefined') as a number.
 * @param {number | string | null | undefined} x
 */
export function numeric(x) {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  return NaN;
}

/** @param {number | string | null | undefined} x */
export function ratio(x) {
  const v = numeric(x);
  if (Number.isNaN(v)) return 'undefined';
  return Number.isFinite(v) ? `x${v.toFixed(3)}` : 'unbounded';
}

/** @param {number | string | null | undefined} x */
export function points(x) {
  const v = numeric(x);
  if (Number.isNaN(v)) return 'undefined';
  if (!Number.isFinite(v)) return v > 0 ? '+inf' : '-inf';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}pp`;
}

/** @param {number | string | null | undefined} x */
export function percent(x) {
  const v = numeric(x);
  return Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : 'n/a';
}

/** @param {number | string | null | undefined} nanos */
export function millis(nanos) {
  const v = numeric(nanos);
  if (v === Infinity) return '+inf';
  return Number.isFinite(v) ? `${Number((v / 1e6).toPrecision(4))} ms` : 'n/a';
}

/** @param {number | null | undefined} p */
export function pValue(p) {
  return typeof p === 'number' && Number.isFinite(p) ? p.toPrecision(2) : 'n/a';
}

/** @param {number} level */
export function level(level) {
  return `${Number((level * 100).toPrecision(4))}%`;
}

/** @param {string | number | null | undefined} time */
export function clock(time) {
  if (time === null || time === undefined) return '-';
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? '-' : date.toLocaleTimeString([], { hour12: false });
}

/** @param {string | null | undefined} time */
export function dateTime(time) {
  if (!time) return '-';
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? '-' : date.toLocaleString([], { hour12: false });
}

/** @param {number} seconds */
export function duration(seconds) {
  if (!Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** @param {number | null | undefined} share */
export function share(share) {
  return typeof share === 'number' && Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : '-';
}

/**
 * The metric's effect in its own units: a ratio for latency, a difference in points for the error rate.
 * @param {{ scale: 'ratio' | 'difference' }} effect
 * @param {number | string | null | undefined} x
 */
export function effectValue(effect, x) {
  return effect.scale === 'ratio' ? ratio(x) : points(x);
}

/**
 * The metric's tolerance line in effect units: 1 + tolerance for a ratio, the tolerance for a difference.
 * @param {{ kind: string, tolerance: number }} metric
 */
export function limitOf(metric) {
  return metric.kind === 'error_rate' ? metric.tolerance : 1 + metric.tolerance;
}

/** @param {{ kind: string, quantile?: number, id: string }} metric */
export function metricTitle(metric) {
  if (metric.kind === 'error_rate') return `${metric.id}: error rate, canary minus baseline`;
  if (metric.kind === 'latency_mean') return `${metric.id}: mean latency, canary over baseline`;
  const q = Number(((metric.quantile ?? 0.5) * 100).toPrecision(6));
  return `${metric.id}: p${q} latency, canary over baseline`;
}

/** @type {Record<string, string>} */
export const TEST_NAMES = {
  'error-rate-mixture': 'error-rate mixture test',
  'mean-ratio-mixture': 'mean-ratio mixture test',
  'two-sample-quantile-mixture': 'two-sample quantile test',
  'per-arm-quantile-sequences': 'per-arm quantile sequences',
};
