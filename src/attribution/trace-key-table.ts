// Known variants of trace-id correlation keys, held in typed arrays instead of a Map of strings.
//
// Why: a known key lives for its correlation window (10 s by default), far longer than the ~2 s between
// young-generation collections at 5k spans/s, so every key string, its Map entry and its record were promoted
// to the old generation and died there, and RSS climbed by tens of MB between major collections
// (docs/performance-notes.md, footprint). Here a trace id is four 32-bit words in an Int32Array and its
// variant a small index into a table of variant texts, so a known key allocates nothing on the V8 heap and
// nothing is promoted.
//
// Layout: entries live in a pool of slots (parallel typed arrays, a free list through `next`); a hash index
// (open addressing, linear probing, load factor at most 1/2, backward-shift deletion so there are no
// tombstones) maps an id to its slot; the slots form a doubly linked list in the order they were last
// touched, oldest first, so expiry and least-recently-used eviction stay O(1) per entry, as with the Map's
// insertion order that CorrelationBuffer used before. Every entry carries a sequence number handed out by
// the buffer, so that its trace-id keys and its other keys (kept in a Map) keep one order between them.
//
// The hash mixes all four words with a per-process random seed: trace ids are random in practice, but a
// sender can choose them, and ids built to share low bits must not turn probing into a linear scan.
// The pool grows by doubling when full; it is bounded by the callers' limits (maxCorrelationKeys and the key
// byte budget), which evict before or right after each insertion, and it is released whole by clear().

/** Nibble values of '0'-'9' and 'a'-'f' (lowercase, as the decoder writes ids), -1 for any other code. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) NIBBLE[97 + c] = 10 + c;

/** Length of a trace id as the decoder writes it: 16 bytes as lowercase hex. */
export const TRACE_ID_HEX_CHARS = 32;

const INITIAL_CAPACITY = 64; // power of two
const NONE = -1;
/** What find() answers for an id that is not there. */
export const NO_SLOT = NONE;

/** Variant texts by small index, each counted by the entries using it, so the table holds only live ones. */
class VariantTexts {
  private readonly indexOf = new Map<string, number>();
  private readonly texts: string[] = [];
  private readonly uses: number[] = [];
  private readonly free: number[] = [];

  acquire(text: string): number {
    let index = this.indexOf.get(text);
    if (index === undefined) {
      index = this.free.pop() ?? this.texts.length;
      this.indexOf.set(text, index);
      this.texts[index] = text;
      this.uses[index] = 0;
    }
    this.uses[index] += 1;
    return index;
  }

  release(index: number): void {
    this.uses[index] -= 1;
    if (this.uses[index] > 0) return;
    this.indexOf.delete(this.texts[index]);
    this.texts[index] = '';
    this.free.push(index);
  }

  get size(): number {
    return this.indexOf.size;
  }

  text(index: number): string {
    return this.texts[index];
  }

  clear(): void {
    this.indexOf.clear();
    this.texts.length = 0;
    this.uses.length = 0;
    this.free.length = 0;
  }
}

/** The words of a parsed id, written by parseWords only (one scratch array: parsing allocates nothing). */
const words = new Int32Array(4);

// The key parseTraceId read last, its answer, and the hash of its words under the seed asked last: `words`
// still hold that key's words, as nothing else writes them. A rejected text is a key read too (its parse may
// have overwritten some words), so parsedKey changes with every parse, successful or not. Why: a trace's
// judged spans mostly follow each other in a request (an SDK queues a trace's spans as they end), the decoder
// hands them one string (wire.ts, readTraceIdHex), and every judged span's lookup parsed its 32 characters
// again, ~4.7% of the one-analysis sidecar's CPU (`perf`, docs/performance-notes.md, ingest). A repeated key
// is one comparison.
let parsedKey = '';
let parsedIsTraceId = false;
let hashedSeed = 0;
let hashedWords = 0;
let hashIsCurrent = false;

/**
 * Parses `key` into `words` when it is a trace id as the decoder writes it (32 lowercase hex characters);
 * false for any other text, which the caller keeps in its Map.
 */
export function parseTraceId(key: string): boolean {
  if (key === parsedKey) return parsedIsTraceId;
  parsedKey = key;
  hashIsCurrent = false;
  parsedIsTraceId = parseWords(key);
  return parsedIsTraceId;
}

function parseWords(key: string): boolean {
  if (key.length !== TRACE_ID_HEX_CHARS) return false;
  for (let w = 0; w < 4; w++) {
    let word = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) {
      const code = key.charCodeAt(i);
      const nibble = code < 128 ? NIBBLE[code] : NONE;
      if (nibble < 0) return false;
      word = (word << 4) | nibble;
    }
    words[w] = word;
  }
  return true;
}

