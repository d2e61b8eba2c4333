// Argo Rollouts' `web` metric provider driving the real sidecar through the SHIPPED deploy/argo-rollouts files
// (analysis-template.yaml, rollout.yaml, analysis.json) and the API token of deploy/kubernetes/secret.yaml.
//
// Transcribed from argoproj/argo-rollouts at commit 9f8d111d8f8e3e88b6d7f8bbdf62fd3cd863ef9d (see the support
// files for the functions): metricproviders/webmetric/webmetric.go (request building, non-2xx = Error),
// utils/evaluate/evaluate.go (conditions; Inconclusive when neither holds), utils/template/template.go and
// utils/analysis/factory.go (argument templating with strconv.Quote escaping, podTemplateHashValue, metric
// validation), analysis/analysis.go (the measurement loop: generateMetricTasks, runMeasurements,
// assessMetricStatus with count, consecutiveSuccessLimit, failureLimit, inconclusiveLimit and
// consecutiveErrorLimit), and rollout/canary.go + rollout/analysis.go (an inline step analysis completes its
// step when Successful, aborts the rollout when Failed or Error, pauses it when Inconclusive).
//
// Traffic: real OTel SDK spans through the real OTLP/gRPC exporter, from a stable and a canary pod told apart by
// the resource attribute the Collector's k8sattributes processor sets from the rollouts-pod-template-hash label.
// Time: one fake clock for Argo's measurement schedule and the sidecar; the judge ticks once per interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildRolloutArguments,
  goQuoteInner,
  mergeArgs,
  resolveMetricArgs,
  resolveSecretArgs,
  runMetric,
  validateMetric,
  type Argument,
  type Metric,
  type MetricOutcome,
} from '../support/argo-analysis.js';
import { evaluateResult } from '../support/argo-conditions.js';
import { WebMetricProvider } from '../support/argo-web-provider.js';
import { at, parseYamlDocuments, readText } from '../deploy/deploy-files.js';
import { startJudgingSidecar, withTestMetrics, type JudgingSidecar } from '../support/judging-sidecar.js';
import { MIN_ERROR_BLOCKS } from '../../src/stats/error-blocks.js';
import { flowStepTraffic, type PodProfile } from '../support/rollout-traffic.js';

interface AnalysisTemplate {
  metadata: { name: string };
  spec: { args: Argument[]; metrics: Metric[] };
}
type RolloutStep = {
  setWeight?: number;
  analysis?: { templates: Array<{ templateName: string }>; args: Argument[] };
};

const template = parseYamlDocuments('deploy/argo-rollouts/analysis-template.yaml')[0] as AnalysisTemplate;
const rollout = parseYamlDocuments('deploy/argo-rollouts/rollout.yaml')[0];
const steps = at(rollout, 'spec', 'strategy', 'canary', 'steps') as RolloutStep[];
const secret = parseYamlDocuments('deploy/kubernetes/secret.yaml')[0];
const secretValue = (name: string, key: string): string | undefined =>
  name === at(secret, 'metadata', 'name') ? (at(secret, 'stringData', key) as string | undefined) : undefined;
const shipped = JSON.parse(readText('deploy/argo-rollouts/analysis.json')) as Record<string, unknown>;
const ANALYSIS_ID = shipped.id as string;
const VARIANT = (shipped.variant as { attribute: string }).attribute;
const INTERVAL_MS = 30_000;
const STABLE = '5b9c7d6f8e';
/** Requests per 30 s interval over both arms: enough for a step to pass on one interval of traffic. */
const REQUESTS_PER_INTERVAL = 7_000;

let judging: JudgingSidecar;

beforeAll(async () => {
  judging = await startJudgingSidecar({
    analyses: [withTestMetrics(shipped)],
    apiToken: secretValue('canary-judge', 'api-token') as string,
  });
});
afterAll(async () => judging?.stop());

const pod = (hash: string, medianMs = 50, errorRate = 0.001): PodProfile => ({
  resource: { 'service.name': 'checkout', [VARIANT]: hash },
  medianMs,
  errorRate,
});

