// canary-judge's Kayenta-compatible endpoints driven by the two Kayenta clients, against the real sidecar:
// - Argo Rollouts' `kayenta` metric provider with the SHIPPED deploy/argo-rollouts/kayenta-analysis-template.yaml
//   and rollout-kayenta.yaml (argoproj/argo-rollouts metricproviders/kayenta/kayenta.go at
//   9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d, transcribed in test/support/argo-kayenta-provider.ts: the config
//   lookup with its configurationAccountName quirk, the POST body, polling every 15 s, the score mapped by the
//   thresholds), inside Argo's measurement loop (analysis/analysis.go, test/support/argo-analysis.ts);
// - Spinnaker's canary stage (spinnaker/orca orca-kayenta at 2fdb327a9f67345c4919e1503ff5119fa3c31caf,
//   transcribed in test/support/spinnaker-kayenta-stage.ts: config id by name and application, the run request,
//   MonitorKayentaCanaryTask's reading of the result and its SUCCEEDED/TERMINAL/RUNNING decision).
// Traffic: real OTel SDK spans through the real OTLP/gRPC exporter, on a fake clock shared with the sidecar.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildRolloutArguments,
  mergeArgs,
  resolveSecretArgs,
  runMetric,
  validateMetric,
  type Argument,
  type Metric,
} from '../support/argo-analysis.js';
import { KayentaMetricProvider } from '../support/argo-kayenta-provider.js';
import { at, parseYamlDocuments, readText } from '../deploy/deploy-files.js';
import { startJudgingSidecar, withTestMetrics, type JudgingSidecar } from '../support/judging-sidecar.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { flowStepTraffic, type PodProfile } from '../support/rollout-traffic.js';
import { SpinnakerKayentaStage, type SpinnakerScope } from '../support/spinnaker-kayenta-stage.js';

const template = parseYamlDocuments('deploy/argo-rollouts/kayenta-analysis-template.yaml')[0] as {
  spec: { args: Argument[]; metrics: Metric[] };
};
const rollout = parseYamlDocuments('deploy/argo-rollouts/rollout-kayenta.yaml')[0];
const steps = at(rollout, 'spec', 'strategy', 'canary', 'steps') as Array<{
  setWeight?: number;
  analysis?: { args: Argument[] };
}>;
const WEIGHT = steps.find((step) => step.setWeight !== undefined)?.setWeight as number;
const STEP_ARGS = steps.find((step) => step.analysis)?.analysis?.args as Argument[];
const secret = parseYamlDocuments('deploy/kubernetes/secret.yaml')[0];
const API_TOKEN = at(secret, 'stringData', 'api-token') as string;
const shipped = JSON.parse(readText('deploy/argo-rollouts/analysis.json')) as Record<string, unknown>;
const VARIANT = (shipped.variant as { attribute: string }).attribute;
/** Spinnaker's analysis: server groups told apart by service.version (any attribute would do). */
const spinnakerAnalysis = {
  ...withTestMetrics(shipped),
  id: 'checkout-canary',
  variant: { attribute: 'service.version' },
  baseline: 'baseline-version',
  canary: 'canary-version',
};
const REQUESTS_PER_15_S = 4_000;

let judging: JudgingSidecar;
beforeAll(async () => {
  judging = await startJudgingSidecar({
    analyses: [withTestMetrics(shipped), spinnakerAnalysis],
    apiToken: API_TOKEN,
  });
});
afterAll(async () => judging?.stop());

const pod = (resource: Record<string, string>, medianMs = 50, errorRate = 0.001): PodProfile => ({
  resource: { 'service.name': 'checkout', ...resource },
  medianMs,
  errorRate,
});

