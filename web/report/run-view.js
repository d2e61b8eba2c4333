// @ts-check
// One run: its verdict and the reason in plain words, one tile per metric (the effect over time with the
// band of the bounds that decide, the tolerance line and the decision point; the numbers; the sample
// progress), each arm's quantiles and error rate, the traffic split per stage, the verdict timeline, the
// webhook deliveries and the canary traces worth opening. Every number is the API's, formatted as the
// judge's reasons format them.
import { effectChart, shareChart } from './charts.js';
import { badge, h, table } from './dom.js';
import * as f from './format.js';

/**
 * @typedef {{ doc: any, points: any[], history: any[], deliveries: any[], traces: any }} RunData
 */

/** @param {string} term @param {Node | string} value */
const pair = (term, value) => [h('dt', { text: term }), h('dd', {}, value)];

/**
 * A number shown as text, with the raw value kept for tests and copy-paste.
 * @param {string} field @param {number | string | null | undefined} raw @param {string} text
 */
function value(field, raw, text) {
  return h('span', {
    'data-field': field,
    'data-value': raw === null || raw === undefined ? '' : String(raw),
    text,
  });
}

/** @param {any} doc */
function header(doc) {
  const stage = doc.stages[doc.stages.length - 1];
  const share =
    stage?.canaryShare === null || stage?.canaryShare === undefined
      ? 'no share declared'
      : `canary share ${f.share(stage.canaryShare)}`;
  return h(
    'section',
    { class: 'run-head', 'aria-labelledby': 'run-title' },
    h('p', { class: 'crumbs' }, h('a', { href: '/' }, 'All analyses'), ` / ${doc.analysisId}`),
    h('h1', { id: 'run-title' }, `Run of ${doc.revision}`, ' ', badge(doc.verdict)),
    h(
      'dl',
      { class: 'facts' },
      ...pair('analysis', doc.analysisId),
      ...pair('run', `${doc.runId} (attempt ${doc.attempt})`),
      ...pair('state', doc.endReason ? `${doc.state}: ${doc.endReason}` : doc.state),
      ...pair('action', value('action', doc.action, doc.action)),
      ...pair('stage', `${doc.stage} of ${doc.stages.length} (${share})`),
      ...pair('started', f.dateTime(doc.startedAt)),
      ...pair(
        doc.endedAt ? 'ended' : 'running for',
        doc.endedAt ? f.dateTime(doc.endedAt) : f.duration(doc.elapsedSeconds),
      ),
      ...pair('evidence until', f.dateTime(doc.evidenceUntil)),
      ...pair(
        'samples',
        h(
          'span',
          {},
          'baseline ',
          value('samples-baseline', doc.samples.baseline, String(doc.samples.baseline)),
          ', canary ',
          value('samples-canary', doc.samples.canary, String(doc.samples.canary)),
        ),
      ),
    ),
    h('h2', { class: 'reason-title', text: 'Why' }),
    h('p', { class: 'reason', id: 'run-reason', 'data-field': 'reason', text: doc.reason }),
  );
}

/**
 * @param {any} m
 * @param {boolean} jointFail the run failed on the metrics' joint evidence, no metric alone
 */
function decidedBy(m, jointFail) {
  if (m.decision === 'fail')
    return `Failed: the lower bound of the ${f.TEST_NAMES[m.effect.lowerTest]} (${f.level(m.effect.lowerLevel)} anytime-valid) is past the tolerance.`;
  if (m.decision === 'pass')
    return `Passed: the upper bound of the ${f.TEST_NAMES[m.effect.upperTest]} (${f.level(m.effect.level)} anytime-valid) is within the tolerance.`;
  if (jointFail && m.alwaysValidPValue < 1)
    return 'Part of the run’s fail: the metrics’ joint evidence (their family test) decided it; this metric’s own bound has not passed the tolerance.';
  return 'Undecided: the band still reaches the tolerance line, or the minimum samples are not in yet.';
}

