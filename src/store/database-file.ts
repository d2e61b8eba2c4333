// What is at the storage path, before the Store uses it: the folder must be writable, an existing file
// must be a SQLite database (a zero-length or foreign file is refused with its path named, never started
// empty or overwritten), a new database is created atomically with mode 0600, and the file is opened
// as its only owner (SQLite's EXCLUSIVE locking mode, taken before the first read). See database.ts.
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
import type { Db } from './database.js';

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

/** The first 16 bytes of every SQLite 3 database file (https://www.sqlite.org/fileformat.html §1.3). */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const SETTING = 'storage.path (CANARY_JUDGE_STORAGE_PATH)';

/** Checks what is at `path`, creates the database when nothing is, and opens it as its only owner. */
export function openOwned(path: string): Db {
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
export function describeOpenError(error: unknown, path: string): Error {
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
