// The analysis API: create, list, read, stop, history, and the compact verdict for Argo Rollouts'
// `web` metric provider (successCondition: result.verdict == "pass"; failureCondition: result.verdict == "fail").
import { analysisSchema } from '../config/analysis.js';
import { formatIssues } from '../config/load.js';
import { withoutSecrets } from '../config/redaction.js';
import { JudgeError, type AnalysisView, type JudgeService } from '../judge/judge-service.js';
import { compactVerdict } from '../judge/verdict-document.js';
import { ApiProblem, readJsonBody } from './request-body.js';
import { sendJson, type ApiServer } from './server.js';

/** The full analysis document: spec (its webhook secret is write-only), state, and the latest verdict with its evidence. */
function fullDocument(view: AnalysisView) {
  return { ...view.document, state: view.state, source: view.source, spec: withoutSecrets(view.spec) };
}

function found(judge: JudgeService, id: string): AnalysisView {
  const view = judge.get(id);
  if (!view) throw new ApiProblem(404, 'ANALYSIS_NOT_FOUND', `no running analysis "${id}"`);
  return view;
}

export function addAnalysisRoutes(api: ApiServer, judge: JudgeService): void {
  api.route('POST', '/api/v1/analyses', async (request, response) => {
    const body = await readJsonBody(request);
    const parsed = analysisSchema.safeParse(body);
    if (!parsed.success) {
      const problems = formatIssues(parsed.error.issues, body);
      throw new ApiProblem(
        400,
        'INVALID_ANALYSIS',
        `${problems.length} problem(s) in the analysis`,
        problems,
      );
    }
    try {
      const view = judge.create(parsed.data, 'api');
      response.setHeader('Location', `/api/v1/analyses/${encodeURIComponent(view.spec.id)}`);
      sendJson(response, 201, fullDocument(view));
    } catch (error) {
      if (error instanceof JudgeError) throw new ApiProblem(409, error.code, error.message);
      throw error;
    }
  });

  api.route('GET', '/api/v1/analyses', (_request, response) => {
    sendJson(response, 200, {
      analyses: judge.list().map((view) => ({
        ...compactVerdict(view.document),
        state: view.state,
        source: view.source,
        startedAt: view.document.startedAt,
      })),
    });
  });

  api.route('GET', '/api/v1/analyses/:id', (_request, response, { id }) => {
    sendJson(response, 200, fullDocument(found(judge, id)));
  });

  api.route('DELETE', '/api/v1/analyses/:id', (_request, response, { id }) => {
    const last = judge.stop(id);
    if (!last) throw new ApiProblem(404, 'ANALYSIS_NOT_FOUND', `no running analysis "${id}"`);
    sendJson(response, 200, { ...compactVerdict(last), state: 'stopped' });
  });

  api.route('GET', '/api/v1/analyses/:id/history', (_request, response, { id }) => {
    const history = judge.history(id);
    if (history.length === 0 && !judge.get(id))
      throw new ApiProblem(404, 'ANALYSIS_NOT_FOUND', `no analysis "${id}" and no history for it`);
    sendJson(response, 200, { id, history });
  });

  api.route('GET', '/api/v1/analyses/:id/verdict', (_request, response, { id }) => {
    sendJson(response, 200, compactVerdict(found(judge, id).document));
  });
}
