// The attribution stage: decoded batches in, observations out (ARCHITECTURE.md, Attribution and
// correlation). For every analysis with a running run (routed by the judge) it decides whether a span or point
// belongs to it and to which arm, carrying a variant learned anywhere in a trace (or other correlation key) to
// every span of it; observations name the run they are evidence for.
//
// Work is per export request: each accept* call is synchronous. Spans (the request's judged spans and any
// pending spans its variants released, in that order of release then judging) go to one SpanRecorder of the
// sink, field by field as they are judged: no observation object per span and analysis (issue 13). A span
// that must wait for its variant is held as a SpanObservation until then. Metric points end in at most one
// ObservationSink.accept call. A span batch is read twice: first every span teaches its variants (so order
// within a request does not matter), then the matched spans are judged.
import type { Registry } from 'prom-client';
import type { Analysis, AttributionLimits } from '../config/analysis.js';
import { readAttribute } from '../otlp/decode/lazy-attributes.js';
import type {
  DecodedSpan,
  LogBatch,
  MetricBatch,
  ResourceInfo,
  SpanBatch,
  TelemetrySink,
} from '../otlp/model.js';
import { AnalysisState } from './analysis-state.js';
import { KeyBytes, type CorrelationTotals } from './correlation-buffer.js';
import { flagEvaluationOfLog, flagEvaluationsOfSpan, type FlagEvaluation } from './flag-evaluations.js';
import { MetricStreams } from './metric-streams.js';
import { createAttributionMetrics, type AttributionMetrics, type AttributionSizes } from './metrics.js';
import type {
  Observation,
  ObservationSink,
  SpanObservation,
  SpanRecorder,
} from '../accumulate/observation.js';
import { compileAnalysis } from './rules.js';
import { attributePoints } from './point-attribution.js';
import { RoutingIndex, type StatesByKind } from './routing-index.js';
import { sourceKeyOf } from './source-key.js';

export interface AttributionPipelineOptions {
  limits: AttributionLimits;
  sink: ObservationSink;
  registry: Registry;
  /** Wall clock in ms; tests pass a fake one. */
  clock?: () => number;
}

export interface AnalysisStats {
  id: string;
  runId: string;
  pendingSpans: number;
  correlationKeys: number;
  /** Unexpected variant values seen (counted as `other`), at most maxVariantsPerAnalysis. */
  otherVariants: string[];
}

export interface AttributionStats extends AttributionSizes {
  analyses: AnalysisStats[];
}

export class AttributionPipeline implements TelemetrySink {
  private states: AnalysisState[] = [];
  private index: RoutingIndex | undefined;
  private readonly totals: CorrelationTotals = { pendingSpans: 0, knownKeys: 0 };
  private readonly keyBytes: KeyBytes;
  private readonly metrics: AttributionMetrics;
  private readonly streams: MetricStreams;
  private readonly clock: () => number;
  private readonly limits: AttributionLimits;
  private readonly sink: ObservationSink;
  private timer: NodeJS.Timeout | undefined;
  /** The resource whose source key was computed last (see sourceKeyOf), and that key. */
  private keyedResource: ResourceInfo | undefined;
  private keyedSourceKey = '';

  constructor(options: AttributionPipelineOptions) {
    this.clock = options.clock ?? Date.now;
    this.limits = options.limits;
    this.sink = options.sink;
    this.metrics = createAttributionMetrics(options.registry, () => this.stats());
    this.keyBytes = new KeyBytes(options.limits.maxCorrelationKeyBytes);
    this.streams = new MetricStreams(
      options.limits.maxMetricStreams,
      options.limits.metricStreamTtlMs,
      this.clock(),
      (reason, n) => this.metrics.evictions.inc({ store: 'metric_streams', reason }, n),
      options.limits.maxMetricStreamBytes,
    );
  }

  /**
   * Routes the traffic of `spec` (a run's effective definition: the analysis with the run's arm values) to
   * `runId` from now on. At most one run per analysis is routed; the judge unroutes the old one first.
   */
  routeRun(runId: string, spec: Analysis): void {
    if (this.states.some((s) => s.runId === runId)) throw new Error(`run "${runId}" is already routed`);
    if (this.states.some((s) => s.id === spec.id))
      throw new Error(`analysis "${spec.id}" already routes another run`);
    const rule = compileAnalysis(spec);
    this.index = undefined;
    this.states = [
      ...this.states,
      new AnalysisState(
        runId,
        rule,
        this.totals,
        this.limits.maxVariantsPerAnalysis,
        this.metrics,
        this.keyBytes,
        this.clock(),
      ),
    ];
  }

