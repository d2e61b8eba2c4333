// The sidecar's own traces, opt-in (config `selfTelemetry`): one span per judge tick and one per webhook
// delivery attempt, exported over OTLP/gRPC to a configured endpoint.
//
// Only the SDK parts this needs (sdk-trace-base's provider and batch processor, resources, the OTLP/gRPC
// trace exporter), loaded with dynamic import() when tracing is enabled: a sidecar that does not trace
// loads none of them, and @opentelemetry/sdk-node (every exporter and instrumentation, 60+ packages) is
// not a production dependency at all.
//
// Three rules keep them harmless:
// - No default target, and never this sidecar's own OTLP port unless `allowSelf` says so: a judge that
//   ingests its own spans wastes work on every tick and can feed back into itself.
// - Its resource carries `canary_judge.self=true`: withoutSelfTelemetry() drops such items before
//   attribution in every sidecar (counted), and the Collector configs under deploy/otel-collector drop
//   them on the canary-judge branch, so no analysis can ever count them.
// - Traces only: no metric readers and no log processors (NodeSDK's defaults would have started OTLP metric
//   and log exporters aimed at localhost:4318, which is this sidecar).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import {
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import type { ResourceInfo, TelemetrySink } from '../otlp/model.js';
import { VERSION } from '../version.js';
import type { Logger } from './logger.js';

/** Resource attribute on every span the sidecar exports about itself; analyses must never count these. */
export const SELF_RESOURCE_ATTRIBUTE = 'canary_judge.self';
export { TICK_SPAN_NAME } from '../judge/judge-service.js';
export const WEBHOOK_SPAN_NAME = 'canary_judge.webhook.delivery';

/** Set on every webhook request by src/publish/webhook-delivery.ts (lower case, as node:http stores it). */
const WEBHOOK_SIGNATURE_HEADER = 'x-canary-judge-signature';
const WEBHOOK_EVENT_ID_HEADER = 'webhook-id';
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
  /** Flushes what is buffered (within `timeoutMs`, at most 5 s) and unregisters the SDK. Safe to call twice. */
  shutdown(timeoutMs?: number): Promise<void>;
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
 * Starts self-tracing when `config.selfTelemetry.enabled`; resolves to undefined when it is off. Rejects
 * with SelfTelemetryError (one line) when the endpoint is the sidecar itself without `allowSelf`, or when
 * another OpenTelemetry SDK already owns this process's global tracer provider.
 */
export async function startSelfTracing(
  config: Config,
  options: { ports: { grpc?: number; http?: number }; logger: Logger },
): Promise<SelfTracing | undefined> {
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
  const [{ BasicTracerProvider, BatchSpanProcessor }, { resourceFromAttributes }, { OTLPTraceExporter }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/exporter-trace-otlp-grpc'),
    ]);
  const exporter = loggedExporter(new OTLPTraceExporter({ url: endpoint }), endpoint, logger);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'canary-judge',
      'service.version': VERSION,
      'host.name': hostname(),
      [SELF_RESOURCE_ATTRIBUTE]: true,
    }),
    // The batch processor reads the standard OTEL_BSP_* variables for its timing.
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // The sidecar's spans are roots; it never injects or extracts context, so no propagator or context manager.
  // The API refuses a second registration (returns false) rather than replacing another SDK's provider.
  if (!trace.setGlobalTracerProvider(provider)) {
    void provider.shutdown();
    throw new SelfTelemetryError(
      'SELF_TELEMETRY_SDK_TAKEN',
      'selfTelemetry: another OpenTelemetry SDK already owns this process; turn one of them off',
    );
  }
  const tracer = trace.getTracer('canary-judge', VERSION);
  const stopWebhookSpans = traceWebhookDeliveries(tracer);
  logger.info({ endpoint, allowSelf: settings.allowSelf }, 'self-tracing started');

  let stopping: Promise<void> | undefined;
  async function stop(timeoutMs: number): Promise<void> {
    stopWebhookSpans();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
      timer.unref();
    });
    const outcome = await Promise.race([provider.shutdown().then(() => 'done' as const), timeout]).catch(
      (error: unknown) => {
        logger.warn({ err: error }, 'self-tracing shutdown failed');
        return 'failed' as const;
      },
    );
    clearTimeout(timer);
    if (outcome === 'timeout') logger.warn({ endpoint }, 'self-tracing flush timed out; spans dropped');
    // Unregister the provider, so a later sidecar in the same process (tests) can start its own.
    trace.disable();
    context.disable();
    propagation.disable();
  }
  return {
    tracer,
    shutdown: (timeoutMs = SHUTDOWN_TIMEOUT_MS) =>
      (stopping ??= stop(Math.min(timeoutMs, SHUTDOWN_TIMEOUT_MS))),
  };
}

/**
 * One client span per webhook HTTP attempt, from node:http's diagnostics channels, so publish/ needs no
 * tracing code. Attempts refused by the address policy never start a request and get no span; they are
 * counted in canary_judge_webhook_deliveries_total{outcome="refused"} and logged.
 */
function traceWebhookDeliveries(tracer: Tracer): () => void {
  const spans = new WeakMap<ClientRequest, Span>();
  const onStart = (message: unknown): void => {
    const request = (message as { request?: ClientRequest }).request;
    if (!request || request.getHeader(WEBHOOK_SIGNATURE_HEADER) === undefined) return;
    const host = String(request.getHeader('host') ?? request.host);
    const port = /:(\d+)$/.exec(host)?.[1];
    spans.set(
      request,
      tracer.startSpan(WEBHOOK_SPAN_NAME, {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': request.method,
          'server.address': request.host,
          'server.port': Number(port ?? (request.protocol === 'https:' ? 443 : 80)),
          // The path only: a query string may carry a receiver's token.
          'url.path': request.path.split('?')[0],
          'canary_judge.webhook.event_id': String(request.getHeader(WEBHOOK_EVENT_ID_HEADER) ?? ''),
        },
      }),
    );
  };
  const onResponse = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest; response?: IncomingMessage };
    const span = spans.get(request);
    if (!span) return;
    const status = response?.statusCode ?? 0;
    span.setAttribute('http.response.status_code', status);
    // Client spans: every 4xx and 5xx is an error (semantic conventions, HTTP spans, status).
    if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` });
    span.end();
    spans.delete(request);
  };
  const onError = (message: unknown): void => {
    const { request, error } = message as { request: ClientRequest; error?: Error };
    const span = spans.get(request);
    if (!span) return;
    span.setAttribute(
      'error.type',
      (error as NodeJS.ErrnoException | undefined)?.code ?? error?.name ?? 'Error',
    );
    span.setStatus({ code: SpanStatusCode.ERROR, message: error?.message });
    span.end();
    spans.delete(request);
  };
  subscribe('http.client.request.start', onStart);
  subscribe('http.client.response.finish', onResponse);
  subscribe('http.client.request.error', onError);
  return () => {
    unsubscribe('http.client.request.start', onStart);
    unsubscribe('http.client.response.finish', onResponse);
    unsubscribe('http.client.request.error', onError);
  };
}

/** Logs when export starts failing and when it recovers, not on every batch (the SDK itself is silent). */
function loggedExporter(inner: SpanExporter, endpoint: string, logger: Logger): SpanExporter {
  let failing = false;
  return {
    export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
      inner.export(spans, (result) => {
        const failed = result.code !== 0;
        if (failed && !failing) logger.warn({ endpoint, err: result.error }, 'self-tracing export failing');
        if (!failed && failing) logger.info({ endpoint }, 'self-tracing export recovered');
        failing = failed;
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
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
