// What a controller may say when it starts a run or declares a stage: the run's arm values and the canary's
// share, as a fraction (`canaryShare: 0.2`) or as a traffic weight in percent (`canaryWeight: 20`, what Argo
// Rollouts' setWeight and Flagger's stepWeight say). Numbers may come as strings: Argo's web provider
// templates every argument into a JSON string.
import type { IncomingMessage } from 'node:http';
import * as z from 'zod';
import { formatIssues } from '../config/load.js';
import { ApiProblem, readJsonBody } from './request-body.js';

const numeric = z.union([
  z.number(),
  z
    .string()
    .regex(/^\s*[0-9]+(\.[0-9]+)?\s*$/, 'expected a number')
    .transform(Number),
]);

const armValue = z.string().min(1, 'expected a non-empty arm value').max(256);

export const stageRequestSchema = z
  .strictObject({
    canaryShare: numeric.pipe(z.number().gt(0, 'expected above 0').lt(1, 'expected below 1')).optional(),
    canaryWeight: numeric
      .pipe(z.number().gt(0, 'expected a weight above 0').lt(100, 'expected a weight below 100'))
      .optional(),
  })
  .refine((body) => body.canaryShare === undefined || body.canaryWeight === undefined, {
    message: 'give canaryShare or canaryWeight, not both',
  });

export const runRequestSchema = z
  .strictObject({
    baseline: armValue.optional(),
    canary: armValue.optional(),
    canaryShare: stageRequestSchema.shape.canaryShare,
    canaryWeight: stageRequestSchema.shape.canaryWeight,
  })
  .refine((body) => body.canaryShare === undefined || body.canaryWeight === undefined, {
    message: 'give canaryShare or canaryWeight, not both',
  });

/** The declared share: canaryShare, or canaryWeight / 100; undefined when neither is given. */
export function declaredShare(body: { canaryShare?: number; canaryWeight?: number }): number | undefined {
  if (body.canaryShare !== undefined) return body.canaryShare;
  return body.canaryWeight === undefined ? undefined : body.canaryWeight / 100;
}

/** A JSON body, or {} when the request has none (Argo's `PUT` without `jsonBody` sends no Content-Type). */
export async function readOptionalJsonBody(request: IncomingMessage): Promise<unknown> {
  const length = request.headers['content-length'];
  const chunked = request.headers['transfer-encoding'] !== undefined;
  if (request.headers['content-type'] === undefined && !chunked && (length === undefined || length === '0')) {
    return {};
  }
  return readJsonBody(request);
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown, code: string, what: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = formatIssues(parsed.error.issues, body);
  throw new ApiProblem(400, code, `${problems.length} problem(s) in the ${what}`, problems);
}
