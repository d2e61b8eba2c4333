// A forwarding instance's timers: sync the runs from the judges (run-mirror.ts) and export every mirrored run's
// state (state-export.ts) with the OTel SDK's OTLP/gRPC metric exporter, to the judge or to a Collector that
// routes it (fleet-metrics.ts). The lifecycle of every component with a timer: start, flush (exportNow),
// shutdown (safe twice), timers that never keep the process alive, background work that never throws.
//
// What a crash costs: the state is cumulative, so an export that fails is made good by the next one; a forwarder
// killed loses what it received since its last successful export (at most one export interval, plus whatever
// its watermark still held). A graceful stop exports everything it holds first.
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { Metadata } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Accumulator } from '../accumulate/accumulator.js';
import type { FleetForwardConfig } from '../config/schema.js';
import type { RunRouting } from '../judge/judge-service.js';
import { RunMirror } from './run-mirror.js';
import { fleetResourceMetrics, type RunStateExport } from './state-export.js';

/** What sends a ResourceMetrics: the SDK's OTLP exporter (tests may pass another PushMetricExporter). */
export interface StateExporter {
  export(metrics: ResourceMetrics, done: (result: { code: ExportResultCode; error?: Error }) => void): void;
  shutdown(): Promise<void>;
}

export interface FleetForwarderOptions {
  config: FleetForwardConfig;
  forwarderId: string;
  accumulator: Accumulator;
  routing: RunRouting;
  registry: Registry;
  logger: Logger;
  clock: () => number;
  exporter?: StateExporter;
}

function otlpExporter(config: FleetForwardConfig): StateExporter {
  const metadata = new Metadata();
  if (config.otlpAuthToken) metadata.set('authorization', `Bearer ${config.otlpAuthToken}`);
  return new OTLPMetricExporter({
    url: config.otlpEndpoint,
    metadata,
    timeoutMillis: config.timeoutMs,
  });
}

export class FleetForwarder {
  readonly mirror: RunMirror;
  private readonly exporter: StateExporter;
  private readonly exports: Counter<'outcome'>;
  private timers: NodeJS.Timeout[] = [];
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: FleetForwarderOptions) {
    this.mirror = new RunMirror({
      judgeUrls: options.config.judgeUrls,
      apiToken: options.config.apiToken,
      timeoutMs: options.config.timeoutMs,
      accumulator: options.accumulator,
      routing: options.routing,
      registry: options.registry,
      logger: options.logger,
      clock: options.clock,
    });
    this.exporter = options.exporter ?? otlpExporter(options.config);
    this.exports = new Counter({
      name: 'canary_judge_fleet_exports_total',
      help: "Exports of this forwarding instance's run state (one per analysis), by outcome",
      labelNames: ['outcome'],
      registers: [options.registry],
    });
  }

  /** Reads the judges' runs now. */
  sync(): Promise<void> {
    return this.mirror.sync();
  }

  /**
   * Exports every mirrored run's state now, as far as this instance's watermark has judged it (with `all`,
   * everything it holds: the last export before stopping). Resolves true when every export succeeded.
   */
  async exportNow(all = false): Promise<boolean> {
    const nowMs = this.options.clock();
    const runs: RunStateExport[] = [];
    for (const run of this.mirror.runs()) {
      const evidence = this.options.accumulator.evidence(run.runId);
      if (!evidence) continue;
      evidence.advance(all ? Infinity : nowMs);
      runs.push({
        runId: run.runId,
        analysisId: run.analysisId,
        startTimeMs: run.startTimeMs,
        watermarkMs: Math.min(evidence.watermark, nowMs),
        stages: evidence.readOwn(),
      });
    }
    const results = await Promise.all(
      fleetResourceMetrics(runs, this.options.forwarderId).map(
        (metrics) =>
          new Promise<boolean>((resolve) =>
            this.exporter.export(metrics, (result) => {
              const ok = result.code === ExportResultCode.SUCCESS;
              this.exports.inc({ outcome: ok ? 'ok' : 'failed' });
              if (!ok)
                this.options.logger.warn(
                  { err: result.error },
                  'fleet state export failed; the next one carries it',
                );
              resolve(ok);
            }),
          ),
      ),
    );
    return results.every(Boolean);
  }

  start(): void {
    if (this.timers.length > 0 || this.stopped) return;
    const every = (ms: number, work: () => Promise<unknown>) => {
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return; // a slow judge: never pile exports up
        busy = true;
        work()
          .catch((error: unknown) => this.options.logger.error({ err: error }, 'fleet timer failed'))
          .finally(() => (busy = false));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.config.runsSyncIntervalMs, () => this.sync());
    every(this.options.config.exportIntervalMs, () => this.exportNow());
    void this.sync().catch(() => undefined);
  }

  /** Stops the timers, exports everything held once more, and closes the exporter. Safe to call twice. */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      for (const timer of this.timers.splice(0)) clearInterval(timer);
      try {
        await this.exportNow(true);
      } catch (error) {
        this.options.logger.warn({ err: error }, 'last fleet export failed');
      }
      this.mirror.clear();
      await this.exporter.shutdown();
    })();
    return this.stopped;
  }
}
