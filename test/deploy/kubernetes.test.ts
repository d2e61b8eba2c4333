// deploy/kubernetes/: the sidecar container is wired the way the sidecar actually works: its config
// (ConfigMap) passes parseConfig, its env names are real CANARY_JUDGE_* overrides fed from keys the Secret
// has, probes and ports match the API and OTLP listeners, and it runs as a non-root user.
import { describe, expect, it } from 'vitest';
import { ENV_OVERRIDES, parseConfig } from '../../src/config/load.js';
import { listenerSpecs, openListenerWarnings } from '../../src/listeners.js';
import { at, byKind, parseYamlDocuments, readText } from './deploy-files.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface ContainerPort {
  name: string;
  containerPort: number;
}

const deployment = parseYamlDocuments('deploy/kubernetes/deployment.yaml')[0];
const [configMap] = parseYamlDocuments('deploy/kubernetes/configmap.yaml');
const [secret] = parseYamlDocuments('deploy/kubernetes/secret.yaml');
const services = byKind(parseYamlDocuments('deploy/kubernetes/service.yaml'), 'Service');
const podSpec = at(deployment, 'spec', 'template', 'spec');
const containers = at(podSpec, 'containers') as { name: string }[];
const sidecar = containers.find((container) => container.name === 'canary-judge');
const env = (at(sidecar, 'env') ?? []) as EnvVar[];
const secretData = at(secret, 'stringData') as Record<string, string>;
const configText = at(configMap, 'data', 'config.json') as string;

/** The environment the container would see, with Secret references resolved from secret.yaml. */
function containerEnv(): Record<string, string> {
  const resolved: Record<string, string> = {};
  for (const variable of env) {
    const ref = variable.valueFrom?.secretKeyRef;
    resolved[variable.name] = ref ? secretData[ref.key] : (variable.value ?? '');
  }
  return resolved;
}

describe('deploy/kubernetes', () => {
  it('adds a canary-judge container beside the example service in one Deployment', () => {
    expect(at(deployment, 'kind')).toBe('Deployment');
    expect(containers.map((container) => container.name)).toEqual(['checkout', 'canary-judge']);
  });

  it('the ConfigMap sample config validates with parseConfig, alone and with the container env applied', () => {
    const raw = JSON.parse(configText) as unknown;
    const config = parseConfig(raw, 'configmap.yaml');
    expect(config.analyses.map((analysis) => analysis.id)).toEqual(['checkout-rollout']);
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.selfTelemetry.enabled).toBe(false);
    const withEnv = parseConfig(raw, 'configmap.yaml + env', containerEnv());
    expect(withEnv.otlp.authToken).toBe(secretData['otlp-token']);
    expect(withEnv.api.authToken).toBe(secretData['api-token']);
    expect(withEnv.webhook?.secret).toBe(secretData['webhook-secret']);
    expect(withEnv.storage.path).toBe('/data/canary-judge.sqlite');
    // The webhook goes to a Service's (private) cluster IP, so the Service range is allowed explicitly.
    expect(withEnv.webhook?.url).toMatch(/\.svc\.cluster\.local[:/]/);
    expect(withEnv.webhookDelivery.allowAddresses).toEqual(['10.96.0.0/12']);
    // Every listener binds 0.0.0.0, and every one is guarded by a token from the Secret: no start warning.
    expect(openListenerWarnings(listenerSpecs(withEnv))).toEqual([]);
    expect(openListenerWarnings(listenerSpecs(config))).toHaveLength(3); // what the Secret prevents
  });

  it('uses the analysis of deploy/argo-rollouts/analysis.json', () => {
    const argo = JSON.parse(readText('deploy/argo-rollouts/analysis.json')) as unknown;
    const sample = JSON.parse(configText) as { analyses: unknown[] };
    expect(sample.analyses[0]).toEqual(argo);
  });

  it('sets only environment variables that are real CANARY_JUDGE_* overrides, secrets from existing Secret keys', () => {
    const known = new Set(ENV_OVERRIDES.map((override) => override.name));
    for (const variable of env.filter((v) => v.name.startsWith('CANARY_JUDGE_')))
      expect(known, variable.name).toContain(variable.name);
    const secretRefs = env.flatMap((v) => (v.valueFrom?.secretKeyRef ? [v.valueFrom.secretKeyRef] : []));
    expect(secretRefs.map((ref) => ref.key).sort()).toEqual(['api-token', 'otlp-token', 'webhook-secret']);
    for (const ref of secretRefs) {
      expect(ref.name).toBe(at(secret, 'metadata', 'name'));
      expect(secretData[ref.key]?.length ?? 0).toBeGreaterThanOrEqual(16);
    }
    // Tokens never sit in plain values.
    for (const variable of env.filter((v) => /TOKEN|SECRET/.test(v.name)))
      expect(variable.value).toBeUndefined();
  });

  it('exposes 4317, 4318 and 8686 and probes /readyz and /healthz on the API port', () => {
    const ports = at(sidecar, 'ports') as ContainerPort[];
    expect(ports.map((port) => port.containerPort).sort()).toEqual([4317, 4318, 8686]);
    expect(at(sidecar, 'readinessProbe', 'httpGet')).toEqual({ path: '/readyz', port: 'http-api' });
    expect(at(sidecar, 'livenessProbe', 'httpGet')).toEqual({ path: '/healthz', port: 'http-api' });
    expect(ports.find((port) => port.name === 'http-api')?.containerPort).toBe(8686);
    expect(at(sidecar, 'resources', 'requests')).toBeDefined();
    expect(at(sidecar, 'resources', 'limits', 'memory')).toBeDefined();
  });

  it('mounts the config at /etc/canary-judge/config.json and data at /data, and runs as non-root', () => {
    expect(at(sidecar, 'args')).toEqual(['--config', '/etc/canary-judge/config.json']);
    const mounts = at(sidecar, 'volumeMounts') as { name: string; mountPath: string }[];
    const volumes = at(podSpec, 'volumes') as { name: string; configMap?: { name: string } }[];
    expect(mounts.find((mount) => mount.mountPath === '/etc/canary-judge')?.name).toBe('config');
    expect(mounts.find((mount) => mount.mountPath === '/data')?.name).toBe('data');
    expect(volumes.find((volume) => volume.name === 'config')?.configMap?.name).toBe(
      at(configMap, 'metadata', 'name'),
    );
    expect(at(podSpec, 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(at(sidecar, 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(at(sidecar, 'securityContext', 'readOnlyRootFilesystem')).toBe(true);
    expect(at(sidecar, 'securityContext', 'allowPrivilegeEscalation')).toBe(false);
  });

  it('Services select the Deployment pods and target named container ports that exist', () => {
    const podLabels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
    const portNames = new Set((at(sidecar, 'ports') as ContainerPort[]).map((port) => port.name));
    expect(services.map((service) => at(service, 'metadata', 'name'))).toEqual([
      'canary-judge',
      'canary-judge-headless',
    ]);
    for (const service of services) {
      for (const [key, value] of Object.entries(at(service, 'spec', 'selector') as Record<string, string>))
        expect(podLabels[key]).toBe(value);
      for (const port of at(service, 'spec', 'ports') as { targetPort: string }[])
        expect(portNames).toContain(port.targetPort);
    }
    expect(at(services[1], 'spec', 'clusterIP')).toBe('None');
  });

  it('gives SIGTERM longer than the sidecar drains for', () => {
    const config = parseConfig(JSON.parse(configText) as unknown);
    expect(at(podSpec, 'terminationGracePeriodSeconds')).toBeGreaterThan(config.shutdownTimeoutSeconds);
  });
});
