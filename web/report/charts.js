// @ts-check
// Charts with uPlot (loaded by index.html from the npm package, as the global `uPlot`): a metric's effect
// over time with the band between the bounds that decide (the fail test's lower bound, the pass test's
// upper bound), its estimate, the tolerance line, stage starts and the decision point. Each chart has a
// text equivalent (its aria-label and a data table beside it), since a canvas says nothing to a screen
// reader; the geometry of its last point is also written on the figure (data-*) for the browser tests.

const COLORS = {
  estimate: '#1a1a1a',
  bound: '#1f5fa8',
  band: 'rgba(31, 95, 168, 0.18)',
  tolerance: '#b3261e',
  stage: '#6b6b6b',
  fail: '#b3261e',
  pass: '#1e6b34',
  observed: '#1f5fa8',
  expected: '#b3261e',
};

/**
 * @typedef {{ atMs: number, stage: number, verdict: string, split: any,
 *   metrics: Array<{ id: string, estimate: number | null, lower: number | null, upper: number | null,
 *     decision: string }> }} SeriesPoint
 */

/**
 * @param {number[]} values
 * @returns {[number, number] | null}
 */
function extent(values) {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : null;
}

/**
 * Vertical markers (stage starts, decisions) drawn on the plot area.
 * @param {Array<{ x: number, label: string, color: string, dash: number[] }>} marks
 */
function markerHook(marks) {
  /** @param {any} u */
  return (u) => {
    const ctx = u.ctx;
    const { top, height } = u.bbox;
    ctx.save();
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    for (const mark of marks) {
      const x = Math.round(u.valToPos(mark.x, 'x', true));
      if (!Number.isFinite(x)) continue;
      ctx.strokeStyle = mark.color;
      ctx.fillStyle = mark.color;
      ctx.lineWidth = devicePixelRatio;
      ctx.setLineDash(mark.dash.map((d) => d * devicePixelRatio));
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.fillText(mark.label, x + 3 * devicePixelRatio, top + 12 * devicePixelRatio);
    }
    ctx.restore();
  };
}

/**
 * The effect of one metric over the run.
 * @param {HTMLElement} figure where the chart goes (its width sets the chart's)
 * @param {{ id: string, kind: string, limit: number, points: SeriesPoint[] }} input
 */