interface Revision {
  stable: string;
  canary: string;
  /** The canary's behaviour at a weight (percent); undefined: no traffic at all. */
  canaryAt?: (weight: number) => PodProfile;
  /** Analysis args the Rollout adds (e.g. another analysis-id); the shipped steps' args come first. */
  extraArgs?: Argument[];
}

/** The args of one inline step's AnalysisRun at one measurement, as the controllers resolve them. */
function stepArgs(step: RolloutStep, revision: Revision): () => Argument[] {
  const incoming = buildRolloutArguments([...(step.analysis?.args ?? []), ...(revision.extraArgs ?? [])], {
    latest: revision.canary,
    stable: revision.stable,
  });
  const merged = mergeArgs(incoming, template.spec.args);
  return () =>
    resolveSecretArgs(merged, secretValue).map((arg) =>
      // The one substitution: the cluster's Service address becomes this sidecar's loopback address.
      arg.name === 'canary-judge-url' ? { ...arg, value: judging.apiUrl } : arg,
    );
}

let seed = 1;
/** The world between two measurements: traffic at the step's weight over [from, to), then a judge tick. */
function flowing(revision: Revision, weight: number) {
  return async (fromMs: number, toMs: number) => {
    if (toMs <= fromMs) return;
    await flowStepTraffic(judging, {
      baseline: pod(revision.stable),
      canary: revision.canaryAt?.(weight) ?? pod(revision.canary),
      requests: revision.canaryAt ? Math.round((REQUESTS_PER_INTERVAL * (toMs - fromMs)) / INTERVAL_MS) : 0,
      canaryShare: weight / 100,
      window: { startMs: fromMs, endMs: toMs },
      seed: (seed += 2 * MIN_ERROR_BLOCKS),
    });
  };
}

interface RolloutOutcome {
  status: 'Healthy' | 'Aborted' | 'Paused';
  steps: Array<{ weight: number } & MetricOutcome>;
  requests: WebMetricProvider['requests'];
}

/** rollout/canary.go: setWeight, then an inline analysis that must be Successful before the next step. */
async function rollOut(revision: Revision): Promise<RolloutOutcome> {
  const provider = new WebMetricProvider();
  const outcome: RolloutOutcome = { status: 'Healthy', steps: [], requests: provider.requests };
  let weight = 0;
  for (const step of steps) {
    if (step.setWeight !== undefined) weight = step.setWeight;
    if (!step.analysis) continue;
    const metric = template.spec.metrics[0];
    const result = await runMetric(
      metric,
      stepArgs(step, revision),
      provider,
      judging.now(),
      flowing(revision, weight),
    );
    outcome.steps.push({ weight, ...result });
    if (result.phase === 'Failed' || result.phase === 'Error') return { ...outcome, status: 'Aborted' };
    if (result.phase === 'Inconclusive') return { ...outcome, status: 'Paused' };
  }
  return outcome;
}

async function runDocument(analysisId: string, revision: string) {
  const response = await fetch(`${judging.apiUrl}/api/v1/analyses/${analysisId}/runs/${revision}`, {
    headers: { Authorization: `Bearer ${secretValue('canary-judge', 'api-token')}` },
  });
  return (await response.json()) as {
    runId: string;
    verdict: string;
    state: string;
    stages: Array<{
      canaryShare: number;
      declaredBy: string;
      samples: { canary: number };
      trafficSplit: { checked: boolean } | null;
    }>;
    trafficSplit: { checked: boolean; mismatch: boolean } | null;
  };
}

const measurementPhases = (step: MetricOutcome) => step.result.measurements.map((m) => m.phase);

