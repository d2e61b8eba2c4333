// Random metrics export requests (every point type, consistent buckets) with the batch they must decode to.
import fc from 'fast-check';
import { METRICS_REQUEST, encodeMessage } from '../../../bench/payloads.js';
import type { DecodedMetricPoint } from '../../../src/otlp/model.js';
import {
  attributes,
  double,
  hex,
  idBytes,
  jsonDouble,
  msOf,
  nanos,
  resource,
  safeInt,
  text,
} from './fuzz-values.js';

const exemplars = fc.array(fc.option(idBytes(16), { nil: undefined }), { maxLength: 2 }).map((ids) => ({
  proto: ids.map((id) => ({
    traceId: id,
    spanId: id === undefined ? undefined : id.subarray(0, 8),
    asDouble: 1,
  })),
  json: ids.map((id) => ({ traceId: id === undefined ? '' : hex(id), asDouble: 1 })),
  model: ids.filter((id): id is Uint8Array => id !== undefined).map(hex),
}));

type PointForms = {
  proto: Record<string, unknown>;
  json: Record<string, unknown>;
  model: Partial<DecodedMetricPoint>;
};

const numberValue = fc.oneof(
  double.map((d): PointForms => ({
    proto: { asDouble: d },
    json: { asDouble: jsonDouble(d) },
    model: { value: d },
  })),
  safeInt.map((i): PointForms => ({
    proto: { asInt: i.toString() },
    json: { asInt: i.toString() },
    model: { value: Number(i) },
  })),
);

const counts = fc.array(fc.nat(1000), { maxLength: 5 });
const optionalDouble = fc.option(double, { nil: undefined });

const histogramValue = fc
  .record({
    bounds: fc.uniqueArray(fc.double({ noNaN: true, noDefaultInfinity: true }), {
      maxLength: 4,
      selector: (d) => (d === 0 ? 0 : d),
    }),
    withBuckets: fc.boolean(),
    counts,
    sum: optionalDouble,
    min: optionalDouble,
    max: optionalDouble,
  })
  .map(({ bounds: unsorted, withBuckets, counts: raw, sum, min, max }): PointForms => {
    const bounds = unsorted.map((d) => (Object.is(d, -0) ? 0 : d)).sort((a, b) => a - b);
    const bucketCounts = withBuckets ? bounds.map((_, i) => raw[i] ?? 0).concat(raw[bounds.length] ?? 0) : [];
    const count = withBuckets ? bucketCounts.reduce((a, b) => a + b, 0) : (raw[0] ?? 0);
    const optional = { sum, min, max };
    const json = Object.fromEntries(
      Object.entries(optional).flatMap(([k, v]) => (v === undefined ? [] : [[k, jsonDouble(v)]])),
    );
    return {
      proto: {
        count: String(count),
        bucketCounts: bucketCounts.map(String),
        explicitBounds: bounds,
        ...optional,
      },
      json: { count: String(count), bucketCounts: bucketCounts.map(String), explicitBounds: bounds, ...json },
      model: {
        count,
        ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
        ...(bucketCounts.length > 0 ? { explicit: { bounds, bucketCounts } } : {}),
      },
    };
  });

/**
 * Buckets whose boundaries are finite doubles at `scale` (src/otlp/decode/metric-checks.ts): indexes from
 * -1074 * 2^scale up to 1022 * 2^scale; at scales where no bucket fits, only empty buckets.
 */
const bucketsAt = (scale: number) =>
  counts.chain((bucketCounts) => {
    const lowest = Math.max(-200, Math.ceil(-1022 * 2 ** scale));
    const highest = Math.min(200, Math.floor(1022 * 2 ** scale) - bucketCounts.length);
    if (highest < lowest) return fc.constant({ offset: 0, bucketCounts: [] as number[] });
    return fc.integer({ min: lowest, max: highest }).map((offset) => ({ offset, bucketCounts }));
  });

