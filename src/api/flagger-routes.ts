// Flagger webhooks (fluxcd/flagger pkg/controller/webhook.go, scheduler.go and scheduler_hooks.go, read at commit
// 15bd6ad555e6c935da55f0ab95977be74c149bd6; the transcription is in test/support/flagger-scheduler.ts and
// test/api/flagger-hooks.test.ts drives it).
//
// Flagger POSTs { name, namespace, phase, checksum, metadata } and treats a status <= 202 as success. The
// analysis is metadata.analysis, or "<namespace>/<name>"; the run is the analysis's run for `checksum` (a hash
// of the target's pod template and tracked configs: one per revision). Flagger's tick runs the hooks in this
// order: rollback, pre-rollout (weight 0) or rollout, confirm-traffic-increase, then the weight increase or, at
// max weight, confirm-promotion. Per hook type:
// - rollback (every tick; 200 rolls back at once): 200 when the run says roll back (fail, or inconclusive with
//   action rollback), 412 otherwise. This is what rolls a failing canary back within one interval.
// - pre-rollout (first tick, weight 0): starts the run; 200.
// - rollout (every later tick; a refusal counts one failed check): starts the run if needed; 200 unless the
//   run says roll back, then 412.
// - confirm-traffic-increase (right before each weight increase, and at max weight before confirm-promotion;
//   a refusal holds the weight without a failed check): each weight step must pass before the weight grows,
//   so this answers 412 while the current stage (a declared share) is still `running`, and 200 once it
//   passed, declaring the next stage (which re-opens the passed run). Flagger sends no weight: the shares come
//   from metadata.stepWeights ("10,20,30") or metadata.stepWeight + metadata.maxWeight (copy them from the
//   Canary), else from the event hook below, else the run has one stage and nothing to gate on before the
//   promotion. 412 while the run says roll back.
// - confirm-promotion (at max weight; a refusal holds): 200 on pass (or inconclusive with action promote).
// - event (every Flagger event; optional): "Advance <name>.<namespace> canary weight N" is Flagger's own record
//   of a weight change (scheduler.go runCanary); the current stage takes that share if it differs (this is how
//   stages are known when the metadata has no schedule).
// - post-rollout (after promotion or rollback): aborts the run if it is still running; 200.
// An inconclusive verdict with action continue holds the promotion for a person (Flagger's WaitingPromotion).
// Flagger webhooks cannot send headers, so when the API has a bearer token these routes take it from the
// payload's metadata.token (compared in constant time like the header).
import * as z from 'zod';
import type { JudgeService } from '../judge/judge-service.js';
import { compactVerdict, type VerdictDocument } from '../judge/verdict-document.js';
import { bearerCheck } from '../otlp/auth.js';
import { asApiProblem } from './judge-problems.js';
import { ApiProblem, readJsonBody } from './request-body.js';
import { sendJson, type ApiServer, type RouteHandler } from './server.js';

const flaggerPayloadSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().min(1),
  phase: z.string().optional(),
  checksum: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

type FlaggerPayload = z.infer<typeof flaggerPayloadSchema>;

export const FLAGGER_HOOKS = [
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'rollback',
  'event',
  'post-rollout',
] as const;
type Hook = (typeof FLAGGER_HOOKS)[number];

/** "Advance podinfo.test canary weight 10" (scheduler.go runCanary: "Advance %s.%s canary weight %v"). */
const ADVANCE_EVENT = /^Advance (\S+) canary weight (\d+(?:\.\d+)?)$/;

/** The weights Flagger steps through, in percent, from the hook's metadata; undefined when not given. */
export function stepSchedule(metadata: Record<string, string> | undefined): number[] | undefined {
  const weight = (text: string, field: string): number => {
    const value = Number(text.trim());
    if (!(value > 0 && value <= 100)) {
      throw new ApiProblem(
        400,
        'INVALID_FLAGGER_PAYLOAD',
        `metadata.${field}: expected weights from 1 to 100, found "${text}"`,
      );
    }
    return value;
  };
  if (metadata?.stepWeights !== undefined) {
    const weights = metadata.stepWeights.split(',').map((text) => weight(text, 'stepWeights'));
    if (weights.some((w, i) => i > 0 && w <= weights[i - 1])) {
      throw new ApiProblem(
        400,
        'INVALID_FLAGGER_PAYLOAD',
        'metadata.stepWeights: expected increasing weights',
      );
    }
    return weights;
  }
  if (metadata?.stepWeight === undefined) return undefined;
  // scheduler.go runCanary: while the weight is below maxWeight it grows by stepWeight (capped at 100), so the
  // last step is the first multiple of stepWeight at or above maxWeight, not maxWeight itself.
  const step = weight(metadata.stepWeight, 'stepWeight');
  const max = metadata.maxWeight === undefined ? 100 : weight(metadata.maxWeight, 'maxWeight');
  const weights: number[] = [];
  let w = 0;
  while (w < max) {
    w = Math.min(100, w + step);
    weights.push(w);
  }
  return weights;
}

/** The share after `current` in the schedule; null without a schedule; undefined when the schedule is done. */
export function nextShare(schedule: number[] | undefined, current: number | null): number | null | undefined {
  if (!schedule) return null;
  const next = schedule.find((weight) => current === null || weight / 100 > current + 1e-9);
  return next === undefined ? undefined : next / 100;
}

const saysRollback = (document: VerdictDocument): boolean =>
  document.verdict === 'fail' || (document.verdict === 'inconclusive' && document.action === 'rollback');

/** The run's verdict lets the rollout go on: pass, or inconclusive with a non-rollback action. */
const letsProceed = (document: VerdictDocument): boolean =>
  document.verdict === 'pass' || (document.verdict === 'inconclusive' && document.action !== 'rollback');

