// The analysis and run API end to end: a real sidecar, spans sent by the real OTel exporter, one run per
// rollout revision, each judged from its own evidence, verdicts read the way controllers read them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { verifyWebhookSignature } from '../../src/publish/webhook-signature.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { armSpans } from '../support/arm-spans.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { exportTickByTick, judgedRequests, traceExporter } from '../support/telemetry.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

const TOKEN = 'api-token-for-the-tests';
const WEBHOOK_SECRET = 'webhook-secret-for-the-tests';
const analysis = (id: string) => ({
  id,
  match: { service: 'checkout', spanKind: 'server' },
  variant: { attribute: 'service.version' },
  baseline: '1.0.0',
  canary: '2.0.0',
  metrics: [
    { name: 'latency', kind: 'latency', quantiles: [0.5, 0.95], tolerance: 0.25 },
    { name: 'errors', kind: 'error_rate', tolerance: 0.01 },
  ],
  judge: { minSamplesPerArm: 100 },
});

let dir: string;
let receiver: WebhookReceiver;
let sidecar: Sidecar;
let api: string;
const auth = { Authorization: `Bearer ${TOKEN}` };
const json = { ...auth, 'Content-Type': 'application/json' };
const runUrl = (revision: string) => `${api}/api/v1/analyses/test%2Fcheckout/runs/${revision}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canary-judge-api-'));
  receiver = await WebhookReceiver.start();
  const config = parseConfig({
    otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
    api: { port: 0, authToken: TOKEN },
    storage: { path: join(dir, 'state.sqlite') },
    // No watermark hold: each test's spans are one burst, judged as soon as they arrive.
    judge: { tickIntervalMs: 100, watermark: { maxHoldMs: 0 } },
    // The receiver listens on loopback, which webhooks may reach only when allowed.
    webhookDelivery: { allowAddresses: ['127.0.0.1'] },
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

interface Compact {
  runId: string;
  revision: string;
  state: string;
  verdict: string;
  action: string;
  reason: string;
  samples: { baseline: number; canary: number };
}

/** What Argo's web provider does at every measurement: PUT the revision's run and read the verdict. */
async function gate(revision: string, body?: object): Promise<{ status: number; verdict: Compact }> {
  const response = await fetch(runUrl(revision), {
    method: 'PUT',
    headers: body ? json : auth,
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, verdict: (await response.json()) as Compact };
}

async function untilVerdict(revision: string, wanted: string): Promise<Compact> {
  for (let i = 0; i < 200; i += 1) {
    const { verdict } = await gate(revision);
    if (verdict.verdict === wanted) return verdict;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `run ${revision} never became ${wanted}: ${JSON.stringify((await gate(revision)).verdict)}`,
  );
}

/**
 * One rollout's traffic over OTLP/gRPC: the baseline and the canary version, healthy or regressing, sent over
 * MIN_ERROR_BLOCKS judge ticks as exporters send it (the error rate's variance comes from per-tick blocks).
 */
async function traffic(
  revision: string,
  canaryVersion: string,
  regressing: boolean,
  seed: number,
): Promise<void> {
  const exporter = traceExporter('grpc', { grpcUrl: `http://127.0.0.1:${sidecar.ports.grpc}`, httpUrl: '' });
  const baseline = armSpans({ version: '1.0.0', count: 4000, medianMs: 50, errorRate: 0 }, seed);
  const canary = armSpans(
    { version: canaryVersion, count: 1000, medianMs: regressing ? 65 : 50, errorRate: regressing ? 0.2 : 0 },
    seed + 1,
  );
  const judged = judgedRequests(sidecar.ports.api, 'test/checkout', revision, auth);
  const settled = async (total: number) =>
    (await judged(total)) || (await gate(revision)).verdict.state !== 'running';
  expect(await exportTickByTick(exporter, [baseline, canary], MIN_ERROR_BLOCKS, settled)).toBe(true);
  await exporter.shutdown();
}