/** The hash of the id last parsed by parseTraceId: all four words mixed with `seed` (a multiply-xorshift chain). */
export function parsedTraceIdHash(seed: number): number {
  if (hashIsCurrent && seed === hashedSeed) return hashedWords;
  let h = seed;
  for (let w = 0; w < 4; w++) {
    h = Math.imul(h ^ words[w], 0x9e3779b1);
    h ^= h >>> 16;
  }
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
  hashedSeed = seed;
  hashedWords = h ^ (h >>> 16);
  hashIsCurrent = true;
  return hashedWords;
}

export class TraceKeyTable {
  private slots = 0;
  private ids = new Int32Array(0);
  private hashes = new Int32Array(0);
  private variants = new Int32Array(0);
  private conflictingFlags = new Uint8Array(0);
  private touched = new Float64Array(0);
  private seqs = new Float64Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  /** Hash index: slot + 1, 0 = empty; twice the pool's capacity. */
  private index = new Int32Array(0);
  private indexMask = 0;
  private freeHead = NONE;
  private head = NONE;
  private tail = NONE;
  private count = 0;
  private readonly texts = new VariantTexts();
  private readonly seed: number;

  constructor(seed: number = (Math.random() * 0x100000000) | 0) {
    this.seed = seed;
  }

  get size(): number {
    return this.count;
  }

  /** Slots in the pool (it grows by doubling when full). */
  get capacity(): number {
    return this.slots;
  }

  /** Variant texts held (one per distinct variant in use). */
  get distinctVariants(): number {
    return this.texts.size;
  }

  /** The slot of the id last parsed by parseTraceId, or NONE (-1). */
  find(): number {
    if (this.count === 0) return NONE;
    const hash = this.hashOfWords();
    for (let at = hash & this.indexMask; ; at = (at + 1) & this.indexMask) {
      const entry = this.index[at];
      if (entry === 0) return NONE;
      const slot = entry - 1;
      if (this.hashes[slot] === hash && this.sameWords(slot)) return slot;
    }
  }

  /** Adds the id last parsed by parseTraceId (not present) as the newest entry; returns its slot. */
  insert(variant: string, nowMs: number, seq: number): number {
    if (this.freeHead === NONE) this.grow();
    const slot = this.freeHead;
    this.freeHead = this.next[slot];
    const hash = this.hashOfWords();
    const base = slot * 4;
    for (let w = 0; w < 4; w++) this.ids[base + w] = words[w];
    this.hashes[slot] = hash;
    this.variants[slot] = this.texts.acquire(variant);
    this.conflictingFlags[slot] = 0;
    this.touched[slot] = nowMs;
    this.seqs[slot] = seq;
    this.linkLast(slot);
    let at = hash & this.indexMask;
    while (this.index[at] !== 0) at = (at + 1) & this.indexMask;
    this.index[at] = slot + 1;
    this.count += 1;
    return slot;
  }

  /** Marks `slot` touched now: it becomes the newest entry. */
  touch(slot: number, nowMs: number, seq: number): void {
    this.touched[slot] = nowMs;
    this.seqs[slot] = seq;
    if (slot === this.tail) return;
    this.unlink(slot);
    this.linkLast(slot);
  }

  /** Removes `slot`; its id and variant are forgotten. */
  remove(slot: number): void {
    this.unindex(slot);
    this.unlink(slot);
    this.texts.release(this.variants[slot]);
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.count -= 1;
  }

  variantOf(slot: number): string {
    return this.texts.text(this.variants[slot]);
  }

  isConflicting(slot: number): boolean {
    return this.conflictingFlags[slot] === 1;
  }

  markConflicting(slot: number): void {
    this.conflictingFlags[slot] = 1;
  }

  touchedAtMs(slot: number): number {
    return this.touched[slot];
  }

  seqOf(slot: number): number {
    return this.seqs[slot];
  }

  /** The least recently touched slot, or NONE. */
  oldest(): number {
    return this.head;
  }

  /** The slot touched next after `slot`, or NONE. */
  newerThan(slot: number): number {
    return this.next[slot];
  }

  /** Forgets every entry and gives the arrays back (an analysis removed). */
  clear(): void {
    this.slots = 0;
    this.ids = new Int32Array(0);
    this.hashes = new Int32Array(0);
    this.variants = new Int32Array(0);
    this.conflictingFlags = new Uint8Array(0);
    this.touched = new Float64Array(0);
    this.seqs = new Float64Array(0);
    this.prev = new Int32Array(0);
    this.next = new Int32Array(0);
    this.index = new Int32Array(0);
    this.indexMask = 0;
    this.freeHead = NONE;
    this.head = NONE;
    this.tail = NONE;
    this.count = 0;
    this.texts.clear();
  }

  private hashOfWords(): number {
    return parsedTraceIdHash(this.seed);
  }

  private sameWords(slot: number): boolean {
    const base = slot * 4;
    return (
      this.ids[base] === words[0] &&
      this.ids[base + 1] === words[1] &&
      this.ids[base + 2] === words[2] &&
      this.ids[base + 3] === words[3]
    );
  }

