// Lazy span and event attributes for the protobuf trace decoder.
//
// Attribution reads a few attributes of a few spans (the analyses' match, variant and error rules), yet
// building every span's `attributes` object (~10 keys and values) was most of the decode time
// (bench/decode.ts). So the decoder records where a span's attribute fields lie in the request bytes and
// builds the object on first read of `span.attributes`, through the same decodeKeyValue as before
// (attribute-reads.ts). Errors stay at decode time: the decode walk validates the fields before it leaves
// them for later (attribute-walk.ts), so a lazy read never throws. Single keys are read without building
// the object (readAttribute; attribute-reads.ts says how).
//
// Lifetime: a span whose attributes were not read yet references the request buffer (see model.ts,
// DecodedSpan). Reading `attributes` once drops that reference.
import type {
  AttributeValue,
  Attributes,
  DecodedSpan,
  ResourceInfo,
  SpanEvent,
  SpanKind,
  StatusCode,
} from '../model.js';
import { UNWATCHED, decodeAttributeFields, lookupAttributeField, watchedRead } from './attribute-reads.js';
import { type WatchTable, watchTable } from './watched-keys.js';
import { idHalvesHex } from './wire.js';

/** Span.attributes (field 9) and Span.Event.attributes (field 3) tags, length-delimited. */
export const SPAN_ATTRIBUTES_TAG = 74;
export const EVENT_ATTRIBUTES_TAG = 26;

/**
 * An item's attribute `key` (undefined when it has none): `attributes[key]` for an own key, read from the
 * bytes without building the attributes object when those are still undecoded (ProtobufSpan,
 * ProtobufSpanEvent), from the object otherwise (JSON-decoded spans, events, points, log records).
 */
export function readAttribute(item: { attributes: Attributes }, key: string): AttributeValue | undefined {
  if (item instanceof LazyAttributes) return item.attribute(key);
  return ownAttribute(item.attributes, key);
}

/**
 * Single-key reads of one span (or event) from its bytes before its attributes object is built and read
 * instead: a span judged by one analysis needs ~4 reads, one judged by many would scan its bytes again for
 * each, where a built object answers every later read by a hash lookup.
 */
const MAX_BYTE_LOOKUPS = 8;

function ownAttribute(attributes: Attributes, key: string): AttributeValue | undefined {
  return Object.hasOwn(attributes, key) ? attributes[key] : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Model objects. `attributes` is a getter/setter pair on the class; the decoded object is cached, and
// assigning replaces it. It used to be an own, enumerable accessor defined on each instance, so that a
// spread or deep equality saw it like the data property it replaces, but Object.defineProperty cost ~100 ns
// per span and per event and left the objects slower to build: in `node dist/bench/decode.js` the
// field-selective decoder went from 637k-660k to 949k-977k spans/s without it (three alternated runs each,
// quiet machine, 2026-11-30; protobufjs Type.decode 204k-224k in the same runs). Consumers read
// `span.attributes`, which is the same either way; JSON.stringify (toJSON) and plainSpan give plain data, as
// the JSON decoder's spans are.

/**
 * A plain-object copy of a decoded span and its events, `attributes` included (decoding them now), with the
 * keys in the JSON decoder's order, so that both serialize alike.
 */
export function plainSpan(span: DecodedSpan): DecodedSpan {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: span.kind,
    startTimeUnixMs: span.startTimeUnixMs,
    durationNanos: span.durationNanos,
    statusCode: span.statusCode,
    statusMessage: span.statusMessage,
    attributes: span.attributes,
    events: span.events.map(plainEvent),
    resource: span.resource,
    scopeName: span.scopeName,
  };
}

function plainEvent(event: SpanEvent): SpanEvent {
  return { name: event.name, timeUnixMs: event.timeUnixMs, attributes: event.attributes };
}

function build(bytes: Uint8Array | undefined, start: number, end: number, tag: number): Attributes {
  return bytes === undefined ? {} : decodeAttributeFields(bytes, start, end, tag);
}

/**
 * What a protobuf span and event share: `attributes` decoded on first read from bytes[start, end)
 * (consecutive, validated attribute fields with the given tag; bytes undefined for none), unless given
 * decoded, and single-key reads before that (readAttribute).
 */
abstract class LazyAttributes {
  #attributes: Attributes | undefined;
  #bytes: Uint8Array | undefined;
  #start: number;
  #end: number;
  #tag: number;
  /** Single-key reads from the bytes so far: past MAX_BYTE_LOOKUPS the object is built once instead. */
  #lookups = 0;
  /** The watched keys when this was decoded, and what the walk recorded of them (foundValue). */
  #watch: WatchTable;
  #found: number[] | undefined;

