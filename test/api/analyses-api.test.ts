// The analysis API end to end: a real sidecar, spans sent by the real OTel exporter, verdicts read the
// way Argo Rollouts' web provider and Flagger's webhooks read them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { armSpans } from '../support/arm-spans.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { exportTickByTick, traceExporter } from '../support/telemetry.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TOKEN = 'api-token-for-the-tests';
const analysis = (id: string) => ({
  id,
  match: { service: 'checkout', spanKind: 'server' },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
  metrics: [
    { name: 'latency', kind: 'latency', quantiles: [0.5, 0.95] },
    { name: 'errors', kind: 'error_rate', tolerance: 0.01 },
  ],
  judge: { canaryShare: 0.2, minSamplesPerArm: 100 },
});

const WEBHOOK_SECRET = 'webhook-secret-for-the-tests';
let dir: string;
let receiver: WebhookReceiver;
let sidecar: Sidecar;
let api: string;
const auth = { Authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'Content-Type': 'application/json' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canary-judge-api-'));
  receiver = await WebhookReceiver.start();
  const config = parseConfig({
    otlp: { grpc: { port: 0 }, http: { port: 0 } },
    api: { port: 0, authToken: TOKEN },
    storage: { path: join(dir, 'state.sqlite') },
    judge: { tickIntervalMs: 100 },
    analyses: [{ ...analysis('test/checkout'), webhook: { url: receiver.url, secret: WEBHOOK_SECRET } }],
  });
  sidecar = await startSidecar(config, { logger: createLogger('silent') });
  api = `http://127.0.0.1:${sidecar.ports.api}`;
});
afterAll(async () => {
  await sidecar.stop();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

async function verdictOf(id: string): Promise<{
  verdict: string;
  action: string;
  reason: string;
  samples: { baseline: number; canary: number };
}> {
  const response = await fetch(`${api}/api/v1/analyses/${encodeURIComponent(id)}/verdict`, { headers: auth });
  expect(response.status).toBe(200);
  return (await response.json()) as never;
}

async function untilVerdict(id: string, wanted: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if ((await verdictOf(id)).verdict === wanted) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`verdict of ${id} never became ${wanted}: ${JSON.stringify(await verdictOf(id))}`);
}

describe('analysis API', () => {
  it('requires the bearer token on /api but not on health and metrics', async () => {
    expect((await fetch(`${api}/api/v1/analyses`)).status).toBe(401);
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    expect((await fetch(`${api}/metrics`)).status).toBe(200);
  });

  it('lists the analysis started from the config', async () => {
    const body = (await (await fetch(`${api}/api/v1/analyses`, { headers: auth })).json()) as {
      analyses: Array<{ id: string; verdict: string; source: string }>;
    };
    expect(body.analyses).toEqual([
      expect.objectContaining({ id: 'test/checkout', verdict: 'running', source: 'config' }),
    ]);
  });

  it('answers 400 listing every field problem, 409 for a live id, 404 for an unknown one', async () => {
    const bad = await fetch(`${api}/api/v1/analyses`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ id: 'x', variant: {}, baseline: 'a', canary: 'a', judge: { alpha: 2 } }),
    });
    expect(bad.status).toBe(400);
    const problems = ((await bad.json()) as { problems: string[] }).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^variant: /),
        expect.stringMatching(/^canary: must differ/),
        expect.stringMatching(/^judge\.alpha: /),
      ]),
    );
    const conflict = await fetch(`${api}/api/v1/analyses`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(analysis('test/checkout')),
    });
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as { error: string }).error).toBe('ANALYSIS_EXISTS');
    expect((await fetch(`${api}/api/v1/analyses/nope`, { headers: auth })).status).toBe(404);
  });

  it('turns a regressed canary into fail/rollback that Argo and Flagger both see, with evidence and history', async () => {
    const exporter = traceExporter('grpc', {
      grpcUrl: `http://127.0.0.1:${sidecar.ports.grpc}`,
      httpUrl: '',
    });
    const baseline = armSpans({ version: '1.0.0', count: 2000, medianMs: 50, errorRate: 0.01 }, 11);
    const canary = armSpans({ version: '2.0.0', count: 500, medianMs: 50, errorRate: 0.2 }, 12);
    // Over MIN_ERROR_BLOCKS judge ticks, as exporters send it: the error rate's variance comes from per-tick blocks.
    const judged = async (total: number) => {
      const { samples } = await verdictOf('test/checkout');
      return samples.baseline + samples.canary >= total;
    };
    expect(await exportTickByTick(exporter, [baseline, canary], MIN_ERROR_BLOCKS, judged)).toBe(true);
    await exporter.shutdown();

    await untilVerdict('test/checkout', 'fail');
    const verdict = await verdictOf('test/checkout');
    expect(verdict).toMatchObject({ action: 'rollback', samples: { baseline: 2000, canary: 500 } });
    expect(verdict.reason).toMatch(/errors/);

    const full = (await (
      await fetch(`${api}/api/v1/analyses/test%2Fcheckout`, { headers: auth })
    ).json()) as Record<string, unknown>;
    expect(full).toMatchObject({
      id: 'test/checkout',
      state: 'finished',
      verdict: 'fail',
      spec: { canary: '2.0.0' },
    });
    const metrics = full.metrics as Array<{
      id: string;
      decision: string;
      alwaysValidPValue: number;
      fixedHorizon: { pValue: number };
    }>;
    expect(metrics.map((metric) => metric.id)).toEqual(['latency_p50', 'latency_p95', 'errors']);
    const errors = metrics.find((metric) => metric.id === 'errors')!;
    expect(errors.decision).toBe('fail');
    expect(errors.fixedHorizon.pValue).toBeLessThan(1e-6);
    expect((full.trafficSplit as { observedCanaryShare: number }).observedCanaryShare).toBeCloseTo(0.2, 5);

    const history = (await (
      await fetch(`${api}/api/v1/analyses/test%2Fcheckout/history`, { headers: auth })
    ).json()) as { history: Array<{ verdict: string }> };
    expect(history.history.map((entry) => entry.verdict)).toEqual(['fail']);

    const flagger = {
      name: 'checkout',
      namespace: 'test',
      phase: 'Progressing',
      checksum: 'abc',
      metadata: { token: TOKEN },
    };
    const unauthenticated = await fetch(`${api}/api/v1/flagger/rollout`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...flagger, metadata: {} }),
    });
    expect(unauthenticated.status).toBe(401);
    const rollout = await fetch(`${api}/api/v1/flagger/rollout`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(flagger),
    });
    expect(rollout.status).toBe(412);
    expect(((await rollout.json()) as { verdict: string }).verdict).toBe('fail');
    const promotion = await fetch(`${api}/api/v1/flagger/confirm-promotion`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(flagger),
    });
    expect(promotion.status).toBe(412);

    // The verdict change reached the webhook receiver as a signed CloudEvent.
    await receiver.received(1);
    const [event] = receiver.requests;
    expect(event.headers['content-type']).toBe('application/cloudevents+json');
    const signature = verifyWebhookSignature(
      WEBHOOK_SECRET,
      event.body,
      String(event.headers['x-canary-judge-signature']),
    );
    expect(signature.ok).toBe(true);
    const cloudEvent = JSON.parse(event.body) as {
      type: string;
      subject: string;
      data: { verdict: string; action: string };
    };
    expect(cloudEvent).toMatchObject({
      type: 'dev.canary-judge.verdict.changed',
      subject: 'test/checkout',
      data: { verdict: 'fail', action: 'rollback' },
    });

    const text = await (await fetch(`${api}/metrics`)).text();
    expect(text).toContain('canary_judge_analysis_verdict{analysis="test/checkout",verdict="fail"} 1');
    expect(text).toContain('canary_judge_arm_requests{analysis="test/checkout",arm="canary"} 500');
  });

  it('creates, gates and deletes an analysis through the API; Flagger finds it by metadata.analysis', async () => {
    const created = await fetch(`${api}/api/v1/analyses`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(analysis('healthy')),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v1/analyses/healthy');
    const flagger = { name: 'other', namespace: 'x', metadata: { analysis: 'healthy', token: TOKEN } };
    const rollout = await fetch(`${api}/api/v1/flagger/rollout`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(flagger),
    });
    expect(rollout.status).toBe(200);
    const promotion = await fetch(`${api}/api/v1/flagger/confirm-promotion`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify(flagger),
    });
    expect(promotion.status).toBe(412);
    const deleted = await fetch(`${api}/api/v1/analyses/healthy`, { method: 'DELETE', headers: auth });
    expect(deleted.status).toBe(200);
    expect(((await deleted.json()) as { state: string }).state).toBe('stopped');
    expect((await fetch(`${api}/api/v1/analyses/healthy`, { headers: auth })).status).toBe(404);
    expect(
      (
        await fetch(`${api}/api/v1/flagger/rollout`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify(flagger),
        })
      ).status,
    ).toBe(404);
  });
});
