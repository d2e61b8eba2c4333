// One owner per database (issue 10, item 6): while one process holds the storage path, a second one,
// a real canary-judge CLI, fails at once with a message naming the path, before it reads or writes any
// state; when the owner dies (even by kill -9) the lock goes with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Store, StoreError } from '../../src/store/database.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'canary-judge-owner-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function tsx(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CANARY_JUDGE_LOG_FORMAT: 'json' },
  });
  children.push(child);
  return child;
}

describe('one owner per database', () => {
  it('refuses a second process on the same storage path, then accepts one after the owner is killed', async () => {
    const path = join(dir, 'data', 'state.sqlite');
    const owner = tsx(['test/store/fixtures/hold-store.ts', path]);
    const [line] = (await once(createInterface({ input: owner.stdout! }), 'line')) as [string];
    expect(line).toBe(`owner ${owner.pid}`);

    const config = join(dir, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        otlp: { grpc: { port: 0 }, http: { port: 0 } },
        api: { port: 0 },
        storage: { path },
        analyses: [
          {
            id: 'checkout',
            match: { service: 'checkout' },
            variant: { attribute: 'v' },
            baseline: 'a',
            canary: 'b',
          },
        ],
      }),
    );
    const second = tsx(['src/main.ts', '--config', config]);
    let stdout = '';
    let stderr = '';
    second.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    second.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(second, 'exit')) as [number];
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(
      `canary-judge failed to start: database ${path} is in use by another canary-judge process; stop that one first, or give this one its own storage.path (CANARY_JUDGE_STORAGE_PATH)`,
    );
    expect(stdout).toBe(''); // nothing logged: no analysis resumed or started, no port bound

    // In this process too, before the owner dies; then kill -9 frees it.
    expect(() => Store.open(path)).toThrow(StoreError);
    owner.kill('SIGKILL');
    await once(owner, 'exit');
    const store = Store.open(path);
    expect(store.info().boots).toBe(1); // the refused process wrote nothing
    store.close();
  });
});
