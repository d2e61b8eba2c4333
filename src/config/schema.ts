// The configuration schema: one JSON file, validated at start (see config.example.json and the README).
// zod gives every problem its field path; load.ts turns each into one line a user can act on.
import * as z from 'zod';
import { parseAddressRange } from './address-range.js';
import { analysesSchema, attributionLimitsSchema } from './analysis.js';
import { webhookTargetSchema } from './judge-settings.js';
import { DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS } from '../otlp/event-loop-lag.js';
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

/** Bytes as a positive integer. */
const bytes = () => z.number().int().positive();

export const otlpSchema = z
  .object({
    grpc: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(4317),
        /** Largest gRPC message, after decompression (default 16 MiB; the Collector's is 4 MiB). */
        maxMessageBytes: bytes().default(16 * MiB),
        /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection: calls one connection may have open. */
        maxConcurrentStreams: z.number().int().positive().default(32),
        /** A connection with no call for this long is closed with GOAWAY (grpc.max_connection_idle_ms). */
        idleTimeoutMs: z.number().int().positive().default(300_000),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: port.default(4318),
        /** Largest HTTP body on the wire (default 16 MiB; the Collector's confighttp default is 20 MiB). */
        maxBodyBytes: bytes().default(16 * MiB),
        /**
         * Largest OTLP/JSON payload after decompression (default 4 MiB): JSON is parsed in one piece, which
         * holds the event loop about 50 ms per MiB of dense attributes; send larger batches as protobuf.
         * maxDecompressedBytes applies to JSON too: set above it, this has no effect.
         */
        maxJsonBytes: bytes().default(4 * MiB),
      })
      .strict()
      .prefault({}),
    /** Largest payload after decompression, against gzip bombs (default 16 MiB, about 30,000 spans). */
    maxDecompressedBytes: bytes().default(16 * MiB),
    /**
     * Memory all export requests together may hold while they are received, decompressed and decoded, both
     * transports together (default 81 MiB, sized for a 512 MiB container; README "Operations"; over 5 x the
     * 16 MiB grpc.maxMessageBytes, as the check below asks, so the largest message is admitted). A request
     * that would pass it is refused with a retry hint (503 + Retry-After / UNAVAILABLE + RetryInfo).
     */
    maxIngestBytes: bytes().default(81 * MiB),
    /**
     * When the event loop runs more than this many milliseconds behind (smoothed), new export requests are
     * refused with a retry hint until it catches up, so overload is shed instead of left to time out
     * (default 150; 0 turns it off).
     */
    maxEventLoopDelayMs: z.number().int().nonnegative().default(150),
    /** Export requests being received or processed at once, both transports together; more are refused with a retry hint. */
    maxInFlightRequests: z.number().int().positive().default(256),
    /** A request body (gRPC: message) must arrive whole within this many milliseconds of its headers. */
    bodyTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * In every window of receiveGraceMs, a body must arrive at this many bytes per second or more, or it is
     * cut with a retry hint (503 + Retry-After / DEADLINE_EXCEEDED + RetryInfo); slower ones also give way at
     * once when a slot or bytes are short. 0 turns both off (bodyTimeoutMs still applies).
     */
    minReceiveBytesPerSecond: z.number().int().nonnegative().default(16_384),
    /** How long a request may send slower than minReceiveBytesPerSecond before it is judged. */
    receiveGraceMs: z.number().int().nonnegative().default(2_000),
    /** Seconds a refused sender is told to wait (HTTP Retry-After, gRPC RetryInfo). */
    retryAfterSeconds: z.number().int().positive().default(1),
    /** When set, every OTLP request must carry `Authorization: Bearer <token>`. */
    authToken: token,
    tls: tlsSchema,
  })
  .strict()
  .superRefine((otlp, ctx) => {
    // The largest request the limits allow must fit in the budget, or it would be refused for ever.
    // src/otlp/admission.ts: every payload byte (OTLP/JSON's too: it is held to maxDecompressedBytes as well as
    // http.maxJsonBytes, src/otlp/http-receiver.ts) is charged with its decoded batch (4x in all); a
    // compressed body also holds its wire bytes until it is inflated, and assembling a payload from its
    // blocks holds one copy more for a moment (5x). An uncompressed gRPC message reserves 4 x its frames (its
    // 5-byte prefix and payload) and grpc-js's copy of the payload beside them: 5 x maxMessageBytes + 20. A gzip
    // gRPC message reserves its frames twice, twice what it may inflate to and the inflater's 64 KiB
    // (src/otlp/grpc-admission.ts, compressedReservation), then its decoded batch beside its frames (at most
    // 5 x maxMessageBytes + 5). A charge past the whole budget would be refused
    // with UNAVAILABLE on every retry, so the check covers each charge exactly.
    const largest = Math.max(
      otlp.http.maxBodyBytes + 4 * otlp.maxDecompressedBytes,
      5 * otlp.maxDecompressedBytes,
      5 * otlp.grpc.maxMessageBytes + 20,
      4 * otlp.grpc.maxMessageBytes + 10 + 64 * 1024,
    );
    if (otlp.maxIngestBytes < largest) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxIngestBytes'],
        message: `must be at least ${largest} (http.maxBodyBytes + 4 x maxDecompressedBytes, 5 x maxDecompressedBytes, 5 x grpc.maxMessageBytes + 20 and 4 x grpc.maxMessageBytes + 65,546) so that the largest request allowed can be admitted; raise it or lower those limits`,
      });
    }
  })
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
    /**
     * How often, while export requests arrive, the event-loop sampler runs (src/otlp/event-loop-lag.ts): the
     * one admission sheds on (otlp.maxEventLoopDelayMs) and /metrics' `canary_judge_process_nodejs_eventloop_lag_*`
     * read. Each sample wakes the process; with no request for 2 s it samples once a second. The series report
     * how late the sampler ran (0 on a free loop), so this value does not show in them.
     */
    eventLoopLagResolutionMs: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(DEFAULT_EVENT_LOOP_LAG_RESOLUTION_MS),
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

