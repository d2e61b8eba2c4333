// Wiring: builds every stage from a validated Config and runs them as one sidecar. main.ts adds only the
// CLI and signal handling, so tests start the same sidecar in-process on port 0.
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { Accumulator } from './accumulate/accumulator.js';
import { addAnalysisRoutes } from './api/analyses-routes.js';
import { addFlaggerRoutes } from './api/flagger-routes.js';
import { ApiServer } from './api/server.js';
import { AttributionPipeline } from './attribution/pipeline.js';
import type { Observation, ObservationSink } from './attribution/observation.js';
import { JudgeService, type VerdictPublisher } from './judge/judge-service.js';
import { VerdictMetrics } from './publish/verdict-metrics.js';
import { WebhookOutbox } from './publish/webhook-outbox.js';
import { AnalysesRepository } from './store/analyses-repository.js';
import type { Config } from './config/schema.js';
import { Admission } from './otlp/admission.js';
import { createBudgetMetrics } from './otlp/budget-metrics.js';
import { EventLoopLag } from './otlp/event-loop-lag.js';
import { ReceiveGuard } from './otlp/receive-guard.js';
import { bearerCheck } from './otlp/auth.js';
import { ExportHandler } from './otlp/export-handler.js';
import { GrpcReceiver } from './otlp/grpc-receiver.js';
import { HttpReceiver } from './otlp/http-receiver.js';
import type { TelemetrySink } from './otlp/model.js';
import { createSignalProcessors, encodeStatus } from './otlp/signals.js';
import { createIngestMetrics, createRegistry } from './publish/metrics.js';
import { Store } from './store/database.js';
import { createLogger } from './telemetry/logger.js';
import { startSelfTracing, withoutSelfTelemetry, type SelfTracing } from './telemetry/self-tracing.js';
import { VERSION } from './version.js';

export interface SidecarOptions {
  logger?: Logger;
  registry?: Registry;
  /** Replaces the whole pipeline behind the receivers (ingest tests use a recording sink). */
  telemetrySink?: TelemetrySink;
  /** Also receives every batch of observations attribution hands to the accumulator (attribution tests). */
  observationSink?: ObservationSink;
  /** Replaces the wall clock of attribution and the judge. */
  clock?: () => number;
  /** Replaces the webhook outbox as the publisher of verdict changes. */
  publisher?: VerdictPublisher;
}

