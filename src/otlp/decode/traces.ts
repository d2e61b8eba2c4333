// ExportTraceServiceRequest (collector/trace/v1/trace_service.proto, resource_spans = 1) to a SpanBatch.
// Field numbers are from trace/v1/trace.proto; the tag constants are (field << 3) | wire type.
import type {
  Attributes,
  DecodedSpan,
  ResourceInfo,
  SpanBatch,
  SpanEvent,
  SpanKind,
  StatusCode,
} from '../model.js';
import { MAX_ATTRIBUTES_PER_LIST, countAttribute, decodeKeyValue, readKey } from './any-value.js';
import { walkEnvelope, type EnvelopeNames } from './envelope.js';
import { releaseWordView } from './ascii-check.js';
import { decodeAttributeFields } from './attribute-reads.js';
import { attributeRunFields, validAttributeRunEnd } from './attribute-walk.js';
import {
  EVENT_ATTRIBUTES_TAG,
  ProtobufSpan,
  ProtobufSpanEvent,
  SPAN_ATTRIBUTES_TAG,
} from './lazy-attributes.js';
import {
  noRejections,
  quotedName,
  reject,
  rejectionFields,
  spanIdProblem,
  ZERO_SPAN_ID_PROBLEM,
  traceIdProblem,
  type Rejections,
} from './resource.js';
import {
  decodeWire,
  durationNanos,
  enterMessage,
  leaveMessage,
  nanosHalvesToMs,
  newTraceIdMemo,
  atEightByteId,
  halves,
  readBytesHex,
  readHalves,
  readTraceIdHex,
  skipField,
  type WireContext,
} from './wire.js';
import { WalkRecords } from './watched-keys.js';

/**
 * The attribute field at the reader (after its tag) and the attribute fields right after it, validated in one
 * walk (validAttributeRunEnd) within what is left of the per-list limit: where the run ends, with
 * attributeRunFields() fields in it, or -1 (decode the attributes eagerly). Shared by spans and events.
 */
function lazyAttributeRunEnd(
  ctx: WireContext,
  tag: number,
  attributeCount: number,
  found: WalkRecords,
): number {
  const reader = ctx.reader;
  const maxFields = MAX_ATTRIBUTES_PER_LIST - attributeCount + 1;
  return validAttributeRunEnd(reader.buf, reader.pos, reader.len, tag, maxFields, found);
}

/**
 * Decodes an OTLP/protobuf trace export. Spans with unusable ids are counted in `rejected`; a malformed
 * payload throws OtlpDecodeError. An empty payload is a valid, empty request.
 */
export function decodeTraceRequest(bytes: Uint8Array): SpanBatch {
  return decodeWire('traces', bytes, 'ExportTraceServiceRequest', (ctx) => {
    const spans: DecodedSpan[] = [];
    const rejections = noRejections();
    let first = 0;
    newTraceIdMemo();
    try {
      walkEnvelope(ctx, TRACE_ENVELOPE, {
        item: (resource) => decodeSpan(ctx, resource, spans, rejections),
        scopeStart: () => (first = spans.length),
        scopeEnd: (scopeName) => {
          if (scopeName !== '') for (let i = first; i < spans.length; i++) spans[i].scopeName = scopeName;
        },
      });
    } finally {
      releaseWordView();
    }
    return { spans, ...rejectionFields(rejections, 'spans') };
  });
}

const TRACE_ENVELOPE: EnvelopeNames = {
  request: 'ExportTraceServiceRequest',
  resourceField: 'resource_spans',
  resourceMessage: 'ResourceSpans',
  scopeField: 'scope_spans',
  scopeMessage: 'ScopeSpans',
  itemField: 'spans',
};

/**
 * Span: trace_id = 1, span_id = 2, parent_span_id = 4, name = 5, kind = 6, start/end_time_unix_nano =
 * 7/8 (fixed64, read as two 32-bit halves so the duration is exact), attributes = 9, events = 11,
 * status = 15. trace_state, flags, links and dropped counts are skipped.
 */