const currentShare = (document: VerdictDocument): number | null =>
  document.stages[document.stages.length - 1]?.canaryShare ?? null;

export function addFlaggerRoutes(api: ApiServer, judge: JudgeService, token: string | null): void {
  const authorize = bearerCheck(token);

  const readPayload = async (request: Parameters<RouteHandler>[0]): Promise<FlaggerPayload> => {
    const parsed = flaggerPayloadSchema.safeParse(await readJsonBody(request));
    if (!parsed.success) {
      throw new ApiProblem(
        400,
        'INVALID_FLAGGER_PAYLOAD',
        'expected Flagger webhook JSON with name and namespace',
      );
    }
    const { metadata } = parsed.data;
    if (!authorize(metadata?.token === undefined ? undefined : `Bearer ${metadata.token}`)) {
      throw new ApiProblem(401, 'UNAUTHENTICATED', 'missing or wrong metadata.token');
    }
    return parsed.data;
  };

  const analysisOf = (payload: FlaggerPayload): string => {
    const id = payload.metadata?.analysis ?? `${payload.namespace}/${payload.name}`;
    if (!judge.getAnalysis(id)) {
      throw new ApiProblem(
        404,
        'ANALYSIS_NOT_FOUND',
        `no analysis "${id}" (set metadata.analysis, or name the analysis <namespace>/<name>)`,
      );
    }
    return id;
  };

  /** The run of the payload's checksum, started (first stage: weight 0, no share) when it has none. */
  const runOf = (payload: FlaggerPayload, restart = false): VerdictDocument => {
    const analysisId = analysisOf(payload);
    if (!payload.checksum) {
      throw new ApiProblem(
        400,
        'INVALID_FLAGGER_PAYLOAD',
        'expected the canary checksum (one run per revision)',
      );
    }
    const revision = payload.checksum;
    // A new run starts at weight 0 with no share; pre-rollout (the first tick of an analysis) restarts a
    // revision whose run has ended, so a reverted or re-deployed revision is judged anew (run-book.ts).
    return asApiProblem(
      () =>
        judge.startRun(analysisId, revision, { initialShare: null, declaredBy: 'flagger', restart }).document,
    );
  };

  const answer = (
    response: Parameters<RouteHandler>[1],
    hook: Hook,
    proceed: boolean,
    document: VerdictDocument,
  ) => sendJson(response, proceed ? 200 : 412, { hook, proceed, ...compactVerdict(document) });

  const handlers: Record<Hook, RouteHandler> = {
    'pre-rollout': async (request, response) => {
      answer(response, 'pre-rollout', true, runOf(await readPayload(request), true));
    },
    rollout: async (request, response) => {
      const document = runOf(await readPayload(request));
      answer(response, 'rollout', !saysRollback(document), document);
    },
    'confirm-traffic-increase': async (request, response) => {
      const payload = await readPayload(request);
      let document = runOf(payload);
      const current = currentShare(document);
      // A declared weight step must pass before the weight grows past it; with no share known (weight 0 before
      // the first step, or no schedule and no event hook) there is no step to gate on.
      if (saysRollback(document) || (current !== null && !letsProceed(document))) {
        return answer(response, 'confirm-traffic-increase', false, document);
      }
      const share = nextShare(stepSchedule(payload.metadata), current);
      // Only a passed run is re-opened for its next step; an inconclusive one (action continue or promote) lets
      // the weight grow unjudged, and confirm-promotion decides. A step to 100% leaves no baseline to compare.
      const open = document.state === 'running' || document.verdict === 'pass';
      if (typeof share === 'number' && share < 1 && open) {
        document = asApiProblem(() => judge.declareStage(document.runId, share, 'flagger'));
      }
      answer(response, 'confirm-traffic-increase', true, document);
    },
    'confirm-promotion': async (request, response) => {
      const document = runOf(await readPayload(request));
      const promote =
        document.verdict === 'pass' || (document.verdict === 'inconclusive' && document.action === 'promote');
      answer(response, 'confirm-promotion', promote, document);
    },
    rollback: async (request, response) => {
      const document = runOf(await readPayload(request));
      answer(response, 'rollback', saysRollback(document), document);
    },
    event: async (request, response) => {
      const payload = await readPayload(request);
      const advance = ADVANCE_EVENT.exec(payload.metadata?.eventMessage ?? '');
      if (!advance || !payload.checksum) return sendJson(response, 200, { hook: 'event', applied: false });
      let document = runOf(payload);
      const share = Number(advance[2]) / 100;
      const open = document.state === 'running' || document.verdict === 'pass';
      if (open && share > 0 && share < 1 && currentShare(document) !== share) {
        document = asApiProblem(() => judge.declareStage(document.runId, share, 'flagger'));
      }
      sendJson(response, 200, { hook: 'event', applied: true, ...compactVerdict(document) });
    },
    'post-rollout': async (request, response) => {
      const payload = await readPayload(request);
      const analysisId = analysisOf(payload);
      let document = payload.checksum ? judge.findRun(analysisId, payload.checksum) : undefined;
      if (document?.state === 'running') {
        document = asApiProblem(() =>
          judge.abortRun(
            (document as VerdictDocument).runId,
            `Flagger post-rollout (phase ${payload.phase ?? 'unknown'})`,
          ),
        );
      }
      sendJson(response, 200, { hook: 'post-rollout', ...(document ? compactVerdict(document) : {}) });
    },
  };
  for (const hook of FLAGGER_HOOKS)
    api.route('POST', `/api/v1/flagger/${hook}`, handlers[hook], { open: true });
}