describe('analysis definitions', () => {
  it('requires the bearer token on /api but not on health and metrics', async () => {
    expect((await fetch(`${api}/api/v1/analyses`)).status).toBe(401);
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
    expect((await fetch(`${api}/metrics`)).status).toBe(200);
  });

  it('lists the analysis defined in the config, with no run until a rollout starts one', async () => {
    const body = (await (await fetch(`${api}/api/v1/analyses`, { headers: auth })).json()) as {
      analyses: Array<{ id: string; source: string; latestRun: unknown }>;
    };
    expect(body.analyses).toEqual([expect.objectContaining({ id: 'test/checkout', source: 'config' })]);
    expect((await fetch(runUrl('nope'), { headers: auth })).status).toBe(404);
  });

  it('answers 400 listing every field problem, 409 for an existing id, 404 for an unknown one', async () => {
    const bad = await fetch(`${api}/api/v1/analyses`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ id: 'x', variant: {}, baseline: 'a', canary: 'a', judge: { alpha: 2 } }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { problems: string[] }).problems).toEqual(
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
    expect([conflict.status, ((await conflict.json()) as { error: string }).error]).toEqual([
      409,
      'ANALYSIS_EXISTS',
    ]);
    expect((await fetch(`${api}/api/v1/analyses/nope`, { headers: auth })).status).toBe(404);
    const replaceConfig = await fetch(`${api}/api/v1/analyses/test%2Fcheckout`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify(analysis('test/checkout')),
    });
    expect([replaceConfig.status, ((await replaceConfig.json()) as { error: string }).error]).toEqual([
      409,
      'ANALYSIS_FROM_CONFIG',
    ]);
  });

  it('creates with PUT, replaces, starts a run, and deletes an API analysis (aborting its run)', async () => {
    const url = `${api}/api/v1/analyses/made-by-api`;
    const put = (body: object) => fetch(url, { method: 'PUT', headers: json, body: JSON.stringify(body) });
    const { id: _id, ...withoutId } = analysis('made-by-api');
    expect((await put(withoutId)).status).toBe(201);
    expect((await put({ ...withoutId, canary: '3.0.0' })).status).toBe(200);
    const started = await fetch(`${url}/runs/abc123`, { method: 'PUT', headers: auth });
    expect(started.status).toBe(201);
    const run = (await started.json()) as Compact;
    expect(started.headers.get('location')).toBe(`/api/v1/runs/${run.runId}`);
    const document = (await (await fetch(`${api}/api/v1/runs/${run.runId}`, { headers: auth })).json()) as {
      stages: Array<{ canaryShare: number | null }>;
    };
    expect(document.stages).toEqual([
      expect.objectContaining({ number: 1, canaryShare: null, declaredBy: 'api' }),
    ]);
    expect((await fetch(url, { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await fetch(url, { headers: auth })).status).toBe(404);
    const ended = (await (
      await fetch(`${api}/api/v1/runs/${run.runId}`, { headers: auth })
    ).json()) as Compact & {
      endReason: string;
    };
    expect([ended.state, ended.endReason]).toEqual(['aborted', 'analysis deleted']);
  });

  it('refuses a bad run request in one line per problem', async () => {
    const response = await fetch(runUrl('rev-x'), {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ canaryWeight: '150', color: 'blue' }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { problems: string[] }).problems).toEqual([
      expect.stringMatching(/^canaryWeight: expected a weight below 100/),
      expect.stringMatching(/^color: unknown field/),
    ]);
  });
});

