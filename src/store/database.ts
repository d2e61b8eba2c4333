// The SQLite store (better-sqlite3): one file, WAL mode, and numbered migrations applied in order at open
// so an upgrade only ever adds.
//
// One owner per database: the connection runs in SQLite's EXCLUSIVE locking mode and takes its lock
// before it reads anything, so a second process on the same file (or the same inode through another
// path) fails at once with StoreError STORE_IN_USE instead of sharing the outbox and the analyses. The
// lock is the operating system's file lock, released when the process dies, even by kill -9. The cost:
// other programs (the sqlite3 shell) cannot read the file while the sidecar runs; the API serves the data.
//
// What is at the path is checked first: a zero-length file (a failed copy, a `touch`) or a file that is
// not SQLite is refused with the path named rather than silently started empty or overwritten. A new
// database is prepared under a temporary name and linked into place, created with mode 0600 (its WAL
// file inherits the mode): it holds webhook secrets of analyses created through the API.
//
// Storage failures (disk full, I/O errors, a file turned read-only) are remembered by `write()` until a
// later write succeeds, so readiness can report them and writers can pause and retry instead of losing
// work; `probe()` makes that later write when nothing else does.
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { StoreError, describeOpenError, openOwned } from './database-file.js';
import { MIGRATIONS } from './migrations.js';

export { StoreError, type StoreErrorCode } from './database-file.js';

export type Db = Database.Database;

export interface StoreInfo {
  path: string;
  schemaVersion: number;
  boots: number;
}

/** The storage failure a write met, kept until a write succeeds again. */
export interface StorageFailure {
  /** SQLite's code, e.g. SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_READONLY. */
  code: string;
  message: string;
  sinceMs: number;
}

/** Failures of the disk or the file, as opposed to a bug in a statement (constraint, syntax). */
const STORAGE_ERROR = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB|BUSY|PROTOCOL|NOMEM)/;
const PROBE_INTERVAL_MS = 1_000;
/**
 * The write-ahead log's size (4 KiB pages) at which a commit also checkpoints it. SQLite's default, 1 000
 * pages, made that commit copy 4 MB and fsync twice, holding the event loop 16-35 ms (issue 13); 128 pages
 * hold it a few ms. It also bounds the log's file. The judge's snapshot checkpoints on its own before this
 * (Store.checkpoint, SNAPSHOT_SLICE_BYTES in judge-service.ts), between its slices.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 128;

export function isStorageError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && STORAGE_ERROR.test(code);
}

export class Store {
  readonly db: Db;
  private lastFailure: StorageFailure | undefined;
  private lastProbeMs = 0;

  private constructor(
    readonly path: string,
    private readonly clock: () => number,
  ) {
    this.db = path === ':memory:' ? new Database(path) : openOwned(path);
    this.db.pragma('journal_mode = WAL');
    // NORMAL is durable across a process crash in WAL mode; only an OS crash can lose the last commits.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  }

  /** Opens (creating if needed) the database at `path`, becomes its only owner, and brings its schema up to date. */
  static open(path: string, options: { clock?: () => number } = {}): Store {
    const store = new Store(path, options.clock ?? Date.now);
    try {
      store.migrate();
    } catch (error) {
      store.close();
      throw describeOpenError(error, path);
    }
    return store;
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /**
   * Runs `work` (one or more statements, or a transaction) and tracks the outcome: a storage error is
   * remembered as the store's failure and rethrown; success clears a remembered failure.
   */
  write<T>(work: () => T): T {
    try {
      const result = work();
      if (this.lastFailure) this.lastFailure = undefined;
      return result;
    } catch (error) {
      if (isStorageError(error)) {
        this.lastFailure ??= { code: error.code, message: error.message, sinceMs: this.clock() };
      }
      throw error;
    }
  }

  /**
   * Copies the write-ahead log's committed pages into the database file now (SQLite's PASSIVE checkpoint), so
   * that the next write starts the log from its beginning. SQLite also does this by itself inside whichever
   * commit makes the log reach WAL_AUTOCHECKPOINT_PAGES; writers of many pages (the judge's sliced snapshot)
   * call this after each smaller piece instead, as a piece of work of its own between two yields, so that no
   * commit holds the event loop for its writes and a checkpoint together. Returns the log's pages before and
   * how many were copied (both 0 for an in-memory database, which has no log).
   */
  checkpoint(): { logPages: number; checkpointedPages: number } {
    const [result] = this.write(() => this.db.pragma('wal_checkpoint(PASSIVE)')) as Array<{
      busy: number;
      log: number;
      checkpointed: number;
    }>;
    return { logPages: Math.max(0, result.log), checkpointedPages: Math.max(0, result.checkpointed) };
  }

  /** The storage failure since the last successful write, if any. */
  get failure(): StorageFailure | undefined {
    return this.lastFailure;
  }

  /**
   * While failed, tries a one-page write (at most once a second) so a store nobody else writes to
   * recovers when space returns. Returns the failure still in force, if any.
   */
  probe(): StorageFailure | undefined {
    if (!this.lastFailure || !this.db.open) return this.lastFailure;
    const nowMs = this.clock();
    if (nowMs - this.lastProbeMs < PROBE_INTERVAL_MS) return this.lastFailure;
    this.lastProbeMs = nowMs;
    try {
      // Rewrites the header's user_version with its own value: a real committed write of page 1.
      this.write(() => this.db.pragma(`user_version = ${this.schemaVersion}`));
    } catch {
      // still failing; remembered by write()
    }
    return this.lastFailure;
  }

  /**
   * The file's permission bits when other users may read or write it (a database made by an older
   * version, or copied), else undefined: it holds webhook secrets, so the sidecar warns at start.
   */
  get exposedMode(): number | undefined {
    if (this.path === ':memory:') return undefined;
    const mode = statSync(this.path).mode & 0o777;
    return (mode & 0o077) === 0 ? undefined : mode;
  }

  recordBoot(version: string, startedAt: Date): void {
    this.write(() =>
      this.db
        .prepare('INSERT INTO sidecar_boots (started_at, version, pid) VALUES (?, ?, ?)')
        .run(startedAt.toISOString(), version, process.pid),
    );
  }

  info(): StoreInfo {
    const row = this.db.prepare('SELECT count(*) AS boots FROM sidecar_boots').get() as { boots: number };
    return { path: this.path, schemaVersion: this.schemaVersion, boots: row.boots };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private migrate(): void {
    const from = this.schemaVersion;
    if (from > MIGRATIONS.length) {
      throw new StoreError(
        'STORE_SCHEMA_TOO_NEW',
        `database ${this.path} has schema version ${from}, newer than this build knows (${MIGRATIONS.length}); run a newer canary-judge or restore a backup`,
      );
    }
    const apply = this.db.transaction(() => {
      for (let version = from + 1; version <= MIGRATIONS.length; version += 1) {
        this.db.exec(MIGRATIONS[version - 1]);
        this.db.pragma(`user_version = ${version}`);
      }
    });
    this.write(apply);
  }
}