/** @param {any} m @param {any[]} points @param {Set<string>} open @param {boolean} jointFail */
function metricTile(m, points, open, jointFail) {
  const limit = f.limitOf(m);
  const effect = m.effect;
  const figure = h('div', { class: 'chart', 'data-chart': m.id });
  const least = Math.min(m.samples.baseline, m.samples.canary);
  const progressId = `progress-${m.id}`;
  const rows = points
    .map((p) => ({ p, x: p.metrics.find((/** @type {any} */ x) => x.id === m.id) }))
    .filter((row) => row.x)
    .slice(-40)
    .map((row) => [
      f.clock(row.p.atMs),
      f.effectValue(effect, row.x.estimate),
      f.effectValue(effect, row.x.lower ?? 'undefined'),
      f.effectValue(effect, row.x.upper ?? 'Infinity'),
      row.x.decision,
    ]);
  const details = h(
    'details',
    { id: `data-${m.id}`, open: open.has(`data-${m.id}`) },
    h('summary', { text: 'The chart as a table (latest 40 points)' }),
    table(`${m.id} over time`, ['time', 'estimate', 'lower bound', 'upper bound', 'decision'], rows),
  );
  const caption = `${m.id}: ${effect.scale} ${f.effectValue(effect, effect.estimate)}, band ${f.effectValue(effect, effect.lower)} to ${f.effectValue(effect, effect.upper)}, tolerance ${f.effectValue(effect, limit)}; ${m.decision}`;
  const tile = h(
    'article',
    {
      class: `tile tile-${m.decision}`,
      'data-metric': m.id,
      'data-decision': m.decision,
      'aria-labelledby': `title-${m.id}`,
    },
    h('h3', { id: `title-${m.id}` }, f.metricTitle(m), ' ', badge(m.decision)),
    h('figure', { class: 'figure' }, figure, h('figcaption', { class: 'visually-hidden', text: caption })),
    h(
      'dl',
      { class: 'numbers' },
      ...pair(
        'estimate',
        value('estimate', f.numeric(effect.estimate), f.effectValue(effect, effect.estimate)),
      ),
      ...pair(
        'lower bound',
        h(
          'span',
          {},
          value('lower', f.numeric(effect.lower), f.effectValue(effect, effect.lower)),
          ` ${f.TEST_NAMES[effect.lowerTest]}, ${f.level(effect.lowerLevel)}`,
        ),
      ),
      ...pair(
        'upper bound',
        h(
          'span',
          {},
          value('upper', f.numeric(effect.upper), f.effectValue(effect, effect.upper)),
          ` ${f.TEST_NAMES[effect.upperTest]}, ${f.level(effect.level)}`,
        ),
      ),
      ...pair('tolerance', value('tolerance', limit, f.effectValue(effect, limit))),
      ...pair('p (worse)', value('p-worse', m.alwaysValidPValue, f.pValue(m.alwaysValidPValue))),
      ...pair('p (within)', value('p-within', m.withinPValue, f.pValue(m.withinPValue))),
    ),
    h('p', { class: 'decided-by', text: decidedBy(m, jointFail) }),
    h(
      'div',
      { class: 'progress' },
      h('label', {
        for: progressId,
        text: `Samples in this stage: baseline ${m.samples.baseline}, canary ${m.samples.canary} of ${m.minSamples} needed per arm`,
      }),
      h('progress', { id: progressId, max: m.minSamples, value: Math.min(least, m.minSamples) }),
    ),
    h('p', { class: 'metric-reason', text: m.reason }),
    details,
  );
  return { tile, figure, m, limit };
}

/** @param {any} doc */
function armsSection(doc) {
  if (!doc.arms) return h('p', { text: 'No evidence judged yet.' });
  const quantiles = doc.arms.canary.quantiles.map((/** @type {any} */ q) => q.quantile);
  /** @param {any} arm @param {number} q */
  const cell = (arm, q) => {
    const x = arm.quantiles.find((/** @type {any} */ y) => y.quantile === q);
    if (!x) return '-';
    const bounds = Number.isFinite(x.lowerNanos)
      ? ` [${f.millis(x.lowerNanos)}, ${f.millis(x.upperNanos)}]`
      : '';
    return `${f.millis(x.estimateNanos)}${bounds}`;
  };
  const rows = ['baseline', 'canary'].map((name) => {
    const arm = doc.arms[name];
    return [
      name,
      String(arm.requests),
      String(arm.errors),
      f.percent(arm.errorRate),
      f.millis(arm.meanNanos),
      ...quantiles.map((/** @type {number} */ q) => cell(arm, q)),
    ];
  });
  return table(
    'Each arm in the current stage (quantiles with 95% order-statistic intervals, descriptive)',
    [
      'arm',
      'requests',
      'errors',
      'error rate',
      'mean',
      ...quantiles.map((/** @type {number} */ q) => `p${Number((q * 100).toPrecision(6))}`),
    ],
    rows,
  );
}

/** @param {any} doc @param {any[]} points */
function splitSection(doc, points) {
  const rows = doc.stages.map((/** @type {any} */ s) => {
    const split = s.trafficSplit;
    return [
      String(s.number),
      f.dateTime(s.startedAt),
      s.declaredBy,
      f.share(s.canaryShare),
      split ? f.share(f.numeric(split.observedCanaryShare)) : '-',
      `${s.samples.baseline} / ${s.samples.canary}`,
      split && split.checked ? f.pValue(split.alwaysValidPValue) : '-',
      split && split.chiSquaredPValue !== null ? f.pValue(split.chiSquaredPValue) : '-',
      split ? split.reason : 'not evaluated yet',
    ];
  });
  const figure = h('div', { class: 'chart chart-share' });
  const run = doc.trafficSplit;
  return {
    section: h(
      'section',
      { 'aria-labelledby': 'split-title' },
      h('h2', { id: 'split-title', text: 'Traffic split per stage' }),
      h('p', {
        text: run
          ? `Run: ${run.mismatch ? 'MISMATCH' : 'no mismatch'} (always-valid p=${f.pValue(run.alwaysValidPValue)}${run.checked ? '' : '; no stage declared a share, not checked'}). The chi-squared p-value is descriptive only.`
          : 'Not evaluated yet.',
      }),
      h(
        'figure',
        { class: 'figure' },
        figure,
        h('figcaption', {
          class: 'visually-hidden',
          text: 'Observed against declared canary share over the run',
        }),
      ),
      table(
        'Stages',
        [
          'stage',
          'started',
          'declared by',
          'declared share',
          'observed share',
          'requests (baseline / canary)',
          'always-valid p',
          'chi-squared p',
          'test',
        ],
        rows,
      ),
    ),
    figure,
    points,
  };
}