/**
 * Fleet mode (src/fleet/): a forwarding instance attributes spans and points to the runs the judging instances
 * list, and forwards each run's state as OTLP metrics to `otlpEndpoint` (a judge, or a Collector that routes by
 * analysis). Without `forward`, an instance judges its own runs and merges whatever state is forwarded to it.
 */
export const fleetForwardSchema = z
  .object({
    /** API base URLs of the judging instances whose runs this instance forwards, e.g. `http://canary-judge:8686`. */
    judgeUrls: z.array(z.url({ protocol: /^https?$/, error: 'expected an http or https URL' })).min(1),
    /** OTLP/gRPC endpoint the state goes to: a judge's OTLP port, or a Collector in front of the judges. */
    otlpEndpoint: z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }),
    /** This instance's id in the forwarded state (stable across restarts: a pod name; default: the host name). */
    instanceId: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 printable ASCII characters without spaces')
      .optional(),
    /** How often the state is exported; a killed forwarder loses at most this much (default 2 000 ms). */
    exportIntervalMs: z.number().int().min(100).default(2_000),
    /** How often the judges' runs are read; spans of a new run wait at most this long to count (default 1 000 ms). */
    runsSyncIntervalMs: z.number().int().min(100).default(1_000),
    /** One request's limit, to a judge's API or the OTLP endpoint (default 5 000 ms). */
    timeoutMs: z.number().int().positive().default(5_000),
    /** Bearer token of the judges' API (their api.authToken). */
    apiToken: token,
    /** Bearer token of the OTLP endpoint (the judge's otlp.authToken). */
    otlpAuthToken: token,
  })
  .strict();

export const fleetSchema = z
  .object({
    /** Set to make this instance a forwarding instance; null (default) judges. */
    forward: fleetForwardSchema.nullable().default(null),
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
    /** Fleet mode: forward this instance's runs' state to judging instances (src/fleet/). */
    fleet: fleetSchema,
  })
  .strict()
  .refine((config) => config.fleet.forward === null || config.analyses.length === 0, {
    message:
      'a forwarding instance (fleet.forward) takes its runs from the judges; define analyses on the judging instance instead',
    path: ['analyses'],
  });

export type Config = z.infer<typeof configSchema>;
export type OtlpConfig = z.infer<typeof otlpSchema>;
export type ApiConfig = z.infer<typeof apiSchema>;
export type SelfTelemetryConfig = z.infer<typeof selfTelemetrySchema>;
export type WebhookDeliveryConfig = z.infer<typeof webhookDeliverySchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type FleetForwardConfig = z.infer<typeof fleetForwardSchema>;
