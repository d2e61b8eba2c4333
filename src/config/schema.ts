// The configuration schema: one JSON file, validated at start (see config.example.json and the README).
// zod gives every problem its field path; load.ts turns each into one line a user can act on.
import { z } from 'zod';
import { parseAddressRange } from './address-range.js';
import { analysesSchema, attributionLimitsSchema } from './analysis.js';
import { webhookTargetSchema } from './judge-settings.js';
// Installs our validation wording for every schema (a side effect on zod's global config, at import).
import './validation-messages.js';

const MiB = 1024 * 1024;

const port = z.number().int().min(0).max(65535);
const host = z.string().min(1);
const token = z.string().min(16, 'a bearer token of at least 16 characters').nullable().default(null);

const tlsSchema = z
  .object({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
  })
  .strict()
  .nullable()
  .default(null);

export const otlpSchema = z
  .object({
    grpc: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(4317),
        /** Largest gRPC message accepted; the Collector's default is 4 MiB, the issue asks 16 MiB. */
        maxMessageBytes: z
          .number()
          .int()
          .positive()
          .default(16 * MiB),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(4318),
        /** Largest HTTP body on the wire (the Collector's confighttp default, 20 MiB). */
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .default(20 * MiB),
      })
      .strict()
      .prefault({}),
    /** Largest payload after decompression, against gzip bombs (OTLP spec recommends 64 MiB). */
    maxDecompressedBytes: z
      .number()
      .int()
      .positive()
      .default(64 * MiB),
    /** Export requests being read or decoded at once, both transports together; more are refused with a retry hint. */
    maxInFlightRequests: z.number().int().positive().default(64),
    /** Seconds a refused sender is told to wait (HTTP Retry-After, gRPC RetryInfo). */
    retryAfterSeconds: z.number().int().positive().default(1),
    /** When set, every OTLP request must carry `Authorization: Bearer <token>`. */
    authToken: token,
    tls: tlsSchema,
  })
  .strict()
  .prefault({});

export const apiSchema = z
  .object({
    host: host.default('127.0.0.1'),
    port: port.default(8686),
    /** When set, /api/* requires `Authorization: Bearer <token>`; /healthz, /readyz and /metrics stay open. */
    authToken: token,
    /**
     * The report page links trace ids to a trace UI here: an http(s) URL with `{traceId}` (32 hex
     * characters), e.g. Jaeger's `http://jaeger:16686/trace/{traceId}`; null: ids shown without links.
     */
    traceUrl: z
      .string()
      .refine((text) => /^https?:\/\/[^\s]+$/.test(text) && text.includes('{traceId}'), {
        message: 'an http(s) URL containing {traceId}, e.g. "http://jaeger:16686/trace/{traceId}"',
      })
      .nullable()
      .default(null),
  })
  .strict()
  .prefault({});

/** The watermark below which a run's evidence is judged (src/accumulate/source-watermark.ts). */
export const watermarkSchema = z
  .object({
    /** Allowed disorder within a sender's batches (default 1 000 ms). */
    lagMs: z.number().int().min(0).default(1_000),
    /** A sender silent this long stops holding the watermark back (default 120 000 ms). */
    sourceIdleMs: z.number().int().positive().default(120_000),
    /** Evidence never waits longer than this for the other senders (default 120 000 ms). */
    maxHoldMs: z.number().int().min(0).default(120_000),
    /** Senders tracked per run; the longest-silent is forgotten beyond this, counted (default 1 024). */
    maxSourcesPerRun: z.number().int().positive().default(1_024),
  })
  .strict()
  .prefault({});

export const judgeLoopSchema = z
  .object({
    /** How often every running run is re-evaluated (default 5 000 ms). */
    tickIntervalMs: z.number().int().min(100).default(5_000),
    /** How often per-arm state is saved; a restart loses at most this much evidence (default 10 000 ms). */
    snapshotIntervalMs: z.number().int().min(100).default(10_000),
    /** Analysis definitions kept (config and API together; default 1 000). */
    maxAnalyses: z.number().int().positive().default(1_000),
    /** Runs judged at once; bounds memory and metric cardinality (default 1 000). Finished runs do not count. */
    maxRunningRuns: z.number().int().positive().default(1_000),
    /** Finished runs kept readable; the oldest are deleted, with their history, beyond this (default 10 000). */
    maxFinishedRuns: z.number().int().positive().default(10_000),
    watermark: watermarkSchema,
  })
  .strict()
  .prefault({});

