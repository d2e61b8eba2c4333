// The sidecar's own traces, opt-in (config `selfTelemetry`): one span per judge tick and one per webhook
// delivery attempt, exported with @opentelemetry/sdk-node over OTLP/gRPC to a configured endpoint.
//
// Three rules keep them harmless:
// - No default target, and never this sidecar's own OTLP port unless `allowSelf` says so: a judge that
//   ingests its own spans wastes work on every tick and can feed back into itself.
// - Its resource carries `canary_judge.self=true`: withoutSelfTelemetry() drops such items before
//   attribution in every sidecar (counted), and the Collector configs under deploy/otel-collector drop
//   them on the canary-judge branch, so no analysis can ever count them.
// - The SDK gets no metric readers and no log processors: left to its defaults, NodeSDK would also start
//   OTLP metric and log exporters aimed at localhost:4318, which is this sidecar.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { hostname, networkInterfaces } from 'node:os';
import {
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Span,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { NodeSDK, resources } from '@opentelemetry/sdk-node';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { ResourceInfo, TelemetrySink } from '../otlp/model.js';
import { VERSION } from '../version.js';
import type { Logger } from './logger.js';

/** Resource attribute on every span the sidecar exports about itself; analyses must never count these. */
export const SELF_RESOURCE_ATTRIBUTE = 'canary_judge.self';
export { TICK_SPAN_NAME } from '../judge/judge-service.js';
export const WEBHOOK_SPAN_NAME = 'canary_judge.webhook.delivery';

/** Lower-case, as undici reports request headers; set only by src/publish/webhook-delivery.ts. */
const WEBHOOK_SIGNATURE_HEADER = 'x-canary-judge-signature';
const SHUTDOWN_TIMEOUT_MS = 5_000;

export type SelfTelemetryErrorCode = 'SELF_TELEMETRY_LOOP' | 'SELF_TELEMETRY_SDK_TAKEN';

export class SelfTelemetryError extends Error {
  constructor(
    readonly code: SelfTelemetryErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SelfTelemetryError';
  }
}

export interface SelfTracing {
  tracer: Tracer;
  /** Flushes what is buffered (bounded by a timeout) and unregisters the SDK. Safe to call twice. */
  shutdown(): Promise<void>;
}

/**
 * Why `endpoint` is this sidecar's own OTLP listener, or undefined when it is not: its host is this
 * machine (loopback, unspecified, the host name, an interface address or a configured listener host)
 * and its port is one of the OTLP ports actually bound.
 */
export function selfLoopReason(
  endpoint: string,
  ports: { grpc?: number; http?: number },
  listenerHosts: readonly string[] = [],
): string | undefined {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const local = new Set<string>(['localhost', '0.0.0.0', '::', '::1', hostname().toLowerCase()]);
  for (const listener of listenerHosts) local.add(listener.toLowerCase());
  for (const addresses of Object.values(networkInterfaces()))
    for (const address of addresses ?? []) local.add(address.address.toLowerCase());
  const isLocal = local.has(host) || host.endsWith('.localhost') || /^127\./.test(host);
  if (!isLocal) return undefined;
  if (port === ports.grpc) return `own OTLP/gRPC port ${port}`;
  if (port === ports.http) return `own OTLP/HTTP port ${port}`;
  return undefined;
}

/**
 * Starts self-tracing when `config.selfTelemetry.enabled`; returns undefined when it is off. Throws
 * SelfTelemetryError (one line) when the endpoint is the sidecar itself without `allowSelf`, or when
 * another OpenTelemetry SDK already owns this process's global tracer provider.
 */
export function startSelfTracing(
  config: Config,
  options: { ports: { grpc?: number; http?: number }; logger: Logger },
): SelfTracing | undefined {
  const settings = config.selfTelemetry;
  if (!settings.enabled || settings.endpoint === undefined) return undefined;
  const endpoint = settings.endpoint;
  const loop = selfLoopReason(endpoint, options.ports, [config.otlp.grpc.host, config.otlp.http.host]);
  if (loop && !settings.allowSelf) {
    throw new SelfTelemetryError(
      'SELF_TELEMETRY_LOOP',
      `selfTelemetry.endpoint ${endpoint} is this sidecar's ${loop}; point it at a Collector or another backend, or set selfTelemetry.allowSelf: true`,
    );
  }
  const logger = options.logger.child({ component: 'self-tracing' });
  const before = globalDelegate();
  const sdk = new NodeSDK({
    serviceName: 'canary-judge',
    autoDetectResources: false,
    resource: resources.resourceFromAttributes({
      'service.name': 'canary-judge',
      'service.version': VERSION,
      'host.name': hostname(),
      [SELF_RESOURCE_ATTRIBUTE]: true,
    }),
    traceExporter: new LoggedTraceExporter(endpoint, logger),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    // The sidecar's spans are roots; it never injects or extracts context.
    textMapPropagator: null,
  });
  sdk.start();
  if (globalDelegate() === before) {
    void sdk.shutdown();
    throw new SelfTelemetryError(
      'SELF_TELEMETRY_SDK_TAKEN',
      'selfTelemetry: another OpenTelemetry SDK already owns this process (or OTEL_SDK_DISABLED is set); turn one of them off',
    );
  }
  const tracer = trace.getTracer('canary-judge', VERSION);
  const stopWebhookSpans = traceWebhookDeliveries(tracer);
  logger.info({ endpoint, allowSelf: settings.allowSelf }, 'self-tracing started');

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopWebhookSpans();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SHUTDOWN_TIMEOUT_MS);
      timer.unref();
    });
    const outcome = await Promise.race([sdk.shutdown().then(() => 'done' as const), timeout]).catch(
      (error: unknown) => {
        logger.warn({ err: error }, 'self-tracing shutdown failed');
        return 'failed' as const;
      },
    );
    clearTimeout(timer);
    if (outcome === 'timeout') logger.warn({ endpoint }, 'self-tracing flush timed out; spans dropped');
    // Unregister what NodeSDK registered, so a later sidecar in the same process (tests) can start its own.
    trace.disable();
    context.disable();
    propagation.disable();
  }
  return { tracer, shutdown: () => (stopping ??= stop()) };
}

