// deploy/fleet/ and deploy/otel-collector/collector-fleet.yaml: a fleet that can actually run. Every manifest
// parses; the judge's and the forwarders' configs pass the sidecar's own parseConfig with their environment;
// every name one manifest uses (Services, ports, the ConfigMaps, the Secret, the ServiceAccount, the webhook
// target) is one another manifest creates; the Collector sets only documented options, and its loadbalancing
// exporters use option names and routing keys the upstream exporter's source accepts, keyed so that every
// forwarder's points of one run reach the same judge.
//
// Upstream, transcribed (open-telemetry/opentelemetry-collector-contrib, exporter/loadbalancingexporter/):
// - config.go @ 870de3632d376a989b61459319e6e8754ec1532c: the Config's mapstructure names (routing_key,
//   protocol.otlp, resolver.static.hostnames, resolver.dns.{hostname,port,interval,timeout},
//   resolver.k8s.{service,ports}).
// - metrics_exporter.go @ 7e09cb56dcb0bbb6124810711dc65fbf338675cc: newMetricsExporter accepts routing_key
//   "service" (svcRoutingStr, also the default ""), "resource", "metric", "streamID"; with "service",
//   splitMetricsByResourceServiceName hashes each ResourceMetrics by its resource's `service.name` and drops
//   one without it (logged as an error).
// - trace_exporter.go @ 4660f9e32e4474018bc76c1ddfae5930c9788941: newTracesExporter accepts "service" and
//   "traceID" (the default ""); with traceID every span of a trace goes to one backend.
import { describe, expect, it } from 'vitest';
import { RunEvidence } from '../../src/accumulate/run-evidence.js';
import { ENV_OVERRIDES, parseConfig } from '../../src/config/load.js';
import { fleetResourceMetrics } from '../../src/fleet/state-export.js';
import { undocumentedOptions } from './collector-options.js';
import { at, byKind, parseYamlDocuments, readText } from './deploy-files.js';

const UPSTREAM_CONFIG = {
  top: ['protocol', 'resolver', 'routing_key'],
  resolver: {
    static: ['hostnames'],
    dns: ['hostname', 'port', 'interval', 'timeout'],
    k8s: ['service', 'ports'],
  } as Record<string, string[]>,
};
const UPSTREAM_ROUTING_KEYS = {
  metrics: ['service', '', 'resource', 'metric', 'streamID'],
  traces: ['service', 'traceID', ''],
};

/** metrics_exporter.go splitMetricsByResourceServiceName: the routing id of each ResourceMetrics. */
function serviceRoutingIds(resources: { attributes: Record<string, unknown> }[]) {
  return resources.map((resource) => {
    const service = resource.attributes['service.name'];
    if (typeof service !== 'string') throw new Error('unable to get service name from resource metric');
    return service;
  });
}

const FILES = ['collector.yaml', 'forwarders.yaml', 'judge.yaml', 'flag-updater.yaml'];
const documents = FILES.flatMap((file) => parseYamlDocuments(`deploy/fleet/${file}`));
const [secret] = parseYamlDocuments('deploy/kubernetes/secret.yaml');
const secretData = at(secret, 'stringData') as Record<string, string>;
const collectorConfig = parseYamlDocuments('deploy/otel-collector/collector-fleet.yaml')[0];

interface Container {
  name: string;
  ports?: { name: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string }; fieldRef?: { fieldPath: string } };
  }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface ServicePort {
  name: string;
  port: number;
  targetPort: string;
}

const named = (kind: string, name: string): unknown => {
  const found = byKind(documents, kind).filter((document) => at(document, 'metadata', 'name') === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0];
};
const podSpec = (deployment: string) => at(named('Deployment', deployment), 'spec', 'template', 'spec');
const container = (deployment: string, name: string): Container =>
  (at(podSpec(deployment), 'containers') as Container[]).find((c) => c.name === name)!;

