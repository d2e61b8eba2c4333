// Attribution records judged spans straight into the accumulator (SpanRecorder), without an observation object
// per span and analysis (issue 13). The reference is the path it replaced: the same requests' observations,
// kept by a RecordingSink, handed to a second accumulator through accept(). Both must hold the same evidence,
// watermark sources, trace examples and drop counts, over seeded traffic that exercises every way a span is
// recorded: joined in its own request, parked and released by a later one, attributed by its own resource,
// an unexpected variant, errors by status and by HTTP status, and a run closed in the accumulator.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Accumulator } from '../../src/accumulate/accumulator.js';
import type { ObservationSink } from '../../src/accumulate/observation.js';
import { DEFAULT_WATERMARK_SETTINGS } from '../../src/accumulate/source-watermark.js';
import { AttributionPipeline } from '../../src/attribution/pipeline.js';
import { analysisSchema, attributionLimitsSchema, type AnalysisInput } from '../../src/config/analysis.js';
import { SpanKind, StatusCode, type DecodedSpan } from '../../src/otlp/model.js';
import {
  FakeClock,
  RecordingSink,
  T0,
  checkoutAnalysis,
  frontendSpan,
  logEvaluation,
  logs,
  resource,
  span,
  spans,
  traceId,
} from './fixtures.js';
import { seeded } from '../support/arm-spans.js';

const byVersion: AnalysisInput = {
  id: 'checkout-by-version',
  match: { service: 'checkout', spanKind: 'server' },
  variant: { attribute: 'service.version' },
  baseline: '1.0',
  canary: '2.0',
};
const ANALYSES = [checkoutAnalysis, byVersion];

function pipelineInto(sink: ObservationSink, clock: FakeClock): AttributionPipeline {
  const pipeline = new AttributionPipeline({
    limits: attributionLimitsSchema.parse({}),
    sink,
    registry: new Registry(),
    clock: clock.now,
  });
  for (const analysis of ANALYSES) pipeline.routeRun(analysis.id, analysisSchema.parse(analysis));
  return pipeline;
}

function accumulator(clock: FakeClock, runs: readonly string[]): Accumulator {
  const acc = new Accumulator({ watermark: { ...DEFAULT_WATERMARK_SETTINGS, lagMs: 500 }, clock: clock.now });
  for (const run of runs) acc.open(run, { startedAtMs: T0 - 60_000, canaryShare: 0.5 });
  return acc;
}

/** One request's spans: traces whose flag is evaluated now, later (in a log record) or never. */
function request(random: () => number, first: number, count: number, lateFlags: string[]): DecodedSpan[] {
  const list: DecodedSpan[] = [];
  for (let t = first; t < first + count; t++) {
    const trace = traceId(t);
    const variant = ['on', 'off', 'off', 'beta'][Math.floor(random() * 4)];
    const timing = random();
    if (timing < 0.6) list.push(frontendSpan(trace, 'new-checkout-flow', variant));
    else if (timing < 0.85) lateFlags.push(trace);
    const version = random() < 0.5 ? '1.0' : '2.0';
    for (let s = 0; s < 1 + Math.floor(random() * 4); s++) {
      const failing = random();
      list.push(
        span({
          traceId: trace,
          name: 'POST /checkout/pay',
          kind: SpanKind.SERVER,
          startTimeUnixMs: T0 + Math.floor(random() * 20_000),
          durationNanos: Math.floor(1e5 + random() * 5e8),
          statusCode: failing < 0.05 ? StatusCode.ERROR : StatusCode.UNSET,
          attributes: { 'http.response.status_code': failing > 0.95 ? 503 : 200 },
          resource: resource('checkout', { 'service.version': version, 'k8s.pod.name': `pod-${t % 3}` }),
        }),
      );
    }
  }
  return list;
}

describe('direct span recording', () => {
  it('gives the accumulator the same evidence as the observation objects it replaced', () => {
    const runs = ANALYSES.map((a) => a.id);
    const clock = new FakeClock(T0 + 1_000);
    const direct = accumulator(clock, runs);
    const reference = accumulator(clock, runs);
    const recording = new RecordingSink();
    const directPipeline = pipelineInto(direct, clock);
    const referencePipeline = pipelineInto(recording, clock);
    // The reference accumulator takes each request's observations as one accept() batch, as before.
    const feedReference = (): void => {
      for (const batch of recording.batches) reference.accept(batch);
      recording.batches.length = 0;
    };
    const random = seeded(13);
    let recorded = 0;
    for (let r = 0; r < 40; r++) {
      // Both pipelines judge the same decoded spans (plain objects: judging changes nothing in them).
      const late: string[] = [];
      const batch = request(random, r * 25, 25, late);
      directPipeline.acceptSpans(spans(...batch));
      referencePipeline.acceptSpans(spans(...batch));
      recorded += recording.batches.reduce((n, b) => n + b.length, 0);
      feedReference();
      // The late flags arrive as log records one request later, releasing the parked spans.
      clock.advance(500);
      const evaluations = late.map((trace) => logEvaluation(trace, 'new-checkout-flow', 'on'));
      directPipeline.acceptLogs(logs(...evaluations));
      referencePipeline.acceptLogs(logs(...evaluations));
      recorded += recording.batches.reduce((n, b) => n + b.length, 0);
      feedReference();
      if (r === 30) {
        // A run the judge closed while attribution still routes it: its spans are counted as dropped.
        expect(direct.snapshot('checkout-by-version')).toEqual(reference.snapshot('checkout-by-version'));
        expect(direct.read('checkout-by-version')[0].canary.requests).toBeGreaterThan(0);
        direct.close('checkout-by-version');
        reference.close('checkout-by-version');
      }
    }
    expect(recorded).toBeGreaterThan(1_000);
    expect(direct.droppedForClosedRuns).toBeGreaterThan(0);
    expect(direct.droppedForClosedRuns).toBe(reference.droppedForClosedRuns);
    clock.advance(30_000);
    for (const run of direct.runIds()) {
      expect(direct.snapshot(run)).toEqual(reference.snapshot(run));
      const judged = direct.read(run);
      expect(judged).toEqual(reference.read(run));
      const arms = judged.map((stage) => [stage.baseline.requests, stage.canary.requests]).flat();
      expect(Math.min(...arms)).toBeGreaterThan(0);
      const examples = direct.traceExamples(run);
      expect(examples?.failing.length).toBeGreaterThan(0);
      expect(examples).toEqual(reference.traceExamples(run));
    }
  });
});
