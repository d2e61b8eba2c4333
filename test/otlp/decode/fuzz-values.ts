// Random OTLP values in three forms (protobufjs object, OTLP/JSON object, decoded model), for fuzzing.
import fc from 'fast-check';
import type { AttributeValue, Attributes } from '../../../src/otlp/model.js';

/** One generated value in three forms: protobufjs object, OTLP/JSON object, decoded model. */
export interface Encoded<M, P = object> {
  proto: P;
  json: P;
  model: M;
}

/** A repeated KeyValue field: lists of {key, value} on the wire, an Attributes object decoded. */
export type EncodedAttributes = Encoded<Attributes, { key: string; value: object }[]>;

export const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
export const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export const text = fc.string({ unit: 'grapheme', maxLength: 12 });
export const key = fc.string({ unit: 'grapheme-ascii', maxLength: 10 }).filter((k) => k !== '__proto__');

export function idBytes(length: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: length, maxLength: length }).filter((b) => b.some((x) => x !== 0));
}

/** Whole nanoseconds since the epoch below 2^62 (year 2116), and the ms the decoders must report. */
export const nanos = fc.bigInt({ min: 0n, max: 2n ** 62n });

export function msOf(n: bigint): number {
  return Number(n / 1_000_000_000n) * 1e3 + Number(n % 1_000_000_000n) / 1e6;
}

/** JSON doubles: numbers, or the strings the protobuf JSON mapping uses for non-finite values. */
export function jsonDouble(d: number): number | string {
  return Number.isFinite(d) ? d : String(d);
}

export const double = fc.double().map((d) => (Object.is(d, -0) ? 0 : d));
export const safeInt = fc.bigInt({ min: -(2n ** 53n) + 1n, max: 2n ** 53n - 1n });

const anyValue: fc.Arbitrary<Encoded<AttributeValue>> = fc.letrec<{ value: Encoded<AttributeValue> }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      text.map((s) => ({ proto: { stringValue: s }, json: { stringValue: s }, model: s })),
      fc.boolean().map((b) => ({ proto: { boolValue: b }, json: { boolValue: b }, model: b })),
      fc.tuple(safeInt, fc.boolean()).map(([i, asNumber]) => ({
        proto: { intValue: i.toString() },
        json: { intValue: asNumber ? Number(i) : i.toString() },
        model: Number(i),
      })),
      double.map((d) => ({ proto: { doubleValue: d }, json: { doubleValue: jsonDouble(d) }, model: d })),
      fc.uint8Array({ maxLength: 8 }).map((b) => ({
        proto: { bytesValue: b },
        json: { bytesValue: base64(b) },
        model: hex(b),
      })),
      fc.array(tie('value'), { maxLength: 3 }).map((values) => ({
        proto: { arrayValue: { values: values.map((v) => v.proto) } },
        json: { arrayValue: { values: values.map((v) => v.json) } },
        model: values.map((v) => v.model),
      })),
      keyValues(tie('value')).map((list) => ({
        proto: { kvlistValue: { values: list.proto } },
        json: { kvlistValue: { values: list.json } },
        model: list.model,
      })),
      fc.constant({ proto: {}, json: {}, model: null }),
    ),
  }),
).value;

function keyValues(
  values: fc.Arbitrary<Encoded<AttributeValue>>,
  maxLength = 3,
): fc.Arbitrary<EncodedAttributes> {
  return fc
    .uniqueArray(fc.record({ key, value: values }), { selector: (e) => e.key, maxLength })
    .map((entries) => ({
      proto: entries.map((e) => ({ key: e.key, value: e.value.proto })),
      json: entries.map((e) => ({ key: e.key, value: e.value.json })),
      model: Object.fromEntries(entries.map((e) => [e.key, e.value.model])) as Attributes,
    }));
}

export const attributes = keyValues(anyValue, 4);

/** A resource with random attributes and, usually, a service name. */
export const resource = fc
  .tuple(attributes, fc.option(text, { nil: undefined }))
  .map(([attrs, serviceName]) => {
    const withName =
      serviceName === undefined
        ? attrs
        : {
            proto: [...attrs.proto, { key: 'service.name', value: { stringValue: serviceName } }],
            json: [...attrs.json, { key: 'service.name', value: { stringValue: serviceName } }],
            model: { ...attrs.model, 'service.name': serviceName },
          };
    const name = withName.model['service.name'];
    return {
      proto: { attributes: withName.proto },
      json: { attributes: withName.json },
      model: { serviceName: typeof name === 'string' ? name : '', attributes: withName.model },
    };
  });
