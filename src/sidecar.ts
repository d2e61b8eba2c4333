// Wiring: builds every stage from a validated Config and runs them as one sidecar. main.ts adds only the
// CLI and signal handling, so tests start the same sidecar in-process on port 0.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ApiServer } from './api/server.js';
import type { Config } from './config/schema.js';
import { Admission } from './otlp/admission.js';
import { bearerCheck } from './otlp/auth.js';
import { ExportHandler } from './otlp/export-handler.js';
import { GrpcReceiver } from './otlp/grpc-receiver.js';
import { HttpReceiver } from './otlp/http-receiver.js';
import type { TelemetrySink } from './otlp/model.js';
import { createSignalProcessors, encodeStatus } from './otlp/signals.js';
import { createIngestMetrics, createRegistry } from './publish/metrics.js';
import { Store } from './store/database.js';
import { createLogger } from './telemetry/logger.js';
import { VERSION } from './version.js';

export interface SidecarOptions {
  logger?: Logger;
  registry?: Registry;
  /** Replaces the pipeline behind the receivers (tests use a recording sink). */
  telemetrySink?: TelemetrySink;
}

export interface Sidecar {
  /** Ports actually bound (differ from the config when it asks for port 0). */
  ports: { grpc?: number; http?: number; api: number };
  registry: Registry;
  store: Store;
  logger: Logger;
  /** Graceful stop: refuse new requests, drain those admitted (up to the timeout), close everything. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startSidecar(config: Config, options: SidecarOptions = {}): Promise<Sidecar> {
  const logger = options.logger ?? createLogger(config.log.level);
  const registry = options.registry ?? createRegistry();
  const store = Store.open(config.storage.path);
  store.recordBoot(VERSION, new Date());

  const ingestMetrics = createIngestMetrics(registry);
  const admission = new Admission(config.otlp.maxInFlightRequests, ingestMetrics.inFlightRequests);
  const sink = options.telemetrySink ?? createCountingSink();
  const receiverOptions = {
    config: config.otlp,
    processors: createSignalProcessors(sink),
    handler: new ExportHandler(ingestMetrics, logger),
    admission,
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

  const ports: Sidecar['ports'] = { api: 0 };
  try {
    ports.api = await api.start();
    if (grpc) ports.grpc = await grpc.start();
    if (http) ports.http = await http.start();
  } catch (error) {
    await Promise.allSettled([api.stop(), grpc?.stop(), http?.stop()]);
    store.close();
    throw error;
  }
  logger.info({ ports, storage: store.path, version: VERSION }, 'canary-judge started');

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
    await api.stop();
    store.close();
    logger.info('stopped');
  }

  return {
    ports,
    registry,
    store,
    logger,
    stop: () => (stopping ??= shutdown()),
  };
}

/** Until attribution is wired, batches are counted by the receivers' metrics and go no further. */
function createCountingSink(): TelemetrySink {
  return { acceptSpans: () => undefined, acceptMetrics: () => undefined, acceptLogs: () => undefined };
}
