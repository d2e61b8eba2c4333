// Loading the config: file -> environment overrides -> validation. The only module that reads the environment.
import { readFileSync } from 'node:fs';
import * as z from 'zod';
import { describeSecretValue, isSecretField, maskUrlPasswords } from './redaction.js';
import { configSchema, type Config } from './schema.js';
import { jsonSyntaxProblem } from './validation-messages.js';

/** A config that cannot be used; `problems` holds one line per field, each naming the field and the fix. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid config ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Env = Record<string, string | undefined>;

export interface EnvOverride {
  name: string;
  path: string[];
  /** `list`: comma-separated. */
  type: 'int' | 'string' | 'list';
  /** A secret may also be read from the file `<name>_FILE` names (Docker and Kubernetes secret mounts). */
  secret?: boolean;
}

/** Environment variables that override fields: ports, addresses, paths and secrets (never put secrets in files you commit). */
export const ENV_OVERRIDES: ReadonlyArray<EnvOverride> = [
  { name: 'CANARY_JUDGE_OTLP_GRPC_HOST', path: ['otlp', 'grpc', 'host'], type: 'string' },
  { name: 'CANARY_JUDGE_OTLP_GRPC_PORT', path: ['otlp', 'grpc', 'port'], type: 'int' },
  { name: 'CANARY_JUDGE_OTLP_HTTP_HOST', path: ['otlp', 'http', 'host'], type: 'string' },
  { name: 'CANARY_JUDGE_OTLP_HTTP_PORT', path: ['otlp', 'http', 'port'], type: 'int' },
  { name: 'CANARY_JUDGE_API_HOST', path: ['api', 'host'], type: 'string' },
  { name: 'CANARY_JUDGE_API_PORT', path: ['api', 'port'], type: 'int' },
  { name: 'CANARY_JUDGE_STORAGE_PATH', path: ['storage', 'path'], type: 'string' },
  { name: 'CANARY_JUDGE_LOG_LEVEL', path: ['log', 'level'], type: 'string' },
  { name: 'CANARY_JUDGE_LOG_FORMAT', path: ['log', 'format'], type: 'string' },
  { name: 'CANARY_JUDGE_OTLP_AUTH_TOKEN', path: ['otlp', 'authToken'], type: 'string', secret: true },
  { name: 'CANARY_JUDGE_API_AUTH_TOKEN', path: ['api', 'authToken'], type: 'string', secret: true },
  { name: 'CANARY_JUDGE_WEBHOOK_URL', path: ['webhook', 'url'], type: 'string' },
  { name: 'CANARY_JUDGE_WEBHOOK_SECRET', path: ['webhook', 'secret'], type: 'string', secret: true },
  {
    name: 'CANARY_JUDGE_WEBHOOK_ALLOW_ADDRESSES',
    path: ['webhookDelivery', 'allowAddresses'],
    type: 'list',
  },
  { name: 'CANARY_JUDGE_FLEET_INSTANCE_ID', path: ['fleet', 'forward', 'instanceId'], type: 'string' },
  {
    name: 'CANARY_JUDGE_FLEET_API_TOKEN',
    path: ['fleet', 'forward', 'apiToken'],
    type: 'string',
    secret: true,
  },
  {
    name: 'CANARY_JUDGE_FLEET_OTLP_AUTH_TOKEN',
    path: ['fleet', 'forward', 'otlpAuthToken'],
    type: 'string',
    secret: true,
  },
];

/** The environment variable that overrides a setting such as `api.port`, for messages that name both. */
export function envVariableFor(setting: string): string | undefined {
  return ENV_OVERRIDES.find((override) => override.path.join('.') === setting)?.name;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    const shown = maskUrlPasswords(value);
    return JSON.stringify(shown.length > 40 ? `${shown.slice(0, 40)}...` : shown);
  }
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** One line per problem: `otlp.http.port: expected an integer from 0 to 65535, found "abc"`. */
export function formatIssues(issues: z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    const field = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      return `${field === '(top level)' ? '' : `${field}.`}${issue.keys.join(', ')}: unknown field; remove it or check its spelling (see config.example.json)`;
    }
    const value = valueAt(input, issue.path);
    const found = isSecretField(issue.path) ? describeSecretValue(value) : describe(value);
    return `${field}: ${issue.message.replace(/^Invalid input: /, '').replace(/, received \w+$/, '')}, found ${found}`;
  });
}

function applyEnv(raw: Json, env: Env, problems: string[]): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
  for (const override of ENV_OVERRIDES) {
    const text = override.secret ? secretFromEnv(override.name, env, problems) : env[override.name];
    if (text === undefined || text === '') continue;
    let value: Json = text;
    if (override.type === 'int') {
      if (!/^\d+$/.test(text)) {
        problems.push(`${override.name}: expected an integer, found ${JSON.stringify(text)}`);
        continue;
      }
      value = Number(text);
    } else if (override.type === 'list') {
      value = text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    }
    let node: { [key: string]: Json } = raw;
    for (const key of override.path.slice(0, -1)) {
      const next = node[key];
      if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next))
        node[key] = {};
      node = node[key] as { [key: string]: Json };
    }
    node[override.path[override.path.length - 1]] = value;
  }
}

/**
 * A secret from `NAME` or from the file `NAME_FILE` names (one trailing newline dropped), the form Docker
 * and Kubernetes secret mounts take. Both set, or an unreadable file, is a problem naming the variable.
 */
function secretFromEnv(name: string, env: Env, problems: string[]): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (file === undefined || file === '') return direct;
  if (direct !== undefined && direct !== '') {
    problems.push(`${name} and ${name}_FILE are both set; keep one`);
    return undefined;
  }
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(
      `${name}_FILE: cannot read ${file} (${code}); mount the secret there, or set ${name}_FILE to an empty value to run without it`,
    );
    return undefined;
  }
}

/** Validates an already-parsed config object (after environment overrides). Throws ConfigError. */
export function parseConfig(raw: unknown, source = '(inline)', env: Env = {}): Config {
  const copy = JSON.parse(JSON.stringify(raw ?? {})) as Json;
  const problems: string[] = [];
  applyEnv(copy, env, problems);
  const result = configSchema.safeParse(copy);
  if (!result.success) problems.push(...formatIssues(result.error.issues, copy));
  if (problems.length > 0 || !result.success) throw new ConfigError(source, problems);
  return result.data;
}

/** Reads, overrides from the environment, and validates the config file at `path`. Throws ConfigError. */
export function loadConfig(path: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code;
    throw new ConfigError(path, [`cannot read the file: ${why ?? (error as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [jsonSyntaxProblem(error, text)]);
  }
  return parseConfig(raw, path, env);
}