function globalDelegate(): TracerProvider {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
}

/**
 * One client span per webhook HTTP attempt that reached a receiver, from undici's diagnostics channels
 * (Node's fetch publishes them), so publish/ needs no tracing code. Attempts that fail to connect publish
 * no request and get no span; they are counted in canary_judge_webhook_deliveries_total and logged.
 */
function traceWebhookDeliveries(tracer: Tracer): () => void {
  const spans = new WeakMap<object, Span>();
  const onCreate = (message: unknown): void => {
    const request = undiciRequest(message);
    if (!request || !hasHeader(request.headers, WEBHOOK_SIGNATURE_HEADER)) return;
    const origin = new URL(request.origin);
    spans.set(
      request,
      tracer.startSpan(WEBHOOK_SPAN_NAME, {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': request.method,
          'server.address': origin.hostname,
          'server.port': Number(origin.port || (origin.protocol === 'https:' ? 443 : 80)),
          // The path only: a query string may carry a receiver's token.
          'url.path': request.path.split('?')[0],
          'canary_judge.webhook.event_id': headerValue(request.headers, 'idempotency-key') ?? '',
        },
      }),
    );
  };
  const onHeaders = (message: unknown): void => {
    const request = undiciRequest(message);
    const span = request && spans.get(request);
    if (!span) return;
    const status = (message as { response?: { statusCode?: number } }).response?.statusCode ?? 0;
    span.setAttribute('http.response.status_code', status);
    // Client spans: every 4xx and 5xx is an error (semantic conventions, HTTP spans, status).
    if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
    span.end();
    spans.delete(request);
  };
  const onError = (message: unknown): void => {
    const request = undiciRequest(message);
    const span = request && spans.get(request);
    if (!span) return;
    const error = (message as { error?: Error }).error;
    span.setAttribute('error.type', error?.name ?? 'Error');
    span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message });
    span.end();
    spans.delete(request);
  };
  subscribe('undici:request:create', onCreate);
  subscribe('undici:request:headers', onHeaders);
  subscribe('undici:request:error', onError);
  return () => {
    unsubscribe('undici:request:create', onCreate);
    unsubscribe('undici:request:headers', onHeaders);
    unsubscribe('undici:request:error', onError);
  };
}

