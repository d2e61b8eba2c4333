// The analysis schema: one comparison of a canary against its baseline (ARCHITECTURE.md, Vocabulary),
// and the global limits that bound attribution's memory. Defaults are stated beside each field.
// An analysis judges spans unless `match.metric` is set, in which case it judges that metric's points.
import * as z from 'zod';
import { MAX_SPAN_NAME_PATTERN_CHARS } from '../attribution/span-name-glob.js';
import { judgeSettingsSchema, webhookTargetSchema } from './judge-settings.js';

/** Metrics one analysis may judge: each is evaluated every tick and listed in every verdict document. */
export const MAX_METRICS_PER_ANALYSIS = 16;
/** Quantiles one latency metric may compare (each becomes its own judged metric). */
export const MAX_QUANTILES_PER_METRIC = 10;
/** Most attributes one `match.attributes` may compare (each is checked on every candidate span or point). */
export const MAX_MATCH_ATTRIBUTES = 16;
/** Longest baseline or canary variant value. */
export const MAX_VARIANT_VALUE_CHARS = 256;

const nonEmpty = z.string().min(1, 'expected a non-empty string');

export const SPAN_KIND_NAMES = ['server', 'client', 'internal', 'producer', 'consumer'] as const;
export type SpanKindName = (typeof SPAN_KIND_NAMES)[number];

/** The correlation key that joins by trace id; any other value names a span or resource attribute. */
export const TRACE_ID_KEY = 'trace_id';

/** An attribute value a match compares with: strings, numbers and booleans compare as text. */
const matchValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * Which spans or metric points count. Every field is an optional filter; all set fields must hold.
 * For metric points, `spanKind` and `spanName` match the `span.kind` (`SPAN_KIND_SERVER`, ...) and `span.name`
 * point attributes the Collector's spanmetrics connector writes (src/attribution/span-metrics.ts).
 */
export const analysisMatchSchema = z
  .object({
    /** Exact `service.name` of the resource. */
    service: nonEmpty.optional(),
    /** Span kind: the span's own, or a metric point's `span.kind` attribute. */
    spanKind: z.enum(SPAN_KIND_NAMES).optional(),
    /**
     * Span name glob: `*` matches any run of characters, `?` one character; e.g. `POST /checkout*`. At most
     * 256 characters; matched in time linear in the span name (src/attribution/span-name-glob.ts).
     */
    spanName: nonEmpty
      .max(
        MAX_SPAN_NAME_PATTERN_CHARS,
        `at most ${MAX_SPAN_NAME_PATTERN_CHARS} characters (the span-name pattern limit)`,
      )
      .optional(),
    /** Metric name, e.g. `http.server.request.duration`; when set the analysis judges metric points, not spans. */
    metric: nonEmpty.optional(),
    /**
     * A monotonic sum counting the requests of `metric`'s histogram, e.g. `traces.span.metrics.calls` beside
     * `traces.span.metrics.duration`: requests and errors then come from its points and the histogram adds
     * latencies only (so no request is counted twice).
     */
    requestsMetric: nonEmpty.optional(),
    /**
     * Exact attribute values, e.g. `{ "http.route": "/checkout" }`: a span's attribute (else its resource's),
     * a metric point's attribute (else its resource's).
     */
    attributes: z
      .record(nonEmpty, matchValue)
      .refine(
        (attributes) => Object.keys(attributes).length <= MAX_MATCH_ATTRIBUTES,
        `at most ${MAX_MATCH_ATTRIBUTES} attributes (the match-attributes limit)`,
      )
      .optional(),
  })
  .strict()
  .prefault({});

/**
 * Where the variant comes from: `{ flag }` is an OpenFeature flag key read from `feature_flag.evaluation`
 * records (log events, span events, child spans); `{ attribute }` is a resource or span attribute such as
 * `service.version` or `k8s.pod.label.role`. Exactly one of the two.
 */
export const variantSourceSchema = z
  .object({ flag: nonEmpty.optional(), attribute: nonEmpty.optional() })
  .strict()
  .refine((source) => (source.flag === undefined) !== (source.attribute === undefined), {
    message:
      'set exactly one of "flag" (an OpenFeature flag key) or "attribute" (a resource or span attribute such as service.version)',
  });

export const correlationSchema = z
  .object({
    /** `trace_id` (default) joins by trace; any other value is a span/resource/log attribute, e.g. `session.id`. */
    key: nonEmpty.default(TRACE_ID_KEY),
    /**
     * How long spans wait for their key's variant, and how long a learned variant is remembered after it
     * was last used (default 10 000 ms, at most one hour). Cover the SDKs' export delay (BatchSpanProcessor: 5 s).
     */
    windowMs: z.number().int().positive().max(3_600_000).default(10_000),
  })
  .strict()
  .prefault({});

