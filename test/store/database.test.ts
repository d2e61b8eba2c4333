// The SQLite store: created under a missing folder with mode 0600, WAL mode, migrations applied once,
// newer schema refused; what is at the path checked before use (an empty or foreign file is refused
// with its path named, an unwritable folder named); storage failures tracked until a write succeeds.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, StoreError, WAL_AUTOCHECKPOINT_PAGES } from '../../src/store/database.js';
import { canMount, mountTmpfs } from '../support/tmpfs.js';

const dirs: string[] = [];
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
  dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-store-'));
  dirs.push(dir);
  return dir;
}
function tempPath(): string {
  return join(tempDir(), 'nested', 'data', 'state.sqlite');
}
function openError(path: string): StoreError {
  try {
    Store.open(path).close();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreError);
    return error as StoreError;
  }
  throw new Error(`expected Store.open(${path}) to fail`);
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
    expect(second.info()).toMatchObject({ path, boots: 2, schemaVersion: 5 });
    second.close();
  });

  it('checkpoints its write-ahead log at 128 pages and on request, so the log stays small', () => {
    const path = tempPath();
    const store = Store.open(path);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(WAL_AUTOCHECKPOINT_PAGES);
    store.db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, body TEXT)');
    store.checkpoint();
    store.db.prepare('INSERT INTO blobs (body) VALUES (?)').run('x'.repeat(40_000));
    const { logPages, checkpointedPages } = store.checkpoint();
    expect(logPages).toBeGreaterThanOrEqual(10); // ten overflow pages at least, and the tree's
    expect(checkpointedPages).toBe(logPages);
    // Commits far beyond the threshold: SQLite checkpointed inside them, the log never held much more.
    for (let i = 0; i < 100; i++)
      store.db.prepare('INSERT INTO blobs (body) VALUES (?)').run('y'.repeat(40_000));
    expect(statSync(`${path}-wal`).size).toBeLessThan(2 * WAL_AUTOCHECKPOINT_PAGES * 4096);
    store.close();
    const memory = Store.open(':memory:');
    expect(memory.checkpoint()).toEqual({ logPages: 0, checkpointedPages: 0 });
    memory.close();
  });

  it('creates a new database file readable and writable by its owner only (mode 0600)', () => {
    const path = tempPath();
    const store = Store.open(path);
    store.recordBoot('1.0.0', new Date());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    store.close();
  });

  it('reports a database file other users can read (older versions made it 0644), for the start warning', () => {
    const path = tempPath();
    const store = Store.open(path);
    expect(store.exposedMode).toBeUndefined();
    chmodSync(path, 0o644);
    expect(store.exposedMode).toBe(0o644);
    store.close();
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

  it('refuses a zero-length file at the storage path, naming it, instead of starting empty', () => {
    const path = join(tempDir(), 'state.sqlite');
    writeFileSync(path, '');
    const error = openError(path);
    expect(error.code).toBe('STORE_EMPTY_FILE');
    expect(error.message).toBe(
      `database ${path} is an empty file, not a canary-judge database (a failed copy?); restore the real file, or move this one away to start with empty state`,
    );
    expect(statSync(path).size).toBe(0); // left as it was
  });

  it('refuses a file that is not SQLite, naming it, and leaves it untouched', () => {
    const path = join(tempDir(), 'state.sqlite');
    const csv = 'name,value\nthis,is a csv file\n';
    writeFileSync(path, csv);
    const error = openError(path);
    expect(error.code).toBe('STORE_NOT_SQLITE');
    expect(error.message).toMatch(
      new RegExp(`^${path} is not a SQLite database; refusing to use or overwrite it`),
    );
    expect(error.message).toContain('storage.path (CANARY_JUDGE_STORAGE_PATH)');
    expect(statSync(path).size).toBe(csv.length);
  });

  it('refuses a second owner of the same database in this process too', () => {
    const path = tempPath();
    const owner = Store.open(path);
    const error = openError(path);
    expect(error.code).toBe('STORE_IN_USE');
    expect(error.message).toContain(path);
    owner.close();
    Store.open(path).close(); // free again once the owner closed it
  });

  it('tracks a storage failure until a write succeeds again', () => {
    const store = Store.open(tempPath());
    const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    expect(() =>
      store.write(() => {
        throw full;
      }),
    ).toThrow(full);
    expect(store.failure).toMatchObject({ code: 'SQLITE_FULL', message: 'database or disk is full' });
    // A statement's own error (a constraint, a typo) is not a storage failure and changes nothing.
    expect(() => store.write(() => store.db.exec('INSERT INTO nope VALUES (1)'))).toThrow();
    expect(store.failure?.code).toBe('SQLITE_FULL');
    expect(store.probe()).toBeUndefined(); // the probe's write succeeds: recovered
    expect(store.failure).toBeUndefined();
    store.close();
  });
});

describe('Store on a folder it cannot write', () => {
  it('names the folder and the path when the folder is read-only', () => {
    let folder: string;
    if (canMount()) {
      const mounted = mountTmpfs(1024 * 1024, { readOnly: true });
      cleanups.push(() => mounted.unmount());
      folder = mounted.path;
    } else {
      folder = tempDir();
      chmodSync(folder, 0o500);
      cleanups.push(() => chmodSync(folder, 0o700));
    }
    const path = join(folder, 'state.sqlite');
    const error = openError(path);
    expect(error.code).toBe('STORE_NOT_WRITABLE');
    expect(error.message).toMatch(
      new RegExp(
        `^cannot write the database folder ${folder} for ${path} \\((a read-only file system|permission denied)\\)`,
      ),
    );
    expect(error.message).toContain('storage.path (CANARY_JUDGE_STORAGE_PATH)');
  });

  it.runIf(canMount())(
    'names the path when an existing database sits on a file system remounted read-only',
    () => {
      const mounted = mountTmpfs(4 * 1024 * 1024);
      cleanups.push(() => mounted.unmount());
      const folder = join(mounted.path, 'data');
      mkdirSync(folder);
      const path = join(folder, 'state.sqlite');
      Store.open(path).close();
      mounted.remount(true);
      const error = openError(path);
      expect(error.code).toBe('STORE_NOT_WRITABLE');
      expect(error.message).toContain(`${folder} for ${path} (a read-only file system)`);
    },
  );
});
