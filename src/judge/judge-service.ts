// The running analyses and the judge's timer. Each tick evaluates every undecided analysis from its
// accumulated arms, turns the evaluation into a verdict, and, when the verdict changes, records it and
// hands it to the publisher in one SQLite transaction, so a verdict change is never stored without its
// webhook event or the other way round. Snapshots of per-arm state are taken on their own timer.
//
// judge/ does no I/O of its own: persistence, attribution and publishing come in through the interfaces
// below, so this module can be driven by a fake clock in tests.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Accumulator, AnalysisArmsSnapshot } from '../accumulate/accumulator.js';
import { SnapshotError, parseStoredSnapshot } from '../accumulate/snapshot-validation.js';
import { analysisSchema, type Analysis } from '../config/analysis.js';
import type { WebhookTarget } from '../config/judge-settings.js';
import type { VerdictMetrics } from '../publish/verdict-metrics.js';
import { initialSequentialState, type AnalysisSequentialState } from '../stats/analysis-policy.js';
import type { AnalysesRepository, AnalysisSource, HistoryEntry } from '../store/analyses-repository.js';
import { RunningAnalysis } from './running-analysis.js';
import { isFinal } from './verdict.js';
import { initialDocument, type VerdictDocument } from './verdict-document.js';

/** Where attribution learns which analyses exist (AttributionPipeline implements it). */
export interface AnalysisRouting {
  addAnalysis(analysis: Analysis): void;
  removeAnalysis(id: string): boolean;
}

/** Takes a verdict-change event for delivery; called inside the transaction that records the change. */
export interface VerdictPublisher {
  enqueue(event: {
    analysisId: string;
    url: string;
    secret: string;
    data: object;
    time?: Date;
  }): string | null;
}

export interface JudgeServiceOptions {
  repository: AnalysesRepository;
  accumulator: Accumulator;
  routing: AnalysisRouting;
  metrics: VerdictMetrics;
  publisher?: VerdictPublisher;
  defaultWebhook?: WebhookTarget | null;
  tickIntervalMs: number;
  snapshotIntervalMs: number;
  maxAnalyses: number;
  logger: Logger;
  clock?: () => number;
  /** Called once per stored snapshot that fails validation on load (counted by the sidecar). */
  onSnapshotQuarantined?: (analysisId: string) => void;
}

/** The span each tick runs in when self-telemetry is on (the API's tracer is a no-op otherwise). */
export const TICK_SPAN_NAME = 'canary_judge.judge.tick';
/** Ticks between full-evidence evaluations (30 s at the default 5 s tick). */
const FULL_EVIDENCE_EVERY_TICKS = 6;

export type JudgeErrorCode = 'ANALYSIS_EXISTS' | 'ANALYSIS_LIMIT_REACHED';

export class JudgeError extends Error {
  constructor(
    readonly code: JudgeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'JudgeError';
  }
}

interface StoredState {
  arms: AnalysisArmsSnapshot;
  carried: AnalysisSequentialState;
}

export interface AnalysisView {
  spec: Analysis;
  source: AnalysisSource;
  state: 'running' | 'finished';
  document: VerdictDocument;
}

export class JudgeService {
  private readonly analyses = new Map<string, RunningAnalysis>();
  private readonly clock: () => number;
  private timers: NodeJS.Timeout[] = [];
  /** Duration of the last tick, for /metrics and the bench. */
  lastTickMs = 0;
  private tickCount = 0;

