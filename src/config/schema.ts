// The configuration schema: one JSON file, validated at start (see config.example.json and the README).
// zod gives every problem its field path; load.ts turns each into one line a user can act on.
import { z } from 'zod';
import { analysesSchema, attributionLimitsSchema } from './analysis.js';
import { webhookTargetSchema } from './judge-settings.js';

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
         */
        maxJsonBytes: bytes().default(4 * MiB),
      })
      .strict()
      .prefault({}),
    /** Largest payload after decompression, against gzip bombs (default 16 MiB, about 30,000 spans). */
    maxDecompressedBytes: bytes().default(16 * MiB),
    /**
     * Memory all export requests together may hold while they are received, decompressed and decoded, both
     * transports together (default 80 MiB, sized for a 512 MiB container; README "Operations"). A request
     * that would pass it is refused with a retry hint (503 + Retry-After / UNAVAILABLE + RetryInfo).
     */
    maxIngestBytes: bytes().default(80 * MiB),
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
     * cut (408 / DEADLINE_EXCEEDED); slower ones also give way at once when a slot or bytes are short. 0
     * turns both off (bodyTimeoutMs still applies).
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
    // src/otlp/admission.ts: every payload byte is charged with its decoded batch (4x in all); a
    // compressed body also holds its wire bytes until it is inflated, and assembling a payload from its
    // blocks holds one copy more for a moment (5x).
    const largest = Math.max(
      otlp.http.maxBodyBytes + 4 * otlp.maxDecompressedBytes,
      5 * otlp.maxDecompressedBytes,
      5 * otlp.grpc.maxMessageBytes,
    );
    if (otlp.maxIngestBytes < largest) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxIngestBytes'],
        message: `must be at least ${largest} (http.maxBodyBytes + 4 x maxDecompressedBytes, 5 x maxDecompressedBytes and 5 x grpc.maxMessageBytes) so that the largest request allowed can be admitted; raise it or lower those limits`,
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
  })
  .strict()
  .prefault({});

export const judgeLoopSchema = z
  .object({
    /** How often every running analysis is re-evaluated (default 5 000 ms). */
    tickIntervalMs: z.number().int().min(100).default(5_000),
    /** How often per-arm state is saved; a restart loses at most this much evidence (default 10 000 ms). */
    snapshotIntervalMs: z.number().int().min(100).default(10_000),
    /** Analyses that may run at once; bounds memory and metric cardinality (default 1 000). */
    maxAnalyses: z.number().int().positive().default(1_000),
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

export const configSchema = z
  .object({
    otlp: otlpSchema,
    api: apiSchema,
    storage: z
      .object({ path: z.string().min(1).default('./data/canary-judge.sqlite') })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
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
    selfTelemetry: selfTelemetrySchema,
    /** Analyses to run from boot (src/config/analysis.ts); the API creates more with the same shape. */
    analyses: analysesSchema.default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type OtlpConfig = z.infer<typeof otlpSchema>;
export type ApiConfig = z.infer<typeof apiSchema>;
export type SelfTelemetryConfig = z.infer<typeof selfTelemetrySchema>;
