// End-to-end support: the real sidecar (receivers over real sockets, attribution, accumulator, judge),
// and a two-service "shop" instrumented with the real OpenTelemetry JS SDK in which the frontend
// evaluates an OpenFeature flag and the checkout backend serves the judged request.
//
// The flag record is written by an OpenFeature hook as @openfeature/open-telemetry-hooks does, its attributes
// by OpenFeature's own createEvaluationEvent (@openfeature/core 1.12.0, the version installed):
// `EventHook` emits a log-based `feature_flag.evaluation` event in the active context (so the LogRecord
// carries the trace id); `SpanEventHook` adds a span event to the active span.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT_CONTEXT,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  SpanKind,
  type HrTime,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Logger as OtelLogger } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  createEvaluationEvent,
  InMemoryProvider,
  OpenFeature,
  type Client,
  type Hook,
} from '@openfeature/server-sdk';
import type { AttributionPipeline } from '../../src/attribution/pipeline.js';
import type { AnalysisInput } from '../../src/config/analysis.js';
import { parseConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/sidecar.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { FakeClock, RecordingSink } from './fixtures.js';
import { IN_PROCESS_OTLP } from '../support/in-process.js';

export const FLAG = 'new-checkout-flow';

export interface AttributionSidecar {
  sidecar: Sidecar;
  pipeline: AttributionPipeline;
  sink: RecordingSink;
  clock: FakeClock;
  endpoints: { grpcUrl: string; httpUrl: string };
  apiUrl: string;
  /** The id of the run the config started for an analysis. */
  runIdOf(analysisId: string): string;
  stop(): Promise<void>;
}

/** The revision of the run each analysis starts at boot. */
export const E2E_REVISION = 'e2e';

const QUIET_JUDGE = {
  srmAlpha: 0,
  canaryShare: 0.5,
  minSamplesPerArm: 1_000_000,
  maxDurationSeconds: 86_400,
};

/**
 * The real sidecar on free ports, with the analyses in its config: receivers -> decoders -> the
 * AttributionPipeline the sidecar wires (analyses routed to it by the judge) -> accumulator, and a
 * recording ObservationSink beside the accumulator. Attribution and the judge run on a fake clock.
 */
export async function startAttributionSidecar(analyses: AnalysisInput[]): Promise<AttributionSidecar> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-judge-attribution-'));
  const config = parseConfig({
    otlp: { ...IN_PROCESS_OTLP, grpc: { port: 0 }, http: { port: 0 } },
    api: { port: 0 },
    storage: { path: join(dir, 'canary-judge.sqlite') },
    log: { level: 'silent' },
    judge: { tickIntervalMs: 100 }, // the judge keeps reading the accumulator while spans arrive
    // These tests watch attribution, so the judge must never end an analysis (which would unroute it):
    // no split check, no time limit in reach, no pass before a million samples.
    analyses: analyses.map((analysis) => ({
      judge: QUIET_JUDGE,
      run: { revision: E2E_REVISION },
      ...analysis,
    })),
  });
  const sink = new RecordingSink();
  const clock = new FakeClock(Date.now());
  const sidecar = await startSidecar(config, {
    observationSink: sink,
    clock: clock.now,
    logger: createLogger('silent'),
  });
  return {
    sidecar,
    pipeline: sidecar.attribution,
    sink,
    clock,
    endpoints: {
      grpcUrl: `http://127.0.0.1:${sidecar.ports.grpc}`,
      httpUrl: `http://127.0.0.1:${sidecar.ports.http}`,
    },
    apiUrl: `http://127.0.0.1:${sidecar.ports.api}`,
    runIdOf(analysisId) {
      const run = sidecar.judge.findRun(analysisId, E2E_REVISION);
      if (!run) throw new Error(`analysis ${analysisId} has no ${E2E_REVISION} run`);
      return run.runId;
    },
    async stop() {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `log`: EventHook (log-based event); `span_event`: SpanEventHook; `child_span`: SpanHook (a child span
 * named feature_flag.evaluation); `legacy_span_event`: older hooks' span event `feature_flag` with
 * `feature_flag.variant`.
 */
export type FlagRecordForm = 'log' | 'span_event' | 'child_span' | 'legacy_span_event';

/** What OpenFeature's OpenTelemetry hooks record after each evaluation (semconv feature-flag events). */
class FlagRecordHook implements Hook {
  constructor(
    private readonly form: FlagRecordForm,
    private readonly logger: OtelLogger,
    private readonly tracer: Tracer,
  ) {}

  after(
    hookContext: Parameters<NonNullable<Hook['after']>>[0],
    details: Parameters<NonNullable<Hook['after']>>[1],
  ): void {
    // The record's attributes are made by OpenFeature's own createEvaluationEvent (@openfeature/core, which the
    // server SDK re-exports), the function the open-telemetry-hooks call: key, provider, reason, variant, value and
    // feature_flag.context.id (the flag metadata's contextId, else the targeting key) on the record itself.
    const { attributes } = createEvaluationEvent(hookContext, details);
    switch (this.form) {
      case 'log':
        return this.logger.emit({ eventName: 'feature_flag.evaluation', attributes });
      case 'span_event':
        return void trace.getActiveSpan()?.addEvent('feature_flag.evaluation', attributes);
      case 'child_span':
        return this.tracer
          .startSpan('feature_flag.evaluation', { kind: SpanKind.INTERNAL, attributes })
          .end();
      case 'legacy_span_event':
        return void trace.getActiveSpan()?.addEvent('feature_flag', {
          'feature_flag.key': hookContext.flagKey,
          'feature_flag.provider_name': hookContext.providerMetadata.name,
          'feature_flag.variant': details.variant ?? '',
        });
    }
  }
}

let openFeatureReady: Promise<void> | undefined;

/** Users whose id ends in an odd digit get the new flow. */
function setUpOpenFeature(): Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return OpenFeature.setProviderAndWait(
    new InMemoryProvider({
      [FLAG]: {
        variants: { on: true, off: false },
        defaultVariant: 'off',
        disabled: false,
        contextEvaluator: (ctx) => (Number(String(ctx.targetingKey).slice(-1)) % 2 === 1 ? 'on' : 'off'),
      },
    }),
  );
}

export interface ShopRequest {
  traceId: string;
  /** The arm the frontend chose for this request. */
  arm: 'baseline' | 'canary';
  /** The checkout server span's duration, unique per request so tests can tell requests apart. */
  durationNanos: number;
}

export interface RequestOptions {
  /** The checkout span carries `feature_flag.context.id` (e.g. copied from baggage) and joins no trace. */
  detachedBackend?: boolean;
  /** The frontend evaluates the flag a second time for another user within the same trace. */
  secondUser?: string;
  status?: number;
}

const T0: HrTime = [Math.floor(Date.now() / 1000), 0];
const at = (offsetMs: number): HrTime => [T0[0] + Math.floor(offsetMs / 1000), (offsetMs % 1000) * 1e6];

/** The two instrumented services; each signal is kept in memory until a test exports it. */
export class Shop {
  readonly frontendSpans = new InMemorySpanExporter();
  readonly backendSpans = new InMemorySpanExporter();
  readonly flagLogs = new InMemoryLogRecordExporter();
  private readonly frontend: Tracer;
  private readonly backend: Tracer;
  private readonly client: Client;
  private readonly propagator = new W3CTraceContextPropagator();
  private requests = 0;

  private constructor(form: FlagRecordForm) {
    const tracer = (service: string, exporter: InMemorySpanExporter) =>
      new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': service }),
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      }).getTracer(service);
    this.frontend = tracer('frontend', this.frontendSpans);
    this.backend = tracer('checkout', this.backendSpans);
    const logs = new LoggerProvider({
      resource: resourceFromAttributes({ 'service.name': 'frontend' }),
      processors: [new SimpleLogRecordProcessor({ exporter: this.flagLogs })],
    });
    this.client = OpenFeature.getClient(`frontend-${form}`);
    this.client.addHooks(
      new FlagRecordHook(form, logs.getLogger('@openfeature/open-telemetry-hooks'), this.frontend),
    );
  }

  static async create(form: FlagRecordForm): Promise<Shop> {
    await (openFeatureReady ??= setUpOpenFeature());
    return new Shop(form);
  }

  /** One user request: frontend server span, flag evaluation, client call, checkout server span. */
  async request(userId: string, options: RequestOptions = {}): Promise<ShopRequest> {
    this.requests += 1;
    const durationMs = this.requests;
    return this.frontend.startActiveSpan(
      'GET /cart',
      { kind: SpanKind.SERVER, startTime: at(0) },
      async (root: Span): Promise<ShopRequest> => {
        const on = await this.client.getBooleanValue(FLAG, false, { targetingKey: userId });
        if (options.secondUser)
          await this.client.getBooleanValue(FLAG, false, { targetingKey: options.secondUser });
        const call = this.frontend.startSpan('POST', { kind: SpanKind.CLIENT, startTime: at(1) });
        // What an HTTP call carries between the services: the W3C traceparent header.
        const headers: Record<string, string> = {};
        this.propagator.inject(trace.setSpan(context.active(), call), headers, defaultTextMapSetter);
        const parent = options.detachedBackend
          ? ROOT_CONTEXT
          : this.propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
        const server = this.backend.startSpan(
          'POST /checkout',
          {
            kind: SpanKind.SERVER,
            startTime: at(2),
            attributes: {
              'http.response.status_code': options.status ?? 200,
              ...(options.detachedBackend ? { 'feature_flag.context.id': userId } : {}),
            },
          },
          parent,
        );
        server.end(at(2 + durationMs));
        call.end(at(3 + durationMs));
        root.end(at(4 + durationMs));
        return {
          traceId: root.spanContext().traceId,
          arm: on ? 'canary' : 'baseline',
          durationNanos: durationMs * 1e6,
        };
      },
    );
  }

  /** Takes (and forgets) the finished spans and records of each kind. */
  take() {
    const taken = {
      frontend: this.frontendSpans.getFinishedSpans().slice(),
      backend: this.backendSpans.getFinishedSpans().slice(),
      logs: this.flagLogs.getFinishedLogRecords().slice(),
    };
    this.frontendSpans.reset();
    this.backendSpans.reset();
    this.flagLogs.reset();
    return taken;
  }
}
