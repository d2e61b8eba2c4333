// @ts-check
// The report page: routes by path (/ lists analyses and runs, /runs/{id} shows one run), reads everything
// from /api/v1, and refreshes while there is something running (every 2 s; `?refresh=ms` sets it). Asks for
// the API's bearer token when the API wants one.
import { ApiError, enc, getJson, setToken, token, Unauthorized } from './api.js';
import { h } from './dom.js';
import { renderList } from './list-view.js';
import { renderRun } from './run-view.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const live = /** @type {HTMLElement} */ (document.getElementById('live'));
const params = new URLSearchParams(location.search);
const refreshMs = Math.max(200, Number(params.get('refresh')) || 2000);
const RUNS_PER_ANALYSIS = 5;
const MAX_ANALYSES = 100;
let renders = 0;
let lastKey = '';

/** @param {string} text */
function status(text) {
  live.textContent = text;
}

function askForToken() {
  const input = h('input', {
    id: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    minlength: 16,
  });
  const form = h(
    'form',
    { class: 'token-form' },
    h('h1', { text: 'The API needs its bearer token' }),
    h('p', {
      text: 'This sidecar protects its API with api.authToken. The token is kept in this tab only (sessionStorage) and sent as an Authorization header.',
    }),
    h('label', { for: 'token', text: 'API bearer token' }),
    input,
    h('button', { type: 'submit', text: 'Show the report' }),
    token() ? h('p', { class: 'error', role: 'alert', text: 'That token was refused.' }) : null,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(/** @type {HTMLInputElement} */ (input).value.trim());
    lastKey = '';
    void refresh();
  });
  main.replaceChildren(form);
  input.focus();
}

/** @returns {Promise<boolean>} whether to keep refreshing */
async function showList() {
  const { analyses } = await getJson('/api/v1/analyses');
  const shown = analyses.slice(0, MAX_ANALYSES);
  const withRuns = await Promise.all(
    shown.map(async (/** @type {any} */ analysis) => ({
      analysis,
      runs: (await getJson(`/api/v1/analyses/${enc(analysis.id)}/runs?limit=${RUNS_PER_ANALYSIS}`)).runs,
    })),
  );
  const key = JSON.stringify(withRuns);
  if (key !== lastKey) {
    lastKey = key;
    renderList(main, withRuns);
  }
  return true;
}

/** @param {string} runId @returns {Promise<boolean>} */
async function showRun(runId) {
  const base = `/api/v1/runs/${enc(runId)}`;
  const [doc, series, history, webhooks, traces] = await Promise.all([
    getJson(base),
    getJson(`${base}/series`),
    getJson(`${base}/history`),
    getJson(`${base}/webhooks`),
    getJson(`${base}/traces`),
  ]);
  const data = {
    doc,
    points: series.points,
    history: history.history,
    deliveries: webhooks.deliveries,
    traces,
  };
  const key = JSON.stringify(data);
  if (key !== lastKey) {
    lastKey = key;
    renderRun(main, data);
  }
  return doc.state === 'running';
}

/** Whether to ask for the token before any data call (the API wants one and the tab has none). */
let asked = false;

async function refresh() {
  if (!asked) {
    asked = true;
    const { tokenRequired } = await getJson('/report/auth').catch(() => ({ tokenRequired: false }));
    if (tokenRequired && !token()) {
      askForToken();
      return;
    }
  }
  const path = location.pathname;
  const runMatch = /^\/runs\/([^/]+)$/.exec(path);
  let again;
  try {
    again = runMatch ? await showRun(decodeURIComponent(runMatch[1])) : await showList();
    renders += 1;
    document.body.dataset.renders = String(renders);
    if (renders === 1) performance.mark('report:first-render');
    status(
      again
        ? `live: updated ${new Date().toLocaleTimeString([], { hour12: false })}`
        : 'final: this run has ended',
    );
  } catch (error) {
    if (error instanceof Unauthorized) {
      askForToken();
      status('');
      return;
    }
    const message =
      error instanceof ApiError
        ? `${error.status}: ${error.message}`
        : `cannot reach the sidecar (${/** @type {Error} */ (error).message})`;
    main.replaceChildren(h('p', { class: 'error', role: 'alert', text: message }));
    again = true;
  }
  if (again) setTimeout(() => void refresh(), refreshMs);
}

void refresh();
