// Runs over the API. A run judges one rollout revision of an analysis; controllers address it by the
// revision string they know (Argo's pod-template hash, Flagger's checksum, a flag version):
//   PUT    /api/v1/analyses/{id}/runs/{revision}          start it, or get it (idempotent); may declare a stage
//                                                         (a run that ended with fail/inconclusive is only read)
//   GET    /api/v1/analyses/{id}/runs                     the analysis's runs, newest first (?limit=)
//   GET    /api/v1/analyses/{id}/runs/{revision}          the full verdict document
//   GET    /api/v1/analyses/{id}/runs/{revision}/verdict  the compact verdict
//   POST   /api/v1/analyses/{id}/runs/{revision}/stages   declare the next stage { canaryShare | canaryWeight }
//   POST   /api/v1/analyses/{id}/runs/{revision}/restart  judge the revision anew (a new attempt)
//   DELETE /api/v1/analyses/{id}/runs/{revision}          abort it
//   GET    /api/v1/runs/{runId}, /api/v1/runs/{runId}/history
// Every answer to a controller is a JSON object (Argo's web provider treats a non-JSON 2xx body as success).
import type { JudgeService } from '../judge/judge-service.js';
import { compactVerdict, type VerdictDocument } from '../judge/verdict-document.js';
import { asApiProblem } from './judge-problems.js';
import { ApiProblem, readJsonBody } from './request-body.js';
import {
  declaredShare,
  parseBody,
  readOptionalJsonBody,
  runRequestSchema,
  stageRequestSchema,
} from './run-requests.js';
import { sendJson, type ApiServer } from './server.js';

const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;

function runOf(judge: JudgeService, analysisId: string, revision: string): VerdictDocument {
  if (!judge.getAnalysis(analysisId))
    throw new ApiProblem(404, 'ANALYSIS_NOT_FOUND', `no analysis "${analysisId}"`);
  const document = judge.findRun(analysisId, revision);
  if (!document) {
    throw new ApiProblem(
      404,
      'RUN_NOT_FOUND',
      `no run of analysis "${analysisId}" for revision "${revision}"; PUT it to start it`,
    );
  }
  return document;
}

function listLimit(url: string | undefined): number {
  const text = new URLSearchParams((url ?? '').split('?')[1] ?? '').get('limit');
  if (text === null) return DEFAULT_LIST_LIMIT;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new ApiProblem(400, 'INVALID_QUERY', `limit: expected an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  return limit;
}

export function addRunRoutes(api: ApiServer, judge: JudgeService): void {
  api.route('PUT', '/api/v1/analyses/:id/runs/:revision', async (request, response, { id, revision }) => {
    const body = parseBody(runRequestSchema, await readOptionalJsonBody(request), 'INVALID_RUN', 'run');
    const { document, created } = asApiProblem(() =>
      judge.startRun(id, revision, {
        baseline: body.baseline,
        canary: body.canary,
        canaryShare: declaredShare(body),
        declaredBy: 'api',
      }),
    );
    if (created) response.setHeader('Location', `/api/v1/runs/${encodeURIComponent(document.runId)}`);
    sendJson(response, created ? 201 : 200, compactVerdict(document));
  });

  api.route('GET', '/api/v1/analyses/:id/runs', (request, response, { id }) => {
    if (!judge.getAnalysis(id)) throw new ApiProblem(404, 'ANALYSIS_NOT_FOUND', `no analysis "${id}"`);
    sendJson(response, 200, {
      analysisId: id,
      runs: judge.listRuns(id, listLimit(request.url)).map(compactVerdict),
    });
  });

  api.route('GET', '/api/v1/analyses/:id/runs/:revision', (_request, response, { id, revision }) => {
    sendJson(response, 200, runOf(judge, id, revision));
  });

  api.route('GET', '/api/v1/analyses/:id/runs/:revision/verdict', (_request, response, { id, revision }) => {
    sendJson(response, 200, compactVerdict(runOf(judge, id, revision)));
  });

  api.route(
    'POST',
    '/api/v1/analyses/:id/runs/:revision/stages',
    async (request, response, { id, revision }) => {
      const body = parseBody(stageRequestSchema, await readJsonBody(request), 'INVALID_STAGE', 'stage');
      const { runId } = runOf(judge, id, revision);
      const document = asApiProblem(() => judge.declareStage(runId, declaredShare(body) ?? null, 'api'));
      sendJson(response, 200, compactVerdict(document));
    },
  );

  api.route(
    'POST',
    '/api/v1/analyses/:id/runs/:revision/restart',
    async (request, response, { id, revision }) => {
      const body = parseBody(runRequestSchema, await readOptionalJsonBody(request), 'INVALID_RUN', 'run');
      const running = judge.findRun(id, revision);
      if (running?.state === 'running')
        asApiProblem(() => judge.abortRun(running.runId, 'restarted through the API'));
      const { document } = asApiProblem(() =>
        judge.startRun(id, revision, {
          baseline: body.baseline,
          canary: body.canary,
          canaryShare: declaredShare(body),
          declaredBy: 'api',
          restart: true,
        }),
      );
      response.setHeader('Location', `/api/v1/runs/${encodeURIComponent(document.runId)}`);
      sendJson(response, 201, compactVerdict(document));
    },
  );

  api.route('DELETE', '/api/v1/analyses/:id/runs/:revision', (_request, response, { id, revision }) => {
    const { runId } = runOf(judge, id, revision);
    sendJson(
      response,
      200,
      compactVerdict(asApiProblem(() => judge.abortRun(runId, 'aborted through the API'))),
    );
  });

  api.route('GET', '/api/v1/runs/:runId', (_request, response, { runId }) => {
    const document = judge.getRun(runId);
    if (!document) throw new ApiProblem(404, 'RUN_NOT_FOUND', `no run "${runId}"`);
    sendJson(response, 200, document);
  });

  api.route('GET', '/api/v1/runs/:runId/history', (_request, response, { runId }) => {
    if (!judge.getRun(runId)) throw new ApiProblem(404, 'RUN_NOT_FOUND', `no run "${runId}"`);
    sendJson(response, 200, { runId, history: judge.runHistory(runId) });
  });
}
