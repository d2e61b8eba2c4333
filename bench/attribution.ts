// Attribution benchmark (`npm run bench:attribution`): spans/s through the attribution pipeline against a
// pass-through sink on the same decoded batches, in one run, so the ratio is what attribution costs on
// this machine whatever its speed. Rows with decoding included give the ratio against ingest without
// attribution (decode + pass-through), which is what a receiver sees.
//
// Batches are realistic OTLP requests (bench/payloads.ts: 512 spans, traces of 8, HTTP attributes), with
// the flag evaluation (`feature_flag.evaluation` span event) kept on each trace's root span only; the
// judged spans are the other seven, so every judged span goes through the trace join. In the "held"
// scenario each trace's root arrives one request after its children, so every judged span waits in the
// pending buffer and is released by the next request. A fake clock advances 300 ms per request so keys
// expire (10 s window) before a pass over the batches comes round again: every pass sees new traces.
//
// Encoded-input rows run first, before the decoded batches exist: holding 20 000 decoded spans alive
// makes every major GC mark them, which would slow the decode rows by a cost a sidecar never pays.
// Each row is the median of ROUNDS interleaved runs, so drift (thermal, GC) hits all rows alike.
import { Registry } from 'prom-client';
import { AttributionPipeline } from '../src/attribution/pipeline.js';
import type { Observation } from '../src/attribution/observation.js';
import { analysisSchema, attributionLimitsSchema, type AnalysisInput } from '../src/config/analysis.js';
import { decodeTraceRequest } from '../src/otlp/decode/index.js';
import type { LogBatch, MetricBatch, SpanBatch, TelemetrySink } from '../src/otlp/model.js';
import { TRACE_REQUEST, encodeMessage, realisticTraceRequest } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = 3;
const BATCHES = 40;
const CLOCK_STEP_MS = 300;
const SPANS_PER_BATCH = 512;

type SpanObject = { parentSpanId?: Uint8Array; events: { name: string }[] };
type ScopeObject = { spans: SpanObject[] };
type RequestObject = { resourceSpans: { resource: object; scopeSpans: ScopeObject[] }[] };

/** Realistic requests whose flag events sit on root spans only (children keep their exception events). */
function requests(): RequestObject[] {
  return Array.from({ length: BATCHES }, (_, seed) => {
    const request = realisticTraceRequest({ spans: SPANS_PER_BATCH, seed: seed + 1 }) as RequestObject;
    for (const scope of request.resourceSpans[0].scopeSpans) {
      for (const span of scope.spans) {
        if (span.parentSpanId) span.events = span.events.filter((e) => e.name !== 'feature_flag.evaluation');
      }
    }
    return request;
  });
}

/**
 * The same requests with each one's root spans (the first scope, HTTP server spans) moved to the next
 * request, so children always arrive one request before their trace's flag.
 */
function heldRequests(list: RequestObject[]): RequestObject[] {
  return list.map((request, i) => {
    const previous = list[(i + list.length - 1) % list.length].resourceSpans[0];
    const [, children] = request.resourceSpans[0].scopeSpans;
    return {
      resourceSpans: [{ resource: previous.resource, scopeSpans: [previous.scopeSpans[0], children] }],
    };
  });
}

/** Reads each span once (what any consumer must do at least), and nothing else. */
class PassThrough implements TelemetrySink {
  durationNanos = 0;
  acceptSpans(batch: SpanBatch): void {
    for (const span of batch.spans) this.durationNanos += span.durationNanos;
  }
  acceptMetrics(_batch: MetricBatch): void {}
  acceptLogs(_batch: LogBatch): void {}
}

const joinAnalysis: AnalysisInput = {
  id: 'new-checkout',
  match: { service: 'checkout', spanKind: 'client' },
  variant: { flag: 'new-checkout' },
  baseline: 'off',
  canary: 'on',
};
const attributeAnalysis: AnalysisInput = {
  id: 'by-version',
  match: { service: 'checkout', spanKind: 'client' },
  variant: { attribute: 'service.version' },
  baseline: '2.0.0',
  canary: '2.1.0',
};

interface Scenario {
  name: string;
  decode: boolean;
  analyses?: AnalysisInput[];
  held?: boolean;
}

interface Measured {
  spansPerSecond: number;
  observations: number;
  maxPendingSpans: number;
}