/**
 * When a span (or metric point) counts as an error. Defaults follow the semantic conventions for
 * recording errors: HTTP server spans are errors on 5xx only, gRPC servers on the codes listed in
 * the RPC conventions (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS).
 */
export const errorRuleSchema = z
  .object({
    /** Span status ERROR is an error (default true). */
    statusError: z.boolean().default(true),
    /** Server spans (and metric points) with `http.response.status_code` / `http.status_code` 5xx (default true). */
    httpServer5xx: z.boolean().default(true),
    /** `rpc.grpc.status_code` values that are errors (default [2, 4, 12, 13, 14, 15]); [] turns this off. */
    grpcStatusCodes: z.array(z.number().int().min(0).max(16)).default([2, 4, 12, 13, 14, 15]),
    /** A point or span that carries `error.type` is an error (default false: clients set it on 4xx too). */
    errorType: z.boolean().default(false),
  })
  .strict()
  .prefault({});

/**
 * A metric to judge: `name` and `kind`, and for the judge (src/judge/analysis-plan.ts) its tolerance,
 * minimum samples and quantiles. Strict, so a misspelt field is an error rather than a silent default.
 */
export const analysisMetricSchema = z.strictObject({
  name: nonEmpty,
  kind: z.enum(['latency', 'error_rate']),
  /** Relative for latency (0.1 = 10% slower), absolute for error rate (0.01 = one point). */
  tolerance: z.number().nonnegative().optional(),
  minSamples: z.number().int().positive().optional(),
  /** Latency quantiles to compare, each in (0, 1); [] compares none (e.g. only the mean); at most 10. */
  quantiles: z
    .array(z.number().gt(0).lt(1))
    .max(
      MAX_QUANTILES_PER_METRIC,
      `at most ${MAX_QUANTILES_PER_METRIC} quantiles per metric (the quantiles-per-metric limit)`,
    )
    .optional(),
  /**
   * Latency only: also compare the mean latency from the exact sums the spans or histogram points carry
   * (default: true when the analysis judges metric points, whose buckets are often too coarse for quantiles).
   */
  mean: z.boolean().optional(),
});

/** A rollout revision as a controller names it: Flagger's checksum, Argo's pod-template hash, a flag version. */
export const revisionSchema = z
  .string()
  .min(1, 'expected a non-empty revision')
  .max(256, 'expected a revision of at most 256 characters')
  .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces');

/** A canary share in (0, 1), e.g. 0.2 for a 20% weight step. */
export const canaryShareSchema = z
  .number()
  .gt(0, 'expected a share above 0')
  .lt(1, 'expected a share below 1');

/**
 * A run the config asks for at boot: judged once per revision (a restart resumes it; a finished run is never
 * started again). Change the revision to judge a new rollout.
 */
export const bootRunSchema = z.strictObject({
  revision: revisionSchema,
  /** The first stage's canary share (default: judge.canaryShare). */
  canaryShare: canaryShareSchema.optional(),
});

export const DEFAULT_METRICS = [
  { name: 'latency', kind: 'latency' },
  { name: 'errors', kind: 'error_rate' },
] as const;

