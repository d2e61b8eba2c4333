// A fleet on loopback for tests: judging and forwarding instances as real sidecars in-process (each on port 0
// with its own SQLite file), sharing a fake clock the test moves; and the split by trace id that sends each
// trace to one forwarder, as the Collector's loadbalancing exporter (routing_key: traceID) does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata } from '@grpc/grpc-js';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { windowSpans } from './clocked-spans.js';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { IN_PROCESS_OTLP } from './in-process.js';

/** The fleet tests' analysis: checkout's server spans by service.version, judged on p50/p95 and errors. */
export const FLEET_ANALYSIS = {
  id: 'checkout',
  match: { service: 'checkout', spanKind: 'server' },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
  metrics: [
    { name: 'latency', kind: 'latency', tolerance: 0.2, quantiles: [0.5, 0.95] },
    { name: 'errors', kind: 'error_rate', tolerance: 0.02 },
  ],
  judge: { canaryShare: 0.2, minSamplesPerArm: 200, stageSettleSeconds: 2, maxDurationSeconds: 3600 },
};

export const API_TOKEN = 'fleet-test-api-token-0123456789';
export const OTLP_TOKEN = 'fleet-test-otlp-token-0123456789';

/**
 * One export window of the crash tests' traffic: 480 baseline spans (1% errors) and 120 canary spans (10%
 * errors, a regression), seeded by `round`, ending a second ago.
 */
export function windowOfTraffic(round: number): ReadableSpan[] {
  const window = { startMs: Date.now() - 4_000, windowMs: 3_000, medianMs: 30 };
  return [
    ...windowSpans({ ...window, version: '1.0.0', count: 480, errorRate: 0.01, seed: 2 * round + 1 }),
    ...windowSpans({ ...window, version: '2.0.0', count: 120, errorRate: 0.1, seed: 2 * round + 2 }),
  ];
}

/** The real OTel gRPC trace exporter, with the fleet's ingest token. */
export function grpcTraceExporter(url: string): SpanExporter {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${OTLP_TOKEN}`);
  return new OTLPTraceExporter({ url, metadata, timeoutMillis: 10_000 });
}

export interface FleetInstance {
  sidecar: Sidecar;
  apiUrl: string;
  grpcUrl: string;
  stop(): Promise<void>;
}

export interface InstanceOptions {
  clock?: () => number;
  analyses?: unknown[];
  /** Makes it a forwarding instance of this judge. */
  forwardTo?: { apiUrl: string; grpcUrl: string };
  instanceId?: string;
  /** Judge settings beyond the test defaults (manual ticks, no watermark hold). */
  judge?: object;
}

/** A judging (or, with `forwardTo`, forwarding) instance; ticks and exports are the test's to trigger. */
export async function startInstance(options: InstanceOptions): Promise<FleetInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-fleet-'));
  const forward = options.forwardTo
    ? {
        judgeUrls: [options.forwardTo.apiUrl],
        otlpEndpoint: options.forwardTo.grpcUrl,
        instanceId: options.instanceId,
        exportIntervalMs: 86_400_000,
        runsSyncIntervalMs: 86_400_000,
        // A judge that is down fails an export within a second instead of the SDK's retries for 5 s.
        timeoutMs: 1_000,
        apiToken: API_TOKEN,
        otlpAuthToken: OTLP_TOKEN,
      }
    : null;
  const config = parseConfig({
    otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 }, authToken: OTLP_TOKEN },
    api: { port: 0, authToken: API_TOKEN },
    storage: { path: join(dir, 'state.sqlite') },
    judge: {
      tickIntervalMs: 86_400_000,
      snapshotIntervalMs: 86_400_000,
      watermark: { maxHoldMs: 0 },
      ...options.judge,
    },
    log: { level: 'silent' },
    analyses: options.analyses ?? [],
    fleet: { forward },
  });
  const sidecar = await startSidecar(config, { logger: createLogger('silent'), clock: options.clock });
  return {
    sidecar,
    apiUrl: `http://127.0.0.1:${sidecar.ports.api}`,
    grpcUrl: `http://127.0.0.1:${sidecar.ports.grpc}`,
    async stop() {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Which of `n` backends a trace goes to: its trace id, hashed (any fixed function of the id splits traces whole). */
export function backendOf(traceId: string, n: number): number {
  return Number.parseInt(traceId.slice(-8), 16) % n;
}

/** A SpanExporter that sends each trace to one of several exporters by its trace id. */
export class TraceIdSplitExporter implements SpanExporter {
  constructor(private readonly backends: SpanExporter[]) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const groups = this.backends.map((): ReadableSpan[] => []);
    for (const span of spans) groups[backendOf(span.spanContext().traceId, this.backends.length)].push(span);
    const sends = groups.map((group, i) =>
      group.length === 0
        ? Promise.resolve<ExportResult>({ code: ExportResultCode.SUCCESS })
        : new Promise<ExportResult>((resolve) => this.backends[i].export(group, resolve)),
    );
    void Promise.all(sends).then((results) =>
      done(results.find((result) => result.code !== ExportResultCode.SUCCESS) ?? results[0]),
    );
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.backends.map((backend) => backend.shutdown()));
  }
}

export async function api(instance: FleetInstance, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${instance.apiUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
  });
}

/** An instance run as the real CLI in a child process (so a test can kill -9 it), on the real clock. */
export interface CliInstance {
  child: ChildProcess;
  apiUrl: string;
  grpcUrl: string;
  /** SIGKILL: no drain, no last export, no last snapshot. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Starts `canary-judge --config` on `config` (written to `dir`) and resolves once it logs its bound ports. */
export function startCliInstance(dir: string, name: string, config: object): Promise<CliInstance> {
  const configPath = join(dir, `${name}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"ports":\{"api":(\d+),"grpc":(\d+)(?:,"http":\d+)?\}/.exec(output);
      if (!match) return;
      resolve({
        child,
        apiUrl: `http://127.0.0.1:${match[1]}`,
        grpcUrl: `http://127.0.0.1:${match[2]}`,
        async kill() {
          if (child.exitCode === null) child.kill('SIGKILL');
          await exited;
        },
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${output}`)));
  });
}

/** Polls `check` every 20 ms until it holds; false after `timeoutMs` (the caller asserts). */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}