export interface Sidecar {
  /** Ports actually bound (differ from the config when it asks for port 0). */
  ports: { grpc?: number; http?: number; api: number };
  registry: Registry;
  store: Store;
  logger: Logger;
  judge: JudgeService;
  accumulator: Accumulator;
  attribution: AttributionPipeline;
  /** Graceful stop: refuse new requests, drain those admitted (up to the timeout), close everything. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startSidecar(config: Config, options: SidecarOptions = {}): Promise<Sidecar> {
  const logger = options.logger ?? createLogger(config.log.level);
  const registry = options.registry ?? createRegistry();
  const store = Store.open(config.storage.path);
  store.recordBoot(VERSION, new Date());

  const ingestMetrics = createIngestMetrics(registry);
  const eventLoopLag = new EventLoopLag();
  const admission = new Admission({
    eventLoopLagMs: () => eventLoopLag.lagMs,
    maxEventLoopLagMs: config.otlp.maxEventLoopDelayMs,
    maxBytes: config.otlp.maxIngestBytes,
    maxRequests: config.otlp.maxInFlightRequests,
    retryAfterSeconds: config.otlp.retryAfterSeconds,
    requestsGauge: ingestMetrics.inFlightRequests,
    bytesGauge: createBudgetMetrics(registry, config.otlp.maxIngestBytes).bytesInUse,
  });
  const guard = new ReceiveGuard({
    minBytesPerSecond: config.otlp.minReceiveBytesPerSecond,
    graceMs: config.otlp.receiveGraceMs,
    timeoutMs: config.otlp.bodyTimeoutMs,
  });
  admission.setRelief(() => guard.preemptSlowest());
  const accumulator = new Accumulator();
  const observationSink = options.observationSink;
  const attribution = new AttributionPipeline({
    analyses: [],
    limits: config.attribution,
    sink: observationSink ? fanOut(accumulator, observationSink) : accumulator,
    // With a replaced pipeline this one receives nothing; keep its series out of the shared registry.
    registry: options.telemetrySink ? new Registry() : registry,
    clock: options.clock,
  });
  const snapshotsQuarantined = new Counter({
    name: 'canary_judge_snapshots_quarantined_total',
    help: 'Stored per-arm snapshots that failed validation on load; their analyses resumed from empty evidence',
    registers: [registry],
  });
  // The outbox shares the store's connection so a verdict change and its event commit together.
  const outbox = new WebhookOutbox({ db: store.db, registry, logger });
  const judge = new JudgeService({
    repository: new AnalysesRepository(store),
    accumulator,
    routing: attribution,
    metrics: new VerdictMetrics(registry),
    publisher: options.publisher ?? outbox,
    defaultWebhook: config.webhook,
    tickIntervalMs: config.judge.tickIntervalMs,
    snapshotIntervalMs: config.judge.snapshotIntervalMs,
    maxAnalyses: config.judge.maxAnalyses,
    logger,
    clock: options.clock,
    onSnapshotQuarantined: () => snapshotsQuarantined.inc(),
  });
  judge.boot(config.analyses);
  // A canary-judge's own telemetry (resource canary_judge.self=true) never reaches attribution.
  const sink = options.telemetrySink ?? withoutSelfTelemetry(attribution, registry);
  const receiverOptions = {
    config: config.otlp,
    processors: createSignalProcessors(sink),
    handler: new ExportHandler(ingestMetrics, logger),
    admission,
    guard,
    authorize: bearerCheck(config.otlp.authToken),
    encodeStatus,
    logger,
  };
  const grpc = config.otlp.grpc.enabled ? new GrpcReceiver(receiverOptions) : undefined;
  const http = config.otlp.http.enabled ? new HttpReceiver(receiverOptions) : undefined;

  let stopping: Promise<void> | undefined;
  const api = new ApiServer({
    config: config.api,
    registry,
    isReady: () => stopping === undefined && !admission.isClosing,
    logger,
  });
  addAnalysisRoutes(api, judge);
  addFlaggerRoutes(api, judge, config.api.authToken);

  const ports: Sidecar['ports'] = { api: 0 };
  let selfTracing: SelfTracing | undefined;
  try {
    ports.api = await api.start();
    if (grpc) ports.grpc = await grpc.start();
    if (http) ports.http = await http.start();
    // After binding: the refusal to trace into itself compares the endpoint with the ports actually bound.
    selfTracing = startSelfTracing(config, { ports, logger });
  } catch (error) {
    await Promise.allSettled([api.stop(), grpc?.stop(), http?.stop()]);
    attribution.shutdown();
    judge.shutdown();
    await outbox.shutdown();
    store.close();
    throw error;
  }
  eventLoopLag.start();
  attribution.start();
  judge.start();
  outbox.start();
  logger.info(
    { ports, storage: store.path, version: VERSION, analyses: config.analyses.length },
    'canary-judge started',
  );

  async function shutdown(): Promise<void> {
    logger.info('shutting down: refusing new requests, draining accepted ones');
    const drained = admission.close();
    const receiversStopped = Promise.all([grpc?.stop(), http?.stop()]);
    const deadline = new Promise<'timeout'>((resolve) => {
      setTimeout(() => resolve('timeout'), config.shutdownTimeoutSeconds * 1000).unref();
    });
    if ((await Promise.race([drained, deadline])) === 'timeout') {
      logger.warn({ inFlight: admission.current }, 'drain timed out; closing remaining connections');
      grpc?.forceClose();
    }
    // Every admitted request is answered now; what is left open is idle keep-alive connections.
    http?.forceClose();
    await receiversStopped;
    attribution.shutdown();
    judge.tick();
    judge.shutdown();
    await outbox.shutdown();
    await selfTracing?.shutdown();
    guard.stop();
    eventLoopLag.stop();
    await api.stop();
    store.close();
    logger.info('stopped');
  }

  return {
    ports,
    registry,
    store,
    logger,
    judge,
    accumulator,
    attribution,
    stop: () => (stopping ??= shutdown()),
  };
}

function fanOut(...sinks: ObservationSink[]): ObservationSink {
  return { accept: (observations: Observation[]) => sinks.forEach((sink) => sink.accept(observations)) };
}
