// The judge's part of an analysis: how evidence becomes a verdict, and where verdicts go.
// Defaults follow the statistics engine's DEFAULT_POLICY (src/stats/analysis-policy.ts).
import * as z from 'zod';

export const INCONCLUSIVE_ACTIONS = ['rollback', 'promote', 'continue'] as const;

export const judgeSettingsSchema = z
  .object({
    /** Family-wise false-fail probability of the analysis, over every look (default 0.01). */
    alpha: z.number().gt(0).lt(0.5).default(0.01),
    /**
     * The canary share of a run's first stage when whoever starts the run declares none (default null: no
     * traffic-split check until a stage declares its share). Weight steps declare their own (README, Runs).
     */
    canaryShare: z.number().gt(0).lt(1).nullable().default(null),
    /**
     * Seconds after a stage begins before its requests count for the traffic-split check (default 15): a mesh
     * applies a new weight some seconds after the controller declares it. Every request counts for the metrics.
     */
    stageSettleSeconds: z.number().int().min(0).max(3600).default(15),
    /** Part of alpha for the sequential sample-ratio-mismatch test; 0 turns the check off (default 0.001). */
    srmAlpha: z.number().min(0).lt(0.5).default(0.001),
    /** Samples each arm needs before a metric may pass (default 200). */
    minSamplesPerArm: z.number().int().positive().default(200),
    /** A run with no decision this long after it started (or re-opened) ends `inconclusive` (default 1 800 s). */
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
