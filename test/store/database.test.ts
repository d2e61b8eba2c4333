// The SQLite store: created under a missing folder, WAL mode, migrations applied once, newer schema refused.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/database.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-store-'));
  dirs.push(dir);
  return join(dir, 'nested', 'data', 'state.sqlite');
}

describe('Store', () => {
  it('creates its folder, uses WAL mode and records boots across reopenings', () => {
    const path = tempPath();
    const first = Store.open(path);
    expect(first.db.pragma('journal_mode', { simple: true })).toBe('wal');
    first.recordBoot('1.0.0', new Date('2026-01-01T00:00:00Z'));
    first.close();
    const second = Store.open(path);
    second.recordBoot('1.0.1', new Date());
    expect(second.info()).toMatchObject({ path, boots: 2, schemaVersion: 3 });
    second.close();
  });

  it('refuses a database written by a newer schema instead of corrupting it', () => {
    const path = tempPath();
    const store = Store.open(path);
    store.db.pragma('user_version = 99');
    store.close();
    expect(() => Store.open(path)).toThrow(/schema version 99, newer than this build knows/);
  });

  it('is safe to close twice', () => {
    const store = Store.open(tempPath());
    store.close();
    expect(() => store.close()).not.toThrow();
  });
});