/** The sidecar's own traces (src/telemetry/self-tracing.ts): off by default, and no default endpoint. */
export const selfTelemetrySchema = z
  .object({
    enabled: z.boolean().default(false),
    /** OTLP/gRPC endpoint, e.g. `http://otel-collector.observability:4317`; required when enabled. */
    endpoint: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }).optional(),
    /** Allows an endpoint that is this sidecar's own OTLP port (refused otherwise: its spans would loop back). */
    allowSelf: z.boolean().default(false),
  })
  .strict()
  .refine((settings) => !settings.enabled || settings.endpoint !== undefined, {
    message:
      'required when selfTelemetry.enabled is true (an OTLP/gRPC URL such as http://otel-collector:4317)',
    path: ['endpoint'],
  })
  .prefault({});

/**
 * How webhooks are delivered (src/publish/). Receivers on loopback, private, link-local (cloud metadata),
 * multicast and other special-purpose addresses are refused, checked on the address each connection
 * actually uses, unless `allowAddresses` names them.
 */
export const webhookDeliverySchema = z
  .object({
    /** IP addresses or CIDR ranges a webhook may reach although they are special-purpose, e.g. `10.0.0.0/8`. */
    allowAddresses: z
      .array(
        z.string().refine((text) => parseAddressRange(text) !== undefined, {
          message: 'expected an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8',
        }),
      )
      .max(256)
      .default([]),
    /** Events kept per receiver URL; delivered ones are pruned first to stay under it (default 1 000). */
    maxEventsPerTarget: z.number().int().positive().default(1_000),
    /** Delivered and given-up events are kept this long, then pruned in the background (default 168 h). */
    retentionHours: z.number().positive().default(168),
    /** Shortest wait before a retry, whatever a receiver's Retry-After says (default 1 000 ms). */
    minRetryDelayMs: z.number().int().min(100).default(1_000),
    /** One attempt's limit, from connecting to the response's status line (default 10 000 ms). */
    requestTimeoutMs: z.number().int().positive().default(10_000),
  })
  .strict()
  .prefault({});

export const storageSchema = z
  .object({
    /** The SQLite file; one canary-judge process owns it at a time (a second one is refused). */
    path: z.string().min(1).default('./data/canary-judge.sqlite'),
    /** Verdict history older than this is pruned in the background; 0 keeps it for ever (default 90). */
    verdictHistoryRetentionDays: z.number().min(0).default(90),
    /** How often the background pruning runs (default 60 s; never at start). */
    pruneIntervalSeconds: z.number().int().positive().default(60),
  })
  .strict()
  .prefault({});

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

export const configSchema = z
  .object({
    otlp: otlpSchema,
    api: apiSchema,
    storage: storageSchema,
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** `auto`: readable local-time lines on a terminal, JSON otherwise (default). */
        format: z.enum(LOG_FORMATS).default('auto'),
      })
      .strict()
      .prefault({}),
    /** Seconds SIGTERM waits for accepted requests to finish before exiting anyway. */
    shutdownTimeoutSeconds: z.number().positive().default(10),
    /** Bounds on attribution's memory (src/config/analysis.ts). */
    attribution: attributionLimitsSchema,
    judge: judgeLoopSchema,
    /** Default webhook for analyses that name none; `null` sends none. */
    webhook: webhookTargetSchema.nullable().default(null),
    webhookDelivery: webhookDeliverySchema,
    selfTelemetry: selfTelemetrySchema,
    /** Analysis definitions (src/config/analysis.ts); the API creates more with the same shape. */
    analyses: analysesSchema.default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type OtlpConfig = z.infer<typeof otlpSchema>;
export type ApiConfig = z.infer<typeof apiSchema>;
export type SelfTelemetryConfig = z.infer<typeof selfTelemetrySchema>;
export type WebhookDeliveryConfig = z.infer<typeof webhookDeliverySchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type LogFormat = (typeof LOG_FORMATS)[number];
