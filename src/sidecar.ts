// Wiring: builds every stage from a validated Config and runs them as one sidecar. main.ts adds only the
// CLI and signal handling, so tests start the same sidecar in-process on port 0.
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { Accumulator } from './accumulate/accumulator.js';
import { hostname } from 'node:os';
import { addAnalysisRoutes } from './api/analyses-routes.js';
import { addFleetRoutes } from './api/fleet-routes.js';
import { addFlaggerRoutes } from './api/flagger-routes.js';
import { addKayentaRoutes } from './api/kayenta-routes.js';
import { addReportRoutes } from './api/report-routes.js';
import { addRunRoutes } from './api/runs-routes.js';
import { ApiServer } from './api/server.js';
import { AttributionPipeline } from './attribution/pipeline.js';
import type { FleetForwarder } from './fleet/fleet-forwarder.js';
import { FleetIntake } from './fleet/state-intake.js';
import type { Observation, ObservationSink } from './accumulate/observation.js';
import { JudgeService, type VerdictPublisher } from './judge/judge-service.js';
import { VerdictMetrics } from './publish/verdict-metrics.js';
import { WebhookOutbox } from './publish/webhook-outbox.js';
import { AnalysesRepository } from './store/analyses-repository.js';
import { RunsRepository } from './store/runs-repository.js';
import { RunSeriesRepository } from './store/run-series-repository.js';
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
import { BackgroundPruner, verdictHistoryPruneTask } from './store/retention.js';
import { createLogger, resolveLogFormat } from './telemetry/logger.js';
import { startSelfTracing, withoutSelfTelemetry, type SelfTracing } from './telemetry/self-tracing.js';
import { describeListenError, listenerSpecs, openListenerWarnings, type ListenerName } from './listeners.js';
import { VERSION } from './version.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Part of the shutdown deadline kept for the last steps after draining (final tick, snapshot, closing). */
const FINAL_STEPS_MAX_MS = 2_000;

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
  /** The forwarder of a forwarding instance (config fleet.forward), else undefined. */
  fleet?: FleetForwarder;
  /**
   * Graceful stop within shutdownTimeoutSeconds: refuse new requests, drain those admitted, record the
   * last verdicts and snapshots, abort webhook requests still in flight (they stay pending), close the
   * store. Safe to call twice.
   */
  stop(): Promise<void>;
}

