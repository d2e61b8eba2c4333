// Long-running decoder fuzzing: the properties of test/otlp/decode/fuzz.test.ts with many more cases.
//   npx tsx bench/fuzz-decoders.ts                 (20,000 cases per property, random seed)
//   FUZZ_RUNS=200000 FUZZ_SEED=42 npx tsx bench/fuzz-decoders.ts
// Exits 1 and prints the shrunk counterexample (with the seed to replay it) when a property fails.
import { deepStrictEqual } from 'node:assert';
import fc from 'fast-check';
import {
  JSON_DECODERS,
  PROTOBUF_DECODERS,
  decodesOrRefuses,
  logsCase,
  metricsCase,
  mutate,
  mutateText,
  mutation,
  otlpShapedJson,
  traceCase,
} from '../test/otlp/decode/fuzz-properties.js';
import {
  decodeLogsRequest,
  decodeLogsRequestJson,
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  decodeTraceRequest,
  decodeTraceRequestJson,
} from '../src/otlp/decode/index.js';

const runs = Number(process.env.FUZZ_RUNS ?? 20_000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** toEqual-like: ignores keys whose value is undefined, as the vitest suite does. */
function same(actual: unknown, expected: unknown): void {
  deepStrictEqual(JSON.parse(JSON.stringify(actual, nanSafe)), JSON.parse(JSON.stringify(expected, nanSafe)));
}
function nanSafe(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? String(value) : value;
}

/** The properties differ in argument types; the runner only needs them as properties. */
function erase<Ts extends unknown[]>(property: fc.IProperty<Ts>): fc.IProperty<never[]> {
  return property as unknown as fc.IProperty<never[]>;
}

const mutations = fc.array(mutation, { minLength: 1, maxLength: 6 });
const properties: [string, fc.IProperty<never[]>][] = [
  [
    'traces round-trip (protobuf + JSON)',
    erase(
      fc.property(traceCase, ({ bytes, json, expected }) => {
        same(decodeTraceRequest(bytes), expected);
        same(decodeTraceRequestJson(json), expected);
      }),
    ),
  ],
  [
    'metrics round-trip (protobuf + JSON)',
    erase(
      fc.property(metricsCase, ({ bytes, json, expected }) => {
        same(decodeMetricsRequest(bytes), expected);
        same(decodeMetricsRequestJson(json), expected);
      }),
    ),
  ],
  [
    'logs round-trip (protobuf + JSON)',
    erase(
      fc.property(logsCase, ({ bytes, json, expected }) => {
        same(decodeLogsRequest(bytes), expected);
        same(decodeLogsRequestJson(json), expected);
      }),
    ),
  ],
  [
    'mutated protobuf -> batch or OtlpDecodeError',
    erase(
      fc.property(
        fc.oneof(
          traceCase.map((c) => c.bytes),
          metricsCase.map((c) => c.bytes),
          logsCase.map((c) => c.bytes),
        ),
        mutations,
        (bytes, edits) => {
          const damaged = mutate(bytes, edits);
          for (const decode of PROTOBUF_DECODERS) decodesOrRefuses(() => decode(damaged));
        },
      ),
    ),
  ],
  [
    'random bytes -> batch or OtlpDecodeError',
    erase(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        for (const decode of PROTOBUF_DECODERS) decodesOrRefuses(() => decode(bytes));
      }),
    ),
  ],
  [
    'mutated JSON -> batch or OtlpDecodeError',
    erase(
      fc.property(
        fc.oneof(
          traceCase.map((c) => c.json),
          metricsCase.map((c) => c.json),
          logsCase.map((c) => c.json),
        ),
        mutations,
        (json, edits) => {
          const damaged = mutateText(json, edits);
          for (const decode of JSON_DECODERS) decodesOrRefuses(() => decode(damaged));
        },
      ),
    ),
  ],
  [
    'OTLP-shaped random JSON -> batch or OtlpDecodeError',
    erase(
      fc.property(otlpShapedJson, (json) => {
        for (const decode of JSON_DECODERS) decodesOrRefuses(() => decode(json));
      }),
    ),
  ],
];

console.log(`decoder fuzzing: ${runs} cases per property, seed ${seed}`);
let failed = false;
let total = 0;
for (const [name, property] of properties) {
  const started = performance.now();
  const result = fc.check(property, { numRuns: runs, seed });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  total += result.numRuns;
  console.log(`${result.failed ? 'FAIL' : 'ok  '} ${name}: ${result.numRuns} cases in ${seconds} s`);
  if (result.failed) {
    failed = true;
    console.log(fc.defaultReportMessage(result));
  }
}
console.log(`${total} cases in all`);
process.exitCode = failed ? 1 : 0;
