// Starts a real sidecar in-process on free loopback ports with a temporary SQLite file, and records the
// batches its receivers hand on. Every test that starts one stops it in afterAll/afterEach.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { LogBatch, MetricBatch, SpanBatch, TelemetrySink } from '../../src/otlp/model.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { IN_PROCESS_OTLP } from './in-process.js';

export class RecordingSink implements TelemetrySink {
  readonly spanBatches: SpanBatch[] = [];
  readonly metricBatches: MetricBatch[] = [];
  readonly logBatches: LogBatch[] = [];
  acceptSpans(batch: SpanBatch): void {
    this.spanBatches.push(batch);
  }
  acceptMetrics(batch: MetricBatch): void {
    this.metricBatches.push(batch);
  }
  acceptLogs(batch: LogBatch): void {
    this.logBatches.push(batch);
  }
  get spans() {
    return this.spanBatches.flatMap((batch) => batch.spans);
  }
  get points() {
    return this.metricBatches.flatMap((batch) => batch.points);
  }
  get flagEvaluations() {
    return this.logBatches.flatMap((batch) => batch.flagEvaluations);
  }
  clear(): void {
    this.spanBatches.length = 0;
    this.metricBatches.length = 0;
    this.logBatches.length = 0;
  }
}

export interface TestSidecar {
  sidecar: Sidecar;
  sink: RecordingSink;
  config: Config;
  grpcUrl: string;
  httpUrl: string;
  apiUrl: string;
  stop(): Promise<void>;
}

type ConfigOverrides = { [key: string]: unknown };

/** A sidecar on port 0 everywhere; `overrides` are merged into the config's otlp/api sections. */
export async function startTestSidecar(
  overrides: { otlp?: ConfigOverrides; api?: ConfigOverrides; [key: string]: unknown } = {},
): Promise<TestSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-test-'));
  const { otlp = {}, api = {}, ...rest } = overrides;
  const config = parseConfig({
    ...rest,
    otlp: {
      ...IN_PROCESS_OTLP,
      ...otlp,
      grpc: { port: 0, ...((otlp.grpc as ConfigOverrides | undefined) ?? {}) },
      http: { port: 0, ...((otlp.http as ConfigOverrides | undefined) ?? {}) },
    },
    api: { port: 0, ...api },
    storage: { path: join(dir, 'canary-judge.sqlite') },
    log: { level: 'silent' },
  });
  const sink = new RecordingSink();
  const sidecar = await startSidecar(config, { telemetrySink: sink, logger: createLogger('silent') });
  const scheme = config.otlp.tls ? 'https' : 'http';
  return {
    sidecar,
    sink,
    config,
    grpcUrl: `${scheme}://127.0.0.1:${sidecar.ports.grpc}`,
    httpUrl: `${scheme}://127.0.0.1:${sidecar.ports.http}`,
    apiUrl: `http://127.0.0.1:${sidecar.ports.api}`,
    async stop() {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Reads one Prometheus sample from the sidecar's /metrics endpoint (0 when absent). */
export async function metricValue(
  apiUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
