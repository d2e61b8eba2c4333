// deploy/otel-collector/: every option the Collector configs set is one the component documents, the
// pipelines are wired to components that exist, and the canary-judge branch reaches the sidecar's Service.
// The documented options and the check: collector-options.ts.
import { describe, expect, it } from 'vitest';
import { undocumentedOptions, DOCUMENTED } from './collector-options.js';
import { at, parseYamlDocuments } from './deploy-files.js';

it('the option check flags misspelt options, unknown components and the endpoint inside loadbalancing', () => {
  const config = {
    receivers: { otlp: { protocols: { grpc: { endpiont: '0.0.0.0:4317' } } } },
    processors: {
      k8sattributes: { extract: { labels: [{ tag_name: 'x', key: 'y', form: 'pod' }] } },
      tail_sampling: {},
    },
    exporters: { loadbalancing: { routing_key: 'traceID', protocol: { otlp: { endpoint: 'x:4317' } } } },
  };
  expect(undocumentedOptions(config)).toEqual([
    'receivers.otlp.protocols.grpc.endpiont',
    'processors.k8sattributes.extract.labels[].form',
    'processors.tail_sampling: component type not in DOCUMENTED',
    'exporters.loadbalancing.protocol.otlp.endpoint',
  ]);
});

const CONFIGS = [
  'deploy/otel-collector/collector.yaml',
  'deploy/otel-collector/collector-loadbalancing.yaml',
];

describe.each(CONFIGS)('%s', (path) => {
  const config = parseYamlDocuments(path)[0];

  it('sets only documented options on every receiver, processor and exporter', () => {
    expect(undocumentedOptions(config)).toEqual([]);
  });

  it('wires every pipeline to defined components, memory_limiter first and batch last', () => {
    const pipelines = at(config, 'service', 'pipelines') as Record<string, Record<string, string[]>>;
    for (const [name, pipeline] of Object.entries(pipelines)) {
      expect(
        Object.keys(pipeline).every((key) => DOCUMENTED.pipeline.options.includes(key)),
        name,
      ).toBe(true);
      for (const section of ['receivers', 'processors', 'exporters'] as const)
        for (const id of pipeline[section] ?? [])
          expect(at(config, section, id), `${name}: ${id}`).not.toBeUndefined();
      expect(pipeline.processors[0]).toBe('memory_limiter');
      expect(pipeline.processors.at(-1)).toBe('batch');
      // k8sattributes finds the pod from the connection: it must run before batching loses that.
      expect(pipeline.processors.indexOf('k8sattributes')).toBeLessThan(pipeline.processors.indexOf('batch'));
    }
  });

  it("fans traces, metrics and logs out to a backend and to canary-judge, dropping canary-judge's own", () => {
    const pipelines = at(config, 'service', 'pipelines') as Record<string, Record<string, string[]>>;
    for (const signal of ['traces', 'metrics', 'logs']) {
      expect(pipelines[signal].exporters).toEqual(['otlp/backend']);
      const judge = pipelines[`${signal}/canary-judge`];
      expect(judge.receivers).toEqual(pipelines[signal].receivers);
      expect(judge.processors).toContain('filter/self');
    }
    expect(at(config, 'processors', 'filter/self', 'traces', 'span')).toEqual([
      'resource.attributes["canary_judge.self"] == true',
    ]);
  });

  it("copies Argo Rollouts' rollouts-pod-template-hash pod label and the Deployment name onto the resource", () => {
    expect(at(config, 'processors', 'k8sattributes', 'extract', 'labels')).toEqual([
      {
        tag_name: 'k8s.pod.labels.rollouts-pod-template-hash',
        key: 'rollouts-pod-template-hash',
        from: 'pod',
      },
    ]);
    expect(at(config, 'processors', 'k8sattributes', 'extract', 'metadata')).toContain('k8s.deployment.name');
  });
});

describe('the canary-judge exporters', () => {
  const plain = parseYamlDocuments(CONFIGS[0])[0];
  const balanced = parseYamlDocuments(CONFIGS[1])[0];

  it('collector.yaml sends OTLP/gRPC to the canary-judge Service on 4317 with the bearer token', () => {
    expect(at(plain, 'exporters', 'otlp/canary-judge', 'endpoint')).toBe(
      'canary-judge.shop.svc.cluster.local:4317',
    );
    expect(at(plain, 'exporters', 'otlp/canary-judge', 'headers', 'authorization')).toBe(
      'Bearer ${env:CANARY_JUDGE_OTLP_AUTH_TOKEN}',
    );
  });

  it('collector-loadbalancing.yaml routes traces and logs by traceID and metrics by service, over the headless Service', () => {
    expect(at(balanced, 'exporters', 'loadbalancing/traces', 'routing_key')).toBe('traceID');
    expect(at(balanced, 'exporters', 'loadbalancing/metrics', 'routing_key')).toBe('service');
    const pipelines = at(balanced, 'service', 'pipelines') as Record<string, Record<string, string[]>>;
    expect(pipelines['traces/canary-judge'].exporters).toEqual(['loadbalancing/traces']);
    expect(pipelines['logs/canary-judge'].exporters).toEqual(['loadbalancing/traces']);
    // The exporter's README: "Don't use traceID in metric pipeline".
    expect(pipelines['metrics/canary-judge'].exporters).toEqual(['loadbalancing/metrics']);
    for (const id of ['loadbalancing/traces', 'loadbalancing/metrics']) {
      expect(at(balanced, 'exporters', id, 'resolver', 'dns')).toMatchObject({
        hostname: 'canary-judge-headless.shop.svc.cluster.local',
        port: 4317,
      });
      expect(at(balanced, 'exporters', id, 'protocol', 'otlp', 'endpoint')).toBeUndefined();
    }
  });

  it('the headless Service the resolver queries exists in deploy/kubernetes/service.yaml', () => {
    const names = parseYamlDocuments('deploy/kubernetes/service.yaml').map((s) => [
      at(s, 'metadata', 'name'),
      at(s, 'metadata', 'namespace'),
      at(s, 'spec', 'clusterIP'),
    ]);
    expect(names).toContainEqual(['canary-judge-headless', 'shop', 'None']);
    expect(names).toContainEqual(['canary-judge', 'shop', undefined]);
  });
});
