// Every YAML and JSON file under deploy/ parses, and every analysis JSON there is one the sidecar accepts.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analysesSchema, analysisSchema } from '../../src/config/analysis.js';
import { formatIssues } from '../../src/config/load.js';
import { ROOT, parseYamlDocuments, readText } from './deploy-files.js';

const DEPLOY = join(ROOT, 'deploy');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

const files = filesUnder(DEPLOY).map((path) => relative(ROOT, path));
const yamlFiles = files.filter((path) => /\.ya?ml$/.test(path));
const jsonFiles = files.filter((path) => path.endsWith('.json'));

function looksLikeAnalysis(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'id' in value && 'variant' in value;
}

describe('deploy/ files', () => {
  it('finds the deployment files this test is meant to cover', () => {
    for (const expected of [
      'deploy/kubernetes/deployment.yaml',
      'deploy/kubernetes/service.yaml',
      'deploy/kubernetes/configmap.yaml',
      'deploy/kubernetes/secret.yaml',
      'deploy/otel-collector/collector.yaml',
      'deploy/otel-collector/collector-loadbalancing.yaml',
      'deploy/grafana/canary-judge-dashboard.json',
      'deploy/argo-rollouts/analysis.json',
      'deploy/argo-rollouts/analysis-template.yaml',
      'deploy/argo-rollouts/kayenta-analysis-template.yaml',
      'deploy/argo-rollouts/rollout.yaml',
      'deploy/argo-rollouts/rollout-kayenta.yaml',
      'deploy/flagger/analysis.json',
      'deploy/flagger/canary.yaml',
    ])
      expect(files).toContain(expected);
  });

  it.each(yamlFiles)('%s is valid YAML with at least one non-empty document', (path) => {
    const documents = parseYamlDocuments(path);
    expect(documents.length).toBeGreaterThan(0);
    for (const document of documents) expect(document).toBeTypeOf('object');
  });

  it.each(jsonFiles)('%s is valid JSON', (path) => {
    expect(() => JSON.parse(readText(path)) as unknown).not.toThrow();
  });

  const analysisFiles = jsonFiles.filter((path) => {
    const value = JSON.parse(readText(path)) as unknown;
    return looksLikeAnalysis(value) || (Array.isArray(value) && value.some(looksLikeAnalysis));
  });

  it('finds the analysis JSON files of the Argo Rollouts and Flagger examples', () => {
    expect(analysisFiles).toEqual(
      expect.arrayContaining(['deploy/argo-rollouts/analysis.json', 'deploy/flagger/analysis.json']),
    );
  });

  it.each(analysisFiles)('%s validates with the analysis schema', (path) => {
    const value = JSON.parse(readText(path)) as unknown;
    const result = Array.isArray(value) ? analysesSchema.safeParse(value) : analysisSchema.safeParse(value);
    expect(result.success ? [] : formatIssues(result.error.issues, value)).toEqual([]);
  });
});