export async function startSidecar(config: Config, options: SidecarOptions = {}): Promise<Sidecar> {
  const logger =
    options.logger ??
    createLogger(
      config.log.level,
      undefined,
      resolveLogFormat(config.log.format, process.stdout.isTTY === true),
    );
  // One sampler for admission and the process metrics' event-loop-lag series.
  const eventLoopLag = new EventLoopLag(config.api.eventLoopLagResolutionMs);
  const registry = options.registry ?? createRegistry(true, eventLoopLag);
  // First, before anything reads state: fails at once when another process owns this database.
  const store = Store.open(config.storage.path);
  try {
    store.recordBoot(VERSION, new Date());
  } catch (error) {
    store.close();
    throw error;
  }

  const ingestMetrics = createIngestMetrics(registry);
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
    retryAfterSeconds: config.otlp.retryAfterSeconds,
    graceMs: config.otlp.receiveGraceMs,
    timeoutMs: config.otlp.bodyTimeoutMs,
  });
  admission.setRelief(() => guard.preemptSlowest());
  const { watermark } = config.judge;
  const forward = config.fleet.forward;
  const accumulator = new Accumulator({
    watermark: {
      lagMs: watermark.lagMs,
      sourceIdleMs: watermark.sourceIdleMs,
      maxHoldMs: watermark.maxHoldMs,
      maxSources: watermark.maxSourcesPerRun,
      // A forwarder beside one pod sees one arm: the judge, which sees every forwarder, waits for both.
      requireBothArms: forward === null,
    },
    clock: options.clock,
  });
  const observationSink = options.observationSink;
  const attribution = new AttributionPipeline({
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
  const delivery = config.webhookDelivery;
  const outbox = new WebhookOutbox({
    store,
    registry,
    logger,
    allowAddresses: delivery.allowAddresses,
    maxEventsPerTarget: delivery.maxEventsPerTarget,
    retentionMs: delivery.retentionHours * HOUR_MS,
    minRetryDelayMs: delivery.minRetryDelayMs,
    requestTimeoutMs: delivery.requestTimeoutMs,
  });
  const pruner = new BackgroundPruner({
    store,
    tasks: [
      outbox.pruneTask(),
      verdictHistoryPruneTask(store, config.storage.verdictHistoryRetentionDays * DAY_MS),
    ],
    intervalMs: config.storage.pruneIntervalSeconds * 1000,
    registry,
    logger,
  });
  const runSeries = new RunSeriesRepository(store);
  const judge = new JudgeService({
    analyses: new AnalysesRepository(store),
    runs: new RunsRepository(store),
    series: runSeries,
    accumulator,
    routing: attribution,
    metrics: new VerdictMetrics(registry),
    publisher: options.publisher ?? outbox,
    defaultWebhook: config.webhook,
    tickIntervalMs: config.judge.tickIntervalMs,
    snapshotIntervalMs: config.judge.snapshotIntervalMs,
    maxAnalyses: config.judge.maxAnalyses,
    maxRunningRuns: config.judge.maxRunningRuns,
    maxFinishedRuns: config.judge.maxFinishedRuns,
    logger,
    clock: options.clock,
    onSnapshotQuarantined: () => snapshotsQuarantined.inc(),
  });
  judge.boot(config.analyses);
  // Only a forwarding instance loads the OTel metrics SDK and exporter (a judge's start stays as light as before).
  const fleet = forward
    ? new (await import('./fleet/fleet-forwarder.js')).FleetForwarder({
        config: forward,
        forwarderId: forward.instanceId ?? hostname(),
        accumulator,
        routing: attribution,
        registry,
        logger,
        clock: options.clock ?? Date.now,
      })
    : undefined;
  // Forwarded run state goes to the accumulator; a canary-judge's own telemetry (resource canary_judge.self=true)
  // never reaches attribution.
  const sink =
    options.telemetrySink ??
    withoutSelfTelemetry(new FleetIntake(attribution, accumulator, registry), registry);
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
    readiness: () => {
      const storageFailure = store.db.open ? store.probe() : undefined;
      const webhooks = outbox.health();
      return {
        ready: stopping === undefined && !admission.isClosing && storageFailure === undefined,
        storage: storageFailure
          ? {
              status: 'failing',
              code: storageFailure.code,
              since: new Date(storageFailure.sinceMs).toISOString(),
            }
          : { status: 'ok' },
        webhookOutbox: {
          status:
            webhooks.targetsAtBound.length > 0 ? 'at_bound' : webhooks.pausedByStorage ? 'paused' : 'ok',
          targetsAtBound: webhooks.targetsAtBound,
        },
      };
    },
    logger,
  });
  // A forwarding instance has no runs of its own: the judges' API is the one controllers call.
  if (!fleet) {
    addAnalysisRoutes(api, judge);
    addRunRoutes(api, judge);
    addFlaggerRoutes(api, judge, config.api.authToken);
    addKayentaRoutes(api, judge, config.api.authToken);
    addFleetRoutes(api, judge);
    addReportRoutes(api, {
      judge,
      tokenRequired: config.api.authToken !== null,
      series: runSeries,
      db: store.db,
      traceUrl: config.api.traceUrl,
    });
  }

  const ports: Sidecar['ports'] = { api: 0 };
  const specs = listenerSpecs(config);
  const listen = async (name: ListenerName, start: () => Promise<number>): Promise<number> => {
    try {
      return await start();
    } catch (error) {
      throw describeListenError(
        error,
        specs.find((spec) => spec.name === name)!,
      );
    }
  };
  let selfTracing: SelfTracing | undefined;
  try {
    ports.api = await listen('api', () => api.start());
    if (grpc) ports.grpc = await listen('otlp.grpc', () => grpc.start());
    if (http) ports.http = await listen('otlp.http', () => http.start());
    // After binding: the refusal to trace into itself compares the endpoint with the ports actually bound.
    selfTracing = await startSelfTracing(config, { ports, logger });
  } catch (error) {
    grpc?.forceClose();
    await Promise.allSettled([api.stop(), grpc?.stop(), http?.stop()]);
    attribution.shutdown();
    await fleet?.shutdown();
    judge.shutdown();
    await outbox.shutdown();
    store.close();
    throw error;
  }
  eventLoopLag.start();
  attribution.start();
  judge.start();
  fleet?.start();
  outbox.start();
  pruner.start();
  const bound = { api: ports.api, 'otlp.grpc': ports.grpc, 'otlp.http': ports.http };
  for (const warning of openListenerWarnings(specs, bound)) logger.warn(warning);
  const exposedMode = store.exposedMode;
  if (exposedMode !== undefined) {
    logger.warn(
      `database ${store.path} is readable or writable by other users (mode ${exposedMode.toString(8).padStart(4, '0')}) and holds webhook secrets; chmod 600 it`,
    );
  }
  logger.info(
    {
      ports,
      storage: store.path,
      version: VERSION,
      analyses: config.analyses.length,
      fleet: forward ? { forwardsTo: forward.otlpEndpoint, judges: forward.judgeUrls } : undefined,
    },
    'canary-judge started',
  );

  async function shutdown(): Promise<void> {
    const budgetMs = config.shutdownTimeoutSeconds * 1000;
    const deadlineMs = performance.now() + budgetMs;
    const remainingMs = (): number => Math.max(0, deadlineMs - performance.now());
    // Draining may use the budget but for the last steps' share, so those run before the deadline too.
    const finalStepsMs = Math.min(FINAL_STEPS_MAX_MS, budgetMs / 4);
    logger.info(
      { deadlineSeconds: config.shutdownTimeoutSeconds },
      'shutting down: refusing new requests, draining accepted ones',
    );
    const drained = admission.close();
    const receiversStopped = Promise.all([grpc?.stop(), http?.stop()]);
    if ((await within(drained, remainingMs() - finalStepsMs)) === 'timeout') {
      logger.warn({ inFlight: admission.current }, 'drain timed out; closing remaining connections');
      grpc?.forceClose();
    }
    // Every admitted request is answered now (or cut off); what is left open is idle keep-alive connections.
    http?.forceClose();
    await within(receiversStopped, remainingMs() - finalStepsMs / 2);
    attribution.shutdown();
    // Everything the forwarder holds goes out once more before it stops (a kill loses one interval at most).
    if (fleet) await within(fleet.shutdown(), remainingMs() - finalStepsMs / 2);
    try {
      judge.tick();
      judge.shutdown();
    } catch (error) {
      logger.error({ err: error }, 'last judge tick or snapshot failed');
    }
    // Webhook requests still in flight are aborted within the budget; their events stay pending.
    await Promise.all([
      outbox.shutdown(remainingMs() / 2),
      pruner.shutdown(),
      selfTracing?.shutdown(remainingMs() / 2),
    ]);
    guard.stop();
    eventLoopLag.stop();
    await api.stop();
    store.close();
    logger.info({ tookMs: Math.round(budgetMs - remainingMs()) }, 'stopped');
  }

  return {
    ports,
    registry,
    store,
    logger,
    judge,
    accumulator,
    attribution,
    fleet,
    stop: () => (stopping ??= shutdown()),
  };
}

/** Resolves with `work`'s value, or 'timeout' after `ms` (the timer never keeps the process alive). */
async function within<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function fanOut(...sinks: ObservationSink[]): ObservationSink {
  return {
    accept: (observations: Observation[]) => sinks.forEach((sink) => sink.accept(observations)),
    beginSpans: () => {
      const recorders = sinks.map((sink) => sink.beginSpans());
      return {
        recordSpan: (...span) => recorders.forEach((recorder) => recorder.recordSpan(...span)),
        end: () => recorders.forEach((recorder) => recorder.end()),
      };
    },
  };
}