let seed = 1;
async function traffic(
  fromMs: number,
  toMs: number,
  baseline: PodProfile,
  canary: PodProfile,
  share: number,
  requests: number,
) {
  await flowStepTraffic(judging, {
    baseline,
    canary,
    requests,
    canaryShare: share,
    window: { startMs: fromMs, endMs: toMs },
    seed: (seed += 2 * MIN_ERROR_BLOCKS),
  });
}

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${judging.apiUrl}${path}`, { ...init, headers: { Authorization: `Bearer ${API_TOKEN}` } });

/** The shipped Rollout's analysis step, measured by Argo's kayenta provider until the metric completes. */
async function argoStep(
  hashes: { stable: string; canary: string },
  options: {
    regressing?: boolean;
    trafficPer15s?: number;
    analysisId?: string;
    during?: () => Promise<void>;
  } = {},
) {
  const incoming = buildRolloutArguments(
    [...STEP_ARGS, ...(options.analysisId ? [{ name: 'analysis-id', value: options.analysisId }] : [])],
    { latest: hashes.canary, stable: hashes.stable },
  );
  const merged = mergeArgs(incoming, template.spec.args);
  const args = () =>
    resolveSecretArgs(merged, (name, key) =>
      name === at(secret, 'metadata', 'name') ? (at(secret, 'stringData', key) as string) : undefined,
    ).map((arg) =>
      // The one substitution: the cluster Service's address becomes this sidecar's loopback address.
      arg.name === 'canary-judge-url' ? { ...arg, value: judging.apiUrl } : arg,
    );
  const startedAtMs = judging.now();
  const provider = new KayentaMetricProvider(startedAtMs);
  const outcome = await runMetric(
    template.spec.metrics[0],
    args,
    provider,
    startedAtMs,
    async (fromMs, toMs) => {
      await options.during?.();
      const canary = options.regressing
        ? pod({ [VARIANT]: hashes.canary }, 80, 0.08)
        : pod({ [VARIANT]: hashes.canary });
      await traffic(
        fromMs,
        toMs,
        pod({ [VARIANT]: hashes.stable }),
        canary,
        WEIGHT / 100,
        options.trafficPer15s ?? REQUESTS_PER_15_S,
      );
    },
  );
  return { ...outcome, calls: provider.calls, startedAtMs };
}

describe("Argo Rollouts' kayenta provider with the shipped template", () => {
  it('validates, and judges a healthy revision: lookup (storage account as configurationAccountName), POST, polls, score 100 -> Successful', async () => {
    expect(validateMetric(template.spec.metrics[0])).toBeUndefined();
    const hashes = { stable: '5b9c7d6f8e', canary: '6d4f8b7c9d' };
    const outcome = await argoStep(hashes);
    expect(outcome.phase).toBe('Successful');
    const [measurement] = outcome.result.measurements;
    expect(measurement.value).toBe('100');
    const base = `${judging.apiUrl}/kayenta/token/${API_TOKEN}`;
    const [lookup, start, ...polls] = outcome.calls;
    expect(lookup).toEqual({
      method: 'GET',
      url: `${base}/canaryConfig?application=checkout&configurationAccountName=canary-judge`,
      body: undefined,
    });
    expect(start.url).toBe(
      `${base}/canary/checkout-rollout?application=checkout&metricsAccountName=canary-judge&configurationAccountName=canary-judge&storageAccountName=canary-judge`,
    );
    const iso = new Date(outcome.startedAtMs).toISOString().replace('.000Z', 'Z');
    const scope = (value: string) => ({ scope: value, location: 'shop', step: 60, start: iso, end: iso });
    expect(JSON.parse(start.body as string)).toEqual({
      scopes: { default: { controlScope: scope(hashes.stable), experimentScope: scope(hashes.canary) } },
      thresholds: { pass: 95, marginal: 75 },
    });
    const executionId = measurement.metadata?.canaryExecutionId;
    expect(polls.map((call) => call.url)).toEqual(polls.map(() => `${base}/canary/${executionId}`));
    // The execution is the run of the canary hash, with the two hashes as its arms.
    const run = await (await api(`/api/v1/analyses/checkout-rollout/runs/${hashes.canary}`)).json();
    expect(run).toMatchObject({ verdict: 'pass', revision: hashes.canary, stage: 1 });
  });

  it('a new revision (new hash) is a new execution of a new run; a regression scores 0 -> Failed', async () => {
    const outcome = await argoStep({ stable: '6d4f8b7c9d', canary: '7f5c9d8b6a' }, { regressing: true });
    expect([outcome.phase, outcome.result.measurements[0].value]).toEqual(['Failed', '0']);
    const [previous, regressed] = await Promise.all(
      ['6d4f8b7c9d', '7f5c9d8b6a'].map(
        async (hash) =>
          (await api(`/api/v1/analyses/checkout-rollout/runs/${hash}`)).json() as Promise<{
            runId: string;
            verdict: string;
          }>,
      ),
    );
    expect([previous.verdict, regressed.verdict]).toEqual(['pass', 'fail']);
    expect(regressed.runId).not.toBe(previous.runId);
  });

  it.each([
    ['continue', '75', 'Inconclusive', '8a6d0e9c71'],
    ['rollback', '0', 'Failed', '8a6d0e9c72'],
    ['promote', '100', 'Successful', '8a6d0e9c73'],
  ])(
    'no decision by the time limit: inconclusive + %s scores %s -> %s',
    async (onInconclusive, score, phase, canary) => {
      const id = `checkout-rollout-${onInconclusive}`;
      const response = await fetch(`${judging.apiUrl}/api/v1/analyses/${id}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${API_TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          ...withTestMetrics(shipped),
          id,
          judge: { ...(shipped.judge as object), onInconclusive },
        }),
      });
      expect(response.status).toBe(201);
      const outcome = await argoStep({ stable: '5b9c7d6f8e', canary }, { analysisId: id, trafficPer15s: 0 });
      expect([outcome.phase, outcome.result.measurements[0].value]).toEqual([phase, score]);
      // Polled every 15 s while `running`; complete once the run's 900 s were up.
      const polls = outcome.calls.length - 2;
      expect(polls).toBe(900 / 15);
    },
  );

  it('an execution whose run was aborted completes without a score (an Error, "Missing Score"); the retried measurement judges the revision anew', async () => {
    const canary = '9b7e1f0d8c';
    let intervals = 0;
    const outcome = await argoStep(
      { stable: '5b9c7d6f8e', canary },
      {
        trafficPer15s: 0,
        // After the POST (the first call comes before it), before the first poll.
        during: async () => {
          if ((intervals += 1) !== 2) return;
          expect(
            (await api(`/api/v1/analyses/checkout-rollout/runs/${canary}`, { method: 'DELETE' })).status,
          ).toBe(200);
        },
      },
    );
    const [aborted, retried] = outcome.result.measurements;
    expect([aborted.phase, aborted.message]).toEqual(['Error', 'Missing Score']);
    // Argo retries the measurement: its POST asks for the aborted revision again, which starts a new attempt
    // (run-book.ts startOutcome); with no traffic it runs to the time limit (inconclusive + rollback: 0).
    expect([retried.phase, retried.value]).toEqual(['Failed', '0']);
    const runs = (await (await api('/api/v1/analyses/checkout-rollout/runs')).json()) as {
      runs: Array<{ revision: string; attempt: number; state: string }>;
    };
    expect(runs.runs.filter((run) => run.revision === canary).map((run) => [run.attempt, run.state])).toEqual(
      [
        [2, 'finished'],
        [1, 'aborted'],
      ],
    );
  });
});

