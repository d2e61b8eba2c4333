// End-to-end support: the real sidecar (receivers over real sockets, attribution, accumulator, judge),
// and a two-service "shop" instrumented with the real OpenTelemetry JS SDK in which the frontend
// evaluates an OpenFeature flag (the real server SDK) and the checkout backend serves the judged request.
//
// The flag records are made by OpenFeature's own OpenTelemetry hooks, @openfeature/open-telemetry-hooks:
// EventHook, SpanEventHook, SpanHook and MetricsHook of 1.0.0 (js-sdk-contrib libs/hooks/open-telemetry,
// whose attributes come from @openfeature/core's createEvaluationEvent, 1.12.0 installed), and TracingHook and
// MetricsHook of 0.4.0 (the older `feature_flag` span event and `feature_flag.variant`). 1.0.0 declares
// `@opentelemetry/api-logs@^0.205.0` as an (optional) peer, which excludes the 0.223 the SDK here uses (a caret
// on 0.x pins the minor), so npm refuses the install (ERESOLVE); the `overrides` entry in package.json resolves
// that peer to the project's own @opentelemetry/api-logs, the one instance the SDK's LoggerProvider is
// registered with and EventHook emits through (EventHook needs only logs.getLogger and Logger.emit).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT_CONTEXT,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  metrics,
  trace,
  SpanKind,
  type HrTime,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { InMemoryProvider, OpenFeature, type Client, type Hook } from '@openfeature/server-sdk';
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
 * Which of OpenFeature's OpenTelemetry hooks records the evaluation: `log`: EventHook (a log-based
 * `feature_flag.evaluation` event); `span_event`: SpanEventHook (an event on the active span); `child_span`:
 * SpanHook (a child span named feature_flag.evaluation); all three from @openfeature/open-telemetry-hooks
 * 1.0.0. `legacy_span_event`: TracingHook of the package's 0.4.0 (installed as `open-telemetry-hooks-legacy`),
 * whose span event is named `feature_flag` and carries `feature_flag.variant`.
 */
export type FlagRecordForm = 'log' | 'span_event' | 'child_span' | 'legacy_span_event';

/** The frontend's resource, on its spans, its flag-evaluation log records and its MetricsHook points. */
const FRONTEND = resourceFromAttributes({ 'service.name': 'frontend' });

// The frontend's tracer and logger providers live as long as the process. SpanHook starts its spans with a
// tracer the package takes once, when it is first loaded (`const tracer = trace.getTracer(...)` at module level
// in its index.cjs.js, which `import` loads) and keeps for the life of the process: installShopTelemetry loads
// the package only after registering this provider, so that tracer is this provider's in every test file.
const frontendSpans = new InMemorySpanExporter();
const frontendTracing = new BasicTracerProvider({
  resource: FRONTEND,
  spanProcessors: [new SimpleSpanProcessor(frontendSpans)],
});
const flagLogs = new InMemoryLogRecordExporter();
const frontendLogs = new LoggerProvider({
  resource: FRONTEND,
  processors: [new SimpleLogRecordProcessor({ exporter: flagLogs })],
});

type Hooks = typeof import('@openfeature/open-telemetry-hooks');
type LegacyHooks = typeof import('open-telemetry-hooks-legacy');
let loaded: { hooks: Hooks; legacy: LegacyHooks } | undefined;
let openFeatureReady: Promise<void> | undefined;

/** Users whose id ends in an odd digit get the new flow. */
function setOpenFeatureProvider(): Promise<void> {
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

/**
 * Makes the frontend's SDK the process's OpenTelemetry (context manager, tracer and logger providers), as an
 * instrumented service does at start-up: the hooks reach OpenTelemetry only through the global API. Then
 * loads the hooks (see frontendTracing) and sets the OpenFeature provider. Call in beforeAll, and the returned
 * function in afterAll: it unregisters all three (other files in this worker may register their own).
 */
export async function installShopTelemetry(): Promise<() => void> {
  const undo: (() => void)[] = [];
  const uninstall = () => {
    for (const off of undo.reverse()) off();
  };
  const register = (ok: boolean, what: string, off: () => void) => {
    if (ok) return void undo.push(off);
    uninstall(); // only what this call registered: the other SDK keeps its own
    throw new Error(`another OpenTelemetry ${what} is registered in this process`);
  };
  register(
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()),
    'context manager',
    () => context.disable(),
  );
  register(trace.setGlobalTracerProvider(frontendTracing), 'tracer provider', () => trace.disable());
  register(logs.setGlobalLoggerProvider(frontendLogs) === frontendLogs, 'logger provider', () =>
    logs.disable(),
  );
  loaded ??= {
    hooks: await import('@openfeature/open-telemetry-hooks'),
    legacy: await import('open-telemetry-hooks-legacy'),
  };
  await (openFeatureReady ??= setOpenFeatureProvider());
  return uninstall;
}

class ManualReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

/** The hook that records each evaluation in `form`, and the MetricsHook of the same package version. */
function hooksOf(form: FlagRecordForm, meterProvider: MeterProvider): Hook[] {
  if (!loaded) throw new Error('installShopTelemetry() first');
  const { hooks, legacy } = loaded;
  // MetricsHook takes its meter from the global provider when constructed (metrics.getMeter in its
  // constructor); registering this shop's provider just for that keeps each shop's counters its own.
  if (!metrics.setGlobalMeterProvider(meterProvider))
    throw new Error('another OpenTelemetry meter provider is registered in this process');
  try {
    switch (form) {
      case 'log':
        return [new hooks.EventHook(), new hooks.MetricsHook()];
      case 'span_event':
        return [new hooks.SpanEventHook(), new hooks.MetricsHook()];
      case 'child_span':
        return [new hooks.SpanHook(), new hooks.MetricsHook()];
      case 'legacy_span_event':
        return [new legacy.TracingHook(), new legacy.MetricsHook()];
    }
  } finally {
    metrics.disable();
  }
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
  readonly backendSpans = new InMemorySpanExporter();
  private readonly frontend = frontendTracing.getTracer('frontend');
  private readonly backend: Tracer;
  private readonly client: Client;
  /** Collects the points of this shop's MetricsHook (cumulative, as the SDK's periodic reader sends them). */
  private readonly flagMetrics = new ManualReader();
  private readonly propagator = new W3CTraceContextPropagator();
  private requests = 0;

  private constructor(form: FlagRecordForm) {
    this.backend = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'checkout' }),
      spanProcessors: [new SimpleSpanProcessor(this.backendSpans)],
    }).getTracer('checkout');
    frontendSpans.reset();
    flagLogs.reset();
    const meterProvider = new MeterProvider({ resource: FRONTEND, readers: [this.flagMetrics] });
    this.client = OpenFeature.getClient(`frontend-${form}`);
    this.client.addHooks(...hooksOf(form, meterProvider));
  }

  /** A shop whose frontend's flag evaluations are recorded by OpenFeature's hooks in `form`. */
  static create(form: FlagRecordForm): Shop {
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
      frontend: frontendSpans.getFinishedSpans().slice(),
      backend: this.backendSpans.getFinishedSpans().slice(),
      logs: flagLogs.getFinishedLogRecords().slice(),
    };
    frontendSpans.reset();
    this.backendSpans.reset();
    flagLogs.reset();
    return taken;
  }

  /** The MetricsHook's counters so far. */
  async takeMetrics(): Promise<ResourceMetrics> {
    return (await this.flagMetrics.collect()).resourceMetrics;
  }
}
