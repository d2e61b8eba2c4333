// Fleet mode's config (fleet.forward) and its API route: defaults, one-line problems naming the field, the
// CANARY_JUDGE_FLEET_* overrides, and GET /api/v1/fleet/runs behind the API token without the webhook secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { api, FLEET_ANALYSIS, startInstance, type FleetInstance } from '../support/fleet.js';

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

const FORWARD = { judgeUrls: ['http://judge:8686'], otlpEndpoint: 'http://collector:4319' };

describe('fleet.forward', () => {
  it('is off by default, and fills its defaults when set', () => {
    expect(parseConfig({}).fleet.forward).toBeNull();
    expect(parseConfig({ fleet: { forward: FORWARD } }).fleet.forward).toEqual({
      ...FORWARD,
      exportIntervalMs: 2_000,
      runsSyncIntervalMs: 1_000,
      timeoutMs: 5_000,
      apiToken: null,
      otlpAuthToken: null,
    });
  });

  it('reports a wrong field in one line that names it', () => {
    const problems = problemsOf(() =>
      parseConfig({ fleet: { forward: { judgeUrls: ['judge:8686'], otlpEndpoint: 'http://c:4319' } } }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^fleet\.forward\.judgeUrls\.0: .*http or https URL/);
    expect(
      problemsOf(() => parseConfig({ fleet: { forward: { ...FORWARD, exportIntervalMs: 5 } } }))[0],
    ).toMatch(/^fleet\.forward\.exportIntervalMs: /);
  });

  it('refuses analyses on a forwarding instance: the judges own the runs', () => {
    const problems = problemsOf(() =>
      parseConfig({ fleet: { forward: FORWARD }, analyses: [FLEET_ANALYSIS] }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^analyses: .*forwarding instance/);
  });

  it('takes the instance id and both tokens from CANARY_JUDGE_FLEET_* variables', () => {
    const config = parseConfig({ fleet: { forward: FORWARD } }, 'test', {
      CANARY_JUDGE_FLEET_INSTANCE_ID: 'checkout-7d9f-abcde',
      CANARY_JUDGE_FLEET_API_TOKEN: 'fleet-api-token-0123456789',
      CANARY_JUDGE_FLEET_OTLP_AUTH_TOKEN: 'fleet-otlp-token-0123456789',
    });
    expect(config.fleet.forward).toMatchObject({
      instanceId: 'checkout-7d9f-abcde',
      apiToken: 'fleet-api-token-0123456789',
      otlpAuthToken: 'fleet-otlp-token-0123456789',
    });
  });
});

describe('GET /api/v1/fleet/runs', () => {
  let judge: FleetInstance;
  let forwarder: FleetInstance;
  const secret = 'webhook-secret-never-forwarded-0123';

  beforeAll(async () => {
    judge = await startInstance({
      analyses: [{ ...FLEET_ANALYSIS, webhook: { url: 'http://127.0.0.1:9/', secret } }],
    });
    forwarder = await startInstance({ forwardTo: judge, instanceId: 'forwarder-0' });
    expect(
      (await api(judge, '/api/v1/analyses/checkout/runs/r1', { method: 'PUT', body: '{}' })).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await forwarder?.stop();
    await judge?.stop();
  });

  it('lists the running runs with their definitions and stages, without the webhook', async () => {
    expect((await fetch(`${judge.apiUrl}/api/v1/fleet/runs`)).status).toBe(401);
    const response = await api(judge, '/api/v1/fleet/runs');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(secret);
    const { runs } = JSON.parse(text) as {
      runs: Array<{ analysisId: string; spec: object; stages: object[] }>;
    };
    expect(runs).toHaveLength(1);
    expect(runs[0].analysisId).toBe('checkout');
    expect(runs[0].spec).not.toHaveProperty('webhook');
    expect(runs[0].stages).toHaveLength(1);
  });

  it('a forwarding instance mirrors them and serves no run API of its own', async () => {
    await forwarder.sidecar.fleet!.sync();
    expect(forwarder.sidecar.fleet!.mirror.runs().map((run) => run.analysisId)).toEqual(['checkout']);
    for (const path of ['/api/v1/analyses', '/api/v1/fleet/runs'])
      expect((await api(forwarder, path)).status, path).toBe(404);
  });
});
