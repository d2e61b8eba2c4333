// Flagger webhook gates (Flagger docs, "Webhooks"): Flagger POSTs { name, namespace, phase, checksum,
// metadata } and proceeds on any 2xx answer. `rollout` hooks run on every analysis step: we let the
// rollout go on unless the canary is judged to fail. `confirm-promotion` gates promotion: 2xx only on pass.
// Refusals are 412 with the verdict and reason as JSON, so they show in Flagger's events.
// Flagger webhooks cannot carry headers, so when the API has a bearer token these routes take it from
// the payload's `metadata.token` instead (compared in constant time like the header).
import { z } from 'zod';
import type { JudgeService } from '../judge/judge-service.js';
import { bearerCheck } from '../otlp/auth.js';
import { compactVerdict } from '../judge/verdict-document.js';
import { ApiProblem, readJsonBody } from './request-body.js';
import { sendJson, type ApiServer, type RouteHandler } from './server.js';

const flaggerPayloadSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().min(1),
  phase: z.string().optional(),
  checksum: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});

type Gate = 'rollout' | 'confirm-promotion';

export function addFlaggerRoutes(api: ApiServer, judge: JudgeService, token: string | null): void {
  const authorize = bearerCheck(token);
  const gate =
    (kind: Gate): RouteHandler =>
    async (request, response) => {
      const parsed = flaggerPayloadSchema.safeParse(await readJsonBody(request));
      if (!parsed.success) {
        throw new ApiProblem(
          400,
          'INVALID_FLAGGER_PAYLOAD',
          'expected Flagger webhook JSON with name and namespace',
        );
      }
      const { name, namespace, metadata } = parsed.data;
      if (!authorize(metadata?.token === undefined ? undefined : `Bearer ${metadata.token}`)) {
        throw new ApiProblem(401, 'UNAUTHENTICATED', 'missing or wrong metadata.token');
      }
      const id = metadata?.analysis ?? `${namespace}/${name}`;
      const view = judge.get(id);
      if (!view) {
        throw new ApiProblem(
          404,
          'ANALYSIS_NOT_FOUND',
          `no running analysis "${id}" (set metadata.analysis, or name the analysis <namespace>/<name>)`,
        );
      }
      const verdict = compactVerdict(view.document);
      const proceed =
        kind === 'rollout'
          ? verdict.verdict !== 'fail' && verdict.action !== 'rollback'
          : verdict.verdict === 'pass';
      sendJson(response, proceed ? 200 : 412, verdict);
    };
  api.route('POST', '/api/v1/flagger/rollout', gate('rollout'), { open: true });
  api.route('POST', '/api/v1/flagger/confirm-promotion', gate('confirm-promotion'), { open: true });
}
