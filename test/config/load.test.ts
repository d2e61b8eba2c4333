// Config validation: every problem on one line that names the field, what was expected and what was found.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url));

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('loads config.example.json with loopback defaults and the SQLite file under ./data', () => {
    const config = loadConfig(fileURLToPath(new URL('../../config.example.json', import.meta.url)), {});
    expect(config.otlp.grpc).toMatchObject({ host: '127.0.0.1', port: 4317 });
    expect(config.otlp.http).toMatchObject({ host: '127.0.0.1', port: 4318, maxBodyBytes: 16 * 1024 * 1024 });
    expect(config.otlp.maxDecompressedBytes).toBe(16 * 1024 * 1024);
    expect(config.api).toMatchObject({ host: '127.0.0.1', port: 8686, authToken: null });
    expect(config.storage.path).toBe('./data/canary-judge.sqlite');
    expect(
      config.analyses.map((analysis) => [analysis.id, analysis.variant, analysis.baseline, analysis.canary]),
    ).toEqual([['checkout-new-flow', { flag: 'new-checkout-flow' }, 'off', 'on']]);
    expect(config.selfTelemetry.enabled).toBe(false);
  });

  it('fills every default from an empty object', () => {
    const config = parseConfig({});
    expect(config.otlp.grpc.maxMessageBytes).toBe(16 * 1024 * 1024);
    expect(config.otlp.maxInFlightRequests).toBe(256);
    expect(config.analyses).toEqual([]);
  });

  it('reports one line per wrong field, naming the field, the expectation and the value found', () => {
    const problems = problemsOf(() => loadConfig(fixture('bad-types.json'), {}));
    expect(problems).toHaveLength(4);
    expect(problems).toContainEqual(
      expect.stringMatching(/^otlp\.http\.port: expected a number, found "4318"$/),
    );
    expect(problems).toContainEqual(expect.stringMatching(/^otlp\.maxInFlightRequests: .*found 0$/));
    expect(problems).toContainEqual(expect.stringMatching(/^api\.port: .*65535.*found 70000$/));
    expect(problems).toContainEqual(expect.stringMatching(/^log\.level: .*"info".*found "loud"$/));
  });

  it('names an unknown field and suggests the fix', () => {
    expect(problemsOf(() => loadConfig(fixture('unknown-field.json'), {}))).toEqual([
      'otlp.grcp: unknown field; remove it or check its spelling (see config.example.json)',
    ]);
  });

  it('says what a token must be without echoing any of it', () => {
    const [problem] = problemsOf(() => loadConfig(fixture('short-token.json'), {}));
    expect(problem).toMatch(
      /^api\.authToken: a bearer token of at least 16 characters, found a value of \d+ characters \(not shown\)$/,
    );
  });

  it('words every problem itself, never in the validation library’s English', () => {
    const problems = problemsOf(() =>
      parseConfig({
        judge: { tickIntervalMs: 10, maxAnalyses: 1.5 },
        api: { port: 70_000, host: '' },
        log: { format: 'fancy' },
        webhookDelivery: { allowAddresses: ['10.0.0.0/33', 'not-an-ip'] },
        analyses: [
          {
            id: 'a',
            match: {},
            variant: { attribute: 'v' },
            baseline: 'x',
            canary: 'y',
            judge: { alpha: 0.7 },
          },
        ],
      }),
    );
    expect(problems.sort()).toEqual([
      'analyses.0.judge.alpha: must be below 0.5, found 0.7',
      'api.host: must have at least 1 character, found ""',
      'api.port: must be at most 65535, found 70000',
      'judge.maxAnalyses: expected an integer, found 1.5',
      'judge.tickIntervalMs: must be at least 100, found 10',
      'log.format: expected one of "auto", "json", "pretty", found "fancy"',
      'webhookDelivery.allowAddresses.0: expected an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8, found "10.0.0.0/33"',
      'webhookDelivery.allowAddresses.1: expected an IP address or a CIDR range such as 10.0.0.0/8 or fd00::/8, found "not-an-ip"',
    ]);
    for (const problem of problems)
      expect(problem).not.toMatch(/Too (big|small)|Invalid (input|option)|expected number to be/);
  });

  it('reports a JSON syntax error by line and column, without quoting the file (it may hold tokens)', () => {
    const [problem] = problemsOf(() => loadConfig(fixture('not-json.json'), {}));
    expect(problem).toMatch(/^not valid JSON(: .* line \d+, column \d+| ends before the value is complete)?/);
  });

  it('reports a file that is not JSON or does not exist in one line', () => {
    expect(problemsOf(() => loadConfig(fixture('not-json.json'), {}))[0]).toMatch(/^not valid JSON: /);
    expect(problemsOf(() => loadConfig(fixture('missing.json'), {}))[0]).toMatch(/^cannot read the file: /);
  });

  it('applies environment overrides for ports, paths and secrets', () => {
    const config = parseConfig({}, 'inline', {
      CANARY_JUDGE_OTLP_HTTP_PORT: '14318',
      CANARY_JUDGE_API_HOST: '0.0.0.0',
      CANARY_JUDGE_STORAGE_PATH: '/var/lib/canary-judge/db.sqlite',
      CANARY_JUDGE_OTLP_AUTH_TOKEN: 'env-token-0123456789',
    });
    expect(config.otlp.http.port).toBe(14318);
    expect(config.api.host).toBe('0.0.0.0');
    expect(config.storage.path).toBe('/var/lib/canary-judge/db.sqlite');
    expect(config.otlp.authToken).toBe('env-token-0123456789');
  });

  it('reads secrets from the file a *_FILE variable names, and says which variable when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-judge-config-'));
    try {
      const tokenFile = join(dir, 'api-token');
      writeFileSync(tokenFile, 'token-from-a-mounted-secret\n');
      const config = parseConfig({}, 'inline', { CANARY_JUDGE_API_AUTH_TOKEN_FILE: tokenFile });
      expect(config.api.authToken).toBe('token-from-a-mounted-secret');
      const missing = join(dir, 'nope');
      expect(
        problemsOf(() => parseConfig({}, 'inline', { CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE: missing })),
      ).toEqual([
        `CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE: cannot read ${missing} (ENOENT); mount the secret there, or set CANARY_JUDGE_OTLP_AUTH_TOKEN_FILE to an empty value to run without it`,
      ]);
      expect(
        problemsOf(() =>
          parseConfig({}, 'inline', {
            CANARY_JUDGE_API_AUTH_TOKEN: 'x'.repeat(20),
            CANARY_JUDGE_API_AUTH_TOKEN_FILE: tokenFile,
          }),
        ),
      ).toEqual(['CANARY_JUDGE_API_AUTH_TOKEN and CANARY_JUDGE_API_AUTH_TOKEN_FILE are both set; keep one']);
      // An empty *_FILE means "no file": the plain variable, or nothing.
      expect(parseConfig({}, 'inline', { CANARY_JUDGE_API_AUTH_TOKEN_FILE: '' }).api.authToken).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('masks a password in a URL it quotes', () => {
    const problems = problemsOf(() =>
      parseConfig({ webhook: { url: 'ftp://ops:hunter2@hooks.example', secret: 'x'.repeat(16) } }),
    );
    expect(problems).toEqual([
      'webhook.url: expected an http or https URL, found "ftp://ops:***@hooks.example"',
    ]);
  });

  it('takes the webhook address allow-list from a comma-separated variable', () => {
    const config = parseConfig({}, 'inline', {
      CANARY_JUDGE_WEBHOOK_ALLOW_ADDRESSES: '10.0.0.0/8, fd00::/8',
    });
    expect(config.webhookDelivery.allowAddresses).toEqual(['10.0.0.0/8', 'fd00::/8']);
  });

  it('rejects a non-numeric port override naming the variable', () => {
    expect(problemsOf(() => parseConfig({}, 'inline', { CANARY_JUDGE_API_PORT: 'http' }))).toEqual([
      'CANARY_JUDGE_API_PORT: expected an integer, found "http"',
    ]);
  });
});

