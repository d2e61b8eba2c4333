// Field-selective protobuf reading on protobufjs's Reader (protobuf encoding spec,
// https://protobuf.dev/programming-guides/encoding/). We read only the fields the model needs and skip
// the rest by wire type, which is what makes these decoders faster than a full decode (bench/decode.ts).
//
// Bounds: entering an embedded message narrows `reader.len` to that message's end, so every Reader
// primitive checks against the innermost message and a field that overruns its parent is reported as
// truncation where it happens, not later. The frame path says where we were for error messages.
import { Reader } from 'protobufjs/minimal.js';
import { MalformedPayload, OtlpDecodeError, describeFailure, type OtlpSignal } from './errors.js';

export interface WireContext {
  readonly reader: Reader;
  /** "Message.field" frames of the embedded messages being read, outermost first. */
  readonly path: string[];
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_START_GROUP = 3;
const WIRE_FIXED32 = 5;

/** 2^32, to assemble 64-bit values from two 32-bit halves. */
export const TWO_POW_32 = 4294967296;

/**
 * The same bytes as a plain Uint8Array view (no copy). Payloads come as objects of different hidden classes:
 * a body that fits one socket read is the Buffer Node's HTTP parser made in C++ (a Uint8Array whose
 * prototype was swapped afterwards), a body joined from chunks is a JS-made FastBuffer, gRPC's and the
 * tests' are others again. Every element load of the decode walk checks the buffer's map, so a second map
 * arriving after TurboFan compiled the walk for one deoptimized the whole walk at once (~17 functions,
 * `--trace-deopt`: "wrong map" in Reader.uint32, decodeSpan, readKey, ...), and at ~10 exports a second it
 * then ran in baseline code for many seconds before being compiled again. One map keeps it monomorphic.
 */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Runs a top-level decode; whatever goes wrong leaves as an OtlpDecodeError saying what and where. */
export function decodeWire<T>(
  signal: OtlpSignal,
  bytes: Uint8Array,
  rootMessage: string,
  decode: (ctx: WireContext) => T,
): T {
  const ctx: WireContext = { reader: new Reader(plainBytes(bytes)), path: [] };
  try {
    return decode(ctx);
  } catch (error) {
    const where = ctx.path.length === 0 ? rootMessage : ctx.path.join(' > ');
    throw new OtlpDecodeError(signal, describeFailure(error), `at byte ${ctx.reader.pos} in ${where}`);
  }
}

/**
 * Reads the length prefix of an embedded message and narrows the reader to it. Returns the enclosing
 * limit, to be given back to `leaveMessage`.
 */
export function enterMessage(reader: Reader): number {
  const length = reader.uint32();
  const end = reader.pos + length;
  if (end > reader.len)
    throw new MalformedPayload(`truncated message (length ${length} runs past its container)`);
  const outerLen = reader.len;
  reader.len = end;
  return outerLen;
}

export function leaveMessage(reader: Reader, outerLen: number): void {
  reader.len = outerLen;
}

/** Skips one field we do not need (or a known field sent with another wire type, as protoc does). */
export function skipField(reader: Reader, tag: number): void {
  const fieldNumber = tag >>> 3;
  if (fieldNumber === 0) throw new MalformedPayload('invalid field number 0');
  switch (tag & 7) {
    case WIRE_VARINT:
      readVarint64(reader, false);
      return;
    case WIRE_FIXED64:
      reader.skip(8);
      return;
    case WIRE_LEN:
      reader.skip(reader.uint32());
      return;
    case WIRE_START_GROUP:
      // Deprecated groups are legal on the wire for unknown fields; protobufjs checks the matching end tag.
      reader.skipType(WIRE_START_GROUP, 0, fieldNumber);
      return;
    case WIRE_FIXED32:
      reader.skip(4);
      return;
    default:
      throw new MalformedPayload(`invalid wire type ${tag & 7} for field ${fieldNumber}`);
  }
}

/**
 * Reads a varint of up to 64 bits as a number: exact below 2^53, the nearest double above. Avoids the
 * Long object Reader.int64() allocates per value. `signed` reads int64 (two's complement) vs uint64.
 */
export function readVarint64(reader: Reader, signed: boolean): number {
  const buf = reader.buf;
  const end = reader.len;
  let pos = reader.pos;
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) {
      reader.pos = pos;
      throw new MalformedPayload('truncated message (varint)');
    }
    const b = buf[pos++];
    if (i < 4) lo |= (b & 0x7f) << (7 * i);
    else if (i === 4) {
      lo |= (b & 0x7f) << 28;
      hi |= (b & 0x7f) >>> 4;
    } else hi |= (b & 0x7f) << (7 * i - 32);
    if (b < 0x80) {
      reader.pos = pos;
      return (signed ? hi | 0 : hi >>> 0) * TWO_POW_32 + (lo >>> 0);
    }
  }
  reader.pos = pos;
  throw new MalformedPayload('invalid varint (more than 10 bytes)');
}

