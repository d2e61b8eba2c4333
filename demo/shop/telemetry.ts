// One OpenTelemetry SDK setup per demo service, as each would have in its own process: a tracer provider
// (and, for the frontend, a logger provider for OpenFeature's evaluation events) with its own resource
// (`service.name`) exporting over OTLP/gRPC to the sidecar. Providers are not registered globally because
// two services share this process; only the context manager is global, as it must be for async context.
import { context, type Tracer } from '@opentelemetry/api';
import type { Logger } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { logs, node, resources } from '@opentelemetry/sdk-node';

export interface ServiceTelemetry {
  tracer: Tracer;
  /** The logger OpenFeature's EventHook uses (scope `@openfeature/open-telemetry-hooks`). */
  flagEventLogger: Logger;
  /** Exports what is buffered and stops; safe to call twice. */
  shutdown(): Promise<void>;
}

let contextManagerInstalled = false;

/** AsyncLocalStorage carries the active span through awaits, so OpenFeature hooks see the request's span. */
export function installContextManager(): void {
  if (contextManagerInstalled) return;
  contextManagerInstalled = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

export function startServiceTelemetry(
  serviceName: string,
  otlpGrpcUrl: string,
  exportDelayMs: number,
): ServiceTelemetry {
  installContextManager();
  const resource = resources.resourceFromAttributes({
    'service.name': serviceName,
    'service.namespace': 'demo-shop',
    'deployment.environment.name': 'demo',
  });
  // Queues sized for a few hundred requests/s between exports; the SDK drops (never blocks) beyond them.
  const buffer = { scheduledDelayMillis: exportDelayMs, maxQueueSize: 20_000, maxExportBatchSize: 2_000 };
  const tracerProvider = new node.NodeTracerProvider({
    resource,
    spanProcessors: [new node.BatchSpanProcessor(new OTLPTraceExporter({ url: otlpGrpcUrl }), buffer)],
  });
  const loggerProvider = new logs.LoggerProvider({
    resource,
    processors: [
      new logs.BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: otlpGrpcUrl }), ...buffer }),
    ],
  });
  let stopped: Promise<void> | undefined;
  return {
    tracer: tracerProvider.getTracer(serviceName),
    flagEventLogger: loggerProvider.getLogger('@openfeature/open-telemetry-hooks'),
    shutdown: () =>
      (stopped ??= Promise.all([tracerProvider.shutdown(), loggerProvider.shutdown()]).then(() => undefined)),
  };
}
