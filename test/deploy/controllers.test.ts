// deploy/argo-rollouts and deploy/flagger fit together and with the rest of deploy/: the controllers call the
// canary-judge Service's API port, with the Secret's API token, the analyses they name exist in the analysis
// files, the variant attributes are ones the Collector config produces, and each controller file passes what
// the runs API needs (the revision, both arms, each step's weight). The controllers' behaviour with these files
// is tested against a real sidecar in test/api/argo-web-provider.test.ts, kayenta.test.ts and
// flagger-hooks.test.ts.
import { describe, expect, it } from 'vitest';
import { analysisSchema } from '../../src/config/analysis.js';
import { FLAGGER_HOOKS, stepSchedule } from '../../src/api/flagger-routes.js';
import { at, byKind, parseYamlDocuments, readText } from './deploy-files.js';

type Arg = { name: string; value?: string; valueFrom?: Record<string, unknown> };
type Step = { setWeight?: number; analysis?: { templates: Array<{ templateName: string }>; args: Arg[] } };

const services = byKind(parseYamlDocuments('deploy/kubernetes/service.yaml'), 'Service');
const secret = parseYamlDocuments('deploy/kubernetes/secret.yaml')[0];
const collector = parseYamlDocuments('deploy/otel-collector/collector.yaml')[0];
const argoAnalysis = analysisSchema.parse(JSON.parse(readText('deploy/argo-rollouts/analysis.json')));
const flaggerAnalysis = analysisSchema.parse(JSON.parse(readText('deploy/flagger/analysis.json')));
const webTemplate = parseYamlDocuments('deploy/argo-rollouts/analysis-template.yaml')[0];
const kayentaTemplate = parseYamlDocuments('deploy/argo-rollouts/kayenta-analysis-template.yaml')[0];
const canary = parseYamlDocuments('deploy/flagger/canary.yaml')[0];

/** The API's in-cluster address: the canary-judge Service's http-api port. */
function apiAddress(): string {
  const service = services.find((s) => at(s, 'metadata', 'name') === 'canary-judge');
  const ports = at(service, 'spec', 'ports') as Array<{ name: string; port: number }>;
  const port = ports.find((p) => p.name === 'http-api')?.port;
  return `http://${at(service, 'metadata', 'name')}.${at(service, 'metadata', 'namespace')}.svc.cluster.local:${port}`;
}

/** The resource attribute the Collector's k8sattributes processor writes for a pod label (default k8s.pod.labels.<key>). */
function labelAttributes(): Map<string, string> {
  const labels = at(collector, 'processors', 'k8sattributes', 'extract', 'labels') as Array<{
    tag_name?: string;
    key: string;
  }>;
  return new Map(labels.map((label) => [label.key, label.tag_name ?? `k8s.pod.labels.${label.key}`]));
}

const argValue = (template: unknown, name: string) =>
  (at(template, 'spec', 'args') as Arg[]).find((arg) => arg.name === name);

