// The sidecar's three listeners as the config names them: which setting and environment variable move
// each, whether each is reachable beyond this machine without a token (a warning at start), and bind
// failures (port in use, address not on this machine, privileged port) told in those terms.
import { isIP } from 'node:net';
import { envVariableFor } from './config/load.js';
import type { Config } from './config/schema.js';

export type ListenerName = 'api' | 'otlp.grpc' | 'otlp.http';

export interface ListenerSpec {
  name: ListenerName;
  host: string;
  port: number;
  /** The token setting that guards it. */
  tokenSetting: 'api.authToken' | 'otlp.authToken';
  token: string | null;
  /** What anyone who reaches it unauthenticated can do, for the warning. */
  exposure: string;
}

export function listenerSpecs(config: Config): ListenerSpec[] {
  const specs: ListenerSpec[] = [
    {
      name: 'api',
      host: config.api.host,
      port: config.api.port,
      tokenSetting: 'api.authToken',
      token: config.api.authToken,
      exposure: 'create analyses (and so aim webhooks), stop them and read every verdict',
    },
  ];
  const otlpExposure = 'send telemetry that decides verdicts';
  if (config.otlp.grpc.enabled) {
    specs.push({
      name: 'otlp.grpc',
      ...config.otlp.grpc,
      tokenSetting: 'otlp.authToken',
      token: config.otlp.authToken,
      exposure: otlpExposure,
    });
  }
  if (config.otlp.http.enabled) {
    specs.push({
      name: 'otlp.http',
      ...config.otlp.http,
      tokenSetting: 'otlp.authToken',
      token: config.otlp.authToken,
      exposure: otlpExposure,
    });
  }
  return specs;
}

/** Loopback only: 127.0.0.0/8, ::1 and the name localhost. 0.0.0.0 and :: mean every interface. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1' || bare === '::ffff:127.0.0.1';
}

function setting(name: string): string {
  const env = envVariableFor(name);
  return env ? `${name} (${env})` : name;
}

/** One warning per listener bound beyond loopback without a token; `bound` has the ports actually bound. */
export function openListenerWarnings(
  specs: ListenerSpec[],
  bound: Partial<Record<ListenerName, number>> = {},
): string[] {
  return specs
    .filter((spec) => !spec.token && !isLoopbackHost(spec.host))
    .map(
      (spec) =>
        `${spec.name} listens on ${spec.host}:${bound[spec.name] ?? spec.port} without a bearer token: anyone who can reach it can ${spec.exposure}; set ${setting(spec.tokenSetting)}, or bind it to 127.0.0.1 with ${setting(`${spec.name}.host`)}`,
    );
}

/** A listener that could not bind, with the setting and environment variable that change it. */
export class ListenError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

/** Turns a bind failure of `spec` into a ListenError, or returns the error unchanged when it is not one. */
export function describeListenError(error: unknown, spec: ListenerSpec): unknown {
  const text = error instanceof Error ? error.message : String(error);
  // node:net puts the errno in `code`; grpc-js only in the message ("... listen EADDRINUSE: ...").
  const code =
    (error as NodeJS.ErrnoException).code ?? /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(text)?.[1];
  const where = `${spec.name} cannot listen on ${spec.host}:${spec.port}`;
  const port = setting(`${spec.name}.port`);
  const host = setting(`${spec.name}.host`);
  switch (code) {
    case 'EADDRINUSE':
      return new ListenError(
        code,
        `${where}: the port is in use (another canary-judge, or another OTLP receiver?); stop that process or choose another port with ${port}`,
      );
    case 'EADDRNOTAVAIL':
      return new ListenError(code, `${where}: the address is not one of this machine's; set ${host}`);
    case 'EACCES':
      return new ListenError(
        code,
        `${where}: permission denied (ports below 1024 need privileges); choose a port from 1024 with ${port}`,
      );
    default:
      return error;
  }
}
