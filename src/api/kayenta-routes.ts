// A Kayenta-compatible endpoint set, so Argo Rollouts' `kayenta` metric provider and Spinnaker's canary stage
// can use canary-judge without a web template (spinnaker/kayenta CanaryController and CanaryConfigController at
// a69573be9d8fededacf80817e4151a2c8df41276; argoproj/argo-rollouts metricproviders/kayenta/kayenta.go at
// 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d; spinnaker/orca orca-kayenta at 2fdb327a9f67345c4919e1503ff5119fa3c31caf;
// transcribed in test/support/argo-kayenta-provider.ts and test/api/kayenta.test.ts):
//   GET  {address}/canaryConfig                  every analysis as a canary config: { id, name = analysis id,
//                                                applications }
//   POST {address}/canary/{configId}             starts (or finds) the run; answers { canaryExecutionId }
//   GET  {address}/canary/{canaryExecutionId}    { complete, status, result.judgeResult.score.score, ... }
//   GET  {address}/credentials                   one account, canary-judge (Spinnaker's MonitorKayentaCanaryTask
//                                                asks for the metrics account's type before it reads a score)
// The execution is the run of revision = the experiment scope's `scope`; the run's arms are the control and
// experiment scopes' `scope` values (set them to the variant values, e.g. Argo's stable and canary
// pod-template hashes). The run judges live traffic from its start, not the scope's start/end window (a
// sidecar holds no history to query); an execution completes when the run reaches a verdict: pass scores
// 100, fail 0, inconclusive by its action (rollback 0, promote 100, continue the marginal threshold).
// The execution id carries the request's thresholds, so it survives a restart with no table of its own.
// Argo's provider cannot send headers: with an API token set, give Argo the address
// {api}/kayenta/token/{token} (the token is compared in constant time); plain {api}/kayenta takes the header.
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import type { JudgeService } from '../judge/judge-service.js';
import type { VerdictDocument } from '../judge/verdict-document.js';
import { bearerCheck } from '../otlp/auth.js';
import { asApiProblem } from './judge-problems.js';
import { ApiProblem, readJsonBody } from './request-body.js';
import { parseBody } from './run-requests.js';
import { sendJson, type ApiServer, type RouteHandler } from './server.js';

const scopeSchema = z.looseObject({
  scope: z.string().min(1, 'expected the arm value as the scope').max(256),
  location: z.string().optional(),
  region: z.string().optional(),
  start: z.string().optional(),
  end: z.string().optional(),
  step: z.number().optional(),
});

const threshold = z.number().min(0).max(100);

const executionRequestSchema = z.looseObject({
  scopes: z
    .record(z.string(), z.looseObject({ controlScope: scopeSchema, experimentScope: scopeSchema }))
    .refine((scopes) => Object.keys(scopes).length > 0, 'expected at least one scope pair'),
  thresholds: z.looseObject({ pass: threshold, marginal: threshold }),
});

interface Execution {
  runId: string;
  pass: number;
  marginal: number;
}

/** `<runId>~<pass>~<marginal>`: run ids never contain `~`. */
export function executionId(execution: Execution): string {
  return `${execution.runId}~${execution.pass}~${execution.marginal}`;
}

export function parseExecutionId(id: string): Execution | undefined {
  const [runId, pass, marginal, ...rest] = id.split('~');
  const p = Number(pass);
  const m = Number(marginal);
  if (rest.length > 0 || !runId || !Number.isFinite(p) || !Number.isFinite(m)) return undefined;
  return { runId, pass: p, marginal: m };
}

/** The Kayenta score of a run's verdict (see the file comment). */
export function kayentaScore(document: VerdictDocument, marginal: number): number {
  switch (document.verdict) {
    case 'pass':
      return 100;
    case 'fail':
      return 0;
    case 'inconclusive':
      return document.action === 'rollback' ? 0 : document.action === 'promote' ? 100 : marginal;
    default:
      return NaN;
  }
}

/** ThresholdScoreClassifier (kayenta-judge): score >= pass is Pass, >= marginal Marginal, else Fail. */
function classify(score: number, pass: number, marginal: number): 'Pass' | 'Marginal' | 'Fail' {
  return score >= pass ? 'Pass' : score >= marginal ? 'Marginal' : 'Fail';
}

/** The samples behind a metric in one arm: requests for an error rate, latency samples for a quantile. */
function armCount(metric: VerdictDocument['metrics'][number], arm: 'baseline' | 'canary'): number {
  const summary = metric[arm];
  return metric.kind === 'error_rate' ? summary.requests : summary.latencySamples;
}

