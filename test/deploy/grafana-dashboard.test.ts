// deploy/grafana/canary-judge-dashboard.json queries only series a real sidecar exports: a sidecar is
// started in-process with the deploy ConfigMap's analysis, ticked once, and every metric name the
// dashboard's PromQL uses (panels, variables and annotations) must appear as `# HELP <name>` on its /metrics
// (a histogram's _bucket/_sum/_count as its own name). Label names the queries filter or group by must be
// among the labelNames the metric's definition in src/ declares, or the target labels Prometheus adds to
// every scraped series (job, instance), or `le` of a histogram's buckets.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Prometheus, prometheusAvailable } from '../support/prometheus.js';
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
  annotations: { list: { name: string; expr?: string }[] };
};
const expressions = [
  ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
  ...dashboard.templating.list.flatMap((variable) => (variable.definition ? [variable.definition] : [])),
  ...dashboard.annotations.list.flatMap((annotation) => (annotation.expr ? [annotation.expr] : [])),
];
/** A histogram's series are named after it: _bucket, _sum and _count share its # HELP. */
const HISTOGRAM_SERIES = /_(bucket|sum|count)$/;
const baseName = (name: string) => (name.endsWith('_total') ? name : name.replace(HISTOGRAM_SERIES, ''));
const metricNames = [
  ...new Set(expressions.flatMap((expr) => (expr.match(/\bcanary_judge_[a-z0-9_]+/g) ?? []).map(baseName))),
];
/** Labels every scraped series carries (Prometheus's target labels), whatever the metric declares. */
const TARGET_LABELS = ['job', 'instance'];

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

  it('has job, instance and analysis variables filled from the verdict series, and every panel query filters or aggregates', () => {
    const definition = (name: string) => dashboard.templating.list.find((v) => v.name === name)?.definition;
    expect(definition('job')).toBe('label_values(canary_judge_analysis_verdict, job)');
    expect(definition('instance')).toBe('label_values(canary_judge_analysis_verdict{job=~"$job"}, instance)');
    expect(definition('analysis')).toBe(
      'label_values(canary_judge_analysis_verdict{job=~"$job", instance=~"$instance"}, analysis)',
    );
    // Every query of a canary-judge series is scoped to the chosen job and instance.
    for (const expr of expressions.filter((e) => !e.startsWith('label_values')))
      for (const selector of expr.match(/\bcanary_judge_[a-z0-9_]+(\{[^}]*\})?/g) ?? [])
        expect(selector, expr).toMatch(/\{job=~"\$job", instance=~"\$instance"/);
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
        'canary_judge_metric_effect_tolerance',
        'canary_judge_expected_canary_share_ratio',
        'canary_judge_traffic_split_always_valid_p_value',
        'canary_judge_metric_samples',
        'canary_judge_metric_min_samples',
        'canary_judge_metric_decision',
        'canary_judge_run_info',
        'canary_judge_run_stage',
      ]),
    );
  });

  it('draws the tolerance line and the band between the deciding bounds on the effect panel, and annotates verdict changes', () => {
    const effect = dashboard.panels.find((p) =>
      p.title.includes('effect, anytime-valid band and tolerance'),
    )!;
    const exprs = effect.targets!.map((t) => t.expr).join('\n');
    expect(exprs).toMatch(/canary_judge_metric_effect_tolerance\{/);
    expect(exprs).toMatch(/bound="lower"/);
    expect(JSON.stringify(effect)).toMatch(/"custom\.fillBelowTo","value":"lower bound \(fail test\)"/);
    const annotation = dashboard.annotations.list.find((a) => a.name === 'Verdict changes');
    expect(annotation?.expr).toMatch(/changes\(canary_judge_analysis_verdict/);
  });

  it('names only metrics the sidecar exports (# HELP on /metrics)', () => {
    const missing = metricNames.filter((name) => !exposition.includes(`# HELP ${name} `));
    expect(missing).toEqual([]);
  });

  it.skipIf(!prometheusAvailable())(
    'every query is PromQL a real Prometheus scraping the sidecar answers, and the effect panel’s series have samples',
    async () => {
      const prometheus = await Prometheus.start(`127.0.0.1:${sidecar.ports.api}`);
      try {
        await prometheus.until('canary_judge_run_info', (samples) => samples.length > 0);
        const analysis = (await prometheus.query('canary_judge_run_info'))[0].metric.analysis;
        const metric = (await prometheus.query(`canary_judge_metric_effect{analysis="${analysis}"}`))[0]
          .metric.metric;
        const promql = (expr: string) =>
          expr
            .replace(/^label_values\((.*), [a-z_]+\)$/, '$1')
            .replaceAll('$job', '.*')
            .replaceAll('$instance', '.*')
            .replaceAll('$analysis', analysis)
            .replaceAll('$metric', metric)
            .replaceAll('$__rate_interval', '1m')
            .replaceAll('$__interval', '1m');
        for (const expr of expressions) await prometheus.query(promql(expr)); // throws on a refused query
        const effect = dashboard.panels.find((p) => p.title.includes('effect, anytime-valid band'))!;
        for (const target of effect.targets!)
          expect((await prometheus.query(promql(target.expr))).length, target.expr).toBe(1);
      } finally {
        await prometheus.stop();
      }
    },
  );

  it('filters and groups only by labels the metric definitions declare', () => {
    const declared = declaredLabels();
    const wrong: string[] = [];
    for (const expr of expressions) {
      for (const { metric, labels } of labelsUsed(expr)) {
        const known = declared.get(baseName(metric));
        const histogram = HISTOGRAM_SERIES.test(metric) && !metric.endsWith('_total');
        if (!known) wrong.push(`${metric}: no definition found in src/`);
        else
          for (const label of labels)
            if (!known.includes(label) && !TARGET_LABELS.includes(label) && !(histogram && label === 'le'))
              wrong.push(`${metric}: ${label} in ${expr}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(labelsUsed('sum by (a) (rate(canary_judge_x{b="1", c=~"y"}[5m]))')).toEqual([
      { metric: 'canary_judge_x', labels: ['b', 'c', 'a'] },
    ]);
  });
});