function decodeSpan(
  ctx: WireContext,
  resource: ResourceInfo,
  spans: DecodedSpan[],
  rejections: Rejections,
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let traceId = '';
  // Span and parent ids of 8 bytes as two 32-bit halves (atEightByteId); any other length as hex, as before.
  let spanIdHex = '';
  let spanLo = 0;
  let spanHi = 0;
  let spanIdHalves = false;
  let parentHex = '';
  let parentLo = 0;
  let parentHi = 0;
  let parentHalves = false;
  let name = '';
  let kind = 0;
  let startLo = 0;
  let startHi = 0;
  let endLo = 0;
  let endHi = 0;
  let statusCode = 0;
  let statusMessage = '';
  // Attributes are left in the bytes (lazy-attributes.ts) unless they must be decoded now.
  let attributes: Attributes | undefined;
  let attributesStart = -1;
  let attributesEnd = -1;
  const events: SpanEvent[] = [];
  let attributeCount = 0;
  spanFound.reset();
  while (reader.pos < reader.len) {
    const fieldAt = reader.pos;
    const tag = reader.uint32();
    switch (tag) {
      case 10:
        traceId = readTraceIdHex(reader);
        break;
      case 18:
        spanIdHalves = atEightByteId(reader);
        if (spanIdHalves) {
          readHalves(reader);
          spanLo = halves.lo;
          spanHi = halves.hi;
        } else spanIdHex = readBytesHex(reader);
        break;
      case 34:
        parentHalves = atEightByteId(reader);
        if (parentHalves) {
          readHalves(reader);
          parentLo = halves.lo;
          parentHi = halves.hi;
        } else parentHex = readBytesHex(reader);
        break;
      case 42:
        name = readKey(reader);
        break;
      case 48:
        kind = reader.int32();
        break;
      case 57:
        readHalves(reader);
        startLo = halves.lo;
        startHi = halves.hi;
        break;
      case 65:
        readHalves(reader);
        endLo = halves.lo;
        endHi = halves.hi;
        break;
      case SPAN_ATTRIBUTES_TAG:
        attributeCount = countAttribute(attributeCount, 'Span.attributes');
        if (attributes === undefined) {
          if (attributesStart < 0) attributesStart = fieldAt;
          else if (attributesEnd !== fieldAt)
            attributes = decodeAttributeFields(reader.buf, attributesStart, attributesEnd, tag);
          if (attributes === undefined) {
            const end = lazyAttributeRunEnd(ctx, tag, attributeCount, spanFound);
            if (end >= 0) {
              attributeCount += attributeRunFields() - 1;
              reader.pos = attributesEnd = end;
              break;
            }
            attributes =
              attributesEnd < 0 ? {} : decodeAttributeFields(reader.buf, attributesStart, attributesEnd, tag);
          }
        }
        ctx.path.push('Span.attributes');
        decodeKeyValue(ctx, attributes, 0);
        ctx.path.pop();
        break;
      case 90:
        ctx.path.push('Span.events');
        events.push(decodeEvent(ctx));
        ctx.path.pop();
        break;
      case 122: {
        // Status: message = 2, code = 3 (field 1 is the reserved deprecated_code).
        ctx.path.push('Span.status');
        const statusOuter = enterMessage(reader);
        while (reader.pos < reader.len) {
          const statusTag = reader.uint32();
          if (statusTag === 18) statusMessage = reader.stringVerify();
          else if (statusTag === 24) statusCode = reader.int32();
          else skipField(reader, statusTag);
        }
        leaveMessage(reader, statusOuter);
        ctx.path.pop();
        break;
      }
      default:
        skipField(reader, tag);
    }
  }
  leaveMessage(reader, outer);

  const problem =
    traceIdProblem(traceId) ||
    (spanIdHalves ? ((spanLo | spanHi) === 0 ? ZERO_SPAN_ID_PROBLEM : '') : spanIdProblem(spanIdHex)) ||
    (parentHalves || parentHex.length === 0 ? '' : 'parent_span_id must be 0 or 8 bytes');
  if (problem !== '') {
    reject(rejections, `span ${quotedName(name)}: ${problem}`, 'invalid_id');
    return;
  }
  spans.push(
    new ProtobufSpan(
      traceId,
      spanLo,
      spanHi,
      // An absent parent, or one of all zeros, is no parent (isAbsentId).
      parentHalves && (parentLo | parentHi) !== 0,
      parentLo,
      parentHi,
      name,
      // Enums are open in proto3: a kind or code this version does not know is read as unspecified/unset.
      (kind >= 0 && kind <= 5 ? kind : 0) as SpanKind,
      nanosHalvesToMs(startLo, startHi),
      durationNanos(startLo, startHi, endLo, endHi),
      (statusCode >= 0 && statusCode <= 2 ? statusCode : 0) as StatusCode,
      statusMessage,
      attributes,
      attributesStart < 0 ? undefined : reader.buf,
      attributesStart,
      attributesEnd,
      events,
      resource,
      foundOf(attributes, spanFound),
    ),
  );
}

/**
 * Where the validation walk found watched keys (watched-keys.ts), one scratch list for the span and one
 * for the event being decoded (events are decoded while their span is), copied out for the item that keeps
 * them. Nothing is kept when the attributes were decoded eagerly: the object answers every read then.
 */
const spanFound = new WalkRecords();
const eventFound = new WalkRecords();

function foundOf(attributes: Attributes | undefined, found: WalkRecords): number[] | undefined {
  return attributes === undefined ? found.take() : undefined;
}

/** Span.Event: time_unix_nano = 1, name = 2, attributes = 3. */
function decodeEvent(ctx: WireContext): SpanEvent {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let timeLo = 0;
  let timeHi = 0;
  let name = '';
  let attributes: Attributes | undefined;
  let attributesStart = -1;
  let attributesEnd = -1;
  let attributeCount = 0;
  eventFound.reset();
  while (reader.pos < reader.len) {
    const fieldAt = reader.pos;
    const tag = reader.uint32();
    if (tag === 9) {
      readHalves(reader);
      timeLo = halves.lo;
      timeHi = halves.hi;
    } else if (tag === 18) name = readKey(reader);
    else if (tag === EVENT_ATTRIBUTES_TAG) {
      attributeCount = countAttribute(attributeCount, 'Span.Event.attributes');
      // As Span.attributes in decodeSpan.
      if (attributes === undefined) {
        if (attributesStart < 0) attributesStart = fieldAt;
        else if (attributesEnd !== fieldAt)
          attributes = decodeAttributeFields(reader.buf, attributesStart, attributesEnd, tag);
        if (attributes === undefined) {
          const end = lazyAttributeRunEnd(ctx, tag, attributeCount, eventFound);
          if (end >= 0) {
            attributeCount += attributeRunFields() - 1;
            reader.pos = attributesEnd = end;
            continue;
          }
          attributes =
            attributesEnd < 0 ? {} : decodeAttributeFields(reader.buf, attributesStart, attributesEnd, tag);
        }
      }
      ctx.path.push('Span.Event.attributes');
      decodeKeyValue(ctx, attributes, 0);
      ctx.path.pop();
    } else skipField(reader, tag);
  }
  leaveMessage(reader, outer);
  return new ProtobufSpanEvent(
    name,
    nanosHalvesToMs(timeLo, timeHi),
    attributes,
    attributesStart < 0 ? undefined : reader.buf,
    attributesStart,
    attributesEnd,
    foundOf(attributes, eventFound),
  );
}