describe('runs: one per rollout revision', () => {
  it('judges consecutive rollouts of one analysis each from its own evidence: regressing, healthy, regressing', async () => {
    // Revision a regresses: its run fails.
    expect((await gate('rev-a')).status).toBe(201);
    await traffic('rev-a', '2.0.0', true, 11);
    const failedA = await untilVerdict('rev-a', 'fail');
    expect(failedA).toMatchObject({
      action: 'rollback',
      state: 'finished',
      samples: { baseline: 4000, canary: 1000 },
    });
    expect(failedA.reason).toMatch(/^(latency_p50|latency_p95|errors): /);

    // Revision b (canary version 2.0.1) is healthy: its run starts from empty evidence and passes, although
    // the analysis's previous run failed.
    const b = await gate('rev-b', { canary: '2.0.1' });
    expect([b.status, b.verdict.verdict, b.verdict.samples]).toEqual([
      201,
      'running',
      { baseline: 0, canary: 0 },
    ]);
    await traffic('rev-b', '2.0.1', false, 21);
    const passedB = await untilVerdict('rev-b', 'pass');
    expect(passedB).toMatchObject({ action: 'promote', samples: { baseline: 4000, canary: 1000 } });

    // Revision c regresses again: the stale pass of b does not promote it.
    const c = await gate('rev-c', { canary: '2.0.2' });
    expect([c.status, c.verdict.verdict]).toEqual([201, 'running']);
    await traffic('rev-c', '2.0.2', true, 31);
    expect((await untilVerdict('rev-c', 'fail')).samples).toEqual({ baseline: 4000, canary: 1000 });

    // Every run kept its own verdict and history; polling the latest revision returns its run as it ended.
    expect((await gate('rev-c')).verdict).toMatchObject({ verdict: 'fail', attempt: 1 });
    expect(
      await (await fetch(`${api}/api/v1/runs/${failedA.runId}`, { headers: auth })).json(),
    ).toMatchObject({
      verdict: 'fail',
      revision: 'rev-a',
    });
    const runs = (await (
      await fetch(`${api}/api/v1/analyses/test%2Fcheckout/runs`, { headers: auth })
    ).json()) as {
      runs: Compact[];
    };
    expect(runs.runs.map((run) => [run.revision, run.verdict])).toEqual([
      ['rev-c', 'fail'],
      ['rev-b', 'pass'],
      ['rev-a', 'fail'],
    ]);
    const history = (await (
      await fetch(`${api}/api/v1/runs/${passedB.runId}/history`, { headers: auth })
    ).json()) as { history: Array<{ verdict: string; runId: string }> };
    expect(history.history.map((entry) => [entry.runId, entry.verdict])).toEqual([[passedB.runId, 'pass']]);

    // Each verdict change reached the webhook receiver as a signed CloudEvent naming its run and revision.
    await receiver.received(3);
    const events = receiver.requests.map((request) => {
      expect(request.headers['content-type']).toBe('application/cloudevents+json');
      expect(
        verifyWebhookSignature(
          WEBHOOK_SECRET,
          request.body,
          String(request.headers['x-canary-judge-signature']),
        ).ok,
      ).toBe(true);
      return JSON.parse(request.body) as { subject: string; data: Compact };
    });
    expect(events.map((event) => [event.subject, event.data.revision, event.data.verdict])).toEqual([
      ['test/checkout', 'rev-a', 'fail'],
      ['test/checkout', 'rev-b', 'pass'],
      ['test/checkout', 'rev-c', 'fail'],
    ]);

    const text = await (await fetch(`${api}/metrics`)).text();
    expect(text).toContain('canary_judge_analysis_verdict{analysis="test/checkout",verdict="fail"} 1');
    expect(text).toContain('canary_judge_arm_requests{analysis="test/checkout",arm="canary"} 1000');
  });

  it('serves the full document with evidence per stage, and aborts a run on DELETE', async () => {
    await gate('rev-d', { canary: '2.0.3', canaryWeight: '20' });
    const declared = await fetch(`${runUrl('rev-d')}/stages`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ canaryShare: 0.5 }),
    });
    expect(declared.status).toBe(200);
    const full = (await (await fetch(runUrl('rev-d'), { headers: auth })).json()) as {
      stage: number;
      stages: Array<{ number: number; canaryShare: number; declaredBy: string }>;
    };
    expect(full.stage).toBe(2);
    expect(full.stages.map((stage) => [stage.number, stage.canaryShare, stage.declaredBy])).toEqual([
      [1, 0.2, 'api'],
      [2, 0.5, 'api'],
    ]);
    const aborted = await fetch(runUrl('rev-d'), { method: 'DELETE', headers: auth });
    expect(((await aborted.json()) as Compact).state).toBe('aborted');
    const again = await fetch(`${runUrl('rev-d')}/stages`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ canaryWeight: 60 }),
    });
    expect([again.status, ((await again.json()) as { error: string }).error]).toEqual([409, 'RUN_ENDED']);
  });
});