/** What readHalves read last: the little-endian 32-bit halves of 8 bytes (unsigned). */
export const halves = { lo: 0, hi: 0 };

/**
 * Reads 8 bytes at the reader (a fixed64, or an 8-byte id after atEightByteId) as two little-endian 32-bit
 * halves into `halves`, as two Reader.fixed32 calls would, with one bounds check and no call: in the span
 * decoder, where TurboFan left each Reader.fixed32 a call of its own, they were ~2.4% of the sidecar's CPU
 * with one analysis (perf, issue 13). Short of 8 bytes, the two calls are made, so a truncated field fails
 * exactly as before.
 */
export function readHalves(reader: Reader): void {
  const pos = reader.pos;
  if (pos + 8 > reader.len) {
    halves.lo = reader.fixed32();
    halves.hi = reader.fixed32();
    return;
  }
  const buf = reader.buf;
  halves.lo = (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
  halves.hi = (buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24)) >>> 0;
  reader.pos = pos + 8;
}

/** sfixed64 as a number (exact below 2^53). */
export function readSfixed64(reader: Reader): number {
  const lo = reader.fixed32();
  const hi = reader.fixed32() | 0;
  return hi * TWO_POW_32 + lo;
}

/** fixed64 as a number (exact below 2^53): counts. */
export function readFixed64(reader: Reader): number {
  const lo = reader.fixed32();
  return reader.fixed32() * TWO_POW_32 + lo;
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** Character codes of each byte's two hex digits: [2b] high, [2b + 1] low. */
const HEX_CODES = new Uint8Array(512).map((_, i) => HEX_BYTE[i >> 1].charCodeAt(i & 1));
/** Bytes fields up to this long (ids are 16 and 8) are converted through a reused array of char codes. */
const MAX_CODED_HEX_BYTES = 32;
const hexCodeArrays: number[][] = Array.from({ length: MAX_CODED_HEX_BYTES + 1 }, (_, n) =>
  new Array<number>(2 * n).fill(0),
);

/**
 * A length-delimited bytes field as lowercase hex (ids, AnyValue bytes). Short fields are built in one
 * String.fromCharCode call, which makes a flat string: concatenating 2-digit pieces made a rope that
 * every later comparison or Map lookup of the id had to flatten first.
 */
export function readBytesHex(reader: Reader): string {
  const length = reader.uint32();
  const start = reader.pos;
  reader.skip(length);
  const buf = reader.buf;
  if (length <= MAX_CODED_HEX_BYTES) {
    const codes = hexCodeArrays[length];
    for (let i = 0; i < length; i++) {
      const at = buf[start + i] << 1;
      codes[2 * i] = HEX_CODES[at];
      codes[2 * i + 1] = HEX_CODES[at + 1];
    }
    return String.fromCharCode.apply(null, codes);
  }
  let hex = '';
  for (let i = start; i < start + length; i++) hex += HEX_BYTE[buf[i]];
  return hex;
}

// Trace ids repeat within a request: an SDK's batch holds each trace's spans of that process, mostly ended (and
// so queued) close together. A small direct-mapped memo, as readKey's for keys, gives a repeated id the string
// made for it before: no hex conversion, and one string whose hash the correlation lookups (a Map keyed by
// trace id) compute once. Fixed size, exact byte comparison on a hit, so it cannot change a result or grow.
// Entries count only within the request that made them (newTraceIdMemo): trace ids seldom repeat across
// requests, except in a benchmark that sends one payload again and again, which must not be flattered.
const TRACE_ID_MEMO_SLOTS = 256; // power of two
const traceIdMemoBytes = new Uint8Array(TRACE_ID_MEMO_SLOTS * 16);
const traceIdMemoStrings: string[] = new Array<string>(TRACE_ID_MEMO_SLOTS).fill('');
/** The request each slot was filled in; a slot of an earlier request is empty. */
const traceIdMemoRequest = new Float64Array(TRACE_ID_MEMO_SLOTS);
let memoRequest = 0;

/** Starts a request's trace-id memo: ids of earlier requests are forgotten. */
export function newTraceIdMemo(): void {
  memoRequest += 1;
}

/** A trace id (a 16-byte bytes field) as lowercase hex, as readBytesHex, through the memo. */
export function readTraceIdHex(reader: Reader): string {
  const pos = reader.pos;
  const buf = reader.buf;
  if (buf[pos] !== 16 || pos + 17 > reader.len) return readBytesHex(reader);
  const start = pos + 1;
  reader.pos = start + 16;
  // Trace ids are random (W3C Trace Context): two of their bytes pick the slot.
  const slot = ((buf[start + 15] << 8) | buf[start + 14]) & (TRACE_ID_MEMO_SLOTS - 1);
  const at = slot * 16;
  let same = true;
  for (let i = 0; i < 16; i++) {
    if (traceIdMemoBytes[at + i] !== buf[start + i]) {
      same = false;
      break;
    }
  }
  if (same && traceIdMemoRequest[slot] === memoRequest) return traceIdMemoStrings[slot];
  traceIdMemoRequest[slot] = memoRequest;
  const codes = hexCodeArrays[16];
  for (let i = 0; i < 16; i++) {
    const byte = buf[start + i];
    traceIdMemoBytes[at + i] = byte;
    codes[2 * i] = HEX_CODES[byte << 1];
    codes[2 * i + 1] = HEX_CODES[(byte << 1) + 1];
  }
  const hex = String.fromCharCode.apply(null, codes);
  traceIdMemoStrings[slot] = hex;
  return hex;
}

/**
 * Whether the bytes field at the reader (its length prefix) is 8 bytes long and wholly inside its message:
 * then the prefix is read and the caller reads the id as two fixed32 halves. Otherwise nothing is read, and
 * readBytesHex reads the field (and reports a bad one) as before. Span ids are made hex only when read
 * (idHalvesHex): judging never reads them, and the hex of three ids per span was ~8% of the sidecar's CPU.
 */
export function atEightByteId(reader: Reader): boolean {
  const pos = reader.pos;
  if (reader.buf[pos] !== 8 || pos + 9 > reader.len) return false;
  reader.pos = pos + 1;
  return true;
}

/** The hex of an 8-byte id from its two little-endian 32-bit halves (read after atEightByteId). */
export function idHalvesHex(lo: number, hi: number): string {
  const codes = hexCodeArrays[8];
  for (let i = 0; i < 8; i++) {
    const at = (((i < 4 ? lo : hi) >>> (8 * (i & 3))) & 0xff) << 1;
    codes[2 * i] = HEX_CODES[at];
    codes[2 * i + 1] = HEX_CODES[at + 1];
  }
  return String.fromCharCode.apply(null, codes);
}

/**
 * Nanoseconds since the epoch, given as two 32-bit halves, to milliseconds. Computed as whole seconds plus
 * nanoseconds within the second (ns = 2^9 * 1953125 per second), each exact, then combined as the JSON
 * decoder combines the same parts, so both encodings of one timestamp give the same double.
 */
export function nanosHalvesToMs(lo: number, hi: number): number {
  // hi < 2^30 keeps hi * 2^23 below 2^53 (exact); that covers every timestamp before the year 2255.
  if (hi >= 0x40000000) return (hi * TWO_POW_32 + lo) / 1e6;
  const per512 = hi * 8388608 + Math.floor(lo / 512); // ns / 2^9, whole part
  let seconds = Math.floor(per512 / 1953125);
  let rest = per512 - seconds * 1953125;
  if (rest < 0) {
    seconds -= 1;
    rest += 1953125;
  }
  const nanos = rest * 512 + (lo % 512);
  return seconds * 1e3 + nanos / 1e6;
}

/**
 * end - start in nanoseconds from the two fixed64 halves, exact whenever the difference is below 2^53 ns
 * (104 days): each half's difference is an exact integer, so nothing rounds before the sum. Negative when
 * end precedes start (src/otlp/span-times.ts rejects such spans).
 */
export function durationNanos(startLo: number, startHi: number, endLo: number, endHi: number): number {
  return (endHi - startHi) * TWO_POW_32 + (endLo - startLo);
}

/** Reads a packed (or, when `packed` is false, one unpacked) repeated double field into `into`. */
export function readDoubles(reader: Reader, packed: boolean, into: number[]): void {
  if (!packed) {
    into.push(reader.double());
    return;
  }
  const outer = enterMessage(reader);
  while (reader.pos < reader.len) into.push(reader.double());
  leaveMessage(reader, outer);
}

/** Reads a packed (or one unpacked) repeated fixed64 field into `into`. */
export function readFixed64s(reader: Reader, packed: boolean, into: number[]): void {
  if (!packed) {
    into.push(readFixed64(reader));
    return;
  }
  const outer = enterMessage(reader);
  while (reader.pos < reader.len) into.push(readFixed64(reader));
  leaveMessage(reader, outer);
}

/** Reads a packed (or one unpacked) repeated uint64 varint field into `into`. */
export function readUint64s(reader: Reader, packed: boolean, into: number[]): void {
  if (!packed) {
    into.push(readVarint64(reader, false));
    return;
  }
  const outer = enterMessage(reader);
  while (reader.pos < reader.len) into.push(readVarint64(reader, false));
  leaveMessage(reader, outer);
}
