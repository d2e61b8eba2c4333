// The judge's part of an analysis: how evidence becomes a verdict, and where verdicts go.
// Defaults follow the statistics engine's DEFAULT_POLICY (src/stats/analysis-policy.ts).
import { z } from 'zod';

export const INCONCLUSIVE_ACTIONS = ['rollback', 'promote', 'continue'] as const;

export const judgeSettingsSchema = z
  .object({
    /** Family-wise false-fail probability of the analysis, over every look (default 0.01). */
    alpha: z.number().gt(0).lt(0.5).default(0.01),
    /** Expected share of traffic in the canary arm, for the sample-ratio-mismatch check (default 0.1). */
    canaryShare: z.number().gt(0).lt(1).default(0.1),
    /** Part of alpha for the sequential sample-ratio-mismatch test; 0 turns the check off (default 0.001). */
    srmAlpha: z.number().min(0).lt(0.5).default(0.001),
    /** Samples each arm needs before a metric may pass (default 200). */
    minSamplesPerArm: z.number().int().positive().default(200),
    /** An analysis with no decision after this long ends `inconclusive` (default 1 800 s = 30 min). */
    maxDurationSeconds: z.number().int().positive().default(1800),
    /** What `inconclusive` recommends (default `rollback`: no evidence of safety is not safety). */
    onInconclusive: z.enum(INCONCLUSIVE_ACTIONS).default('rollback'),
  })
  .strict()
  .refine((settings) => settings.srmAlpha < settings.alpha, {
    message: 'srmAlpha must be smaller than alpha (it is a part of it)',
    path: ['srmAlpha'],
  })
  .prefault({});

export const webhookTargetSchema = z
  .object({
    /** http(s) URL that receives CloudEvents for verdict changes. */
    url: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }),
    /** HMAC-SHA256 key for X-Canary-Judge-Signature; at least 16 characters. Never logged. */
    secret: z.string().min(16, 'expected a secret of at least 16 characters'),
  })
  .strict();

export type JudgeSettings = z.infer<typeof judgeSettingsSchema>;
export type WebhookTarget = z.infer<typeof webhookTargetSchema>;
export type InconclusiveAction = (typeof INCONCLUSIVE_ACTIONS)[number];