describe('the shipped AnalysisTemplate', () => {
  const metric = template.spec.metrics[0];

  it('is a valid metric with the recipe: pass completes at once, fail fails at once, running is Inconclusive until count', () => {
    expect(validateMetric(metric)).toBeUndefined();
    expect(metric).toMatchObject({ consecutiveSuccessLimit: 1, failureLimit: 0 });
    expect(metric.inconclusiveLimit).toBe(metric.count);
    expect(metric.consecutiveErrorLimit).toBeUndefined(); // Argo's default: 4
  });

  it('maps every verdict and action canary-judge answers to the documented measurement phase', () => {
    const phase = (verdict: string, action: string) =>
      evaluateResult({ verdict, action, reason: 'x' }, metric).phase;
    expect(phase('pass', 'promote')).toBe('Successful');
    expect(phase('fail', 'rollback')).toBe('Failed');
    expect(phase('running', 'continue')).toBe('Inconclusive');
    expect(phase('inconclusive', 'rollback')).toBe('Failed');
    expect(phase('inconclusive', 'promote')).toBe('Successful');
    expect(phase('inconclusive', 'continue')).toBe('Inconclusive');
    // An answer without a verdict (expr-lang: a missing key is nil) satisfies neither condition.
    expect(evaluateResult({}, metric).phase).toBe('Inconclusive');
    // A body that is not a JSON object cannot be read by the conditions: Error, never Successful.
    expect(evaluateResult('pass', metric).phase).toBe('Error');
  });

  it('templates its args as Argo does: quoted into the JSON, a missing one refused', () => {
    const tricky = 'a"b\\c\nd';
    expect(goQuoteInner(tricky)).toBe('a\\"b\\\\c\\nd');
    const resolved = resolveMetricArgs(metric, [
      { name: 'canary-judge-url', value: 'http://judge:8686' },
      { name: 'analysis-id', value: 'checkout-rollout' },
      { name: 'canary-hash', value: tricky },
      { name: 'stable-hash', value: '5b9c7d6f8e' },
      { name: 'canary-weight', value: '10' },
      { name: 'api-token', value: 'token' },
    ]);
    expect((resolved.provider.web as { jsonBody: unknown }).jsonBody).toEqual({
      baseline: '5b9c7d6f8e',
      canary: tricky,
      canaryWeight: '10',
    });
    expect(() => mergeArgs([], template.spec.args)).toThrow('args.canary-hash was not resolved');
  });
});

