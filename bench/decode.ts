// Decode throughput of one realistic trace export (512 spans, ~10 attributes, a few events), measured in
// one process and one run so the comparison is fair on any machine (pino's benchmarks do the same):
//   - protobufjs, full decode of the schema in proto/ (Type.decode), and decode + toObject, which is what
//     a generic receiver does before it can read the fields;
//   - our field-selective decoder on protobufjs's Reader (src/otlp/decode), which builds the model directly,
//     with span and event attributes decoded on first read (the default), with every attribute read after
//     decoding (the worst case for laziness), and with lazy attributes turned off (eager, as before);
//   - OTLP/JSON: JSON.parse alone, and our JSON decoder (parse + model).
// @bufbuild/protobuf is not installed, so it is not measured.
//   npm run build && node dist/bench/decode.js        (BENCH_SECONDS=2 per candidate and round by default)
import { loadavg } from 'node:os';
import { decodeTraceRequest, decodeTraceRequestJson } from '../src/otlp/decode/index.js';
import { setLazyAttributes } from '../src/otlp/decode/attribute-walk.js';
import type { SpanBatch } from '../src/otlp/model.js';
import { TRACE_REQUEST, loadOtlpSchema, realisticTraceRequest, encodeMessage } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const SPANS = 512;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Candidate {
  name: string;
  encoding: 'protobuf' | 'json';
  payloadBytes: number;
  decode: () => unknown;
}

/** Runs `decode` for about `seconds` after a warm-up; returns decodes per second. */
function measure(decode: () => unknown, seconds: number): number {
  for (let i = 0; i < 50; i++) decode();
  let count = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let now = started;
  while (now < deadline) {
    for (let i = 0; i < 10; i++) decode();
    count += 10;
    now = performance.now();
  }
  return (count * 1000) / (now - started);
}

/** Reads every span's and event's attributes, as a consumer that needs them all would. */
function readAllAttributes(batch: SpanBatch): number {
  let keys = 0;
  for (const span of batch.spans) {
    for (const key in span.attributes) keys += key.length;
    for (const event of span.events) for (const key in event.attributes) keys += key.length;
  }
  return keys;
}

/** Runs `decode` with lazy attributes turned off. */
function eagerly<T>(decode: () => T): T {
  setLazyAttributes(false);
  try {
    return decode();
  } finally {
    setLazyAttributes(true);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main(): void {
  const request = realisticTraceRequest({ spans: SPANS });
  const protobufPayload = encodeMessage(TRACE_REQUEST, request);
  const type = loadOtlpSchema().lookupType(TRACE_REQUEST);
  const jsonPayload = JSON.stringify(
    type.toObject(type.decode(protobufPayload), { longs: String, bytes: String }),
  );
  // OTLP/JSON wants hex ids, not the base64 of the generic mapping; the decoder tolerates both, but a
  // realistic body is hex, so rewrite them.
  const jsonText = jsonPayload.replace(
    /"(traceId|spanId|parentSpanId)":"([^"]*)"/g,
    (_m, key: string, b64: string) => {
      return `"${key}":"${Buffer.from(b64, 'base64').toString('hex')}"`;
    },
  );
  const jsonBytes = Buffer.byteLength(jsonText);

  // Same content either way, or the comparison means nothing.
  const fromProto = decodeTraceRequest(protobufPayload);
  const fromJson = decodeTraceRequestJson(jsonText);
  if (fromProto.spans.length !== SPANS || JSON.stringify(fromProto) !== JSON.stringify(fromJson)) {
    throw new Error('protobuf and JSON payloads do not decode to the same batch');
  }

  const candidates: Candidate[] = [
    {
      name: 'protobufjs Type.decode (full message)',
      encoding: 'protobuf',
      payloadBytes: protobufPayload.length,
      decode: () => type.decode(protobufPayload),
    },
    {
      name: 'protobufjs decode + toObject',
      encoding: 'protobuf',
      payloadBytes: protobufPayload.length,
      decode: () => type.toObject(type.decode(protobufPayload), { longs: String, bytes: String }),
    },
    {
      name: 'canary-judge field-selective decoder',
      encoding: 'protobuf',
      payloadBytes: protobufPayload.length,
      decode: () => decodeTraceRequest(protobufPayload),
    },
    {
      name: 'field-selective decoder, then every attribute read',
      encoding: 'protobuf',
      payloadBytes: protobufPayload.length,
      decode: () => readAllAttributes(decodeTraceRequest(protobufPayload)),
    },
    {
      name: 'field-selective decoder, eager attributes (before lazy)',
      encoding: 'protobuf',
      payloadBytes: protobufPayload.length,
      decode: () => eagerly(() => decodeTraceRequest(protobufPayload)),
    },
    {
      name: 'JSON.parse only (OTLP/JSON)',
      encoding: 'json',
      payloadBytes: jsonBytes,
      decode: () => JSON.parse(jsonText),
    },
    {
      name: 'canary-judge OTLP/JSON decoder',
      encoding: 'json',
      payloadBytes: jsonBytes,
      decode: () => decodeTraceRequestJson(jsonText),
    },
  ];

  const rates = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
  // Interleaved rounds, so drift (thermal, GC, JIT) spreads over every candidate alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const candidate of candidates) rates.get(candidate.name)!.push(measure(candidate.decode, SECONDS));
  }

  const ours = median(rates.get('canary-judge field-selective decoder')!);
  const rows: ResultRow[] = candidates.map((candidate) => {
    const perSecond = median(rates.get(candidate.name)!);
    return {
      decoder: candidate.name,
      encoding: candidate.encoding,
      'payload KiB': (candidate.payloadBytes / 1024).toFixed(1),
      'ms/batch': (1000 / perSecond).toFixed(3),
      'spans/s': Math.round(perSecond * SPANS).toLocaleString('en-US'),
      'MB/s': ((perSecond * candidate.payloadBytes) / 1e6).toFixed(1),
      'vs field-selective': (perSecond / ours).toFixed(2),
    };
  });
  writeResults('decode', rows, {
    spansPerBatch: SPANS,
    attributesPerSpan: 10,
    protobufBytes: protobufPayload.length,
    jsonBytes,
    secondsPerMeasurement: SECONDS,
    rounds: ROUNDS,
    statistic: 'median of rounds',
    // Other work on the machine slows every candidate alike; the ratios are the figures to quote.
    loadAverage1m: loadavg()[0].toFixed(2),
  });
}

main();
