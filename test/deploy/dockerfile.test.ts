// The Dockerfile is safe by default (issue 12, finding 1): its listeners bind 0.0.0.0, so its environment
// takes both bearer tokens from secret files; with them mounted the image's config validates and no
// listener is left open, and without them the container refuses to start naming the variable. (No Docker
// engine here: the test reads the Dockerfile's ENV and applies it with the sidecar's own config loader.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mainScriptOf, nodeFlagsOf, productionNodeFlags } from '../../bench/start-command.js';
import { ConfigError, ENV_OVERRIDES, parseConfig } from '../../src/config/load.js';
import { listenerSpecs, openListenerWarnings } from '../../src/listeners.js';
import { readText } from './deploy-files.js';

/** The runtime stage's ENV as name -> value (the `ENV a=b \` continuation form). */
function runtimeEnv(): Record<string, string> {
  const dockerfile = readText('Dockerfile');
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
  const block = /^ENV ((?:.*\\\n)*.*)$/m.exec(runtime)![1];
  return Object.fromEntries(
    block
      .split(/\\\n/)
      .map((line) => line.trim())
      .filter(Boolean)
      .map((pair) => pair.split('=', 2) as [string, string]),
  );
}

describe('Dockerfile', () => {
  const env = runtimeEnv();
  const example = JSON.parse(readText('config.example.json')) as unknown;

  it('binds every listener beyond loopback and reads both tokens from secret files', () => {
    expect(env).toMatchObject({
      CANARY_JUDGE_OTLP_GRPC_HOST: '0.0.0.0',
      CANARY_JUDGE_API_HOST: '0.0.0.0',
      CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE: '/run/secrets/canary-judge-otlp-token',
      CANARY_JUDGE_API_AUTH_TOKEN_FILE: '/run/secrets/canary-judge-api-token',
    });
    const known = new Set(ENV_OVERRIDES.flatMap((o) => (o.secret ? [o.name, `${o.name}_FILE`] : [o.name])));
    for (const name of Object.keys(env).filter((n) => n.startsWith('CANARY_JUDGE_')))
      expect(known).toContain(name);
  });

  it('starts guarded when the secrets are mounted, and refuses to start naming the variable when not', () => {
    const secrets = mkdtempSync(join(tmpdir(), 'canary-judge-secrets-'));
    try {
      const mounted = { ...env };
      for (const name of ['CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE', 'CANARY_JUDGE_API_AUTH_TOKEN_FILE']) {
        mounted[name] = join(secrets, name);
        writeFileSync(mounted[name], `${name.toLowerCase()}-0123456789abcdef\n`);
      }
      const config = parseConfig(example, 'image', mounted);
      expect(config.api.host).toBe('0.0.0.0');
      expect(openListenerWarnings(listenerSpecs(config))).toEqual([]);
    } finally {
      rmSync(secrets, { recursive: true, force: true });
    }
    const refused = (() => {
      try {
        parseConfig(example, 'image', env);
      } catch (error) {
        return error as ConfigError;
      }
      throw new Error('expected the image to refuse a start without its secrets');
    })();
    expect(refused.problems).toEqual([
      'CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE: cannot read /run/secrets/canary-judge-otlp-token (ENOENT); mount the secret there, or set CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE to an empty value to run without it',
      'CANARY_JUDGE_API_AUTH_TOKEN_FILE: cannot read /run/secrets/canary-judge-api-token (ENOENT); mount the secret there, or set CANARY_JUDGE_API_AUTH_TOKEN_FILE to an empty value to run without it',
    ]);
  });

  it('runs the script of `npm start` with its node flags, as the footprint and ingest benchmarks do', () => {
    const dockerfile = readText('Dockerfile');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]) as string[];
    const start = (JSON.parse(readText('package.json')) as { scripts: { start: string } }).scripts.start;
    const flags = nodeFlagsOf(start);
    expect(flags).toEqual(productionNodeFlags());
    expect(mainScriptOf(start)).toBe('dist/bundle/main.js');
    expect(entrypoint).toEqual(['node', ...flags, 'dist/bundle/main.js']);
    // The runtime stage holds the bundle the build stage made, not the compiled modules.
    expect(dockerfile).toContain('COPY --from=build /app/dist/bundle ./dist/bundle');
    expect(dockerfile).not.toContain('dist/src');
  });
});
