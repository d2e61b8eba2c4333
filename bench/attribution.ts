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
// Within each group the scenarios take turns in short slices and only the time inside each request is
// counted, so machine load (this box is shared) hits every row alike and the ratios stay meaningful.
import v8 from 'node:v8';
import vm from 'node:vm';
import { Registry } from 'prom-client';
import { AttributionPipeline } from '../src/attribution/pipeline.js';
import type { Observation, ObservationSink, SpanRecorder } from '../src/accumulate/observation.js';
import { analysisSchema, attributionLimitsSchema, type AnalysisInput } from '../src/config/analysis.js';
import { decodeTraceRequest } from '../src/otlp/decode/index.js';
import {
  SpanKind,
  StatusCode,
  type DecodedSpan,
  type LogBatch,
  type MetricBatch,
  type SpanBatch,
  type TelemetrySink,
} from '../src/otlp/model.js';
import { TRACE_REQUEST, encodeMessage, realisticTraceRequest } from './payloads.js';
import { writeResults, type ResultRow } from './results.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const BATCHES = 40;
const CLOCK_STEP_MS = 300;
const SLICE_MS = 250;
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

interface Input {
  encoded: Uint8Array[];
  heldEncoded: Uint8Array[];
  decoded?: SpanBatch[];
  heldDecoded?: SpanBatch[];
}

/** One scenario's sink and tallies; `step` hands it its next request (decoding it first when asked). */
class Runner {
  elapsedMs = 0;
  spans = 0;
  observations = 0;
  maxPendingSpans = 0;
  private nowMs = 1_700_000_000_000;
  private next = 0;
  private readonly pipeline: AttributionPipeline | undefined;
  private readonly sink: TelemetrySink;
  private readonly encoded: Uint8Array[];
  private readonly batches: SpanBatch[];

  constructor(
    private readonly scenario: Scenario,
    input: Input,
  ) {
    // Counts what reaches the sink: observations (points) and recorded spans.
    const spanCounter: SpanRecorder = {
      recordSpan: () => void (this.observations += 1),
      end: () => undefined,
    };
    const counter: ObservationSink = {
      accept: (batch: Observation[]) => void (this.observations += batch.length),
      beginSpans: () => spanCounter,
    };
    this.pipeline = scenario.analyses
      ? new AttributionPipeline({
          limits: attributionLimitsSchema.parse({}),
          sink: counter,
          registry: new Registry(),
          clock: () => this.nowMs,
        })
      : undefined;
    for (const analysis of scenario.analyses ?? []) {
      this.pipeline?.routeRun(`run-${analysis.id}`, analysisSchema.parse(analysis));
    }
    this.sink = this.pipeline ?? new PassThrough();
    this.encoded = scenario.held ? input.heldEncoded : input.encoded;
    this.batches = (scenario.held ? input.heldDecoded : input.decoded) ?? [];
  }

  /** Hands the scenario its next request, in order, wrapping round. */
  step(): void {
    const i = this.next;
    this.next = (i + 1) % this.encoded.length;
    const started = performance.now();
    const batch = this.scenario.decode ? decodeTraceRequest(this.encoded[i]) : this.batches[i];
    this.sink.acceptSpans(batch);
    this.elapsedMs += performance.now() - started;
    this.spans += batch.spans.length;
    this.nowMs += CLOCK_STEP_MS;
    if (this.pipeline && i % 16 === 0) {
      this.maxPendingSpans = Math.max(this.maxPendingSpans, this.pipeline.stats().pendingSpans);
    }
  }

  reset(): void {
    this.elapsedMs = this.spans = this.observations = 0;
  }
}

/**
 * Runs the scenarios in turn, each alone for SLICE_MS at a time, until each has run SECONDS: load drift on
 * this shared machine hits every scenario alike, while each scenario's garbage (the held scenario keeps
 * spans alive across requests, which every young-generation GC must copy) is collected mostly in its own
 * slices. Interleaving request by request charged that cost to whichever scenario ran next.
 */
function measureAll(scenarios: Scenario[], input: Input): Runner[] {
  const runners = scenarios.map((scenario) => new Runner(scenario, input));
  const slice = (runner: Runner, ms: number): void => {
    const deadline = performance.now() + ms;
    while (performance.now() < deadline) runner.step();
  };
  for (const runner of runners) slice(runner, 300); // warm up the JIT
  for (const runner of runners) runner.reset();
  for (let round = 0; round < (SECONDS * 1000) / SLICE_MS; round++) {
    for (const runner of runners) slice(runner, SLICE_MS);
  }
  return runners;
}

const perSecond = (runner: Runner, count: number): number => count / (runner.elapsedMs / 1000);

