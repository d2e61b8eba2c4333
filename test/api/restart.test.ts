// Runs, their verdicts and history, and their accumulated evidence survive a restart of the sidecar.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { armSpans } from '../support/arm-spans.js';
import { exportOnce, succeeded, traceExporter } from '../support/telemetry.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

const dir = mkdtempSync(join(tmpdir(), 'canary-judge-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = parseConfig({
  otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
  api: { port: 0 },
  storage: { path: join(dir, 'state.sqlite') },
  judge: { tickIntervalMs: 60_000, snapshotIntervalMs: 60_000 },
});
const analysis = {
  id: 'api-made',
  match: { service: 'checkout' },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
  judge: { canaryShare: 0.2, minSamplesPerArm: 5000 },
};

describe('restart', () => {
  it('resumes a running run of an API-defined analysis with its evidence and start time', async () => {
    const first = await startSidecar(config, { logger: createLogger('silent') });
    const api = `http://127.0.0.1:${first.ports.api}`;
    const created = await fetch(`${api}/api/v1/analyses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(analysis),
    });
    expect(created.status).toBe(201);
    const started = await fetch(`${api}/api/v1/analyses/api-made/runs/rev-7`, { method: 'PUT' });
    expect(started.status).toBe(201);
    const { runId } = (await started.json()) as { runId: string };
    const exporter = traceExporter('http-protobuf', {
      grpcUrl: '',
      httpUrl: `http://127.0.0.1:${first.ports.http}`,
    });
    const spans = [
      ...armSpans({ version: '1.0.0', count: 400, medianMs: 20, errorRate: 0 }, 1),
      ...armSpans({ version: '2.0.0', count: 100, medianMs: 20, errorRate: 0 }, 2),
    ];
    expect(succeeded(await exportOnce(exporter, spans))).toBe(true);
    await exporter.shutdown();
    const runUrl = (base: string) => `${base}/api/v1/analyses/api-made/runs/rev-7`;
    const { startedAt } = (await (await fetch(runUrl(api))).json()) as { startedAt: string };
    await first.stop(); // the shutdown takes a last tick and snapshot

    const second = await startSidecar(config, { logger: createLogger('silent') });
    try {
      const again = `http://127.0.0.1:${second.ports.api}`;
      expect(await (await fetch(runUrl(again))).json()).toMatchObject({
        runId,
        revision: 'rev-7',
        startedAt,
        state: 'running',
        verdict: 'running',
      });
      // Everything received survived, judged or still waiting for the watermark.
      const received = second.accumulator.evidence(runId)!.received();
      expect([received.baseline.requests, received.canary.requests]).toEqual([400, 100]);
      expect(received.baseline.latency.count).toBe(400);
      // The controller polling again gets the same run, not a new one.
      const polled = await fetch(runUrl(again), { method: 'PUT' });
      expect([polled.status, ((await polled.json()) as { runId: string }).runId]).toEqual([200, runId]);
    } finally {
      await second.stop();
    }
  });
});
