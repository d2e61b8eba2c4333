// deploy/otel-collector/: every option the Collector configs set is one the component documents, the
// pipelines are wired to components that exist, and the canary-judge branch reaches the sidecar's Service.
//
// DOCUMENTED lists, per component type, the option paths we validate against and where they were read
// (`a.b` nested keys, `a[].b` keys of list items, `a.*` free-form names such as header names). Sources
// were read in this repository's session with the `search` tool (corpora docs and code).
import { describe, expect, it } from 'vitest';
import { at, parseYamlDocuments } from './deploy-files.js';

const CONTRIB = 'github.com/open-telemetry/opentelemetry-collector-contrib';
const CORE = 'github.com/open-telemetry/opentelemetry-collector';

const OTLP_EXPORTER_OPTIONS = [
  // otlpexporter README (v0.57.0): endpoint, tls (configtls), compression; configgrpc README: headers.
  'endpoint',
  'tls.insecure',
  'compression',
  'headers.*',
  // exporterhelper README: timeout, retry_on_failure.*, sending_queue.*.
  'timeout',
  'retry_on_failure.enabled',
  'retry_on_failure.initial_interval',
  'retry_on_failure.max_interval',
  'retry_on_failure.max_elapsed_time',
  'sending_queue.enabled',
  'sending_queue.num_consumers',
  'sending_queue.queue_size',
];

export const DOCUMENTED: Record<string, { options: string[]; sources: string[] }> = {
  otlp_receiver: {
    options: ['protocols.grpc.endpoint', 'protocols.http.endpoint'],
    sources: [`${CORE}/blob/main/receiver/otlpreceiver/README.md`],
  },
  memory_limiter: {
    options: ['check_interval', 'limit_mib', 'spike_limit_mib', 'limit_percentage', 'spike_limit_percentage'],
    sources: [`${CORE}/blob/main/processor/memorylimiterprocessor/README.md ("Configuration")`],
  },
  batch: {
    options: ['send_batch_size', 'timeout', 'send_batch_max_size'],
    sources: [`${CORE}/blob/main/processor/batchprocessor/README.md`],
  },
  k8sattributes: {
    options: [
      'auth_type',
      'passthrough',
      'extract.metadata',
      'extract.labels[].tag_name',
      'extract.labels[].key',
      'extract.labels[].from',
      'pod_association[].sources[].from',
      'pod_association[].sources[].name',
      'filter.node_from_env_var',
      'filter.namespace',
      'wait_for_metadata',
      'wait_for_metadata_timeout',
    ],
    sources: [
      `${CONTRIB}/blob/main/processor/k8sattributesprocessor/README.md ("Configuration", "Extracting attributes from pod labels and annotations", "Complete Configuration Options")`,
    ],
  },
  filter: {
    options: [
      'error_mode',
      'traces.span',
      'traces.spanevent',
      'metrics.metric',
      'metrics.datapoint',
      'logs.log_record',
    ],
    sources: [
      'pkg.go.dev/github.com/open-telemetry/opentelemetry-collector-contrib/processor/filterprocessor (v0.135.0 README: "Config / OTTL Context" table, error_mode)',
    ],
  },
  otlp_exporter: {
    options: OTLP_EXPORTER_OPTIONS,
    sources: [
      `${CORE}/blob/v0.57.0/exporter/otlpexporter/README.md`,
      `${CORE}/blob/main/config/configgrpc/README.md ("Client Configuration": compression, endpoint, headers)`,
      `${CORE}/blob/main/exporter/exporterhelper/README.md (retry_on_failure, sending_queue, timeout)`,
    ],
  },
  loadbalancing: {
    options: [
      'routing_key',
      // "all options from the OTLP exporter are supported except the endpoint"
      ...OTLP_EXPORTER_OPTIONS.filter((option) => option !== 'endpoint').map(
        (option) => `protocol.otlp.${option}`,
      ),
      'resolver.static.hostnames',
      'resolver.dns.hostname',
      'resolver.dns.port',
      'resolver.dns.interval',
      'resolver.dns.timeout',
      'resolver.k8s.service',
      'resolver.k8s.ports',
    ],
    sources: [
      `${CONTRIB}/blob/main/exporter/loadbalancingexporter/README.md ("Configuration"; routing_key values service, traceID, metric, resource; traceID not for metrics)`,
    ],
  },
  pipeline: {
    options: ['receivers', 'processors', 'exporters'],
    sources: ['https://opentelemetry.io/docs/collector/configuration/ ("Service", pipelines)'],
  },
};

/** Component type of a config key: `otlp/canary-judge` -> `otlp`, with receivers and exporters told apart. */
function documentedFor(section: 'receivers' | 'processors' | 'exporters', id: string) {
  const type = id.split('/')[0];
  const key = type === 'otlp' ? (section === 'receivers' ? 'otlp_receiver' : 'otlp_exporter') : type;
  return DOCUMENTED[key];
}

/** Option paths a config object sets, in DOCUMENTED's notation. */
function optionPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) {
    if (value.every((item) => item === null || typeof item !== 'object')) return [prefix];
    return value.flatMap((item) => optionPaths(item, `${prefix}[]`));
  }
  if (value === null || typeof value !== 'object') return [prefix];
  return Object.entries(value).flatMap(([key, child]) =>
    optionPaths(child, prefix ? `${prefix}.${key}` : key),
  );
}

function isDocumented(path: string, documented: string[]): boolean {
  return documented.some((option) =>
    option.endsWith('.*') ? path.startsWith(option.slice(0, -1)) : path === option,
  );
}

/** Every option set on a receiver, processor or exporter that DOCUMENTED does not list for its type. */
function undocumentedOptions(config: unknown): string[] {
  const undocumented: string[] = [];
  for (const section of ['receivers', 'processors', 'exporters'] as const) {
    for (const [id, settings] of Object.entries((at(config, section) ?? {}) as Record<string, unknown>)) {
      const documented = documentedFor(section, id);
      if (!documented) {
        undocumented.push(`${section}.${id}: component type not in DOCUMENTED`);
        continue;
      }
      for (const option of optionPaths(settings ?? {}))
        if (!isDocumented(option, documented.options)) undocumented.push(`${section}.${id}.${option}`);
    }
  }
  return undocumented;
}

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
