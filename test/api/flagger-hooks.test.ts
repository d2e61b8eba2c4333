// Flagger driving the real sidecar through the SHIPPED deploy/flagger/canary.yaml (every webhook canary-judge
// offers) and deploy/flagger/analysis.json, with the API token of deploy/kubernetes/secret.yaml.
//
// Flagger's side is transcribed from fluxcd/flagger at commit 15bd6ad555e6c935da55f0ab95977be74c149bd6 in
// test/support/flagger-scheduler.ts: pkg/controller/scheduler.go advanceCanary (per tick: rollback hooks,
// failed-checks threshold, pre-rollout or rollout hooks, confirm-traffic-increase, then the weight increase or
// confirm-promotion), pkg/controller/scheduler_hooks.go (a refused confirm hook holds, a refused rollout or
// pre-rollout hook counts one failed check, cumulatively; a rollback hook answering 200 rolls back at once) and
// pkg/controller/webhook.go (POST {name, namespace, phase, checksum, metadata}; only a status <= 202 succeeds).
//
// Traffic: real OTel SDK spans through the real OTLP/gRPC exporter from the primary (checkout-primary) and the
// canary (checkout) Deployments, at the weight Flagger set at the previous tick, one analysis interval at a
// time on a fake clock shared with the sidecar; the judge ticks once per interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, parseYamlDocuments, readText } from '../deploy/deploy-files.js';
import { FlaggerCanary, type CanaryResource } from '../support/flagger-scheduler.js';
import { startJudgingSidecar, withTestMetrics, type JudgingSidecar } from '../support/judging-sidecar.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { flowStepTraffic, type PodProfile } from '../support/rollout-traffic.js';

const shippedCanary = parseYamlDocuments('deploy/flagger/canary.yaml')[0] as CanaryResource;
const shipped = JSON.parse(readText('deploy/flagger/analysis.json')) as Record<string, unknown>;
const secret = parseYamlDocuments('deploy/kubernetes/secret.yaml')[0];
const API_TOKEN = at(secret, 'stringData', 'api-token') as string;
const ANALYSIS_ID = encodeURIComponent(shipped.id as string);
/** Requests per analysis interval over both arms: enough for a weight step to pass on one interval. */
const REQUESTS_PER_INTERVAL = 7_000;

let judging: JudgingSidecar;
beforeAll(async () => {
  judging = await startJudgingSidecar({ analyses: [withTestMetrics(shipped)], apiToken: API_TOKEN });
});
afterAll(async () => judging?.stop());

const deployment = (name: string, medianMs = 50, errorRate = 0.001): PodProfile => ({
  resource: { 'service.name': 'checkout', 'k8s.deployment.name': name },
  medianMs,
  errorRate,
});
const healthy = () => deployment('checkout');

function flagger(canary: CanaryResource, revision: string): FlaggerCanary {
  // The one substitution: the cluster Service's address becomes this sidecar's loopback address.
  const address = (url: string) => url.replace(/^https?:\/\/[^/]+/, judging.apiUrl);
  return new FlaggerCanary(structuredClone(canary), revision, address, () => judging.now());
}

interface Tick {
  phase: string;
  weight: number;
  failedChecks: number;
  hooks: string[];
}

let seed = 1;
/**
 * Ticks the Canary until it has Succeeded or Failed (or `until` says stop); after each tick one interval of
 * traffic flows at the weight then set (none at weight 0: no run takes the primary's traffic alone), and the
 * judge ticks.
 */