const exponentialValue = fc
  .integer({ min: -10, max: 20 })
  .chain((scale) =>
    fc.record({
      scale: fc.constant(scale),
      zeroCount: fc.nat(100),
      zeroThreshold: fc.double({ min: 0, max: 1, noNaN: true }),
      positive: bucketsAt(scale),
      negative: bucketsAt(scale),
    }),
  )
  .map((e): PointForms => {
    const count = [...e.positive.bucketCounts, ...e.negative.bucketCounts].reduce(
      (a, b) => a + b,
      e.zeroCount,
    );
    const side = (b: { offset: number; bucketCounts: number[] }) => ({
      offset: b.offset,
      bucketCounts: b.bucketCounts.map(String),
    });
    const wire = {
      count: String(count),
      scale: e.scale,
      zeroCount: String(e.zeroCount),
      zeroThreshold: e.zeroThreshold,
      positive: side(e.positive),
      negative: side(e.negative),
    };
    return { proto: wire, json: wire, model: { count, exponential: e } };
  });

const summaryValue = fc.record({ count: fc.nat(1e6), sum: double }).map(({ count, sum }): PointForms => ({
  proto: { count: String(count), sum },
  json: { count: String(count), sum: jsonDouble(sum) },
  model: { count, sum },
}));

const DATA_KINDS = {
  gauge: { field: 'gauge', values: numberValue },
  sum: { field: 'sum', values: numberValue },
  histogram: { field: 'histogram', values: histogramValue },
  exponential_histogram: { field: 'exponentialHistogram', values: exponentialValue },
  summary: { field: 'summary', values: summaryValue },
} as const;

const metric = fc
  .constantFrom(...(Object.keys(DATA_KINDS) as (keyof typeof DATA_KINDS)[]))
  .chain((type) =>
    fc.record({
      type: fc.constant(type),
      name: text,
      unit: text,
      temporality: fc.integer({ min: 0, max: 2 }),
      isMonotonic: fc.boolean(),
      points: fc.array(
        fc.record({ start: nanos, time: nanos, attributes, exemplars, value: DATA_KINDS[type].values }),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
    }),
  )
  .map((m) => {
    const temporality = m.type === 'gauge' || m.type === 'summary' ? 0 : m.temporality;
    const isMonotonic = m.type === 'sum' ? m.isMonotonic : false;
    const hasExemplars = m.type !== 'summary';
    const form = (which: 'proto' | 'json') => ({
      name: m.name,
      unit: m.unit,
      [DATA_KINDS[m.type].field]: {
        ...(temporality !== 0 ? { aggregationTemporality: temporality } : {}),
        ...(m.type === 'sum' ? { isMonotonic } : {}),
        dataPoints: m.points.map((p) => ({
          startTimeUnixNano: p.start.toString(),
          timeUnixNano: p.time.toString(),
          attributes: p.attributes[which],
          ...(hasExemplars ? { exemplars: p.exemplars[which] } : {}),
          ...p.value[which],
        })),
      },
    });
    const model = (resourceModel: object, scopeName: string) =>
      m.points.map((p) => ({
        resource: resourceModel,
        scopeName,
        metricName: m.name,
        unit: m.unit,
        type: m.type,
        temporality,
        isMonotonic,
        attributes: p.attributes.model,
        startTimeUnixMs: msOf(p.start),
        timeUnixMs: msOf(p.time),
        exemplarTraceIds: hasExemplars ? p.exemplars.model : [],
        ...p.value.model,
      }));
    return { proto: form('proto'), json: form('json'), model };
  });

/** A whole metrics export with its protobuf bytes, OTLP/JSON text and expected MetricBatch. */
export const metricsCase = fc
  .array(fc.record({ resource, scopeName: text, metrics: fc.array(metric, { maxLength: 3 }) }), {
    maxLength: 2,
  })
  .map((resources) => {
    const request = (which: 'proto' | 'json') => ({
      resourceMetrics: resources.map((r) => ({
        resource: r.resource[which],
        scopeMetrics: [{ scope: { name: r.scopeName }, metrics: r.metrics.map((m) => m[which]) }],
      })),
    });
    const points = resources.flatMap((r) => r.metrics.flatMap((m) => m.model(r.resource.model, r.scopeName)));
    return {
      bytes: encodeMessage(METRICS_REQUEST, request('proto')),
      json: JSON.stringify(request('json')),
      expected: { points, rejected: 0, rejectMessage: '' },
    };
  });