/** @param {any[]} history */
function timelineSection(history) {
  return h(
    'section',
    { 'aria-labelledby': 'timeline-title' },
    h('h2', { id: 'timeline-title', text: 'Verdict timeline' }),
    history.length === 0
      ? h('p', { text: 'No verdict change yet: the run has been collecting evidence since it started.' })
      : h(
          'ol',
          { class: 'timeline' },
          ...history.map((entry) =>
            h(
              'li',
              { 'data-verdict': entry.verdict },
              h('time', { datetime: entry.at, text: f.dateTime(entry.at) }),
              ' ',
              badge(entry.verdict),
              ` -> ${entry.action}: `,
              entry.reason,
            ),
          ),
        ),
  );
}

/** @param {any[]} deliveries */
function webhookSection(deliveries) {
  const rows = deliveries.map((d) => [
    f.dateTime(d.createdAt),
    d.verdict ?? '-',
    d.url,
    d.state,
    String(d.attempts),
    d.lastError ?? (d.state === 'pending' ? `next try ${f.clock(d.nextAttemptAt)}` : '-'),
    f.dateTime(d.finishedAt),
  ]);
  return h(
    'section',
    { 'aria-labelledby': 'webhooks-title' },
    h('h2', { id: 'webhooks-title', text: 'Webhook deliveries' }),
    rows.length === 0
      ? h('p', { text: 'No webhook event for this run (none configured, or no verdict change yet).' })
      : table(
          'Signed CloudEvents sent for this run',
          ['event', 'verdict', 'receiver', 'state', 'attempts', 'last error', 'finished'],
          rows,
        ),
  );
}

/** @param {any} traces */
function tracesSection(traces) {
  /** @param {any[]} list @param {string} title */
  const list = (list, title) =>
    h(
      'div',
      {},
      h('h3', { text: title }),
      list.length === 0
        ? h('p', { text: 'none' })
        : h(
            'ul',
            { class: 'traces' },
            ...list.map((t) =>
              h(
                'li',
                {},
                t.url
                  ? h('a', { href: t.url, rel: 'noopener noreferrer', target: '_blank', text: t.traceId })
                  : h('code', { text: t.traceId }),
                ` ${f.millis(t.durationNanos)} at ${f.clock(t.timeUnixMs)}`,
              ),
            ),
          ),
    );
  return h(
    'section',
    { 'aria-labelledby': 'traces-title' },
    h('h2', { id: 'traces-title', text: 'Canary traces to look at' }),
    traces.traceUrlConfigured
      ? null
      : h('p', {
          class: 'note',
          text: 'Set api.traceUrl (e.g. http://jaeger:16686/trace/{traceId}) to link these to your trace UI.',
        }),
    h(
      'div',
      { class: 'columns' },
      list(traces.slowest, 'Slowest canary requests'),
      list(traces.failing, 'Latest failing canary requests'),
    ),
  );
}

/**
 * Renders the run into `main`, keeping which details were open.
 * @param {HTMLElement} main @param {RunData} data
 */
export function renderRun(main, data) {
  const open = new Set([...main.querySelectorAll('details[open]')].map((d) => d.id));
  const { doc } = data;
  const jointFail =
    doc.verdict === 'fail' &&
    !doc.trafficSplit?.mismatch &&
    !doc.metrics.some((/** @type {any} */ m) => m.decision === 'fail');
  const tiles = doc.metrics.map((/** @type {any} */ m) => metricTile(m, data.points, open, jointFail));
  const split = splitSection(doc, data.points);
  main.replaceChildren(
    header(doc),
    h(
      'section',
      { 'aria-labelledby': 'metrics-title' },
      h('h2', { id: 'metrics-title', text: 'Metrics' }),
      h('p', {
        class: 'note',
        text: 'Band: between the fail test’s lower bound and the pass test’s upper bound; dashed red line: the tolerance. A metric fails when the band is wholly past the line, passes when it is wholly within.',
      }),
      tiles.length === 0
        ? h('p', { text: 'No metric evaluated yet.' })
        : h('div', { class: 'tiles' }, ...tiles.map((/** @type {any} */ t) => t.tile)),
    ),
    h(
      'section',
      { 'aria-labelledby': 'arms-title' },
      h('h2', { id: 'arms-title', text: 'Arms' }),
      armsSection(doc),
    ),
    split.section,
    timelineSection(data.history),
    webhookSection(data.deliveries),
    tracesSection(data.traces),
  );
  for (const t of tiles)
    effectChart(t.figure, { id: t.m.id, kind: t.m.kind, limit: t.limit, points: data.points });
  shareChart(split.figure, data.points);
  document.title = `${doc.verdict.toUpperCase()}: ${doc.analysisId} ${doc.revision} - canary-judge`;
}