async function run(
  canary: FlaggerCanary,
  canaryAt: (weight: number) => PodProfile,
  until: (tick: Tick) => boolean = (tick) => tick.phase === 'Succeeded' || tick.phase === 'Failed',
  requests = REQUESTS_PER_INTERVAL,
): Promise<Tick[]> {
  const ticks: Tick[] = [];
  for (let i = 0; i < 40; i++) {
    const before = canary.calls.length;
    await canary.tick();
    const { phase, canaryWeight: weight, failedChecks } = canary.status;
    const hooks = canary.calls.slice(before).map((call) => `${call.type} ${call.status}`);
    ticks.push({ phase, weight, failedChecks, hooks });
    if (until(ticks[ticks.length - 1])) return ticks;
    const fromMs = judging.now();
    await flowStepTraffic(judging, {
      baseline: deployment('checkout-primary'),
      canary: canaryAt(weight),
      requests: weight > 0 ? requests : 0,
      canaryShare: weight / 100,
      window: { startMs: fromMs, endMs: fromMs + canary.intervalMs },
      seed: (seed += 2 * MIN_ERROR_BLOCKS),
    });
  }
  throw new Error(`the canary did not finish: ${JSON.stringify(ticks.at(-1))}`);
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${judging.apiUrl}${path}`, {
    headers: { Authorization: `Bearer ${API_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

interface RunDocument {
  runId: string;
  attempt: number;
  revision: string;
  state: string;
  verdict: string;
  endReason: string | null;
  stages: Array<{
    canaryShare: number | null;
    declaredBy: string;
    trafficSplit: { checked: boolean } | null;
  }>;
  trafficSplit: { checked: boolean; mismatch: boolean } | null;
}
const runOf = (checksum: string) => api<RunDocument>(`/api/v1/analyses/${ANALYSIS_ID}/runs/${checksum}`);
const passesOf = async (runId: string) =>
  (await api<{ history: Array<{ verdict: string }> }>(`/api/v1/runs/${runId}/history`)).history.filter(
    (entry) => entry.verdict === 'pass',
  ).length;

/** The hooks of a tick that ramps one step: no rollback, rollout (or pre-rollout) passes, traffic increase confirmed. */
const step = (first = false) => [
  'rollback 412',
  first ? 'pre-rollout 200' : 'rollout 200',
  'confirm-traffic-increase 200',
];

describe('the shipped Canary', () => {
  it('calls every hook canary-judge offers, with the step schedule copied into the metadata', () => {
    const types = shippedCanary.spec.analysis.webhooks.map((hook) => hook.type);
    expect(types.sort()).toEqual(
      [
        'confirm-promotion',
        'confirm-traffic-increase',
        'event',
        'post-rollout',
        'pre-rollout',
        'rollback',
        'rollout',
      ].sort(),
    );
    const canary = flagger(shippedCanary, 'c0');
    const weights: number[] = [];
    for (let w = 0; w < canary.maxWeight();) weights.push((w = Math.min(100, w + canary.nextStepWeight(w))));
    expect(weights).toEqual([10, 20, 30, 40, 50]);
  });
});

describe('Flagger against the sidecar', () => {
  const canary = flagger(shippedCanary, '5f8d6c7b9a');

  it('a healthy canary passes every weight step 10 -> 50% (no split failure) and is promoted', async () => {
    canary.deploy('7c9e8d6f5b');
    const ticks = await run(canary, healthy);
    expect(ticks.map((tick) => tick.hooks)).toEqual([
      [], // new revision detected: scaled up, Progressing
      step(true), // weight 0 -> 10
      step(), // 10% passed -> 20
      step(),
      step(),
      step(), // 40% passed -> 50
      [...step(), 'confirm-promotion 200'], // 50% passed: promoted
      [], // traffic back to the primary
      ['post-rollout 200'],
    ]);
    expect(canary.weights).toEqual([10, 20, 30, 40, 50, 0]);
    expect(canary.status.phase).toBe('Succeeded');
    const document = await runOf('7c9e8d6f5b');
    expect(document.verdict).toBe('pass');
    // Every step's split checked against its own share (after the settling seconds), none mismatched.
    expect(document.trafficSplit).toMatchObject({ checked: true, mismatch: false });
    expect(document.stages.map((stage) => [stage.canaryShare, stage.trafficSplit?.checked])).toEqual([
      [null, false], // weight 0, before the first step: no share declared, so no split test
      ...[0.1, 0.2, 0.3, 0.4, 0.5].map((share) => [share, true]),
    ]);
    expect(await passesOf(document.runId)).toBe(5);
  });

  it('the same ramp with a regression from 30%: the new checksum gets a new run, which fails, and the rollback hook rolls back at once', async () => {
    canary.deploy('9a7b5c8d6e');
    const ticks = await run(canary, (weight) =>
      weight >= 30 ? deployment('checkout', 80, 0.08) : healthy(),
    );
    expect(ticks.map((tick) => tick.hooks)).toEqual([
      [],
      step(true),
      step(),
      step(), // 20% passed -> 30: the regression starts
      ['rollback 200', 'post-rollout 200'], // judged fail in that interval: rolled back on the next tick
    ]);
    expect(ticks.at(-1)).toMatchObject({ phase: 'Failed', weight: 0 });
    // Rolled back by the rollback hook, not by the failed-checks threshold (no check ever failed).
    expect(Math.max(...ticks.map((tick) => tick.failedChecks))).toBe(0);
    const failed = await runOf('9a7b5c8d6e');
    expect([failed.verdict, failed.stages.length]).toEqual(['fail', 4]);
    expect(failed.runId).not.toBe((await runOf('7c9e8d6f5b')).runId);
    expect((await runOf('7c9e8d6f5b')).verdict).toBe('pass');
  });

  it('after the rollback, a new checksum starts a new run; a revision replaced mid-analysis leaves its run aborted, never reused', async () => {
    canary.deploy('b1c2d3e4f5');
    await run(canary, healthy, (tick) => tick.weight === 20);
    const interrupted = await runOf('b1c2d3e4f5');
    expect([interrupted.state, interrupted.verdict]).toEqual(['running', 'running']);
    canary.deploy('c2d3e4f5a6');
    const ticks = await run(canary, healthy);
    // The tick after the new pod template: hasCanaryRevisionChanged restarts the analysis at weight 0, before
    // any hook; the next tick's hooks carry the new checksum.
    expect(ticks[0]).toMatchObject({ hooks: [], weight: 0, phase: 'Progressing' });
    expect(ticks[1].hooks).toEqual(step(true));
    expect(canary.calls.at(-1)?.checksum).toBe('c2d3e4f5a6');
    expect(canary.status.phase).toBe('Succeeded');
    const replaced = await runOf('b1c2d3e4f5');
    expect([replaced.state, replaced.endReason]).toEqual(['aborted', 'superseded by revision c2d3e4f5a6']);
    const next = await runOf('c2d3e4f5a6');
    expect([next.verdict, next.stages.length]).toEqual(['pass', 6]);
  });

  it('a revision deployed again after others (a revert) is judged anew by a new attempt, not by its old fail', async () => {
    canary.deploy('9a7b5c8d6e'); // the revision that failed two tests ago, now healthy (its dependency fixed)
    const ticks = await run(canary, healthy);
    expect(ticks[1].hooks).toEqual(step(true)); // pre-rollout: a new analysis of the revision
    expect(canary.status.phase).toBe('Succeeded');
    const again = await runOf('9a7b5c8d6e');
    expect([again.attempt, again.verdict]).toEqual([2, 'pass']);
  });

  it('a weight step that has not passed yet holds the weight (412, no failed check) until it passes', async () => {
    canary.deploy('d3e4f5a6b7');
    // A quarter of the traffic: the 10% step needs several intervals of evidence.
    const ticks = await run(canary, healthy, (tick) => tick.weight === 20, REQUESTS_PER_INTERVAL / 4);
    const held = ['rollback 412', 'rollout 200', 'confirm-traffic-increase 412'];
    expect(ticks[1].hooks).toEqual(step(true));
    const holding = ticks.slice(2, -1);
    expect(holding.length).toBeGreaterThan(0);
    expect(holding.map((tick) => [tick.weight, tick.failedChecks, ...tick.hooks])).toEqual(
      holding.map(() => [10, 0, ...held]),
    );
    expect(ticks.at(-1)?.hooks).toEqual(step());
    const document = await runOf('d3e4f5a6b7');
    expect(document.stages.map((stage) => stage.canaryShare)).toEqual([null, 0.1, 0.2]);
  });

  it('every refused hook counts (a wrong token: 401 > 202): failed checks add up to the threshold and the canary is rolled back', async () => {
    const wrong = structuredClone(shippedCanary);
    for (const hook of wrong.spec.analysis.webhooks)
      hook.metadata = { ...hook.metadata, token: 'not-the-api-token' };
    const locked = flagger(wrong, 'd4e5f6a7b8');
    locked.deploy('e5f6a7b8c9');
    const ticks = await run(locked, healthy);
    expect(ticks.map((tick) => [tick.failedChecks, ...tick.hooks])).toEqual([
      [0],
      [1, 'rollback 401', 'pre-rollout 401'],
      [2, 'rollback 401', 'pre-rollout 401'],
      [3, 'rollback 401', 'pre-rollout 401'],
      [0, 'rollback 401', 'post-rollout 401'], // threshold 3 reached at the start of the tick: rolled back
    ]);
    expect(locked.weights).toEqual([0]);
    const response = await fetch(`${judging.apiUrl}/api/v1/analyses/${ANALYSIS_ID}/runs/e5f6a7b8c9`, {
      headers: { Authorization: `Bearer ${API_TOKEN}` },
    });
    expect(response.status).toBe(404); // no run was ever started
  });

  it('without a step schedule in the metadata, the event hook’s "Advance ... canary weight N" declares each stage', async () => {
    const plain = structuredClone(shippedCanary);
    for (const hook of plain.spec.analysis.webhooks) {
      const { stepWeight: _step, maxWeight: _max, ...rest } = hook.metadata ?? {};
      hook.metadata = rest;
    }
    const eventful = flagger(plain, 'f6a7b8c9d0');
    eventful.deploy('a7b8c9d0e1');
    // Up to 30%: each weight the event hook reported had to pass before the next increase.
    const ticks = await run(eventful, healthy, (tick) => tick.weight === 30);
    expect(ticks.map((tick) => tick.hooks)).toEqual([[], step(true), step(), step()]);
    const document = await runOf('a7b8c9d0e1');
    expect(document.stages.map((stage) => [stage.canaryShare, stage.declaredBy])).toEqual([
      [null, 'flagger'],
      ...[0.1, 0.2, 0.3].map((share) => [share, 'flagger']),
    ]);
    expect(await passesOf(document.runId)).toBe(2);
  });
});