  constructor(private readonly options: JudgeServiceOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Resumes the analyses stored before a restart (with their last snapshot), starts the config's new
   * ones, restarts those whose config changed, and stops config analyses no longer in the config.
   */
  boot(configAnalyses: readonly Analysis[]): void {
    const configured = new Map(configAnalyses.map((analysis) => [analysis.id, analysis]));
    for (const stored of this.options.repository.listActive()) {
      const parsed = analysisSchema.safeParse(JSON.parse(stored.specJson));
      const fromConfig = configured.get(stored.id);
      if (!parsed.success || (stored.source === 'config' && !fromConfig)) {
        this.options.repository.markStopped(stored.id, new Date(this.clock()).toISOString());
        this.options.logger.info(
          { analysis: stored.id },
          'stored analysis stopped: no longer configured or no longer valid',
        );
        continue;
      }
      if (fromConfig && JSON.stringify(fromConfig) !== JSON.stringify(parsed.data)) continue; // restarted below
      this.resume(parsed.data, stored.source, Date.parse(stored.startedAt), stored.documentJson);
      configured.delete(stored.id);
    }
    for (const analysis of configured.values()) this.create(analysis, 'config');
  }

  /** Starts a new analysis. Throws JudgeError when the id is taken by a live analysis or the limit is reached. */
  create(spec: Analysis, source: AnalysisSource): AnalysisView {
    if (this.analyses.has(spec.id)) {
      throw new JudgeError(
        'ANALYSIS_EXISTS',
        `analysis "${spec.id}" exists; DELETE it first to start it again`,
      );
    }
    if (this.analyses.size >= this.options.maxAnalyses) {
      throw new JudgeError(
        'ANALYSIS_LIMIT_REACHED',
        `at most ${this.options.maxAnalyses} analyses may run at once (judge.maxAnalyses)`,
      );
    }
    const startedAtMs = this.clock();
    const document = initialDocument(spec.id, startedAtMs);
    this.options.repository.insert({
      id: spec.id,
      source,
      specJson: JSON.stringify(spec),
      state: document.verdict,
      documentJson: JSON.stringify(document),
      startedAt: document.startedAt,
      updatedAt: document.updatedAt,
    });
    this.options.accumulator.reset(spec.id);
    const entry = this.track(spec, source, startedAtMs, document, initialSequentialState());
    this.options.logger.info({ analysis: spec.id, source }, 'analysis started');
    return this.view(entry);
  }

  list(): AnalysisView[] {
    return [...this.analyses.values()].map((entry) => this.view(entry, false));
  }

  get(id: string): AnalysisView | undefined {
    const entry = this.analyses.get(id);
    return entry ? this.view(entry) : undefined;
  }

  history(id: string): HistoryEntry[] {
    return this.options.repository.history(id);
  }

  /** Stops an analysis and forgets its state (its history stays). Returns its last document, or undefined. */
  stop(id: string): VerdictDocument | undefined {
    const entry = this.analyses.get(id);
    if (!entry) return undefined;
    this.analyses.delete(id);
    this.options.routing.removeAnalysis(id);
    this.options.accumulator.remove(id);
    this.options.metrics.remove(id);
    this.options.repository.markStopped(id, new Date(this.clock()).toISOString());
    this.options.logger.info({ analysis: id }, 'analysis stopped');
    return entry.document;
  }

  /**
   * Evaluates every undecided analysis once. Ticks compute decisions only (bounds and always-valid
   * p-values); the fixed-horizon evidence people read (Mann-Whitney U, Hodges-Lehmann, order-statistic
   * intervals) costs about five times more and is computed from the same inputs only when a document
   * is read or a verdict changes. The statistics engine guarantees decisions are identical in both modes.
   */
  tick(): void {
    // Looked up per tick: a tracer obtained once would stay bound to a provider that was since shut down.
    trace.getTracer('canary-judge').startActiveSpan(TICK_SPAN_NAME, (span) => {
      try {
        this.evaluateAll();
        span.setAttribute('canary_judge.analyses', this.analyses.size);
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private evaluateAll(): void {
    const started = performance.now();
    const nowMs = this.clock();
    // Every FULL_EVIDENCE_EVERY_TICKS-th tick computes the full evidence too, so the fixed-horizon series on
    // /metrics stay fresh at a fraction of the cost of computing them every tick.
    const full = this.tickCount % FULL_EVIDENCE_EVERY_TICKS === 0;
    this.tickCount += 1;
    for (const entry of this.analyses.values()) {
      if (entry.isDecided) continue;
      const changed = entry.evaluate(this.options.accumulator.read(entry.id), nowMs, full);
      this.options.metrics.update(entry.id, entry.document);
      if (changed) this.recordChange(entry);
    }
    this.lastTickMs = performance.now() - started;
  }

  /** Saves every undecided analysis's arms, carried state and latest document. */
  snapshot(): void {
    const takenAtMs = this.clock();
    this.options.repository.transaction(() => {
      for (const [id, entry] of this.analyses) {
        if (entry.isDecided) continue;
        const state: StoredState = { arms: this.options.accumulator.snapshot(id), carried: entry.carried };
        this.options.repository.saveSnapshot(id, JSON.stringify(state), takenAtMs);
        this.options.repository.saveDocument(
          id,
          entry.document.verdict,
          JSON.stringify(entry.document),
          entry.document.updatedAt,
        );
      }
    });
  }

  start(): void {
    if (this.timers.length > 0) return;
    const every = (ms: number, work: () => void) => {
      const timer = setInterval(() => {
        try {
          work();
        } catch (error) {
          this.options.logger.error({ err: error }, 'judge timer failed');
        }
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.tickIntervalMs, () => this.tick());
    every(this.options.snapshotIntervalMs, () => this.snapshot());
  }

  /** Stops the timers and takes a last snapshot. Safe to call twice. */
  shutdown(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.snapshot();
  }

  private recordChange(entry: RunningAnalysis): void {
    const { spec } = entry;
    const document = (entry.document = entry.fullDocument());
    this.options.metrics.update(spec.id, document);
    const webhook = spec.webhook ?? this.options.defaultWebhook ?? undefined;
    this.options.repository.transaction(() => {
      this.options.repository.saveDocument(
        spec.id,
        document.verdict,
        JSON.stringify(document),
        document.updatedAt,
      );
      this.options.repository.appendHistory(spec.id, {
        verdict: document.verdict,
        action: document.action,
        reason: document.reason,
        at: document.updatedAt,
        document,
      });
      if (webhook && this.options.publisher) {
        this.options.publisher.enqueue({
          analysisId: spec.id,
          url: webhook.url,
          secret: webhook.secret,
          data: document,
          time: new Date(document.updatedAt),
        });
      }
    });
    this.options.logger.info(
      { analysis: spec.id, verdict: document.verdict, action: document.action, reason: document.reason },
      'verdict changed',
    );
    if (isFinal(document.verdict)) {
      // A decided analysis takes no more traffic; its arms stay readable until it is stopped.
      this.options.routing.removeAnalysis(spec.id);
      const state: StoredState = { arms: this.options.accumulator.snapshot(spec.id), carried: entry.carried };
      this.options.repository.saveSnapshot(spec.id, JSON.stringify(state), this.clock());
    }
  }

  private resume(
    spec: Analysis,
    source: AnalysisSource,
    startedAtMs: number,
    documentJson: string | null,
  ): void {
    const document = documentJson
      ? (JSON.parse(documentJson) as VerdictDocument)
      : initialDocument(spec.id, startedAtMs);
    const snapshotJson = this.options.repository.loadSnapshot(spec.id);
    let carried = initialSequentialState();
    if (snapshotJson) {
      try {
        const state: StoredState = parseStoredSnapshot(snapshotJson);
        this.options.accumulator.restore(spec.id, state.arms);
        carried = state.carried;
      } catch (error) {
        if (!(error instanceof SnapshotError)) throw error;
        // Quarantined: the analysis resumes from empty evidence rather than crash or wedge the boot.
        this.options.accumulator.reset(spec.id);
        this.options.logger.error(
          { analysis: spec.id, problem: error.message, snapshotBytes: snapshotJson.length },
          'stored snapshot is invalid; quarantined, the analysis resumes from empty evidence',
        );
        this.options.onSnapshotQuarantined?.(spec.id);
      }
    } else {
      this.options.accumulator.reset(spec.id);
    }
    this.track(spec, source, startedAtMs, document, carried);
    this.options.logger.info({ analysis: spec.id, verdict: document.verdict }, 'analysis resumed');
  }

  private track(
    spec: Analysis,
    source: AnalysisSource,
    startedAtMs: number,
    document: VerdictDocument,
    carried: AnalysisSequentialState,
  ): RunningAnalysis {
    const entry = new RunningAnalysis(spec, source, startedAtMs, document, carried);
    this.analyses.set(spec.id, entry);
    if (!entry.isDecided) this.options.routing.addAnalysis(spec);
    return entry;
  }

  /** `full` adds the fixed-horizon evidence (computed on demand); lists skip it. */
  private view(entry: RunningAnalysis, full = true): AnalysisView {
    return {
      spec: entry.spec,
      source: entry.source,
      state: entry.isDecided ? 'finished' : 'running',
      document: full ? entry.fullDocument() : entry.document,
    };
  }
}
