// Option names of the Collector components deploy/otel-collector/ uses, and the check that a config sets only those.
// DOCUMENTED lists, per component type, the option paths we validate against and where they were read
// (`a.b` nested keys, `a[].b` keys of list items, `a.*` free-form names such as header names). Sources
// were read with the `search` tool (corpora docs and code).
import { at } from './deploy-files.js';

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
export function undocumentedOptions(config: unknown): string[] {
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
