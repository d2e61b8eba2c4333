// @ts-check
// Every analysis with its latest runs: verdict, stage, samples, when, and a link to each run's page.
import { badge, h, table } from './dom.js';
import * as f from './format.js';

/**
 * @param {HTMLElement} main
 * @param {Array<{ analysis: any, runs: any[] }>} analyses
 */
export function renderList(main, analyses) {
  const sections = analyses.map(({ analysis, runs }) =>
    h(
      'section',
      { class: 'analysis', 'data-analysis': analysis.id, 'aria-labelledby': `analysis-${analysis.id}` },
      h('h2', { id: `analysis-${analysis.id}`, text: analysis.id }),
      h('p', {
        class: 'note',
        text: `defined in the ${analysis.source === 'config' ? 'config file' : 'API'}, updated ${f.dateTime(analysis.updatedAt)}`,
      }),
      runs.length === 0
        ? h('p', { text: 'No run yet: the first gate call of a rollout starts one.' })
        : table(
            `Runs of ${analysis.id}, newest first`,
            ['revision', 'verdict', 'action', 'stage', 'samples (baseline / canary)', 'updated', 'reason'],
            runs.map((run) => [
              h('a', {
                href: `/runs/${encodeURIComponent(run.runId)}`,
                'data-run': run.runId,
                text: `${run.revision}${run.attempt > 1 ? ` (attempt ${run.attempt})` : ''}`,
              }),
              badge(run.verdict),
              run.action,
              String(run.stage),
              `${run.samples.baseline} / ${run.samples.canary}`,
              f.dateTime(run.updatedAt),
              run.reason,
            ]),
          ),
    ),
  );
  main.replaceChildren(
    h('h1', { text: 'Analyses and their runs' }),
    analyses.length === 0
      ? h('p', { text: 'No analysis is defined: add one to the config or POST it to /api/v1/analyses.' })
      : h('div', {}, ...sections),
  );
  document.title = 'canary-judge report';
}
