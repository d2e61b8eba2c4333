// deploy/grafana/canary-judge-dashboard.json queries only series a real sidecar exports: a sidecar is
// started in-process with the deploy ConfigMap's analysis, ticked once, and every metric name the
// dashboard's PromQL uses must appear as `# HELP <name>` on its /metrics. Label names the queries filter or
// group by must be among the labelNames the metric's definition in src/ declares.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { ROOT, at, parseYamlDocuments, readText } from './deploy-files.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}

const dashboard = JSON.parse(readText('deploy/grafana/canary-judge-dashboard.json')) as {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] };
};
const expressions = [
  ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
  ...dashboard.templating.list.flatMap((variable) => (variable.definition ? [variable.definition] : [])),
];
const metricNames = [
  ...new Set(expressions.flatMap((expr) => expr.match(/\bcanary_judge_[a-z0-9_]+/g) ?? [])),
];

/** metric name -> labelNames, read from the prom-client definitions in src/ (`name: '...'` then `labelNames`). */
function declaredLabels(): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((path) =>
    path.endsWith('.ts'),
  );
  for (const path of sources) {
    const text = readText(join('src', path));
    for (const match of text.matchAll(
      /name: '(canary_judge_[a-z0-9_]+)',\s*\n\s*help:[^\n]*\n(\s*labelNames: \[([^\]]*)\])?/g,
    ))
      labels.set(
        match[1],
        [...(match[3] ?? '').matchAll(/'([^']+)'/g)].map((label) => label[1]),
      );
  }
  return labels;
}

/** For each metric an expression names, the label names its selector uses and the `by (...)` labels. */
function labelsUsed(expr: string): { metric: string; labels: string[] }[] {
  const grouped = [...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((match) =>
    match[1].split(',').map((label) => label.trim()),
  );
  return [...expr.matchAll(/\b(canary_judge_[a-z0-9_]+)(\{([^}]*)\})?/g)].map((match) => ({
    metric: match[1],
    labels: [...[...(match[3] ?? '').matchAll(/([a-z_]+)\s*[=!~]/g)].map((label) => label[1]), ...grouped],
  }));
}

describe('deploy/grafana/canary-judge-dashboard.json', () => {
  let sidecar: Sidecar;
  let dir: string;
  let exposition: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'canary-judge-dashboard-'));
    const sample = JSON.parse(
      at(parseYamlDocuments('deploy/kubernetes/configmap.yaml')[0], 'data', 'config.json') as string,
    ) as {
      analyses: unknown[];
    };
    const config = parseConfig({
      otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
      api: { port: 0 },
      storage: { path: join(dir, 'canary-judge.sqlite') },
      log: { level: 'silent' },
      analyses: sample.analyses,
    });
    sidecar = await startSidecar(config, { logger: createLogger('silent') });
    // A run of each analysis, as the first gate call of a rollout starts one.
    for (const analysis of config.analyses)
      sidecar.judge.startRun(analysis.id, 'rev-1', { declaredBy: 'api' });
    sidecar.judge.tick();
    exposition = await (await fetch(`http://127.0.0.1:${sidecar.ports.api}/metrics`)).text();
  });

  afterAll(async () => {
    await sidecar?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('has an analysis variable filled from the verdict series, and every panel query filters or aggregates', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'analysis');
    expect(variable?.definition).toBe('label_values(canary_judge_analysis_verdict, analysis)');
    expect(exposition).toMatch(
      /^canary_judge_analysis_verdict\{analysis="checkout-rollout",verdict="running"\} 1$/m,
    );
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row'))
      expect(panel.targets?.length ?? 0, panel.title).toBeGreaterThan(0);
  });

  it('covers verdict, arms, evidence, canary share, ingest, attribution and webhook series', () => {
    expect(metricNames).toEqual(
      expect.arrayContaining([
        'canary_judge_analysis_verdict',
        'canary_judge_arm_requests',
        'canary_judge_arm_error_ratio',
        'canary_judge_arm_latency_seconds',
        'canary_judge_metric_always_valid_p_value',
        'canary_judge_metric_effect',
        'canary_judge_observed_canary_share_ratio',
        'canary_judge_otlp_items_received_total',
        'canary_judge_attribution_evictions_total',
        'canary_judge_webhook_deliveries_total',
      ]),
    );
  });

  it('names only metrics the sidecar exports (# HELP on /metrics)', () => {
    const missing = metricNames.filter((name) => !exposition.includes(`# HELP ${name} `));
    expect(missing).toEqual([]);
  });

  it('filters and groups only by labels the metric definitions declare', () => {
    const declared = declaredLabels();
    const wrong: string[] = [];
    for (const expr of expressions) {
      for (const { metric, labels } of labelsUsed(expr)) {
        const known = declared.get(metric);
        if (!known) wrong.push(`${metric}: no definition found in src/`);
        else
          for (const label of labels)
            if (!known.includes(label)) wrong.push(`${metric}: ${label} in ${expr}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(labelsUsed('sum by (a) (rate(canary_judge_x{b="1", c=~"y"}[5m]))')).toEqual([
      { metric: 'canary_judge_x', labels: ['b', 'c', 'a'] },
    ]);
  });
});