/** The environment a container sees, Secret references resolved from deploy/kubernetes/secret.yaml. */
function envOf(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of c.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      expect(ref.name, variable.name).toBe(at(secret, 'metadata', 'name'));
      expect(secretData, variable.name).toHaveProperty(ref.key);
      env[variable.name] = secretData[ref.key];
    } else env[variable.name] = variable.value ?? `<${variable.valueFrom?.fieldRef?.fieldPath}>`;
  }
  return env;
}

function configOf(configMap: string, c: Container) {
  const raw = JSON.parse(at(named('ConfigMap', configMap), 'data', 'config.json') as string) as unknown;
  return parseConfig(raw, configMap, envOf(c));
}

/**
 * Where `host:port` (a Service's cluster DNS name) leads: the Service, and the container port of the
 * Deployment its selector picks.
 */
function resolve(host: string, port: number) {
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/.exec(host);
  expect(match, host).not.toBeNull();
  const [, name, namespace] = match!;
  const service = named('Service', name);
  expect(at(service, 'metadata', 'namespace')).toBe(namespace);
  const servicePort = (at(service, 'spec', 'ports') as ServicePort[]).find((p) => p.port === port);
  expect(servicePort, `${host}:${port}`).toBeDefined();
  const selector = at(service, 'spec', 'selector') as Record<string, string>;
  const deployments = byKind(documents, 'Deployment').filter((deployment) =>
    Object.entries(selector).every(
      ([key, value]) => at(deployment, 'spec', 'template', 'metadata', 'labels', key) === value,
    ),
  );
  expect(deployments, `pods behind ${name}`).toHaveLength(1);
  const containers = at(deployments[0], 'spec', 'template', 'spec', 'containers') as Container[];
  const target = containers.flatMap((c) =>
    (c.ports ?? []).filter((p) => p.name === servicePort!.targetPort).map((p) => ({ container: c, ...p })),
  );
  expect(target, `${name} targetPort ${servicePort!.targetPort}`).toHaveLength(1);
  return {
    service,
    deployment: at(deployments[0], 'metadata', 'name') as string,
    container: target[0].container,
    containerPort: target[0].containerPort,
  };
}

const judgeContainer = container('canary-judge', 'canary-judge');
const forwarderContainer = container('canary-judge-forwarder', 'canary-judge');
const judgeConfig = configOf('canary-judge-config', judgeContainer);
const forwarderConfig = configOf('canary-judge-forwarder-config', forwarderContainer);