function measure(scenario: Scenario, input: Input): Measured {
  let nowMs = 1_700_000_000_000;
  let observations = 0;
  let maxPendingSpans = 0;
  const counter = { accept: (batch: Observation[]) => void (observations += batch.length) };
  const pipeline = scenario.analyses
    ? new AttributionPipeline({
        analyses: scenario.analyses.map((a) => analysisSchema.parse(a)),
        limits: attributionLimitsSchema.parse({}),
        sink: counter,
        registry: new Registry(),
        clock: () => nowMs,
      })
    : undefined;
  const sink: TelemetrySink = pipeline ?? new PassThrough();
  const encoded = scenario.held ? input.heldEncoded : input.encoded;
  const batches = (scenario.held ? input.heldDecoded : input.decoded) ?? [];
  let i = 0; // carried from the warm-up into the measured run, so the request order never restarts
  const run = (deadline: number): number => {
    let spans = 0;
    for (; performance.now() < deadline; i = (i + 1) % encoded.length) {
      const batch = scenario.decode ? decodeTraceRequest(encoded[i]) : batches[i];
      sink.acceptSpans(batch);
      spans += batch.spans.length;
      nowMs += CLOCK_STEP_MS;
      if (pipeline && i % 16 === 0)
        maxPendingSpans = Math.max(maxPendingSpans, pipeline.stats().pendingSpans);
    }
    return spans;
  };
  run(performance.now() + 300); // warm up the JIT
  observations = 0;
  const started = performance.now();
  const spans = run(started + SECONDS * 1000);
  const seconds = (performance.now() - started) / 1000;
  return { spansPerSecond: spans / seconds, observations: observations / seconds, maxPendingSpans };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Runs the scenarios ROUNDS times, interleaved, and keeps each one's median run. */
interface Input {
  encoded: Uint8Array[];
  heldEncoded: Uint8Array[];
  decoded?: SpanBatch[];
  heldDecoded?: SpanBatch[];
}

function measureAll(scenarios: Scenario[], input: Input): Measured[] {
  const runs: Measured[][] = scenarios.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    scenarios.forEach((scenario, i) => runs[i].push(measure(scenario, input)));
  }
  return runs.map((list) => {
    const mid = median(list.map((m) => m.spansPerSecond));
    return list.find((m) => m.spansPerSecond === mid)!;
  });
}

function main(): void {
  const list = requests();
  const input: Input = {
    encoded: list.map((request) => encodeMessage(TRACE_REQUEST, request)),
    heldEncoded: heldRequests(list).map((request) => encodeMessage(TRACE_REQUEST, request)),
  };
  const encodedScenarios: Scenario[] = [
    { name: 'decode + pass-through (ingest without attribution)', decode: true },
    { name: 'decode + attribution: trace join', decode: true, analyses: [joinAnalysis] },
    {
      name: 'decode + attribution: trace join, flag one request later',
      decode: true,
      analyses: [joinAnalysis],
      held: true,
    },
  ];
  const encodedResults = measureAll(encodedScenarios, input);
  input.decoded = input.encoded.map((bytes) => decodeTraceRequest(bytes));
  input.heldDecoded = input.heldEncoded.map((bytes) => decodeTraceRequest(bytes));
  const decodedScenarios: Scenario[] = [
    { name: 'pass-through sink (decoded batches)', decode: false },
    { name: 'attribution: resource attribute, no join', decode: false, analyses: [attributeAnalysis] },
    { name: 'attribution: trace join, flag in same request', decode: false, analyses: [joinAnalysis] },
    {
      name: 'attribution: trace join, flag one request later',
      decode: false,
      analyses: [joinAnalysis],
      held: true,
    },
  ];
  const decodedResults = measureAll(decodedScenarios, input);
  const ingest = encodedResults[0].spansPerSecond;
  const passThrough = decodedResults[0].spansPerSecond;
  const row = (scenario: Scenario, result: Measured): ResultRow => ({
    scenario: scenario.name,
    'spans/s': Math.round(result.spansPerSecond),
    'observations/s': Math.round(result.observations),
    'vs same-input baseline': (result.spansPerSecond / (scenario.decode ? ingest : passThrough)).toFixed(3),
    'max pending spans': result.maxPendingSpans,
  });
  const rows = [
    ...encodedScenarios.map((s, i) => row(s, encodedResults[i])),
    ...decodedScenarios.map((s, i) => row(s, decodedResults[i])),
  ];
  // Attribution's own cost per span, from the decoded-input rows: 1/rate(attribution) - 1/rate(pass-through).
  const joinCostNanos = (1 / decodedResults[3].spansPerSecond - 1 / passThrough) * 1e9;
  writeResults('attribution', rows, {
    seconds: SECONDS,
    rounds: ROUNDS,
    batches: BATCHES,
    spansPerBatch: SPANS_PER_BATCH,
    judgedSpansPerTrace: 7,
    heldJoinNanosPerSpan: Math.round(joinCostNanos),
    note: '"vs same-input baseline" divides by decode + pass-through (encoded input) or by the pass-through row (decoded input)',
  });
}

main();
