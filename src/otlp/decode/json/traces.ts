// OTLP/JSON ExportTraceServiceRequest to a SpanBatch; the same model and rules as ../traces.ts.
import type { DecodedSpan, RejectReason, SpanBatch, SpanEvent, SpanKind, StatusCode } from '../../model.js';
import {
  isAbsentId,
  noRejections,
  quotedName,
  reject,
  rejectionFields,
  spanIdProblem,
  traceIdProblem,
} from '../resource.js';
import { jsonAttributes } from './any-value.js';
import { decodeJsonDocument, eachObject, jsonResource, jsonScopeName } from './document.js';
import {
  asEnum,
  asIdHex,
  asNanosParts,
  asObject,
  asString,
  field,
  partsDurationNanos,
  partsToMs,
  type JsonObject,
  type JsonPath,
} from './values.js';

const SPAN_KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
] as const;
const STATUS_CODE_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'] as const;

/** Decodes an OTLP/JSON trace export (text or UTF-8 bytes). */
export function decodeTraceRequestJson(input: string | Uint8Array): SpanBatch {
  return decodeJsonDocument('traces', input, (root) => {
    const spans: DecodedSpan[] = [];
    const rejections = noRejections();
    eachObject(root, 'resourceSpans', 'resource_spans', '$', (resourceSpans, resourcePath) => {
      const resource = jsonResource(resourceSpans, resourcePath);
      eachObject(resourceSpans, 'scopeSpans', 'scope_spans', resourcePath, (scopeSpans, scopePath) => {
        const scopeName = jsonScopeName(scopeSpans, scopePath);
        eachObject(scopeSpans, 'spans', 'spans', scopePath, (span, spanPath) => {
          const decoded = jsonSpan(span, spanPath);
          if ('problem' in decoded) reject(rejections, decoded.problem, decoded.label);
          else {
            decoded.resource = resource;
            decoded.scopeName = scopeName;
            spans.push(decoded);
          }
        });
      });
    });
    return { spans, ...rejectionFields(rejections, 'spans') };
  });
}

/** One span, or the reason it is rejected. */
function jsonSpan(span: JsonObject, path: JsonPath): DecodedSpan | { problem: string; label: RejectReason } {
  const name = asString(span.name, `${path}.name`);
  const traceId = asIdHex(field(span, 'traceId', 'trace_id'), 16, `${path}.traceId`);
  const spanId = asIdHex(field(span, 'spanId', 'span_id'), 8, `${path}.spanId`);
  const parentSpanId = asIdHex(field(span, 'parentSpanId', 'parent_span_id'), 8, `${path}.parentSpanId`);
  const problem =
    (traceId === null ? 'trace_id is neither hex nor base64' : traceIdProblem(traceId)) ||
    (spanId === null ? 'span_id is neither hex nor base64' : spanIdProblem(spanId)) ||
    (parentSpanId === null || (parentSpanId.length !== 0 && parentSpanId.length !== 16)
      ? 'parent_span_id must be 0 or 8 bytes'
      : '');
  if (problem !== '' || traceId === null || spanId === null || parentSpanId === null) {
    return { problem: `span ${quotedName(name)}: ${problem}`, label: 'invalid_id' };
  }
  const start = asNanosParts(
    field(span, 'startTimeUnixNano', 'start_time_unix_nano'),
    `${path}.startTimeUnixNano`,
  );
  const end = asNanosParts(field(span, 'endTimeUnixNano', 'end_time_unix_nano'), `${path}.endTimeUnixNano`);
  const kind = asEnum(span.kind, SPAN_KIND_NAMES, `${path}.kind`);
  const status = asObject(span.status, `${path}.status`);
  const statusCode = status === undefined ? 0 : asEnum(status.code, STATUS_CODE_NAMES, `${path}.status.code`);
  const events: SpanEvent[] = [];
  eachObject(span, 'events', 'events', path, (event, eventPath) => {
    events.push({
      name: asString(event.name, `${eventPath}.name`),
      timeUnixMs: partsToMs(
        asNanosParts(field(event, 'timeUnixNano', 'time_unix_nano'), `${eventPath}.timeUnixNano`),
      ),
      attributes: jsonAttributes(event.attributes, `${eventPath}.attributes`),
    });
  });
  return {
    traceId,
    spanId,
    parentSpanId: isAbsentId(parentSpanId) ? '' : parentSpanId,
    name,
    kind: (kind >= 0 && kind <= 5 ? kind : 0) as SpanKind,
    startTimeUnixMs: partsToMs(start),
    durationNanos: partsDurationNanos(start, end),
    statusCode: (statusCode >= 0 && statusCode <= 2 ? statusCode : 0) as StatusCode,
    statusMessage: status === undefined ? '' : asString(status.message, `${path}.status.message`),
    attributes: jsonAttributes(span.attributes, `${path}.attributes`),
    events,
    resource: { serviceName: '', attributes: {} },
    scopeName: '',
  };
}