describe('deploy/fleet', () => {
  it('every resource is in namespace shop (cluster-scoped RBAC aside), each name once per kind', () => {
    const keys = documents.map((d) => `${at(d, 'kind')}/${at(d, 'metadata', 'name')}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const document of documents) {
      const kind = at(document, 'kind') as string;
      if (!kind.startsWith('Cluster')) expect(at(document, 'metadata', 'namespace'), kind).toBe('shop');
    }
  });

  it('the judge: one replica replaced with Recreate, its SQLite file on the PersistentVolumeClaim', () => {
    const deployment = named('Deployment', 'canary-judge');
    expect(at(deployment, 'spec', 'replicas')).toBe(1);
    expect(at(deployment, 'spec', 'strategy', 'type')).toBe('Recreate');
    const volumes = at(podSpec('canary-judge'), 'volumes') as {
      name: string;
      persistentVolumeClaim?: { claimName: string };
    }[];
    const data = volumes.find((v) => v.persistentVolumeClaim)!;
    named('PersistentVolumeClaim', data.persistentVolumeClaim!.claimName);
    const mount = judgeContainer.volumeMounts!.find((m) => m.name === data.name)!;
    expect(judgeConfig.storage.path.startsWith(`${mount.mountPath}/`)).toBe(true);
    expect(judgeConfig.fleet.forward).toBeNull();
    expect(judgeConfig.analyses.map((a) => a.id)).toEqual(['checkout-new-flow']);
    expect(judgeConfig.otlp.authToken).toBe(secretData['otlp-token']);
    expect(judgeConfig.api.authToken).toBe(secretData['api-token']);
  });

  it('the forwarders read the runs from the judge API and send their state to the Collector fleet port', () => {
    const forward = forwarderConfig.fleet.forward!;
    expect(forwarderConfig.analyses).toEqual([]);
    expect(forward.instanceId).toBe('<metadata.name>'); // the pod name, from the downward API
    expect(forward.apiToken).toBe(judgeConfig.api.authToken);
    const [judgeUrl] = forward.judgeUrls.map((url) => new URL(url));
    const api = resolve(judgeUrl.hostname, Number(judgeUrl.port));
    expect(api.deployment).toBe('canary-judge');
    expect(api.containerPort).toBe(judgeConfig.api.port);
    const otlp = new URL(forward.otlpEndpoint);
    const collector = resolve(otlp.hostname, Number(otlp.port));
    expect(collector.deployment).toBe('otel-collector');
    // The Collector's receiver of that port feeds the pipeline that routes to the judges.
    const receivers = Object.entries(at(collectorConfig, 'receivers') as Record<string, unknown>).filter(
      ([, receiver]) =>
        (at(receiver, 'protocols', 'grpc', 'endpoint') as string).endsWith(`:${collector.containerPort}`),
    );
    expect(receivers.map(([id]) => id)).toEqual(['otlp/fleet']);
    const pipelines = at(collectorConfig, 'service', 'pipelines') as Record<string, Record<string, string[]>>;
    expect(pipelines['metrics/fleet-state']).toMatchObject({
      receivers: ['otlp/fleet'],
      exporters: ['loadbalancing/judges'],
    });
  });

  it('environment variables are real CANARY_JUDGE_* overrides and tokens never sit in plain values', () => {
    const known = new Set(ENV_OVERRIDES.map((override) => override.name));
    for (const c of [judgeContainer, forwarderContainer, container('otel-collector', 'otel-collector')])
      for (const variable of c.env ?? []) {
        if (variable.name.startsWith('CANARY_JUDGE_') && c !== container('otel-collector', 'otel-collector'))
          expect(known, variable.name).toContain(variable.name);
        if (/TOKEN|SECRET/.test(variable.name)) expect(variable.value, variable.name).toBeUndefined();
      }
  });

  it('the webhook target the judge is given is a Service these manifests create, acting on this analysis', () => {
    const url = new URL(judgeConfig.webhook!.url);
    const target = resolve(url.hostname, Number(url.port));
    expect(target.deployment).toBe('flag-updater');
    const env = envOf(target.container);
    expect(Number(env.PORT)).toBe(target.containerPort);
    expect(env.WEBHOOK_SECRET).toBe(judgeConfig.webhook!.secret);
    const [analysis] = judgeConfig.analyses;
    expect(env.ANALYSIS_ID).toBe(analysis.id);
    expect(env.FLAG_KEY).toBe(analysis.variant.flag);
    expect(env.BASELINE_VARIANT).toBe(analysis.baseline);
    // The flag file it rewrites is the one flagd serves, and holds the flag with both arms' variants.
    const flags = JSON.parse(at(named('ConfigMap', 'flagd-flags'), 'data', 'flags.json') as string) as {
      flags: Record<string, { variants: Record<string, unknown> }>;
    };
    expect(Object.keys(flags.flags[env.FLAG_KEY].variants).sort()).toEqual(
      [analysis.baseline, analysis.canary].sort(),
    );
    const flagd = container('flag-updater', 'flagd') as Container & { args: string[] };
    expect(flagd.args.join(' ')).toContain(`file:${env.FLAGD_FLAG_FILE}`);
    // The script is deploy/webhook-receivers/flagd-flag-updater.mjs, named in the ConfigMap command.
    expect(readText('deploy/fleet/flag-updater.yaml')).toContain(
      'kubectl -n shop create configmap flag-updater-script \\\n#     --from-file=flagd-flag-updater.mjs=deploy/webhook-receivers/flagd-flag-updater.mjs',
    );
    // A Service's cluster IP is private: the judge allows the Service range for webhooks.
    expect(judgeConfig.webhookDelivery.allowAddresses).toEqual(['10.96.0.0/12']);
  });

  it('grants the Collector the RBAC its k8sattributes processor needs, to the ServiceAccount it runs as', () => {
    const account = at(podSpec('otel-collector'), 'serviceAccountName');
    named('ServiceAccount', account as string);
    const binding = named('ClusterRoleBinding', 'canary-judge-otel-collector');
    expect(at(binding, 'subjects')).toEqual([{ kind: 'ServiceAccount', name: account, namespace: 'shop' }]);
    const role = named('ClusterRole', at(binding, 'roleRef', 'name') as string);
    const rules = at(role, 'rules') as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const grants = (group: string, resource: string) =>
      rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource)) &&
      rules
        .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource))
        .flatMap((r) => r.verbs)
        .sort()
        .join() === 'get,list,watch';
    expect(grants('', 'pods')).toBe(true);
    expect(grants('', 'namespaces')).toBe(true);
    expect(grants('apps', 'replicasets')).toBe(true);
    expect(at(collectorConfig, 'processors', 'k8sattributes', 'auth_type')).toBe('serviceAccount');
    // The Collector's config is the ConfigMap made from collector-fleet.yaml (named in the header).
    const volumes = at(podSpec('otel-collector'), 'volumes') as { configMap?: { name: string } }[];
    const configMapName = volumes.find((v) => v.configMap)!.configMap!.name;
    expect(readText('deploy/fleet/collector.yaml')).toContain(
      `create configmap ${configMapName} \\\n#     --from-file=config.yaml=deploy/otel-collector/collector-fleet.yaml`,
    );
  });

  it('every Service selects the pods of one Deployment and targets a named container port', () => {
    for (const service of byKind(documents, 'Service')) {
      const host = `${at(service, 'metadata', 'name')}.shop.svc.cluster.local`;
      for (const port of at(service, 'spec', 'ports') as ServicePort[]) resolve(host, port.port);
    }
  });
});

