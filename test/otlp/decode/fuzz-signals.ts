// Random trace and logs export requests with the batch each must decode to (metrics: fuzz-metrics.ts).
import fc from 'fast-check';
import { LOGS_REQUEST, TRACE_REQUEST, encodeMessage } from '../../../bench/payloads.js';
import { FLAG_EVALUATION_EVENT } from '../../../src/otlp/model.js';
import { attributes, base64, hex, idBytes, msOf, nanos, resource, text } from './fuzz-values.js';

const spanEvent = fc.record({ time: nanos, name: text, attributes }).map((e) => ({
  proto: { timeUnixNano: e.time.toString(), name: e.name, attributes: e.attributes.proto },
  json: { timeUnixNano: e.time.toString(), name: e.name, attributes: e.attributes.json },
  model: { name: e.name, timeUnixMs: msOf(e.time), attributes: e.attributes.model },
}));

const span = fc
  .record({
    traceId: idBytes(16),
    spanId: idBytes(8),
    parent: fc.option(idBytes(8), { nil: undefined }),
    name: text,
    kind: fc.integer({ min: 0, max: 5 }),
    start: nanos,
    duration: fc.bigInt({ min: 0n, max: 2n ** 40n }),
    statusCode: fc.integer({ min: 0, max: 2 }),
    statusMessage: text,
    attributes,
    events: fc.array(spanEvent, { maxLength: 2 }),
  })
  .map((s) => {
    const common = {
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: s.start.toString(),
      endTimeUnixNano: (s.start + s.duration).toString(),
      status: { code: s.statusCode, message: s.statusMessage },
    };
    return {
      proto: {
        ...common,
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parent,
        attributes: s.attributes.proto,
        events: s.events.map((e) => e.proto),
      },
      json: {
        ...common,
        traceId: hex(s.traceId),
        spanId: hex(s.spanId),
        parentSpanId: s.parent === undefined ? '' : hex(s.parent),
        attributes: s.attributes.json,
        events: s.events.map((e) => e.json),
      },
      model: {
        traceId: hex(s.traceId),
        spanId: hex(s.spanId),
        parentSpanId: s.parent === undefined ? '' : hex(s.parent),
        name: s.name,
        kind: s.kind,
        startTimeUnixMs: msOf(s.start),
        durationNanos: Number(s.duration),
        statusCode: s.statusCode,
        statusMessage: s.statusMessage,
        attributes: s.attributes.model,
        events: s.events.map((e) => e.model),
      },
    };
  });

/** A whole trace export: its protobuf bytes, its OTLP/JSON text, and the SpanBatch both must decode to. */
export const traceCase = fc
  .array(
    fc.record({
      resource,
      scopes: fc.array(fc.record({ name: text, spans: fc.array(span, { maxLength: 4 }) }), {
        minLength: 1,
        maxLength: 2,
      }),
    }),
    { minLength: 1, maxLength: 3 },
  )
  .map((resources) => {
    const proto = {
      resourceSpans: resources.map((r) => ({
        resource: r.resource.proto,
        scopeSpans: r.scopes.map((s) => ({ scope: { name: s.name }, spans: s.spans.map((x) => x.proto) })),
      })),
    };
    const json = {
      resourceSpans: resources.map((r) => ({
        resource: r.resource.json,
        scopeSpans: r.scopes.map((s) => ({ scope: { name: s.name }, spans: s.spans.map((x) => x.json) })),
      })),
    };
    const spans = resources.flatMap((r) =>
      r.scopes.flatMap((s) =>
        s.spans.map((x) => ({ ...x.model, resource: r.resource.model, scopeName: s.name })),
      ),
    );
    return {
      bytes: encodeMessage(TRACE_REQUEST, proto),
      json: JSON.stringify(json),
      expected: { spans, rejected: 0, rejectMessage: '' },
    };
  });

const logRecord = fc
  .record({
    eventName: fc.constantFrom(FLAG_EVALUATION_EVENT, 'session.start', ''),
    legacyName: fc.option(fc.constantFrom(FLAG_EVALUATION_EVENT, 'other'), { nil: undefined }),
    traceId: fc.option(idBytes(16), { nil: undefined }),
    spanId: fc.option(idBytes(8), { nil: undefined }),
    time: fc.oneof(fc.constant(0n), nanos),
    observed: nanos,
    attributes,
  })
  .map((r) => {
    const legacy =
      r.legacyName === undefined ? [] : [{ key: 'event.name', value: { stringValue: r.legacyName } }];
    const keep = (list: { key: string }[]) =>
      list.filter((kv) => kv.key !== 'event.name' || r.legacyName === undefined);
    const attributeModel = { ...r.attributes.model };
    if (r.legacyName !== undefined) attributeModel['event.name'] = r.legacyName;
    const times = { timeUnixNano: r.time.toString(), observedTimeUnixNano: r.observed.toString() };
    const effectiveName = r.eventName !== '' ? r.eventName : (r.legacyName ?? '');
    return {
      proto: {
        ...times,
        eventName: r.eventName,
        traceId: r.traceId,
        spanId: r.spanId,
        attributes: [...keep(r.attributes.proto), ...legacy],
      },
      json: {
        ...times,
        eventName: r.eventName,
        traceId: r.traceId === undefined ? '' : base64(r.traceId),
        spanId: r.spanId === undefined ? '' : hex(r.spanId),
        attributes: [...keep(r.attributes.json), ...legacy],
      },
      model:
        effectiveName === FLAG_EVALUATION_EVENT
          ? {
              eventName: effectiveName,
              traceId: r.traceId === undefined ? '' : hex(r.traceId),
              spanId: r.spanId === undefined ? '' : hex(r.spanId),
              timeUnixMs: msOf(r.time === 0n ? r.observed : r.time),
              attributes: attributeModel,
            }
          : undefined,
    };
  });

/** A whole logs export with its protobuf bytes, OTLP/JSON text and expected LogBatch. */
export const logsCase = fc
  .array(fc.record({ resource, records: fc.array(logRecord, { maxLength: 4 }) }), { maxLength: 2 })
  .map((resources) => {
    const request = (which: 'proto' | 'json') => ({
      resourceLogs: resources.map((r) => ({
        resource: r.resource[which],
        scopeLogs: [{ logRecords: r.records.map((x) => x[which]) }],
      })),
    });
    const all = resources.flatMap((r) =>
      r.records.map((x) => ({ model: x.model, resource: r.resource.model })),
    );
    const flagEvaluations = all.flatMap((x) =>
      x.model === undefined ? [] : [{ ...x.model, resource: x.resource }],
    );
    return {
      bytes: encodeMessage(LOGS_REQUEST, request('proto')),
      json: JSON.stringify(request('json')),
      expected: {
        flagEvaluations,
        ignored: all.length - flagEvaluations.length,
        rejected: 0,
        rejectMessage: '',
      },
    };
  });
