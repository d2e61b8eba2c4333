// Keys read in the walk (issue 13: "decode validation and reading share one pass"): a key that judging has
// asked for once is watched from then on (at most MAX_WATCHED_KEYS, from configuration in practice: the
// error rule's, the variant attribute, the flag-evaluation keys). validKeyValueEnd (attribute-walk.ts)
// compares each top-level key it validates against the watched keys of that length and, on a match, records
// where the value lies, so a later read of a watched key is a look at those records instead of a second walk
// over the span's attribute bytes. A span keeps the table of watched keys it was decoded with, so a key
// watched after it was decoded is still found by the walk of lookupAttributeField (attribute-reads.ts),
// never reported missing.

/** Keys watched at most; past it a key is read by the walk of lookupAttributeField, as before. */
export const MAX_WATCHED_KEYS = 64;
/** Longer keys are not watched (none in configuration comes near). */
const MAX_WATCHED_KEY_LENGTH = 255;

/** An immutable set of watched keys: a new table replaces it when a key is added. */
export interface WatchTable {
  /** Watched key -> its number in `found` records. */
  readonly index: ReadonlyMap<string, number>;
  /** ASCII bytes of key number i. */
  readonly bytes: readonly Uint8Array[];
  /**
   * Key numbers by key length (bytes), for the walk's first check; every length 0-255 has an entry (a read
   * past an array's end is a slow lookup in V8, and this runs for every attribute of every span).
   */
  readonly byLength: readonly (readonly number[] | null)[];
}

const EMPTY_TABLE: WatchTable = {
  index: new Map(),
  bytes: [],
  byLength: Array.from({ length: MAX_WATCHED_KEY_LENGTH + 1 }, () => null),
};
let watched: WatchTable = EMPTY_TABLE;

/** The keys watched now (decoded spans and events keep the table they were decoded with). */
export function watchTable(): WatchTable {
  return watched;
}

/** Watches `key` from now on, if it can be: ASCII, not empty, at most 255 bytes, room in the table. */
export function watchKey(key: string): void {
  if (watched.index.has(key) || watched.bytes.length >= MAX_WATCHED_KEYS) return;
  const bytes = asciiKeyBytes(key);
  if (bytes === undefined || bytes.length === 0 || bytes.length > MAX_WATCHED_KEY_LENGTH) return;
  const number = watched.bytes.length;
  const index = new Map(watched.index).set(key, number);
  const byLength = watched.byLength.slice();
  byLength[bytes.length] = [...(byLength[bytes.length] ?? []), number];
  watched = { index, bytes: [...watched.bytes, bytes], byLength };
}

/** Forgets every watched key; for tests that check both paths. */
export function resetWatchedKeys(): void {
  watched = EMPTY_TABLE;
}

/** The watched key number of the ASCII key in buf[start, stop), or -1. */
export function watchedKeyAt(buf: Uint8Array, start: number, stop: number): number {
  const length = stop - start;
  if (length > MAX_WATCHED_KEY_LENGTH) return -1;
  const candidates = watched.byLength[length];
  if (candidates === null) return -1;
  for (const number of candidates) {
    const wanted = watched.bytes[number];
    let i = 0;
    while (i < wanted.length && buf[start + i] === wanted[i]) i++;
    if (i === wanted.length) return number;
  }
  return -1;
}

/** ASCII bytes of keys looked up so far; undefined for a non-ASCII key, which no validated range holds. */
const keyBytesMemo = new Map<string, Uint8Array | undefined>();
const MAX_MEMO_KEYS = 1024;

export function asciiKeyBytes(key: string): Uint8Array | undefined {
  if (keyBytesMemo.has(key)) return keyBytesMemo.get(key);
  let bytes: Uint8Array | undefined = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code >= 0x80) {
      bytes = undefined;
      break;
    }
    bytes[i] = code;
  }
  // Keys come from configuration (a few dozen); the bound only guards against a caller passing data.
  if (keyBytesMemo.size >= MAX_MEMO_KEYS) keyBytesMemo.clear();
  keyBytesMemo.set(key, bytes);
  return bytes;
}

/**
 * Where one span's (or event's) walk found watched keys: triples of key number, position of the value's
 * length prefix (-1: no value) and the KeyValue's end, in wire order (foundValue in attribute-reads.ts reads
 * them). One instance is reused for every span (reset, add, then a copy taken), so a span without watched
 * keys costs nothing.
 */
export class WalkRecords {
  #values: number[] = [];
  #length = 0;

  reset(): void {
    this.#length = 0;
  }

  /** Numbers held (three per record). */
  get size(): number {
    return this.#length;
  }

  /** Forgets the records added after the walk held `size` numbers. */
  truncate(size: number): void {
    this.#length = size;
  }

  add(key: number, valueAt: number, end: number): void {
    const values = this.#values;
    const at = this.#length;
    values[at] = key;
    values[at + 1] = valueAt;
    values[at + 2] = end;
    this.#length = at + 3;
  }

  /** A copy of the records, or undefined when there are none. */
  take(): number[] | undefined {
    return this.#length === 0 ? undefined : this.#values.slice(0, this.#length);
  }
}