describe('deploy/otel-collector/collector-fleet.yaml', () => {
  const exporters = at(collectorConfig, 'exporters') as Record<string, Record<string, unknown>>;
  const pipelines = at(collectorConfig, 'service', 'pipelines') as Record<string, Record<string, string[]>>;

  it('sets only documented options and wires every pipeline to components it defines', () => {
    expect(undocumentedOptions(collectorConfig)).toEqual([]);
    for (const [name, pipeline] of Object.entries(pipelines)) {
      for (const section of ['receivers', 'processors', 'exporters'] as const)
        for (const id of pipeline[section])
          expect(at(collectorConfig, section, id), `${name}: ${id}`).toBeDefined();
      expect(pipeline.processors[0]).toBe('memory_limiter');
      expect(pipeline.processors.at(-1)).toBe('batch');
    }
  });

  it('its loadbalancing exporters use the upstream Config names and a routing key their signal accepts', () => {
    for (const [name, pipeline] of Object.entries(pipelines)) {
      const signal = name.startsWith('metrics') ? 'metrics' : 'traces';
      for (const id of pipeline.exporters.filter((e) => e.startsWith('loadbalancing'))) {
        const exporter = exporters[id];
        for (const key of Object.keys(exporter)) expect(UPSTREAM_CONFIG.top, `${id}.${key}`).toContain(key);
        for (const [resolver, settings] of Object.entries(exporter.resolver as Record<string, object>)) {
          expect(Object.keys(UPSTREAM_CONFIG.resolver), `${id}.resolver`).toContain(resolver);
          for (const key of Object.keys(settings))
            expect(UPSTREAM_CONFIG.resolver[resolver], `${id}.resolver.${resolver}.${key}`).toContain(key);
        }
        expect(UPSTREAM_ROUTING_KEYS[signal], `${id} in ${name}`).toContain(exporter.routing_key);
      }
    }
    // Spans go by trace (whole traces at one forwarder), the state by service = the analysis.
    expect(exporters['loadbalancing/forwarders'].routing_key).toBe('traceID');
    expect(exporters['loadbalancing/judges'].routing_key).toBe('service');
  });

  it('resolves the forwarders and the judges through their headless Services, on their OTLP ports', () => {
    for (const [id, deployment, config] of [
      ['loadbalancing/forwarders', 'canary-judge-forwarder', forwarderConfig],
      ['loadbalancing/judges', 'canary-judge', judgeConfig],
    ] as const) {
      const dns = at(exporters[id], 'resolver', 'dns') as { hostname: string; port: number };
      const target = resolve(dns.hostname, dns.port);
      expect(at(target.service, 'spec', 'clusterIP'), id).toBe('None');
      expect(target.deployment).toBe(deployment);
      expect(target.containerPort).toBe(config.otlp.grpc.port);
      // The exporter sends the token the receiving instance checks.
      expect(at(exporters[id], 'protocol', 'otlp', 'headers', 'authorization')).toBe(
        'Bearer ${env:CANARY_JUDGE_OTLP_AUTH_TOKEN}',
      );
      expect(envOf(container('otel-collector', 'otel-collector')).CANARY_JUDGE_OTLP_AUTH_TOKEN).toBe(
        config.otlp.authToken,
      );
    }
  });

  it("routing by service sends every forwarder's points of a run, and of its analysis, to one judge", () => {
    const stages = (seed: number) => {
      const evidence = new RunEvidence(
        { startedAtMs: 1_000, canaryShare: 0.5 },
        { lagMs: 0, sourceIdleMs: 60_000, maxHoldMs: 0, maxSources: 8, requireBothArms: false },
        {},
        0,
      );
      for (let i = 0; i < 20; i += 1)
        evidence.accept(
          {
            kind: 'span',
            runId: 'x',
            arm: i % 2 ? 'canary' : 'baseline',
            timeUnixMs: 2_000 + i,
            sourceKey: 'pod',
            durationNanos: (seed + i) * 1e6,
            isError: false,
          },
          3_000,
        );
      evidence.advance(10_000);
      return evidence.readOwn();
    };
    const run = (runId: string, analysisId: string) => ({
      runId,
      analysisId,
      startTimeMs: 500,
      watermarkMs: 9_000,
      stages: stages(runId.length),
    });
    const runs = [run('checkout-r1', 'checkout'), run('search-r7', 'search'), run('cart-r2', 'cart')];
    const routes = new Map<string, Set<string>>(); // run id -> routing ids its points went under
    for (const forwarder of ['forwarder-0', 'forwarder-1', 'forwarder-2', 'forwarder-3']) {
      const resources = fleetResourceMetrics(runs, forwarder);
      const ids = serviceRoutingIds(resources.map((metrics) => metrics.resource));
      resources.forEach((resource, i) => {
        for (const scope of resource.scopeMetrics)
          for (const metric of scope.metrics)
            for (const point of metric.dataPoints as { attributes: Record<string, unknown> }[]) {
              const runId = point.attributes['canary_judge.run.id'] as string;
              (routes.get(runId) ?? routes.set(runId, new Set()).get(runId)!).add(ids[i]);
            }
      });
    }
    expect([...routes.keys()].sort()).toEqual(runs.map((r) => r.runId).sort());
    for (const [runId, ids] of routes) expect([...ids], runId).toHaveLength(1);
    // Different analyses get different keys (the ring may still place them on one judge).
    expect(new Set([...routes.values()].map((ids) => [...ids][0])).size).toBe(runs.length);
  });
});