export function effectChart(figure, input) {
  const { id, kind, limit, points } = input;
  const uPlot = /** @type {any} */ (globalThis).uPlot;
  const rows = points
    .map((p) => ({ p, m: p.metrics.find((m) => m.id === id) }))
    .filter((row) => row.m !== undefined);
  if (!uPlot || rows.length === 0) return;
  const xs = rows.map((row) => row.p.atMs / 1000);
  const estimate = rows.map((row) => row.m?.estimate ?? null);
  const lowerRaw = rows.map((row) => row.m?.lower ?? null);
  const upperRaw = rows.map((row) => row.m?.upper ?? null);
  const ratio = kind !== 'error_rate';
  const core = extent([...estimate.map((v) => v ?? NaN), limit]) ?? [limit, limit];
  const pad = Math.max((core[1] - core[0]) * 0.6, ratio ? 0.08 : 0.004);
  const bounds = extent([...lowerRaw, ...upperRaw].map((v) => v ?? NaN)) ?? core;
  const yMin = Math.max(core[0] - 3 * pad, Math.min(core[0] - pad, bounds[0]));
  const yMax = Math.min(core[1] + 3 * pad, Math.max(core[1] + pad, bounds[1]));
  // An unbounded side (no bound yet, or +inf) is drawn to the edge of the plot.
  const clamp = (/** @type {number | null} */ v, /** @type {number} */ missing) =>
    v === null || !Number.isFinite(v) ? missing : Math.min(yMax, Math.max(yMin, v));
  const lower = lowerRaw.map((v) => clamp(v, yMin));
  const upper = upperRaw.map((v) => clamp(v, yMax));
  const tolerance = xs.map(() => limit);

  /** @type {Array<{ x: number, label: string, color: string, dash: number[] }>} */
  const marks = [];
  rows.forEach((row, i) => {
    const previous = rows[i - 1];
    if (previous && row.p.stage !== previous.p.stage)
      marks.push({ x: xs[i], label: `stage ${row.p.stage}`, color: COLORS.stage, dash: [3, 3] });
    const decision = row.m?.decision ?? 'running';
    if (decision !== 'running' && (previous?.m?.decision ?? 'running') !== decision)
      marks.push({
        x: xs[i],
        label: decision,
        color: decision === 'fail' ? COLORS.fail : COLORS.pass,
        dash: [],
      });
  });

  const format = (/** @type {number} */ v) => (ratio ? `x${v.toFixed(2)}` : `${(v * 100).toFixed(2)}pp`);
  const width = Math.max(280, Math.floor(figure.clientWidth || 480));
  const options = {
    width,
    height: 200,
    scales: { x: { time: true }, y: { range: /** @type {[number, number]} */ ([yMin, yMax]) } },
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    series: [
      {},
      {
        label: 'estimate',
        stroke: COLORS.estimate,
        width: 1.5,
        value: (/** @type {any} */ _u, /** @type {number} */ v) => (v === null ? '-' : format(v)),
      },
      {
        label: 'lower bound (fail test)',
        stroke: COLORS.bound,
        width: 1,
        value: (/** @type {any} */ _u, /** @type {number} */ v) => (v === null ? '-' : format(v)),
      },
      {
        label: 'upper bound (pass test)',
        stroke: COLORS.bound,
        width: 1,
        dash: [2, 2],
        value: (/** @type {any} */ _u, /** @type {number} */ v) => (v === null ? '-' : format(v)),
      },
      {
        label: 'tolerance',
        stroke: COLORS.tolerance,
        width: 1.5,
        dash: [8, 4],
        points: { show: false },
        value: () => format(limit),
      },
    ],
    bands: [{ series: [3, 2], fill: COLORS.band }],
    axes: [
      {},
      { values: (/** @type {any} */ _u, /** @type {number[]} */ splits) => splits.map(format), size: 64 },
    ],
    hooks: { draw: [markerHook(marks)] },
  };
  const last = rows.length - 1;
  // Written after each draw (uPlot sizes its scales on the first one): the last point's band and the
  // tolerance line in plot pixels. Canvas y grows downwards: the band is above the line when its low edge has
  // the smaller y.
  options.hooks.draw.push((/** @type {any} */ u) => {
    const y = (/** @type {number | null} */ v) =>
      v === null || !Number.isFinite(v) ? 'none' : String(Math.round(u.valToPos(v, 'y') * 10) / 10);
    figure.dataset.bandLowY = y(lower[last]);
    figure.dataset.bandHighY = y(upper[last]);
    figure.dataset.toleranceY = y(limit);
    figure.dataset.points = String(rows.length);
  });
  figure.replaceChildren();
  new uPlot(options, [xs, estimate, lower, upper, tolerance], figure);
}

/**
 * Observed against declared canary share over the run.
 * @param {HTMLElement} figure
 * @param {SeriesPoint[]} points
 */
export function shareChart(figure, points) {
  const uPlot = /** @type {any} */ (globalThis).uPlot;
  const rows = points.filter((p) => p.split);
  if (!uPlot || rows.length === 0) return;
  const xs = rows.map((p) => p.atMs / 1000);
  const observed = rows.map((p) => p.split.observed);
  const expected = rows.map((p) => p.split.expected);
  const format = (/** @type {number} */ v) => `${(v * 100).toFixed(0)}%`;
  figure.replaceChildren();
  new uPlot(
    {
      width: Math.max(280, Math.floor(figure.clientWidth || 480)),
      height: 160,
      scales: { x: { time: true }, y: { range: [0, 1] } },
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      series: [
        {},
        { label: 'observed canary share', stroke: COLORS.observed, width: 1.5 },
        { label: 'declared share', stroke: COLORS.expected, width: 1.5, dash: [8, 4] },
      ],
      axes: [{}, { values: (/** @type {any} */ _u, /** @type {number[]} */ s) => s.map(format), size: 50 }],
    },
    [xs, observed, expected],
    figure,
  );
}