export const analysisSchema = z
  .object({
    /**
     * Stable id: letters, digits, `.`, `_`, `-` and `/` (so Flagger's `<namespace>/<name>` works; URL-encode
     * it as %2F in API paths); used in metrics labels and API paths.
     */
    id: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/,
        'expected 1-128 letters, digits, ".", "_", "-" or "/", starting with a letter or digit',
      ),
    match: analysisMatchSchema,
    variant: variantSourceSchema,
    /** Variant value of the baseline arm (e.g. `off`, `stable`, `2.0.3`); booleans and numbers compare as text. */
    baseline: nonEmpty.max(MAX_VARIANT_VALUE_CHARS, `at most ${MAX_VARIANT_VALUE_CHARS} characters`),
    /** Variant value of the canary arm; any other value observed is counted as `other`, never a new arm. */
    canary: nonEmpty.max(MAX_VARIANT_VALUE_CHARS, `at most ${MAX_VARIANT_VALUE_CHARS} characters`),
    correlation: correlationSchema,
    errors: errorRuleSchema,
    /** How verdicts are reached (significance, expected split, minimum samples, time limit). */
    judge: judgeSettingsSchema,
    /** Where verdict changes are sent; falls back to the config's top-level `webhook`. */
    webhook: webhookTargetSchema.optional(),
    /** Config analyses only: a run to start at boot (analyses define; runs judge one revision each). */
    run: bootRunSchema.optional(),
    /** Default: latency and error rate. At most 16. */
    metrics: z
      .array(analysisMetricSchema)
      .min(1)
      .max(
        MAX_METRICS_PER_ANALYSIS,
        `at most ${MAX_METRICS_PER_ANALYSIS} metrics per analysis (the metrics-per-analysis limit)`,
      )
      .default(() => DEFAULT_METRICS.map((metric) => ({ ...metric })))
      .superRefine((metrics, ctx) => {
        const seen = new Set<string>();
        metrics.forEach((metric, index) => {
          if (seen.has(metric.name)) {
            ctx.addIssue({
              code: 'custom',
              path: [index, 'name'],
              message: `duplicate metric name "${metric.name}"`,
            });
          }
          seen.add(metric.name);
        });
        // Each judged metric (a latency quantile is `<name>_p<percent>`, as src/judge/analysis-plan.ts
        // names it) keys the carried state, so two that collide would stop the analysis being judged.
        const judged = new Set<string>();
        metrics.forEach((metric, index) => {
          const ids =
            metric.kind === 'error_rate'
              ? [metric.name]
              : (metric.quantiles ?? [0.5, 0.95, 0.99]).map(
                  (q) => `${metric.name}_p${Number((q * 100).toPrecision(6))}`,
                );
          for (const id of ids) {
            if (judged.has(id)) {
              ctx.addIssue({
                code: 'custom',
                path: [index],
                message: `judges "${id}" twice (two quantiles round to the same percentile, or a metric name repeats one)`,
              });
            }
            judged.add(id);
          }
        });
      }),
  })
  .strict()
  .superRefine((analysis, ctx) => {
    if (analysis.baseline === analysis.canary) {
      ctx.addIssue({ code: 'custom', path: ['canary'], message: 'must differ from baseline' });
    }
    if (analysis.match.requestsMetric !== undefined && analysis.match.metric === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['match', 'requestsMetric'],
        message: 'set match.metric too (the latency histogram whose requests this metric counts)',
      });
    }
  });

/** The analyses list: ids must be unique. */
export const analysesSchema = z.array(analysisSchema).superRefine((analyses, ctx) => {
  const seen = new Set<string>();
  analyses.forEach((analysis, index) => {
    if (seen.has(analysis.id))
      ctx.addIssue({
        code: 'custom',
        path: [index, 'id'],
        message: `duplicate analysis id "${analysis.id}"`,
      });
    seen.add(analysis.id);
  });
});

/** Global bounds on attribution's memory; every eviction is counted (canary_judge_attribution_evictions_total). */
export const attributionLimitsSchema = z
  .object({
    /** Spans waiting for their correlation key's variant, all analyses together (default 100 000). */
    maxPendingSpans: z.number().int().positive().default(100_000),
    /** Correlation keys (traces, sessions) whose variant is remembered, all analyses together (default 200 000). */
    maxCorrelationKeys: z.number().int().positive().default(200_000),
    /**
     * Bytes of correlation keys and variants remembered or waited on, all analyses together (default
     * 32 MiB). Keys over 128 characters and variants over 256 are kept as their SHA-256 digest.
     */
    maxCorrelationKeyBytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    /** Cumulative metric streams tracked for delta conversion (default 10 000). */
    maxMetricStreams: z.number().int().positive().default(10_000),
    /**
     * Bytes of the metric streams' state: their keys (over 256 characters kept as a digest) and last
     * points' buckets (default 32 MiB).
     */
    maxMetricStreamBytes: z
      .number()
      .int()
      .positive()
      .default(32 * 1024 * 1024),
    /** A stream not updated for this long is forgotten (default 600 000 ms = 10 min). */
    metricStreamTtlMs: z.number().int().positive().default(600_000),
    /** Distinct unexpected variant values remembered per analysis for diagnostics (default 16). */
    maxVariantsPerAnalysis: z.number().int().positive().default(16),
    /** How often correlation windows are closed by the background timer (default 1000 ms). */
    expireIntervalMs: z.number().int().positive().default(1_000),
  })
  .strict()
  .prefault({});

export type Analysis = z.infer<typeof analysisSchema>;
export type AnalysisInput = z.input<typeof analysisSchema>;
export type AnalysisMatch = z.infer<typeof analysisMatchSchema>;
export type VariantSource = z.infer<typeof variantSourceSchema>;
export type Correlation = z.infer<typeof correlationSchema>;
export type ErrorRule = z.infer<typeof errorRuleSchema>;
export type AnalysisMetric = z.infer<typeof analysisMetricSchema>;
export type BootRun = z.infer<typeof bootRunSchema>;
export type AttributionLimits = z.infer<typeof attributionLimitsSchema>;
