// Analysis definitions over the API: create (POST), create or replace (PUT), list, read, delete. A definition
// is reusable; each rollout revision is judged by a run of it (runs-routes.ts).
import { analysisSchema, type Analysis } from '../config/analysis.js';
import { withoutSecrets } from '../config/redaction.js';
import type { AnalysisDefinition } from '../judge/analysis-catalog.js';
import type { JudgeService } from '../judge/judge-service.js';
import { compactVerdict } from '../judge/verdict-document.js';
import { asApiProblem } from './judge-problems.js';
import { ApiProblem, readJsonBody } from './request-body.js';
import { parseBody } from './run-requests.js';
import { sendJson, type ApiServer } from './server.js';

/** Runs listed with a definition. */
const RUNS_SHOWN = 20;

function definitionDocument(judge: JudgeService, definition: AnalysisDefinition, runs: number) {
  return {
    id: definition.spec.id,
    source: definition.source,
    createdAt: new Date(definition.createdAtMs).toISOString(),
    updatedAt: new Date(definition.updatedAtMs).toISOString(),
    // The webhook secret is write-only: never returned (src/config/redaction.ts).
    spec: withoutSecrets(definition.spec),
    runs: judge.listRuns(definition.spec.id, runs).map(compactVerdict),
  };
}

function found(judge: JudgeService, id: string): AnalysisDefinition {
  const definition = judge.getAnalysis(id);
  if (!definition) throw new ApiProblem(404, 'ANALYSIS_NOT_FOUND', `no analysis "${id}"`);
  return definition;
}

function parseAnalysis(body: unknown): Analysis {
  return parseBody(analysisSchema, body, 'INVALID_ANALYSIS', 'analysis');
}

export function addAnalysisRoutes(api: ApiServer, judge: JudgeService): void {
  api.route('POST', '/api/v1/analyses', async (request, response) => {
    const spec = parseAnalysis(await readJsonBody(request));
    asApiProblem(() => judge.putAnalysis(spec, 'api', false));
    response.setHeader('Location', `/api/v1/analyses/${encodeURIComponent(spec.id)}`);
    sendJson(response, 201, definitionDocument(judge, found(judge, spec.id), RUNS_SHOWN));
  });

  api.route('PUT', '/api/v1/analyses/:id', async (request, response, { id }) => {
    const body = await readJsonBody(request);
    const spec = parseAnalysis(
      body !== null && typeof body === 'object' && !Array.isArray(body) ? { id, ...body } : body,
    );
    if (spec.id !== id) {
      throw new ApiProblem(
        400,
        'INVALID_ANALYSIS',
        `the body's id "${spec.id}" differs from the path's "${id}"`,
      );
    }
    const created = asApiProblem(() => judge.putAnalysis(spec, 'api', true));
    sendJson(response, created ? 201 : 200, definitionDocument(judge, found(judge, id), RUNS_SHOWN));
  });

  api.route('GET', '/api/v1/analyses', (_request, response) => {
    sendJson(response, 200, {
      analyses: judge.listAnalyses().map((definition) => {
        const latest = judge.listRuns(definition.spec.id, 1)[0];
        return {
          id: definition.spec.id,
          source: definition.source,
          updatedAt: new Date(definition.updatedAtMs).toISOString(),
          latestRun: latest ? compactVerdict(latest) : null,
        };
      }),
    });
  });

  api.route('GET', '/api/v1/analyses/:id', (_request, response, { id }) => {
    sendJson(response, 200, definitionDocument(judge, found(judge, id), RUNS_SHOWN));
  });

  api.route('DELETE', '/api/v1/analyses/:id', (_request, response, { id }) => {
    found(judge, id);
    asApiProblem(() => judge.deleteAnalysis(id));
    sendJson(response, 200, { id, state: 'deleted' });
  });
}
