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
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export type StoreErrorCode =
  | 'STORE_IN_USE'
  | 'STORE_EMPTY_FILE'
  | 'STORE_NOT_SQLITE'
  | 'STORE_NOT_WRITABLE'
  | 'STORE_DISK_FULL'
  | 'STORE_SCHEMA_TOO_NEW';

/** A database that cannot be used; the message names the path and what to do. */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

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

/** The first 16 bytes of every SQLite 3 database file (https://www.sqlite.org/fileformat.html §1.3). */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const SETTING = 'storage.path (CANARY_JUDGE_STORAGE_PATH)';
/** Failures of the disk or the file, as opposed to a bug in a statement (constraint, syntax). */
const STORAGE_ERROR = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB|BUSY|PROTOCOL|NOMEM)/;
const PROBE_INTERVAL_MS = 1_000;

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

/** Checks what is at `path`, creates the database when nothing is, and opens it as its only owner. */
function openOwned(path: string): Db {
  const folder = dirname(resolve(path));
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    accessSync(folder, constants.W_OK);
  } catch (error) {
    throw notWritable(path, folder, error);
  }
  if (!inspectExisting(path)) createDatabaseFile(path, folder);
  let db: Db | undefined;
  try {
    db = new Database(path, { fileMustExist: true });
    // Must precede the first read: the lock is then taken once and held until close, and the WAL
    // index lives in this process's memory (no -shm file another process could share).
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return db;
  } catch (error) {
    db?.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new StoreError(
        'STORE_IN_USE',
        `database ${path} is in use by another canary-judge process; stop that one first, or give this one its own ${SETTING}`,
      );
    }
    throw describeOpenError(error, path);
  }
}

/** True when a SQLite database is at `path`, false when nothing is; throws StoreError for anything else. */
function inspectExisting(path: string): boolean {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      throw new StoreError('STORE_NOT_SQLITE', `${path} is not a file; point ${SETTING} at a database file`);
    }
    size = stat.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error instanceof StoreError ? error : notWritable(path, dirname(resolve(path)), error);
  }
  if (size === 0) {
    throw new StoreError(
      'STORE_EMPTY_FILE',
      `database ${path} is an empty file, not a canary-judge database (a failed copy?); restore the real file, or move this one away to start with empty state`,
    );
  }
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (!header.equals(SQLITE_HEADER)) {
    throw new StoreError(
      'STORE_NOT_SQLITE',
      `${path} is not a SQLite database; refusing to use or overwrite it; point ${SETTING} at another file`,
    );
  }
  return true;
}

/**
 * Creates an empty WAL-mode database at `path` with mode 0600: prepared under a temporary name and
 * hard-linked into place, so `path` never exists half-made, and a concurrent creator's file is kept.
 */
function createDatabaseFile(path: string, folder: string): void {
  const temporary = resolve(
    folder,
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.new`,
  );
  try {
    closeSync(openSync(temporary, 'wx', 0o600));
    const db = new Database(temporary, { fileMustExist: true });
    db.pragma('journal_mode = WAL'); // writes the header, so the file is a database from its first byte
    db.close();
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw describeOpenError(error, path);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // already gone
    }
  }
}

function notWritable(path: string, folder: string, error: unknown): StoreError {
  const code = (error as NodeJS.ErrnoException).code ?? 'error';
  const why = code === 'EROFS' ? 'a read-only file system' : code === 'EACCES' ? 'permission denied' : code;
  return new StoreError(
    'STORE_NOT_WRITABLE',
    `cannot write the database folder ${folder} for ${path} (${why}); SQLite keeps its write-ahead log beside the database, so the folder must be writable; fix its permissions or choose another ${SETTING}`,
  );
}

/** Turns SQLite's and the file system's errors at open into StoreErrors that name the path. */
function describeOpenError(error: unknown, path: string): Error {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new StoreError(
      'STORE_DISK_FULL',
      `the disk holding database ${path} is full; free space, then start again`,
    );
  }
  if (/^SQLITE_(READONLY|CANTOPEN)|^(EROFS|EACCES|EPERM)$/.test(code)) {
    return notWritable(path, dirname(resolve(path)), error);
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreError(
      'STORE_NOT_SQLITE',
      `${path} is not a readable SQLite database (${code}); restore a backup or point ${SETTING} at another file`,
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}
