// ExportLogsServiceRequest (collector/logs/v1/logs_service.proto, resource_logs = 1) to a LogBatch.
// Only OpenFeature flag evaluations matter: log-based events named `feature_flag.evaluation` (semantic
// conventions, "Feature flag events"), recognised by LogRecord.event_name = 12 (OTLP 1.5+) or, from
// older senders, the `event.name` attribute. Every other record is counted in `ignored` and dropped.
import type { AttributeValue, Attributes, DecodedFlagEvaluation, LogBatch, ResourceInfo } from '../model.js';
import { FLAG_EVALUATION_EVENT } from '../model.js';
import { countAttribute, decodeAnyValue, decodeKeyValue } from './any-value.js';
import { isAbsentId, noRejections, reject, rejectionFields, type Rejections } from './resource.js';
import { walkEnvelope, type EnvelopeNames } from './envelope.js';
import {
  decodeWire,
  enterMessage,
  leaveMessage,
  nanosHalvesToMs,
  readBytesHex,
  skipField,
  type WireContext,
} from './wire.js';

/** Counts shared across one request. */
interface LogTally {
  ignored: number;
  rejections: Rejections;
}

/**
 * Decodes an OTLP/protobuf logs export, keeping flag-evaluation events. A flag evaluation with a
 * trace_id other than 0 or 16 bytes (or span_id other than 0 or 8) is rejected; a malformed payload
 * throws OtlpDecodeError.
 */
export function decodeLogsRequest(bytes: Uint8Array): LogBatch {
  return decodeWire('logs', bytes, 'ExportLogsServiceRequest', (ctx) => {
    const flagEvaluations: DecodedFlagEvaluation[] = [];
    const tally: LogTally = { ignored: 0, rejections: noRejections() };
    // The scope name is not kept: the model has no scope for flag evaluations.
    walkEnvelope(ctx, LOGS_ENVELOPE, {
      item: (resource) => decodeLogRecord(ctx, resource, flagEvaluations, tally),
      scopeStart: () => undefined,
      scopeEnd: () => undefined,
    });
    return {
      flagEvaluations,
      ignored: tally.ignored,
      ...rejectionFields(tally.rejections, 'log records'),
    };
  });
}

const LOGS_ENVELOPE: EnvelopeNames = {
  request: 'ExportLogsServiceRequest',
  resourceField: 'resource_logs',
  resourceMessage: 'ResourceLogs',
  scopeField: 'scope_logs',
  scopeMessage: 'ScopeLogs',
  itemField: 'log_records',
};

/**
 * LogRecord: time_unix_nano = 1, observed_time_unix_nano = 11 (used when time is 0, as the log data
 * model allows), attributes = 6, trace_id = 9, span_id = 10, event_name = 12. The body (5) is only
 * read for flag evaluations, after the other fields say the record is one (see bodyValueInto).
 */
function decodeLogRecord(
  ctx: WireContext,
  resource: ResourceInfo,
  out: DecodedFlagEvaluation[],
  tally: LogTally,
): void {
  const reader = ctx.reader;
  const outer = enterMessage(reader);
  let timeLo = 0;
  let timeHi = 0;
  let observedLo = 0;
  let observedHi = 0;
  let traceId = '';
  let spanId = '';
  let eventName = '';
  let bodyAt = -1;
  const attributes: Attributes = {};
  let attributeCount = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case 42:
        bodyAt = reader.pos;
        skipField(reader, tag);
        break;
      case 9:
        timeLo = reader.fixed32();
        timeHi = reader.fixed32();
        break;
      case 89:
        observedLo = reader.fixed32();
        observedHi = reader.fixed32();
        break;
      case 50:
        attributeCount = countAttribute(attributeCount, 'LogRecord.attributes');
        ctx.path.push('LogRecord.attributes');
        decodeKeyValue(ctx, attributes, 0);
        ctx.path.pop();
        break;
      case 74:
        traceId = readBytesHex(reader);
        break;
      case 82:
        spanId = readBytesHex(reader);
        break;
      case 98:
        eventName = reader.stringVerify();
        break;
      default:
        skipField(reader, tag);
    }
  }
  if (bodyAt >= 0 && isFlagEvaluation(eventName, attributes)) {
    const end = reader.pos;
    reader.pos = bodyAt;
    ctx.path.push('LogRecord.body');
    bodyValueInto(attributes, decodeAnyValue(ctx, 0));
    ctx.path.pop();
    reader.pos = end;
  }
  leaveMessage(reader, outer);
  acceptLogRecord(
    {
      eventName,
      traceId,
      spanId,
      timeUnixMs: pickTime(timeLo, timeHi, observedLo, observedHi),
      attributes,
      resource,
    },
    out,
    tally,
  );
}

/** Whether a record is a flag evaluation by event_name or, from older senders, the event.name attribute. */
export function isFlagEvaluation(eventName: string, attributes: Attributes): boolean {
  return eventName === ''
    ? attributes['event.name'] === FLAG_EVALUATION_EVENT
    : eventName === FLAG_EVALUATION_EVENT;
}

/**
 * Semantic conventions up to v1.31 put the evaluated value in the event body (`{"value": ...}`); later
 * ones in the `feature_flag.result.value` attribute. Copying the former into the latter lets attribution
 * read one place; an attribute the sender set wins.
 */
export function bodyValueInto(attributes: Attributes, body: AttributeValue): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  if (!Object.prototype.hasOwnProperty.call(body, 'value')) return;
  if (Object.prototype.hasOwnProperty.call(attributes, RESULT_VALUE_ATTRIBUTE)) return;
  attributes[RESULT_VALUE_ATTRIBUTE] = body.value;
}

const RESULT_VALUE_ATTRIBUTE = 'feature_flag.result.value';

function pickTime(timeLo: number, timeHi: number, observedLo: number, observedHi: number): number {
  return timeLo === 0 && timeHi === 0
    ? nanosHalvesToMs(observedLo, observedHi)
    : nanosHalvesToMs(timeLo, timeHi);
}

/**
 * Shared with the JSON decoder: keeps `record` when it is a flag evaluation with usable trace context,
 * otherwise counts it as ignored or rejected. `eventName` falls back to the `event.name` attribute.
 */
export function acceptLogRecord(
  record: DecodedFlagEvaluation,
  out: DecodedFlagEvaluation[],
  tally: LogTally,
): void {
  if (record.eventName === '') {
    const legacy = record.attributes['event.name'];
    if (typeof legacy === 'string') record.eventName = legacy;
  }
  if (record.eventName !== FLAG_EVALUATION_EVENT) {
    tally.ignored++;
    return;
  }
  const problem =
    optionalIdProblem('trace_id', record.traceId, 16) || optionalIdProblem('span_id', record.spanId, 8);
  if (problem !== '') {
    reject(tally.rejections, `${FLAG_EVALUATION_EVENT}: ${problem}`, 'invalid_id');
    return;
  }
  if (isAbsentId(record.traceId)) record.traceId = '';
  if (isAbsentId(record.spanId)) record.spanId = '';
  out.push(record);
}

/** A log record's trace context is optional: empty, or exactly `bytes` long (logs.proto, trace_id / span_id). */
function optionalIdProblem(name: string, hex: string, bytes: number): string {
  if (hex.length === 0 || hex.length === 2 * bytes) return '';
  if (hex.length % 2 === 1) return `${name} is neither hex nor base64`;
  return `${name} must be 0 or ${bytes} bytes, got ${hex.length / 2}`;
}

export type { LogTally };