interface UndiciRequest {
  origin: string;
  path: string;
  method: string;
  headers: unknown;
}

function undiciRequest(message: unknown): UndiciRequest | undefined {
  const request = (message as { request?: Partial<UndiciRequest> } | undefined)?.request;
  if (!request || typeof request.origin !== 'string' || typeof request.path !== 'string') return undefined;
  return request as UndiciRequest;
}

/** undici gives headers as a flat [name, value, ...] array (or a raw header block in older versions). */
function headerValue(headers: unknown, name: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    return undefined;
  }
  if (typeof headers === 'string') {
    const line = headers.split('\r\n').find((entry) => entry.toLowerCase().startsWith(`${name}:`));
    return line?.slice(name.length + 1).trim();
  }
  return undefined;
}

function hasHeader(headers: unknown, name: string): boolean {
  return headerValue(headers, name) !== undefined;
}

/** Logs when export starts failing and when it recovers, not on every batch (the SDK itself is silent). */
class LoggedTraceExporter extends OTLPTraceExporter {
  private failing = false;

  constructor(
    private readonly endpoint: string,
    private readonly logger: Logger,
  ) {
    super({ url: endpoint });
  }

  override export(...[items, done]: Parameters<OTLPTraceExporter['export']>): void {
    super.export(items, (result) => {
      const failed = result.code !== 0;
      if (failed && !this.failing)
        this.logger.warn({ endpoint: this.endpoint, err: result.error }, 'self-tracing export failing');
      if (!failed && this.failing)
        this.logger.info({ endpoint: this.endpoint }, 'self-tracing export recovered');
      this.failing = failed;
      done(result);
    });
  }
}

/**
 * Drops spans, metric points and flag evaluations whose resource says `canary_judge.self=true` before
 * they reach `sink` (attribution), counting them, so no analysis can match a canary-judge's own telemetry
 * whatever its filters are. The receivers have already counted them as received.
 */
export function withoutSelfTelemetry(sink: TelemetrySink, registry: Registry): TelemetrySink {
  const dropped = new Counter({
    name: 'canary_judge_self_telemetry_dropped_total',
    help: 'Items from a canary-judge itself (resource canary_judge.self=true) dropped before attribution, by signal',
    labelNames: ['signal'],
    registers: [registry],
  });
  const keep = <T extends { resource: ResourceInfo }>(items: T[], signal: string): T[] => {
    if (!items.some((item) => isSelf(item.resource))) return items;
    const kept = items.filter((item) => !isSelf(item.resource));
    dropped.inc({ signal }, items.length - kept.length);
    return kept;
  };
  // Batches without such items (all of them, normally) are handed on as they are, with no copy.
  return {
    acceptSpans(batch) {
      const spans = keep(batch.spans, 'traces');
      sink.acceptSpans(spans === batch.spans ? batch : { ...batch, spans });
    },
    acceptMetrics(batch) {
      const points = keep(batch.points, 'metrics');
      sink.acceptMetrics(points === batch.points ? batch : { ...batch, points });
    },
    acceptLogs(batch) {
      const flagEvaluations = keep(batch.flagEvaluations, 'logs');
      sink.acceptLogs(flagEvaluations === batch.flagEvaluations ? batch : { ...batch, flagEvaluations });
    },
  };
}

function isSelf(resource: ResourceInfo): boolean {
  const value = resource.attributes[SELF_RESOURCE_ATTRIBUTE];
  return value === true || value === 'true';
}
