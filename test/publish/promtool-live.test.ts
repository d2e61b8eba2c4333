// `promtool check metrics` (Debian's prometheus package) on the live /metrics of a judging instance with a
// judged run, forwarded fleet state and ingest traffic, and of a forwarding instance: it exits 0 with nothing to
// say. Prometheus reserves `_total` for counters (prom-client's default nodejs_active_*_total gauges are
// dropped for that, src/publish/metrics.ts) and the label `quantile` for summaries (quantiles are `q`); ratios
// end in `_ratio`, and a family's name carries one base unit at most
// (https://prometheus.io/docs/practices/naming/).
import { spawnSync } from 'node:child_process';
import { Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowSpans } from '../support/clocked-spans.js';
import { api, FLEET_ANALYSIS, OTLP_TOKEN, startInstance, type FleetInstance } from '../support/fleet.js';
import { exportOnce, succeeded } from '../support/telemetry.js';

let judge: FleetInstance;
let forwarder: FleetInstance;
const expositions: Record<string, string> = {};

beforeAll(async () => {
  judge = await startInstance({ analyses: [FLEET_ANALYSIS] });
  forwarder = await startInstance({ forwardTo: judge, instanceId: 'forwarder-0' });
  expect((await api(judge, '/api/v1/analyses/checkout/runs/r1', { method: 'PUT', body: '{}' })).status).toBe(
    201,
  );
  await forwarder.sidecar.fleet!.sync();
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${OTLP_TOKEN}`);
  const window = { startMs: Date.now() - 4_000, windowMs: 3_000, medianMs: 30, errorRate: 0.02 };
  const spans = [
    ...windowSpans({ ...window, version: '1.0.0', count: 400, seed: 1 }),
    ...windowSpans({ ...window, version: '2.0.0', count: 100, seed: 2 }),
  ];
  // Half the traffic straight to the judge, half through the forwarder.
  for (const [instance, part] of [
    [judge, spans.filter((_, i) => i % 2 === 0)],
    [forwarder, spans.filter((_, i) => i % 2 === 1)],
  ] as const) {
    const exporter = new OTLPTraceExporter({ url: instance.grpcUrl, metadata });
    expect(succeeded(await exportOnce(exporter, [...part]))).toBe(true);
    await exporter.shutdown();
  }
  expect(await forwarder.sidecar.fleet!.exportNow()).toBe(true);
  judge.sidecar.judge.tick();
  judge.sidecar.judge.tick();
  for (const [name, instance] of [
    ['judge', judge],
    ['forwarder', forwarder],
  ] as const) {
    expositions[name] = await (await fetch(`${instance.apiUrl}/metrics`)).text();
  }
});
afterAll(async () => {
  await forwarder?.stop();
  await judge?.stop();
});

describe.each(['judge', 'forwarder'])('the live /metrics of a %s', (name) => {
  it('passes promtool check metrics', () => {
    const text = expositions[name];
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error)
      throw new Error(
        `promtool is needed for this test (apt-get install prometheus): ${promtool.error.message}`,
      );
    expect(promtool.stdout + promtool.stderr).toBe('');
    expect(promtool.status).toBe(0);
  });

  it('has no gauge named like a counter and no `quantile` label outside summaries', () => {
    const text = expositions[name];
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    for (const [family, type] of types) {
      if (type !== 'counter') expect(family, `${type} ${family}`).not.toMatch(/_total$/);
      if (type !== 'summary')
        expect(text, family).not.toMatch(new RegExp(`^${family}\\{[^}]*\\bquantile="`, 'm'));
    }
    expect(types.get('canary_judge_process_nodejs_active_handles')).toBe('gauge');
  });

  it('names ratios `_ratio`, and every family has at most one unit, a base unit, as its suffix', () => {
    const text = expositions[name];
    const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
    const help = new Map([...text.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1], m[2]]));
    for (const family of families) {
      const words = family.replace(/_total$/, '').split('_');
      // Units a family may end with (Prometheus naming: base units), and what must never appear anywhere.
      const units = words.filter((w) => ['seconds', 'bytes', 'ratio'].includes(w));
      expect(units.length, family).toBeLessThanOrEqual(1);
      if (units.length === 1) expect(words.at(-1), family).toBe(units[0]);
      for (const nonBase of ['milliseconds', 'ms', 'ns', 'percent', 'rate', 'share', 'kilobytes'])
        expect(words.at(-1), family).not.toBe(nonBase);
      // A family whose help says it is a share or rate of something is a ratio.
      if (/^(Error rate|Observed share|Share)\b/i.test(help.get(family) ?? ''))
        expect(family, family).toMatch(/_ratio$/);
    }
    if (name === 'judge') {
      expect(families).toContain('canary_judge_arm_error_ratio');
      expect(families).toContain('canary_judge_observed_canary_share_ratio');
    }
  });
});

it('shows the forwarded state on both sides', () => {
  expect(expositions.judge).toMatch(/^canary_judge_fleet_points_total\{outcome="accepted"\} [1-9]/m);
  expect(expositions.judge).toMatch(/^canary_judge_arm_requests\{analysis="checkout",arm="canary"\} 100$/m);
  expect(expositions.forwarder).toMatch(/^canary_judge_fleet_exports_total\{outcome="ok"\} 1$/m);
  expect(expositions.forwarder).toMatch(/^canary_judge_fleet_mirrored_runs 1$/m);
});
