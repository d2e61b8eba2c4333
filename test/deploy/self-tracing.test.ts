// Self-observability: with selfTelemetry enabled, a sidecar exports a span per judge tick and per webhook
// delivery, as service.name canary-judge, to another sidecar's OTLP/gRPC port; a sidecar that receives
// them never judges them; and pointing a sidecar at its own OTLP port is refused in one line.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import {
  SELF_RESOURCE_ATTRIBUTE,
  SelfTelemetryError,
  TICK_SPAN_NAME,
  WEBHOOK_SPAN_NAME,
  selfLoopReason,
} from '../../src/telemetry/self-tracing.js';
import { metricValue, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

beforeAll(() => {
  // The SDK's batch processor waits 5 s between exports by default; the tests wait for arrival instead.
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
});

async function startTraced(overrides: Record<string, unknown>, clock?: () => number): Promise<Sidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-self-'));
  const { otlp, ...rest } = overrides as { otlp?: Record<string, unknown> };
  const config = parseConfig({
    otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 }, ...otlp },
    api: { port: 0 },
    storage: { path: join(dir, 'canary-judge.sqlite') },
    log: { level: 'silent' },
    ...rest,
  });
  try {
    const sidecar = await startSidecar(config, { logger: createLogger('silent'), clock });
    stops.push(async () => {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    return sidecar;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startReceiver(overrides = {}): Promise<TestSidecar> {
  const receiver = await startTestSidecar(overrides);
  stops.push(() => receiver.stop());
  return receiver;
}

/** Polls `condition` until it holds (the exporter's timer decides when spans leave). */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

const ANALYSIS = {
  id: 'checkout',
  match: { service: 'checkout' },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '1.1.0',
  judge: { maxDurationSeconds: 1 },
  run: { revision: 'r1' },
};

describe('self-tracing', () => {
  it('exports a span per judge tick and per webhook delivery, as service.name canary-judge, to another sidecar', async () => {
    const collector = await startReceiver();
    const hooks = await WebhookReceiver.start();
    stops.push(() => hooks.close());
    let nowMs = Date.now();
    const traced = await startTraced(
      {
        selfTelemetry: { enabled: true, endpoint: collector.grpcUrl },
        webhook: { url: hooks.url, secret: 'a-webhook-secret-of-16+' },
        webhookDelivery: { allowAddresses: ['127.0.0.1'] },
        analyses: [ANALYSIS],
      },
      () => nowMs,
    );
    traced.judge.tick();
    nowMs += 2_000; // past maxDurationSeconds: the verdict turns inconclusive and a webhook is sent
    traced.judge.tick();
    await hooks.received(1);

    await until(() => {
      const names = collector.sink.spans.map((span) => span.name);
      return names.filter((name) => name === TICK_SPAN_NAME).length >= 2 && names.includes(WEBHOOK_SPAN_NAME);
    });
    const ticks = collector.sink.spans.filter((span) => span.name === TICK_SPAN_NAME);
    for (const span of ticks) {
      expect(span.resource.serviceName).toBe('canary-judge');
      expect(span.resource.attributes[SELF_RESOURCE_ATTRIBUTE]).toBe(true);
    }
    const delivery = collector.sink.spans.find((span) => span.name === WEBHOOK_SPAN_NAME);
    expect(delivery?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.response.status_code': 204,
      'url.path': '/hooks/canary',
      'canary_judge.webhook.event_id': hooks.requests[0].eventId,
    });
  });

  it('a sidecar that receives canary-judge spans drops them before attribution, so no analysis counts them', async () => {
    // An analysis that would take every canary-judge span as its baseline arm, were it allowed to.
    const judged = await startTraced({
      analyses: [
        {
          id: 'greedy',
          match: { service: 'canary-judge' },
          variant: { attribute: 'service.name' },
          baseline: 'canary-judge',
          canary: 'x',
          run: { revision: 'r1' },
        },
      ],
    });
    const traced = await startTraced({
      selfTelemetry: { enabled: true, endpoint: `http://127.0.0.1:${judged.ports.grpc}` },
    });
    traced.judge.tick();
    const apiUrl = `http://127.0.0.1:${judged.ports.api}`;
    await until(async () => (await metricValue(apiUrl, 'canary_judge_self_telemetry_dropped_total')) > 0);
    expect(
      await metricValue(apiUrl, 'canary_judge_self_telemetry_dropped_total', { signal: 'traces' }),
    ).toBeGreaterThan(0);
    expect(await metricValue(apiUrl, 'canary_judge_attribution_spans_total', { analysis: 'greedy' })).toBe(0);
    judged.judge.tick();
    expect(await metricValue(apiUrl, 'canary_judge_arm_requests', { analysis: 'greedy' })).toBe(0);
  });

  it("refuses, in one line, an endpoint that is the sidecar's own OTLP port unless allowSelf is set", async () => {
    const port = await freePort();
    const selfTelemetry = { enabled: true, endpoint: `http://localhost:${port}` };
    const refusal = await startTraced({ otlp: { grpc: { port } }, selfTelemetry }).catch(
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(SelfTelemetryError);
    expect((refusal as SelfTelemetryError).code).toBe('SELF_TELEMETRY_LOOP');
    expect((refusal as Error).message).toBe(
      `selfTelemetry.endpoint http://localhost:${port} is this sidecar's own OTLP/gRPC port ${port}; point it at a Collector or another backend, or set selfTelemetry.allowSelf: true`,
    );
    expect((refusal as Error).message).not.toContain('\n');
    // The refused start released its ports: the same config with allowSelf starts on them.
    const allowed = await startTraced({
      otlp: { grpc: { port } },
      selfTelemetry: { ...selfTelemetry, allowSelf: true },
    });
    expect(allowed.ports.grpc).toBe(port);
  });

  it('is off by default and needs an endpoint when enabled', () => {
    expect(parseConfig({}).selfTelemetry).toEqual({ enabled: false, allowSelf: false });
    expect(() => parseConfig({ selfTelemetry: { enabled: true } })).toThrow(
      /selfTelemetry\.endpoint: required when selfTelemetry\.enabled is true/,
    );
  });

  it('recognises this machine under its loopback, unspecified and listener addresses, on the bound OTLP ports only', () => {
    const ports = { grpc: 4317, http: 4318 };
    expect(selfLoopReason('http://127.0.0.1:4317', ports)).toBe('own OTLP/gRPC port 4317');
    expect(selfLoopReason('http://[::1]:4318', ports)).toBe('own OTLP/HTTP port 4318');
    expect(selfLoopReason('http://0.0.0.0:4317', ports)).toBeDefined();
    expect(selfLoopReason('http://canary-judge.local:4317', ports, ['canary-judge.local'])).toBeDefined();
    expect(selfLoopReason('http://127.0.0.1:14317', ports)).toBeUndefined();
    expect(selfLoopReason('http://otel-collector.observability:4317', ports)).toBeUndefined();
  });
});