  constructor(
    tag: number,
    attributes: Attributes | undefined,
    bytes: Uint8Array | undefined,
    start: number,
    end: number,
    found: number[] | undefined,
  ) {
    this.#tag = tag;
    this.#attributes = attributes;
    this.#bytes = attributes === undefined ? bytes : undefined;
    this.#start = start;
    this.#end = end;
    this.#watch = watchTable();
    this.#found = found;
  }

  get attributes(): Attributes {
    let attributes = this.#attributes;
    if (attributes === undefined) {
      attributes = build(this.#bytes, this.#start, this.#end, this.#tag);
      this.#attributes = attributes;
      this.#bytes = undefined;
    }
    return attributes;
  }

  set attributes(value: Attributes) {
    this.#attributes = value;
    this.#bytes = undefined;
  }

  /** Attribute `key` without decoding the others (see readAttribute). */
  attribute(key: string): AttributeValue | undefined {
    const bytes = this.#bytes;
    if (this.#attributes === undefined && bytes !== undefined) {
      const value = watchedRead(bytes, this.#watch, this.#found, key);
      if (value !== UNWATCHED) return value;
      if (++this.#lookups <= MAX_BYTE_LOOKUPS)
        return lookupAttributeField(bytes, this.#start, this.#end, key);
    }
    return ownAttribute(this.attributes, key);
  }
}

/** A span from the protobuf decoder (DecodedSpan), its attributes decoded on first read. */
export class ProtobufSpan extends LazyAttributes implements DecodedSpan {
  declare traceId: string;
  declare name: string;
  declare kind: SpanKind;
  declare startTimeUnixMs: number;
  declare durationNanos: number;
  declare statusCode: StatusCode;
  declare statusMessage: string;
  declare events: SpanEvent[];
  declare resource: ResourceInfo;
  declare scopeName: string;

  /**
   * The span id, and the parent's when `hasParent`, as the little-endian halves of their 8 bytes: made hex
   * when read (wire.ts atEightByteId). An assigned value replaces them.
   */
  #spanLo: number;
  #spanHi: number;
  #hasParent: boolean;
  #parentLo: number;
  #parentHi: number;
  #spanId: string | undefined;
  #parentSpanId: string | undefined;

  /** `attributes`, bytes, start, end and found: see LazyAttributes (Span.attributes fields). */
  constructor(
    traceId: string,
    spanLo: number,
    spanHi: number,
    hasParent: boolean,
    parentLo: number,
    parentHi: number,
    name: string,
    kind: SpanKind,
    startTimeUnixMs: number,
    durationNanos: number,
    statusCode: StatusCode,
    statusMessage: string,
    attributes: Attributes | undefined,
    bytes: Uint8Array | undefined,
    start: number,
    end: number,
    events: SpanEvent[],
    resource: ResourceInfo,
    found?: number[],
  ) {
    super(SPAN_ATTRIBUTES_TAG, attributes, bytes, start, end, found);
    // Own properties in the order of the JSON decoder's plain objects.
    this.traceId = traceId;
    this.name = name;
    this.kind = kind;
    this.startTimeUnixMs = startTimeUnixMs;
    this.durationNanos = durationNanos;
    this.statusCode = statusCode;
    this.statusMessage = statusMessage;
    this.events = events;
    this.resource = resource;
    this.scopeName = '';
    this.#spanLo = spanLo;
    this.#spanHi = spanHi;
    this.#hasParent = hasParent;
    this.#parentLo = parentLo;
    this.#parentHi = parentHi;
  }

  get spanId(): string {
    return this.#spanId ?? idHalvesHex(this.#spanLo, this.#spanHi);
  }

  set spanId(value: string) {
    this.#spanId = value;
  }

  get parentSpanId(): string {
    return this.#parentSpanId ?? (this.#hasParent ? idHalvesHex(this.#parentLo, this.#parentHi) : '');
  }

  set parentSpanId(value: string) {
    this.#parentSpanId = value;
  }

  /** The plain data (see the section's header). */
  toJSON(): DecodedSpan {
    return plainSpan(this);
  }
}

/** A span event from the protobuf decoder (SpanEvent), its attributes decoded on first read. */
export class ProtobufSpanEvent extends LazyAttributes implements SpanEvent {
  declare name: string;
  declare timeUnixMs: number;

  /** As ProtobufSpan, with Span.Event.attributes fields. */
  constructor(
    name: string,
    timeUnixMs: number,
    attributes: Attributes | undefined,
    bytes: Uint8Array | undefined,
    start: number,
    end: number,
    found?: number[],
  ) {
    super(EVENT_ATTRIBUTES_TAG, attributes, bytes, start, end, found);
    this.name = name;
    this.timeUnixMs = timeUnixMs;
  }

  /** The plain data (see the section's header). */
  toJSON(): SpanEvent {
    return plainEvent(this);
  }
}