  /**
   * Stops routing a run: its waiting spans are dropped (counted in the evictions series, reason
   * analysis_removed) and its labelled series removed. Returns whether it was routed.
   */
  unrouteRun(runId: string): boolean {
    const state = this.states.find((s) => s.runId === runId);
    if (!state) return false;
    const dropped = state.buffer.clear();
    if (dropped > 0)
      this.metrics.evictions.inc({ store: 'pending_spans', reason: 'analysis_removed' }, dropped);
    state.removeSeries();
    this.states = this.states.filter((s) => s !== state);
    this.index = undefined;
    return true;
  }

  acceptSpans(batch: SpanBatch): void {
    const now = this.clock();
    // Expiry stays out of the per-span loop below (judgeSpans), which TurboFan compiles once it is hot: its
    // reporting branch first runs when the first correlation window closes, a window into the load, and
    // inlined there it deoptimized the whole loop then (`--trace-deopt`), which at ~10 exports a second ran
    // in baseline code until compiled again.
    this.expireAt(now);
    this.judgeSpans(batch, now);
  }

  /** Learning, then judging, of one batch of spans (see acceptSpans). */
  private judgeSpans(batch: SpanBatch, now: number): void {
    const recorder = this.sink.beginSpans();
    const { spans } = batch;
    const evaluations = spans.map(flagEvaluationsOfSpan);
    this.countEvaluations(evaluations);
    const index = this.routingIndex();
    // Learning: only spans carrying an evaluation of an analysis's flag, or its variant attribute, teach it.
    const waiting = new Map<AnalysisState, string[]>();
    if (index.learnersByFlag.size > 0) {
      for (let i = 0; i < spans.length; i++) {
        const carried = evaluations[i];
        for (let e = 0; e < carried.length; e++) {
          const { flagKey } = carried[e];
          if (carried.findIndex((other) => other.flagKey === flagKey) !== e) continue; // once per flag
          const learners = index.learnersByFlag.get(flagKey);
          if (learners)
            for (const state of learners) this.learnFromSpan(state, spans[i], carried, now, waiting);
        }
      }
    }
    for (const [attribute, learners] of index.learnersByAttribute) {
      for (let i = 0; i < spans.length; i++) {
        if (readAttribute(spans[i], attribute) === undefined) continue;
        for (const state of learners) this.learnFromSpan(state, spans[i], evaluations[i], now, waiting);
      }
    }
    for (const [state, keys] of waiting) this.release(state, keys, recorder);
    // Judging: each span against the analyses of its service and kind only (looked up once per resource).
    const { judgesAnyService } = index;
    let resource: ResourceInfo | undefined;
    let ofService: StatesByKind | undefined;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      if (span.resource !== resource) {
        resource = span.resource;
        ofService = index.judgesOfService(resource.serviceName);
      }
      const ofKind = ofService?.[span.kind];
      if (ofKind !== undefined) {
        for (const state of ofKind)
          if (state.rule.matchesSpan(span)) this.judgeSpan(state, span, evaluations[i], now, recorder);
      }
      for (const state of judgesAnyService[span.kind])
        if (state.rule.matchesSpan(span)) this.judgeSpan(state, span, evaluations[i], now, recorder);
    }
    recorder.end();
    this.keyedResource = undefined; // holds nothing of the request past it
    this.finishBatch();
  }

  /** Learns the variants `span` teaches `state`'s correlation key (none when it teaches nothing). */
  private learnFromSpan(
    state: AnalysisState,
    span: DecodedSpan,
    evaluations: readonly FlagEvaluation[],
    now: number,
    waiting: Map<AnalysisState, string[]>,
  ): void {
    const { rule } = state;
    if (rule.analysis.variant.flag !== undefined && !rule.joinsByTrace) {
      // Joined by an attribute: each evaluation teaches the key its own record carries, if any (two users'
      // evaluations in one span teach two keys, not a conflict of one).
      for (const evaluation of evaluations) {
        const variant = rule.learnedFromEvaluation(evaluation);
        if (variant === undefined) continue;
        const key = rule.correlationKeyOfEvaluation(evaluation, span);
        if (key !== undefined) this.learn(state, key, variant, now, this.waitingKeys(waiting, state));
      }
      return;
    }
    const variants = rule.learnedFromSpan(span, evaluations);
    if (variants.length === 0) return;
    const key = rule.correlationKeyOfSpan(span);
    if (key === undefined) return;
    const keys = this.waitingKeys(waiting, state);
    for (const variant of variants) this.learn(state, key, variant, now, keys);
  }

  /** The keys of `state` that spans wait for, noted in `waiting` as the request teaches them. */
  private waitingKeys(waiting: Map<AnalysisState, string[]>, state: AnalysisState): string[] {
    let keys = waiting.get(state);
    if (keys === undefined) waiting.set(state, (keys = []));
    return keys;
  }

  /** The routing index of the routed runs, built again after a run is routed or unrouted. */
  private routingIndex(): RoutingIndex {
    return (this.index ??= new RoutingIndex(this.states));
  }

  acceptLogs(batch: LogBatch): void {
    const now = this.clock();
    this.expireAt(now);
    const recorder = this.sink.beginSpans();
    const evaluations = batch.flagEvaluations.map(flagEvaluationOfLog);
    const read = evaluations.filter((e) => e !== undefined).length;
    if (read > 0) this.metrics.flagEvaluations.inc({ source: 'log' }, read);
    for (const state of this.states) {
      const waiting: string[] = [];
      batch.flagEvaluations.forEach((record, i) => {
        const evaluation = evaluations[i];
        const variant = evaluation && state.rule.learnedFromEvaluation(evaluation);
        if (variant === undefined) return;
        const key = state.rule.correlationKeyOfLog(record);
        if (key !== undefined) this.learn(state, key, variant, now, waiting);
      });
      this.release(state, waiting, recorder);
    }
    recorder.end();
    this.finishBatch();
  }

  acceptMetrics(batch: MetricBatch): void {
    const now = this.clock();
    this.expireAt(now);
    const out: Observation[] = [];
    const metricStates = this.states.filter((s) => s.rule.judges === 'metrics');
    attributePoints(
      batch.points,
      metricStates,
      this.streams,
      now,
      () => this.metrics.streamResets.inc(),
      out,
    );
    this.finishBatch(out);
  }

  /** Closes correlation windows and forgets idle keys and streams as of `nowMs`. */
  expire(nowMs: number = this.clock()): void {
    this.expireAt(nowMs);
    for (const state of this.states) state.flush();
  }

  /** Closes windows every `expireIntervalMs` on a timer that does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.expire(), this.limits.expireIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer; safe to call twice. Pending spans stay counted as pending. */
  shutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  stats(): AttributionStats {
    return {
      pendingSpans: this.totals.pendingSpans,
      correlationKeys: this.totals.knownKeys,
      metricStreams: this.streams.size,
      analyses: this.states.map((s) => ({
        id: s.id,
        runId: s.runId,
        pendingSpans: s.buffer.pendingSpans,
        correlationKeys: s.buffer.knownKeys,
        otherVariants: s.others,
      })),
    };
  }

  private countEvaluations(perSpan: readonly FlagEvaluation[][]): void {
    const tally = new Map<string, number>();
    for (const evaluations of perSpan) {
      for (const { source } of evaluations) tally.set(source, (tally.get(source) ?? 0) + 1);
    }
    for (const [source, n] of tally) this.metrics.flagEvaluations.inc({ source }, n);
  }

  /** Learns one variant of `key`; notes the key in `waiting` when spans wait for it. */
  private learn(state: AnalysisState, key: string, variant: string, now: number, waiting: string[]): void {
    const result = state.buffer.learn(key, variant, now);
    if (result.conflictStarted) state.conflict();
    if (result.hasPending) waiting.push(key);
  }

  /** Releases the spans waiting for `keys`, once everything the request teaches is known. */
  private release(state: AnalysisState, keys: readonly string[], recorder: SpanRecorder): void {
    for (const key of keys) {
      const released = state.buffer.release(key);
      if (!released) continue;
      const { variant, spans } = released;
      if (variant === null) {
        state.count('spans', 'conflict', spans.length);
        continue;
      }
      // One variant for the whole group: its arm is looked up (and a value that is neither arm's counted) once.
      const arm = state.armOf(variant, 'spans', spans.length);
      if (arm === undefined) continue;
      state.count('spans', arm, spans.length);
      for (const o of spans)
        recorder.recordSpan(o.runId, arm, o.timeUnixMs, o.sourceKey, o.durationNanos, o.isError, o.traceId);
    }
  }

  private judgeSpan(
    state: AnalysisState,
    span: DecodedSpan,
    evaluations: readonly FlagEvaluation[],
    now: number,
    recorder: SpanRecorder,
  ): void {
    const { rule } = state;
    // The process's own resource attribute (service.version, k8s.pod.label.role) is authoritative.
    const own = rule.ownResourceVariant(span);
    if (own !== undefined) return this.record(state, own, span, recorder);
    const key = rule.correlationKeyOfSpan(span);
    if (key === undefined) {
      // No key to join by: only the span's own evidence can attribute it.
      const learned = rule.learnedFromSpan(span, evaluations);
      if (learned.length === 1) this.record(state, learned[0], span, recorder);
      else state.count('spans', learned.length > 1 ? 'conflict' : 'no_correlation_key');
      return;
    }
    const known = state.buffer.lookup(key, now);
    if (known === null) return state.count('spans', 'conflict');
    if (known !== undefined) return this.record(state, known, span, recorder);
    // Waiting for its variant: the one judged span kept as an object, its arm set when it is released.
    const waiting: SpanObservation = {
      kind: 'span',
      runId: state.runId,
      arm: 'baseline',
      timeUnixMs: span.startTimeUnixMs,
      sourceKey: this.sourceKeyOf(span.resource),
      durationNanos: span.durationNanos,
      isError: rule.errors.isErrorSpan(span),
      traceId: span.traceId,
    };
    state.buffer.park(key, waiting, now);
  }

  /** Records a judged span under `variant`'s arm (nothing for a value that is neither arm's). */
  private record(state: AnalysisState, variant: string, span: DecodedSpan, recorder: SpanRecorder): void {
    const arm = state.armOf(variant, 'spans');
    if (arm === undefined) return;
    state.count('spans', arm);
    recorder.recordSpan(
      state.runId,
      arm,
      span.startTimeUnixMs,
      this.sourceKeyOf(span.resource),
      span.durationNanos,
      state.rule.errors.isErrorSpan(span),
      span.traceId,
    );
  }

  /** The source key of `resource` (source-key.ts), kept for the spans of one resource in a row. */
  private sourceKeyOf(resource: ResourceInfo): string {
    if (resource !== this.keyedResource) {
      this.keyedResource = resource;
      this.keyedSourceKey = sourceKeyOf(resource);
    }
    return this.keyedSourceKey;
  }

  private expireAt(now: number): void {
    for (const state of this.states) {
      const { unattributedSpans, expiredKeys } = state.buffer.expire(now);
      if (unattributedSpans > 0) {
        state.count('spans', 'unattributed', unattributedSpans);
        this.metrics.evictions.inc({ store: 'pending_spans', reason: 'window_closed' }, unattributedSpans);
      }
      if (expiredKeys > 0)
        this.metrics.evictions.inc({ store: 'correlation_keys', reason: 'expired' }, expiredKeys);
    }
    this.streams.expire(now);
  }

  /** Evicts the oldest entries, across analyses, until the global limits hold. */
  private enforceLimits(): void {
    const oldest = (pick: (s: AnalysisState) => number | undefined): AnalysisState | undefined => {
      let best: AnalysisState | undefined;
      let bestAt = Infinity;
      for (const state of this.states) {
        const at = pick(state);
        if (at !== undefined && at < bestAt) [best, bestAt] = [state, at];
      }
      return best;
    };
    while (this.totals.pendingSpans > this.limits.maxPendingSpans) {
      const state = oldest((s) => s.buffer.oldestPendingCreatedAtMs());
      if (!state) break;
      const evicted = state.buffer.evictOldestPending();
      state.count('spans', 'evicted', evicted);
      this.metrics.evictions.inc({ store: 'pending_spans', reason: 'capacity' }, evicted);
    }
    let forgotten = 0;
    while (this.totals.knownKeys > this.limits.maxCorrelationKeys) {
      const state = oldest((s) => s.buffer.oldestKnownTouchedAtMs());
      if (!state || !state.buffer.evictOldestKnown()) break;
      forgotten += 1;
    }
    if (forgotten > 0)
      this.metrics.evictions.inc({ store: 'correlation_keys', reason: 'capacity' }, forgotten);
  }

  private finishBatch(out?: Observation[]): void {
    this.enforceLimits();
    for (const state of this.states) state.flush();
    if (out !== undefined && out.length > 0) this.sink.accept(out);
  }
}