/** The requests, encoded; the plain request objects die here so they do not weigh on the GC later. */
function encodedInput(): Input {
  const list = requests();
  return {
    encoded: list.map((request) => encodeMessage(TRACE_REQUEST, request)),
    heldEncoded: heldRequests(list).map((request) => encodeMessage(TRACE_REQUEST, request)),
  };
}

/**
 * Heap held by attribution with its buffers full at the default limits (100 000 spans waiting, 200 000
 * known trace variants): what to budget for the worst case. Measured after a forced GC.
 */
function memoryAtDefaultLimits(): { pendingSpans: number; correlationKeys: number; heapMiB: number } {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const limits = attributionLimitsSchema.parse({});
  const pipeline = new AttributionPipeline({
    limits,
    sink: {
      accept: () => undefined,
      beginSpans: () => ({ recordSpan: () => undefined, end: () => undefined }),
    },
    registry: new Registry(),
    clock: () => 1_700_000_000_000,
  });
  pipeline.routeRun('run-join', analysisSchema.parse(joinAnalysis));
  const resource = { serviceName: 'checkout', attributes: { 'service.name': 'checkout' } };
  const spanOf = (n: number, flag: boolean): DecodedSpan => ({
    traceId: n.toString(16).padStart(32, '0'),
    spanId: n.toString(16).padStart(16, '0'),
    parentSpanId: flag ? '' : '1'.padStart(16, '0'),
    name: flag ? 'GET /cart' : 'SELECT orders',
    kind: flag ? SpanKind.SERVER : SpanKind.CLIENT,
    startTimeUnixMs: 1_700_000_000_000,
    durationNanos: 1_000_000,
    statusCode: StatusCode.UNSET,
    statusMessage: '',
    attributes: {},
    events: flag
      ? [
          {
            name: 'feature_flag.evaluation',
            timeUnixMs: 0,
            attributes: { 'feature_flag.key': 'new-checkout', 'feature_flag.result.variant': 'on' },
          },
        ]
      : [],
    resource,
    scopeName: 'bench',
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  let n = 0;
  for (; n < limits.maxCorrelationKeys; n += 1000) {
    pipeline.acceptSpans({
      spans: Array.from({ length: 1000 }, (_, k) => spanOf(n + k, true)),
      rejected: 0,
      rejectMessage: '',
    });
  }
  for (let end = n + limits.maxPendingSpans; n < end; n += 1000) {
    pipeline.acceptSpans({
      spans: Array.from({ length: 1000 }, (_, k) => spanOf(n + k, false)),
      rejected: 0,
      rejectMessage: '',
    });
  }
  gc();
  const heapMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  const { pendingSpans, correlationKeys } = pipeline.stats();
  return { pendingSpans, correlationKeys, heapMiB: Math.round(heapMiB * 10) / 10 };
}

function main(): void {
  const input = encodedInput();
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
  const ingest = perSecond(encodedResults[0], encodedResults[0].spans);
  const passThrough = perSecond(decodedResults[0], decodedResults[0].spans);
  const row = (scenario: Scenario, runner: Runner): ResultRow => {
    const spansPerSecond = perSecond(runner, runner.spans);
    return {
      scenario: scenario.name,
      'spans/s': Math.round(spansPerSecond),
      'observations/s': Math.round(perSecond(runner, runner.observations)),
      'vs same-input baseline': (spansPerSecond / (scenario.decode ? ingest : passThrough)).toFixed(3),
      'max pending spans': runner.maxPendingSpans,
    };
  };
  const rows = [
    ...encodedScenarios.map((s, i) => row(s, encodedResults[i])),
    ...decodedScenarios.map((s, i) => row(s, decodedResults[i])),
  ];
  // Attribution's own cost per span, from the decoded-input rows: 1/rate(attribution) - 1/rate(pass-through).
  const joinCostNanos = (1 / perSecond(decodedResults[3], decodedResults[3].spans) - 1 / passThrough) * 1e9;
  const memory = memoryAtDefaultLimits();
  writeResults('attribution', rows, {
    heapMiBAtDefaultLimits: memory.heapMiB,
    pendingSpansAtDefaultLimits: memory.pendingSpans,
    correlationKeysAtDefaultLimits: memory.correlationKeys,
    seconds: SECONDS,
    batches: BATCHES,
    spansPerBatch: SPANS_PER_BATCH,
    judgedSpansPerTrace: 7,
    heldJoinNanosPerSpan: Math.round(joinCostNanos),
    note: '"vs same-input baseline" divides by decode + pass-through (encoded input) or by the pass-through row (decoded input)',
  });
}

main();
