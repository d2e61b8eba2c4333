// Analyses, their verdicts and history, and their accumulated evidence survive a restart of the sidecar.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { armSpans } from '../support/arm-spans.js';
import { exportOnce, succeeded, traceExporter } from '../support/telemetry.js';

const dir = mkdtempSync(join(tmpdir(), 'canary-judge-restart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = parseConfig({
  otlp: { grpc: { port: 0 }, http: { port: 0 } },
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
  it('resumes an API-created analysis with its evidence and started time', async () => {
    const first = await startSidecar(config, { logger: createLogger('silent') });
    const api = `http://127.0.0.1:${first.ports.api}`;
    const created = await fetch(`${api}/api/v1/analyses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(analysis),
    });
    expect(created.status).toBe(201);
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
    const startedAt = (
      (await (await fetch(`${api}/api/v1/analyses/api-made`)).json()) as { startedAt: string }
    ).startedAt;
    await first.stop(); // the shutdown takes a last tick and snapshot

    const second = await startSidecar(config, { logger: createLogger('silent') });
    try {
      const again = `http://127.0.0.1:${second.ports.api}`;
      const document = (await (await fetch(`${again}/api/v1/analyses/api-made`)).json()) as {
        startedAt: string;
        verdict: string;
        source: string;
        samples: { baseline: number; canary: number };
      };
      expect(document).toMatchObject({
        startedAt,
        verdict: 'running',
        source: 'api',
        samples: { baseline: 400, canary: 100 },
      });
      const arms = second.accumulator.read('api-made');
      expect([arms.baseline.requests, arms.canary.requests]).toEqual([400, 100]);
      expect(arms.baseline.latency.count).toBe(400);
    } finally {
      await second.stop();
    }
  });
});