describe('deploy/argo-rollouts', () => {
  it("the analysis tells the arms apart by the Collector's attribute for Argo's rollouts-pod-template-hash label", () => {
    expect(labelAttributes().get('rollouts-pod-template-hash')).toBe(argoAnalysis.variant.attribute);
    expect(argoAnalysis.judge.canaryShare).toBeNull(); // every step declares its own
  });

  it.each([
    ['analysis-template.yaml', webTemplate],
    ['kayenta-analysis-template.yaml', kayentaTemplate],
  ])(
    '%s calls the canary-judge Service with the Secret’s API token and names the shipped analysis',
    (_file, template) => {
      expect(argValue(template, 'canary-judge-url')?.value).toBe(apiAddress());
      expect(argValue(template, 'analysis-id')?.value).toBe(argoAnalysis.id);
      const ref = argValue(template, 'api-token')?.valueFrom?.secretKeyRef as { name: string; key: string };
      expect(ref.name).toBe(at(secret, 'metadata', 'name'));
      expect(at(secret, 'stringData', ref.key)).toBeTypeOf('string');
      expect(at(template, 'metadata', 'namespace')).toBe(at(secret, 'metadata', 'namespace'));
    },
  );

  it('the web template PUTs the canary hash’s run with both hashes and the step weight', () => {
    const web = at(webTemplate, 'spec', 'metrics', 0, 'provider', 'web');
    expect(at(web, 'method')).toBe('PUT');
    expect(at(web, 'url')).toBe(
      '{{args.canary-judge-url}}/api/v1/analyses/{{args.analysis-id}}/runs/{{args.canary-hash}}',
    );
    expect(at(web, 'jsonBody')).toEqual({
      baseline: '{{args.stable-hash}}',
      canary: '{{args.canary-hash}}',
      canaryWeight: '{{args.canary-weight}}',
    });
  });

  it('the kayenta template looks the analysis up by name and scopes the runs by the two hashes', () => {
    const kayenta = at(kayentaTemplate, 'spec', 'metrics', 0, 'provider', 'kayenta');
    expect(at(kayenta, 'address')).toBe('{{args.canary-judge-url}}/kayenta/token/{{args.api-token}}');
    expect(at(kayenta, 'canaryConfigName')).toBe('{{args.analysis-id}}');
    expect(at(kayenta, 'scopes', 0, 'controlScope', 'scope')).toBe('{{args.stable-hash}}');
    expect(at(kayenta, 'scopes', 0, 'experimentScope', 'scope')).toBe('{{args.canary-hash}}');
  });

  it.each(['rollout.yaml', 'rollout-kayenta.yaml'])(
    '%s: every analysis step follows a setWeight and passes the hashes (and the web template the weight)',
    (file) => {
      const steps = at(
        parseYamlDocuments(`deploy/argo-rollouts/${file}`)[0],
        'spec',
        'strategy',
        'canary',
        'steps',
      ) as Step[];
      let weight: number | undefined;
      const analysed: number[] = [];
      for (const step of steps) {
        if (step.setWeight !== undefined) weight = step.setWeight;
        if (!step.analysis) continue;
        expect(weight).toBeDefined();
        analysed.push(weight as number);
        const args = new Map(step.analysis.args.map((arg) => [arg.name, arg]));
        expect(args.get('canary-hash')?.valueFrom).toEqual({ podTemplateHashValue: 'Latest' });
        expect(args.get('stable-hash')?.valueFrom).toEqual({ podTemplateHashValue: 'Stable' });
        const [{ templateName }] = step.analysis.templates;
        const template = templateName === 'canary-judge' ? webTemplate : kayentaTemplate;
        expect(at(template, 'metadata', 'name')).toBe(templateName);
        if (template === webTemplate) expect(args.get('canary-weight')?.value).toBe(String(weight));
        // Argo merges only the args the template declares (utils/analysis/helpers.go MergeArgs).
        for (const name of args.keys()) expect(argValue(template, name), name).toBeDefined();
      }
      expect(analysed).toEqual(file === 'rollout.yaml' ? [10, 20, 30, 40, 50] : [20]);
    },
  );
});

describe('deploy/flagger', () => {
  const webhooks = at(canary, 'spec', 'analysis', 'webhooks') as Array<{
    type: string;
    url: string;
    metadata: Record<string, string>;
  }>;

  it('has one webhook per hook canary-judge offers, each at its route on the canary-judge Service', () => {
    expect(webhooks.map((hook) => hook.type).sort()).toEqual([...FLAGGER_HOOKS].sort());
    for (const hook of webhooks) expect(hook.url).toBe(`${apiAddress()}/api/v1/flagger/${hook.type}`);
  });

  it('gives every hook the same metadata: the analysis, the Secret’s API token and the Canary’s step schedule', () => {
    const analysis = at(canary, 'spec', 'analysis') as { stepWeight: number; maxWeight: number };
    for (const hook of webhooks) {
      expect(hook.metadata).toEqual(webhooks[0].metadata);
      // Flagger's metadata is map[string]string: every value must be a YAML string.
      for (const value of Object.values(hook.metadata)) expect(value).toBeTypeOf('string');
    }
    const metadata = webhooks[0].metadata;
    expect(metadata.analysis).toBe(flaggerAnalysis.id);
    expect(metadata.analysis).toBe(
      `${at(canary, 'metadata', 'namespace')}/${at(canary, 'metadata', 'name')}`,
    );
    expect(metadata.token).toBe(at(secret, 'stringData', 'api-token'));
    expect([Number(metadata.stepWeight), Number(metadata.maxWeight)]).toEqual([
      analysis.stepWeight,
      analysis.maxWeight,
    ]);
    expect(stepSchedule(metadata)).toEqual([10, 20, 30, 40, 50]);
  });

  it('the analysis tells the primary from the canary by the Deployment name the Collector adds, with no fixed share', () => {
    const target = at(canary, 'spec', 'targetRef', 'name');
    expect(flaggerAnalysis.variant.attribute).toBe('k8s.deployment.name');
    expect(at(collector, 'processors', 'k8sattributes', 'extract', 'metadata')).toContain(
      'k8s.deployment.name',
    );
    expect([flaggerAnalysis.baseline, flaggerAnalysis.canary]).toEqual([`${target}-primary`, target]);
    expect(flaggerAnalysis.judge.canaryShare).toBeNull();
  });
});