describe('ingest limits', () => {
  it('refuses a budget too small for the largest request the limits allow, naming the fix', () => {
    let message = '';
    try {
      parseConfig({ otlp: { maxIngestBytes: 16 * 1024 * 1024 } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /otlp\.maxIngestBytes: must be at least 83886100 .*raise it or lower those limits/,
    );
  });

  it("asks the budget to cover an uncompressed gRPC message's whole charge, which the defaults do", () => {
    // 4 x (5 + m) reserved on the first frame and grpc-js's copy of the message: 5 x m + 20. A budget of 5 x m
    // refused messages from m - 3 bytes up with UNAVAILABLE, every retry again.
    const otlp = {
      maxDecompressedBytes: 1024 * 1024,
      http: { maxBodyBytes: 1024 * 1024 },
      grpc: { maxMessageBytes: 1024 * 1024 },
    };
    expect(() => parseConfig({ otlp: { ...otlp, maxIngestBytes: 5 * 1024 * 1024 } })).toThrow(
      /otlp\.maxIngestBytes: must be at least 5242900 .*5 x grpc\.maxMessageBytes \+ 20/,
    );
    expect(parseConfig({ otlp: { ...otlp, maxIngestBytes: 5_242_900 } }).otlp.maxIngestBytes).toBe(5_242_900);
    const defaults = parseConfig({}).otlp;
    expect(defaults.maxIngestBytes).toBeGreaterThanOrEqual(5 * defaults.grpc.maxMessageBytes + 20);
  });

  it("counts a gzip gRPC message's inflater in the budget a small grpc.maxMessageBytes needs", () => {
    // 4 x 16 KiB and the 64 KiB inflater: 5 x 16 KiB could never admit a 16 KiB gzip message.
    const otlp = {
      maxDecompressedBytes: 16 * 1024,
      http: { maxBodyBytes: 16 * 1024 },
      grpc: { maxMessageBytes: 16 * 1024 },
    };
    expect(() => parseConfig({ otlp: { ...otlp, maxIngestBytes: 5 * 16 * 1024 } })).toThrow(
      /otlp\.maxIngestBytes: must be at least 131082 /,
    );
    expect(parseConfig({ otlp: { ...otlp, maxIngestBytes: 131_082 } }).otlp.maxIngestBytes).toBe(131_082);
  });

  it('caps analyses: 256-character span-name patterns, 16 metrics, 10 quantiles, no colliding judged metrics', () => {
    const analysis = (extra: object) => ({
      analyses: [
        {
          id: 'a',
          match: { service: 's' },
          variant: { attribute: 'v' },
          baseline: '1',
          canary: '2',
          ...extra,
        },
      ],
    });
    const problems = (extra: object): string => {
      try {
        parseConfig(analysis(extra));
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problems({ match: { spanName: 'x'.repeat(257) } })).toMatch(
      /analyses\.0\.match\.spanName: at most 256 characters \(the span-name pattern limit\)/,
    );
    const metrics = Array.from({ length: 17 }, (_, i) => ({ name: `m${i}`, kind: 'error_rate' }));
    expect(problems({ metrics })).toMatch(/at most 16 metrics per analysis/);
    const quantiles = Array.from({ length: 11 }, (_, i) => 0.05 + i / 20);
    expect(problems({ metrics: [{ name: 'latency', kind: 'latency', quantiles }] })).toMatch(
      /at most 10 quantiles per metric/,
    );
    expect(
      problems({ metrics: [{ name: 'latency', kind: 'latency', quantiles: [0.95, 0.9500000001] }] }),
    ).toMatch(/judges "latency_p95" twice/);
  });
});