describe("Spinnaker's Kayenta canary stage", () => {
  const spinnakerScope = (version: string, startMs: number, endMs: number): SpinnakerScope => ({
    scope: version,
    location: 'us-east-1',
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    step: 60,
    extendedScopeParams: {},
  });

  async function stage(versions: { baseline: string; canary: string }, regressing = false) {
    const startMs = judging.now();
    const spinnaker = new SpinnakerKayentaStage(
      `${judging.apiUrl}/kayenta/token/${API_TOKEN}`,
      {
        application: 'checkout',
        canaryConfigName: 'checkout-canary',
        metricsAccountName: 'canary-judge',
        storageAccountName: 'canary-judge',
        scopes: {
          default: {
            controlScope: spinnakerScope(versions.baseline, startMs, startMs + 3_600_000),
            experimentScope: spinnakerScope(versions.canary, startMs, startMs + 3_600_000),
          },
        },
        scoreThresholds: { pass: 95, marginal: 75 },
      },
      '01JF0PIPELINE',
    );
    expect(await spinnaker.resolveConfigId()).toBe('checkout-canary');
    await spinnaker.runCanary();
    // MonitorKayentaCanaryTask runs every second; the baseline and canary server groups take equal traffic.
    for (let i = 0; i < 60; i++) {
      const monitored = await spinnaker.monitor();
      if (monitored.status !== 'RUNNING') return monitored;
      const fromMs = judging.now();
      const canary = pod(
        { 'service.version': versions.canary },
        regressing ? 80 : 50,
        regressing ? 0.08 : 0.001,
      );
      await traffic(fromMs, fromMs + 1000, pod({ 'service.version': versions.baseline }), canary, 0.5, 1_000);
    }
    throw new Error('the canary stage never completed');
  }

  it('finds the config by name and application, runs it, and succeeds on a pass (score 100, no warning)', async () => {
    expect(await stage({ baseline: '1.4.2', canary: '1.5.0' })).toEqual({
      status: 'SUCCEEDED',
      canaryScore: 100,
      warnings: [],
    });
  });

  it('is TERMINAL on a fail (score 0 <= marginal) and on a canceled execution', async () => {
    expect(await stage({ baseline: '1.5.0', canary: '1.5.1' }, true)).toMatchObject({
      status: 'TERMINAL',
      canaryScore: 0,
    });
    const executions = new SpinnakerKayentaStage(
      `${judging.apiUrl}/kayenta/token/${API_TOKEN}`,
      {
        application: 'checkout',
        canaryConfigName: 'checkout-canary',
        scopes: {
          default: {
            controlScope: spinnakerScope('1.5.0', judging.now(), judging.now()),
            experimentScope: spinnakerScope('1.5.2', judging.now(), judging.now()),
          },
        },
        scoreThresholds: { pass: 95, marginal: 75 },
      },
      '01JF0PIPELINE2',
    );
    await executions.resolveConfigId();
    await executions.runCanary();
    expect(await executions.monitor()).toEqual({ status: 'RUNNING' });
    expect((await api('/api/v1/analyses/checkout-canary/runs/1.5.2', { method: 'DELETE' })).status).toBe(200);
    expect(await executions.monitor()).toEqual({ status: 'TERMINAL' });
  });
});
