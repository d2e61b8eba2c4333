// The CLI as a user runs it: a child process on a real config file, stopped with SIGTERM.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'canary-judge-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

describe('canary-judge CLI', () => {
  it('starts on a config, serves /readyz, and exits 0 on SIGTERM', async () => {
    const storage = join(dir, 'data', 'state.sqlite');
    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({ otlp: { grpc: { port: 0 }, http: { port: 0 } }, api: { port: 0 } }),
    );
    const cli = runCli(['--config', config], { CANARY_JUDGE_STORAGE_PATH: storage });
    let apiPort = 0;
    for (let i = 0; i < 300 && apiPort === 0; i += 1) {
      const match = /"api":(\d+)/.exec(cli.output().stdout);
      if (match) apiPort = Number(match[1]);
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(apiPort).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status).toBe(200);
    expect(existsSync(storage)).toBe(true);
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    expect(cli.output().stdout).toContain('"msg":"stopped"');
  });

  it('logs readable local-time lines when log.format is pretty (a terminal gets them by default)', async () => {
    const config = join(dir, 'pretty.json');
    writeFileSync(
      config,
      JSON.stringify({
        otlp: { grpc: { port: 0 }, http: { port: 0 } },
        api: { port: 0 },
        storage: { path: join(dir, 'pretty', 'state.sqlite') },
      }),
    );
    // A zone 5.5 hours from UTC, so local time cannot pass for UTC.
    const zone = 'Asia/Kolkata';
    const cli = runCli(['--config', config], { CANARY_JUDGE_LOG_FORMAT: 'pretty', NO_COLOR: '1', TZ: zone });
    for (let i = 0; i < 300 && !cli.output().stdout.includes('canary-judge started'); i += 1)
      await new Promise((resolve) => setTimeout(resolve, 50));
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toBe(0);
    const lines = cli.output().stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: canary-judge started \{"ports":/);
    expect(lines.at(-1)).toMatch(/^\[[\d:.]+\] INFO: stopped/);
    const [hours, minutes] = lines[0].slice(1, 6).split(':').map(Number);
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .format(new Date())
      .split(':')
      .map(Number);
    const apart = Math.abs(hours * 60 + minutes - (local[0] * 60 + local[1]));
    expect(Math.min(apart, 1440 - apart)).toBeLessThanOrEqual(2);
  });

  it('exits 2 with one line per config problem', async () => {
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ api: { port: 'x' }, otlp: { nope: true } }));
    const cli = runCli(['--config', config]);
    expect(await cli.exited).toBe(2);
    const lines = cli.output().stderr.trim().split('\n');
    expect(lines[0]).toBe(`invalid config ${config}:`);
    expect(
      lines
        .slice(1)
        .map((line) => line.trim())
        .sort(),
    ).toEqual([
      'api.port: expected a number, found "x"',
      'otlp.nope: unknown field; remove it or check its spelling (see config.example.json)',
    ]);
  });
});