describe('Argo Rollouts inline step analyses against the sidecar', () => {
  it('a healthy revision: each step declares its stage, the first pass completes the step at once, the rollout is promoted', async () => {
    const canary = '6d4f8b7c9d';
    const outcome = await rollOut({ stable: STABLE, canary, canaryAt: () => pod(canary) });
    expect(outcome.status).toBe('Healthy');
    expect(outcome.steps.map((step) => [step.weight, step.phase, ...measurementPhases(step)])).toEqual(
      [10, 20, 30, 40, 50].map((weight) => [weight, 'Successful', 'Inconclusive', 'Successful']),
    );
    // What the provider sent: PUT of the canary hash's run, the bearer token from the Secret, JSON arms + weight.
    const first = outcome.requests[0];
    expect(first).toEqual({
      method: 'PUT',
      url: `${judging.apiUrl}/api/v1/analyses/${ANALYSIS_ID}/runs/${canary}`,
      headers: {
        authorization: `Bearer ${secretValue('canary-judge', 'api-token')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ baseline: STABLE, canary, canaryWeight: '10' }),
    });
    // One run for the revision, one stage per weight step, each split as declared.
    const run = await runDocument(ANALYSIS_ID, canary);
    expect(run.verdict).toBe('pass');
    // Every step's split checked against its own share (after the settling seconds), none mismatched.
    expect(run.trafficSplit).toMatchObject({ checked: true, mismatch: false });
    expect(run.stages.map((stage) => [stage.canaryShare, stage.trafficSplit?.checked])).toEqual(
      [0.1, 0.2, 0.3, 0.4, 0.5].map((share) => [share, true]),
    );
    expect(new Set(outcome.requests.map((request) => request.url)).size).toBe(1);
  });

  it('a new revision gets a new run: not promoted by the last pass, and failed at once when it regresses from 30%', async () => {
    const canary = '7f5c9d8b6a';
    const outcome = await rollOut({
      stable: '6d4f8b7c9d',
      canary,
      canaryAt: (weight) => (weight >= 30 ? pod(canary, 80, 0.08) : pod(canary)),
    });
    expect(outcome.status).toBe('Aborted');
    // Its first measurement saw a new, empty run ("running": Inconclusive), not the previous revision's pass.
    expect(outcome.steps[0].result.measurements[0].value).toContain('"verdict":"running"');
    expect(outcome.steps.map((step) => [step.weight, step.phase, ...measurementPhases(step)])).toEqual([
      [10, 'Successful', 'Inconclusive', 'Successful'],
      [20, 'Successful', 'Inconclusive', 'Successful'],
      [30, 'Failed', 'Inconclusive', 'Failed'],
    ]);
    const run = await runDocument(ANALYSIS_ID, canary);
    expect([run.verdict, run.stages.length]).toEqual(['fail', 3]);
    // The revision before keeps its own pass.
    expect((await runDocument(ANALYSIS_ID, '6d4f8b7c9d')).verdict).toBe('pass');
  });

  it('an answer that is not 2xx is an Error measurement, retried after 10 s; five in a row abort the rollout', async () => {
    const outcome = await rollOut({
      stable: STABLE,
      canary: '8a6d0e9c7b',
      extraArgs: [{ name: 'analysis-id', value: 'no-such-analysis' }],
    });
    expect(outcome.status).toBe('Aborted');
    const [step] = outcome.steps;
    expect([step.phase, ...measurementPhases(step)]).toEqual(['Error', ...Array(5).fill('Error')]);
    expect(step.result.measurements[0].message).toBe('received non 2xx response code: 404');
    const times = step.result.measurements.map((m) => m.startedAtMs);
    expect(times.slice(1).map((t, i) => t - times[i])).toEqual([10_000, 10_000, 10_000, 10_000]);
  });
});

describe('a step with no decision', () => {
  // Definitions that differ from the shipped one in the time limit or onInconclusive, selected by the Rollout's
  // analysis-id arg; no traffic reaches the service, so the run stays `running` until one deadline ends it.
  const define = async (id: string, judge: Record<string, unknown>) => {
    const body = { ...withTestMetrics(shipped), id, judge: { ...(shipped.judge as object), ...judge } };
    const response = await fetch(`${judging.apiUrl}/api/v1/analyses/${id}`, {
      method: 'PUT',
      headers: {
        Authorization: `Bearer ${secretValue('canary-judge', 'api-token')}`,
        'Content-Type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
  };
  const metric = template.spec.metrics[0];
  const count = metric.count as number;

  it('is Inconclusive at `count` (never Successful) when Argo’s deadline comes first: the rollout pauses', async () => {
    await define('checkout-rollout-long', { maxDurationSeconds: 3600 });
    const outcome = await rollOut({
      stable: STABLE,
      canary: '9b7e1f0d8c',
      extraArgs: [{ name: 'analysis-id', value: 'checkout-rollout-long' }],
    });
    expect(outcome.status).toBe('Paused');
    const [step] = outcome.steps;
    expect(step.phase).toBe('Inconclusive');
    expect(measurementPhases(step)).toEqual(Array(count).fill('Inconclusive'));
  });

  it.each([
    ['rollback', 'Failed', 'Aborted', '0c8f2a1e91'],
    ['promote', 'Successful', 'Healthy', '0c8f2a1e92'],
    ['continue', 'Inconclusive', 'Paused', '0c8f2a1e93'],
  ])(
    'with the shipped 900 s limit the judge ends it first: inconclusive + %s is %s',
    async (onInconclusive, phase, status, canary) => {
      const id = `checkout-rollout-${onInconclusive}`;
      await define(id, { onInconclusive });
      const outcome = await rollOut({
        stable: STABLE,
        canary,
        extraArgs: [{ name: 'analysis-id', value: id }],
      });
      const [step] = outcome.steps;
      expect(step.phase).toBe(phase);
      expect(outcome.status).toBe(status);
      // The run's clock reaches 900 s at the 31st poll (every 30 s from 0 s).
      const decidedAt = step.result.measurements.findIndex((m) =>
        m.value?.includes('"verdict":"inconclusive"'),
      );
      expect(decidedAt).toBe(30);
      if (onInconclusive !== 'continue') expect(step.result.measurements).toHaveLength(31);
      else expect(step.result.measurements).toHaveLength(count);
      // With promote the later steps read the ended run (no new stage on an inconclusive run): Successful at once.
      if (onInconclusive === 'promote') {
        expect(outcome.steps.map((s) => [s.weight, s.result.measurements.length])).toEqual([
          [10, 31],
          [20, 1],
          [30, 1],
          [40, 1],
          [50, 1],
        ]);
      }
    },
  );
});