  private linkLast(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
  }

  private unlink(slot: number): void {
    const before = this.prev[slot];
    const after = this.next[slot];
    if (before === NONE) this.head = after;
    else this.next[before] = after;
    if (after === NONE) this.tail = before;
    else this.prev[after] = before;
  }

  /** Deletes `slot` from the hash index, shifting later entries of its probe run back (no tombstones). */
  private unindex(slot: number): void {
    const mask = this.indexMask;
    let hole = this.hashes[slot] & mask;
    while (this.index[hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let at = (hole + 1) & mask; ; at = (at + 1) & mask) {
      const entry = this.index[at];
      if (entry === 0) break;
      const home = this.hashes[entry - 1] & mask;
      // The entry at `at` may move into the hole unless its home lies cyclically in (hole, at].
      const stays = hole < at ? home > hole && home <= at : home > hole || home <= at;
      if (stays) continue;
      this.index[hole] = entry;
      hole = at;
    }
    this.index[hole] = 0;
  }

  /**
   * Halves the pool while at most a quarter of it is used, so that a burst of keys does not hold its arrays
   * after its windows close. Entries move to the lowest slots in touch order: slots held by a caller are
   * invalid afterwards (CorrelationBuffer calls this only at the end of expire()).
   */
  shrinkIfSparse(): void {
    if (this.slots <= INITIAL_CAPACITY || this.count * 4 > this.slots) return;
    let capacity = this.slots;
    while (capacity > INITIAL_CAPACITY && this.count * 4 <= capacity) capacity /= 2;
    const from = {
      ids: this.ids,
      hashes: this.hashes,
      variants: this.variants,
      conflicting: this.conflictingFlags,
      touched: this.touched,
      seqs: this.seqs,
      next: this.next,
    };
    this.allocate(capacity);
    let to = 0;
    for (let slot = this.head; slot !== NONE; slot = from.next[slot], to++) {
      this.ids.set(from.ids.subarray(slot * 4, slot * 4 + 4), to * 4);
      this.hashes[to] = from.hashes[slot];
      this.variants[to] = from.variants[slot];
      this.conflictingFlags[to] = from.conflicting[slot];
      this.touched[to] = from.touched[slot];
      this.seqs[to] = from.seqs[slot];
      this.prev[to] = to - 1;
      this.next[to] = to + 1 < this.count ? to + 1 : NONE;
    }
    this.head = this.count > 0 ? 0 : NONE;
    this.tail = this.count - 1;
    for (let slot = this.count; slot < capacity; slot++)
      this.next[slot] = slot + 1 < capacity ? slot + 1 : NONE;
    this.freeHead = this.count < capacity ? this.count : NONE;
    this.reindex();
  }

  /** Fresh arrays for `capacity` slots (and an index of twice as many positions). */
  private allocate(capacity: number): void {
    this.slots = capacity;
    this.ids = new Int32Array(capacity * 4);
    this.hashes = new Int32Array(capacity);
    this.variants = new Int32Array(capacity);
    this.conflictingFlags = new Uint8Array(capacity);
    this.touched = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.index = new Int32Array(capacity * 2);
    this.indexMask = capacity * 2 - 1;
  }

  /** Puts every entry in the (empty) index. */
  private reindex(): void {
    for (let slot = this.head; slot !== NONE; slot = this.next[slot]) {
      let at = this.hashes[slot] & this.indexMask;
      while (this.index[at] !== 0) at = (at + 1) & this.indexMask;
      this.index[at] = slot + 1;
    }
  }

  /** Doubles the pool (and the index, rebuilt), keeping every entry's slot and the touch order. */
  private grow(): void {
    const old = this.slots;
    const capacity = old === 0 ? INITIAL_CAPACITY : old * 2;
    const ids = new Int32Array(capacity * 4);
    ids.set(this.ids);
    this.ids = ids;
    this.hashes = grown(this.hashes, new Int32Array(capacity));
    this.variants = grown(this.variants, new Int32Array(capacity));
    this.conflictingFlags = grown(this.conflictingFlags, new Uint8Array(capacity));
    this.touched = grown(this.touched, new Float64Array(capacity));
    this.seqs = grown(this.seqs, new Float64Array(capacity));
    this.prev = grown(this.prev, new Int32Array(capacity));
    this.next = grown(this.next, new Int32Array(capacity));
    // The new slots join the free list (it is empty: the pool grows only when full).
    for (let slot = old; slot < capacity; slot++) this.next[slot] = slot + 1 < capacity ? slot + 1 : NONE;
    this.freeHead = old;
    this.slots = capacity;
    this.index = new Int32Array(capacity * 2);
    this.indexMask = capacity * 2 - 1;
    this.reindex();
  }
}

function grown<T extends Int32Array | Uint8Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