function statusResponse(document: VerdictDocument, execution: Execution, id: string) {
  const decided = document.verdict !== 'running';
  const complete = decided || document.state !== 'running';
  const started = Date.parse(document.startedAt);
  const ended = document.endedAt === null ? null : Date.parse(document.endedAt);
  const base = {
    application: document.analysisId,
    canaryConfigId: document.analysisId,
    pipelineId: id,
    complete,
    // Orca's ExecutionStatus, lower case: a run aborted without a verdict is `canceled` (no result).
    status: !complete ? 'running' : decided ? 'succeeded' : 'canceled',
    startTimeMillis: started,
    startTimeIso: document.startedAt,
    endTimeMillis: ended,
    endTimeIso: document.endedAt,
  };
  if (!decided) return base;
  const score = kayentaScore(document, execution.marginal);
  const classification = classify(score, execution.pass, execution.marginal);
  return {
    ...base,
    result: {
      judgeResult: {
        judgeName: 'canary-judge',
        score: { score, classification, classificationReason: document.reason },
        results: document.metrics.map((metric) => ({
          name: metric.id,
          id: metric.id,
          classification:
            metric.decision === 'fail' ? 'High' : metric.decision === 'pass' ? 'Pass' : 'Nodata',
          classificationReason: metric.reason,
          // Spinnaker's MonitorKayentaCanaryTask reads results[].controlMetadata.stats.count (a non-null field
          // of orca's JudgeResultEntry) to warn about metrics with fewer than 50 data points.
          controlMetadata: { stats: { count: armCount(metric, 'baseline') } },
          experimentMetadata: { stats: { count: armCount(metric, 'canary') } },
        })),
      },
      canaryDuration: document.endedAt ? `PT${Math.round(((ended ?? started) - started) / 1000)}S` : null,
    },
  };
}

const isText = (value: string | undefined): value is string => typeof value === 'string' && value !== '';

export function addKayentaRoutes(api: ApiServer, judge: JudgeService, token: string | null): void {
  const tokenMatches = bearerCheck(token);

  // An analysis belongs to no Spinnaker application, so each config lists the applications a client may look
  // it up by: the analysis id, the judged service (match.service) and any `application` the request names.
  // Spinnaker's ResolveKayentaConfigIdTask asks with no query and keeps configs whose applications contain the
  // pipeline's application; Argo asks with ?application= and reads only name and id.
  const canaryConfigs: RouteHandler = (request, response) => {
    const asked = new URLSearchParams((request.url ?? '').split('?')[1] ?? '').getAll('application');
    sendJson(
      response,
      200,
      judge.listAnalyses().map((definition) => ({
        id: definition.spec.id,
        name: definition.spec.id,
        updatedTimestamp: definition.updatedAtMs,
        updatedTimestampIso: new Date(definition.updatedAtMs).toISOString(),
        applications: [
          ...new Set([definition.spec.id, definition.spec.match.service, ...asked].filter(isText)),
        ],
      })),
    );
  };

  const startExecution: RouteHandler = async (request, response, { configId }) => {
    if (!judge.getAnalysis(configId)) {
      throw new ApiProblem(404, 'ANALYSIS_NOT_FOUND', `no canary config (analysis) "${configId}"`);
    }
    const body = parseBody(
      executionRequestSchema,
      await readJsonBody(request),
      'INVALID_CANARY_EXECUTION',
      'canary execution request',
    );
    const pair = body.scopes.default ?? Object.values(body.scopes)[0];
    const revision = pair.experimentScope.scope;
    const { document } = asApiProblem(() =>
      judge.startRun(configId, revision, {
        baseline: pair.controlScope.scope,
        canary: pair.experimentScope.scope,
        declaredBy: 'kayenta',
      }),
    );
    const { pass, marginal } = body.thresholds;
    sendJson(response, 200, { canaryExecutionId: executionId({ runId: document.runId, pass, marginal }) });
  };

  const executionStatus: RouteHandler = (_request, response, { executionId: id }) => {
    const execution = parseExecutionId(id);
    const document = execution ? judge.getRun(execution.runId) : undefined;
    if (!execution || !document)
      throw new ApiProblem(404, 'EXECUTION_NOT_FOUND', `no canary execution "${id}"`);
    sendJson(response, 200, statusResponse(document, execution, id));
  };

  /** The same handler behind a token carried in the path (for clients that cannot send headers). */
  const withPathToken =
    (handler: RouteHandler): RouteHandler =>
    (
      request: IncomingMessage,
      response: ServerResponse,
      params: Record<string, string>,
      query: URLSearchParams,
    ) => {
      if (!tokenMatches(`Bearer ${params.token}`)) {
        throw new ApiProblem(401, 'UNAUTHENTICATED', 'wrong token in the Kayenta address');
      }
      return handler(request, response, params, query);
    };

  const credentials: RouteHandler = (_request, response) => {
    sendJson(response, 200, [
      {
        name: 'canary-judge',
        type: 'canary-judge',
        supportedTypes: ['METRICS_STORE', 'CONFIGURATION_STORE', 'OBJECT_STORE'],
      },
    ]);
  };

  for (const prefix of ['/kayenta', '/kayenta/token/:token']) {
    const open = prefix !== '/kayenta';
    const wrap = (handler: RouteHandler) => (open ? withPathToken(handler) : handler);
    api.route('GET', `${prefix}/credentials`, wrap(credentials), { open });
    api.route('GET', `${prefix}/canaryConfig`, wrap(canaryConfigs), { open });
    api.route('POST', `${prefix}/canary/:configId`, wrap(startExecution), { open });
    api.route('GET', `${prefix}/canary/:executionId`, wrap(executionStatus), { open });
  }
}
