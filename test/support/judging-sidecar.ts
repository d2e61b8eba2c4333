// A real sidecar for the controller tests (Argo Rollouts, Flagger, Kayenta): in-process on loopback port 0,
// real SQLite in a temporary directory, on a fake clock the test moves. The judge's timer is set far beyond
// any test, and the test ticks the judge itself after each window of traffic, so every verdict a controller
// reads is the judge's verdict on exactly the traffic sent so far: deterministic, and no sleeping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { IN_PROCESS_OTLP } from './in-process.js';

/**
 * The analyses in deploy/ judge p50/p95/p99 at 10% latency and 0.5 points of error rate, which takes thousands
 * of requests per arm and stage. The controller tests keep each shipped analysis's identity (id, match,
 * variant, arms, minimum samples, time limit, onInconclusive) and judge with these looser tolerances, so a
 * weight step passes on a few thousand spans: the controllers' state machines are the subject, not the power.
 */
export const CONTROLLER_TEST_METRICS = [
  { name: 'latency', kind: 'latency', tolerance: 0.2, quantiles: [0.5, 0.95] },
  { name: 'errors', kind: 'error_rate', tolerance: 0.02 },
];

export function withTestMetrics(shipped: Record<string, unknown>): Record<string, unknown> {
  return { ...shipped, metrics: CONTROLLER_TEST_METRICS };
}

export interface JudgingSidecar {
  sidecar: Sidecar;
  apiUrl: string;
  grpcUrl: string;
  /** The fake clock (ms since the epoch) of the judge and attribution. */
  now(): number;
  /** Moves the clock forward to `ms` (never back). */
  advanceTo(ms: number): void;
  /** One judge tick at the current clock. */
  tick(): void;
  stop(): Promise<void>;
}

export const T0_MS = Date.parse('2026-12-01T10:00:00Z');

export async function startJudgingSidecar(options: {
  analyses: unknown[];
  apiToken: string;
}): Promise<JudgingSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-controller-'));
  let nowMs = T0_MS;
  const config = parseConfig({
    otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
    api: { port: 0, authToken: options.apiToken },
    storage: { path: join(dir, 'state.sqlite') },
    // Ticks come from the test; the watermark holds nothing back (each window of traffic is one export).
    judge: { tickIntervalMs: 86_400_000, snapshotIntervalMs: 86_400_000, watermark: { maxHoldMs: 0 } },
    log: { level: 'silent' },
    analyses: options.analyses,
  });
  const sidecar = await startSidecar(config, { logger: createLogger('silent'), clock: () => nowMs });
  return {
    sidecar,
    apiUrl: `http://127.0.0.1:${sidecar.ports.api}`,
    grpcUrl: `http://127.0.0.1:${sidecar.ports.grpc}`,
    now: () => nowMs,
    advanceTo(ms: number) {
      if (ms < nowMs) throw new Error(`the clock does not go back (${ms} < ${nowMs})`);
      nowMs = ms;
    },
    tick: () => sidecar.judge.tick(),
    async stop() {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
