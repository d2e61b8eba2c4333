// The book of runs: which runs are running (in memory, with their evidence open in the accumulator and their
// traffic routed by attribution), and every run's record in SQLite. The JudgeService decides when to evaluate
// and what a verdict change means for the outside world; the book keeps runs, stages and evidence consistent.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Accumulator } from '../accumulate/accumulator.js';
import type { RunEvidenceSnapshot } from '../accumulate/run-evidence.js';
import { SnapshotError, parseStoredSnapshot } from '../accumulate/snapshot-validation.js';
import { analysisSchema, type Analysis } from '../config/analysis.js';
import type { AnalysisSequentialState } from '../stats/analysis-policy.js';
import { initialSequentialState } from '../stats/analysis-policy.js';
import type { RunsRepository, StoredRun } from '../store/runs-repository.js';
import { JudgeError } from './judge-error.js';
import type { RunRouting } from './judge-service.js';
import { RunJudgement, type RunEvaluation } from './run-judgement.js';
import { isFinal } from './verdict.js';
import { initialDocument, withRun, type StageRecord, type VerdictDocument } from './verdict-document.js';

export interface StartRunOptions {
  /** The run's baseline arm value, when it differs from the definition's (e.g. Argo's stable pod-template hash). */
  baseline?: string;
  /** The run's canary arm value (e.g. Argo's canary pod-template hash). */
  canary?: string;
  /**
   * The canary share declared now: a new run's first stage, or an existing run's next stage when it differs
   * from the current one. Undefined declares nothing (a poll).
   */
  canaryShare?: number | null;
  /** A new run's first stage share when `canaryShare` declares none (default: the definition's judge.canaryShare). */
  initialShare?: number | null;
  /** Who asks: `api`, `flagger`, `argo`, `kayenta`, `config`. */
  declaredBy: string;
  /**
   * The controller says its rollout starts from the beginning (Flagger's pre-rollout hook, an explicit
   * restart): when the revision's run has ended, a new attempt judges it anew.
   */
  restart?: boolean;
}

/** What a start request means for the revision's latest run (see JudgeService.startRun). */
export type StartOutcome = 'return' | 'stage' | 'new-attempt';

export interface RunLookup {
  runId: string;
  attempt: number;
  state: 'running' | 'finished' | 'aborted';
  verdict: string;
  currentShare: number | null;
  /** Whether no other revision's run of the analysis started after it. */
  latestOfAnalysis: boolean;
}

/**
 * The rules for a start request on a revision that has a run: a running run is returned (a changed share
 * declares a stage); an aborted run, or an ended one that another revision ran after (a revert, a re-deploy),
 * is judged anew by a new attempt; an ended latest run is returned as it ended (controllers poll after a
 * decision), unless the controller restarts (a restart flag, or a weight lower than the run's: controllers
 * only lower the canary weight when they start over), or it passed and the share grows (its next stage).
 */
export function startOutcome(run: RunLookup, options: StartRunOptions): StartOutcome {
  const share = options.canaryShare;
  if (run.state === 'running') return share !== undefined && share !== run.currentShare ? 'stage' : 'return';
  if (run.state === 'aborted' || !run.latestOfAnalysis || options.restart) return 'new-attempt';
  if (share !== undefined && share !== null && run.currentShare !== null && share < run.currentShare) {
    return 'new-attempt';
  }
  if (run.verdict === 'pass' && share !== undefined && share !== run.currentShare) return 'stage';
  return 'return';
}

interface StoredState {
  evidence: RunEvidenceSnapshot;
  carried: AnalysisSequentialState;
}

export interface RunBookOptions {
  runs: RunsRepository;
  accumulator: Accumulator;
  routing: RunRouting;
  maxRunningRuns: number;
  logger: Logger;
  clock: () => number;
  newRunId?: () => string;
  /** Records a verdict change of `run` (its new document applied); throws when recording failed. */
  onVerdictChange: (run: RunJudgement) => void;
  /** Called once per stored snapshot that fails validation on load (counted by the sidecar). */
  onSnapshotQuarantined?: (runId: string) => void;
}

/**
 * Most stages one run may declare. Each stage keeps its own per-arm evidence (issue 9: memory is bounded per
 * input, not only per item); real rollouts step a handful of weights, Argo and Flagger rarely past 20.
 */
export const MAX_STAGES_PER_RUN = 64;

/** `run-<time>-<random>`: sortable by start, unguessable enough to be no handle for anyone else's run. */
function defaultRunId(nowMs: number): string {
  return `run-${nowMs.toString(36)}-${randomBytes(5).toString('hex')}`;
}

/** What a run's stored snapshot holds: its evidence version (Accumulator.version) and carried state. */
interface SavedState {
  evidenceVersion: number;
  carried: string;
  /** Length of the stored snapshot's JSON. */
  bytes: number;
}

export class RunBook {
  private readonly runningRuns = new Map<string, RunJudgement>();
  /**
   * What each open run's stored snapshot holds, so that a snapshot rewrites only the runs that changed since
   * (at 1 000 runs a snapshot wrote ~19 MB, and SQLite's checkpoints of it stalled ingest: issue 13).
   */
  private readonly saved = new WeakMap<RunJudgement, SavedState>();
  /** Runs whose verdict change is applied but not yet recorded (storage failing). */
  private readonly unrecorded = new Set<RunJudgement>();

  constructor(private readonly options: RunBookOptions) {}

  get runningCount(): number {
    return this.runningRuns.size;
  }

  /** Runs being judged (a run whose final verdict waits to be recorded is not judged again). */
  running(): RunJudgement[] {
    return [...this.runningRuns.values()].filter((run) => run.isRunning);
  }

  /** Whether `run` is still one of the runs being judged (it may have ended or been replaced since listed). */
  isJudged(run: RunJudgement): boolean {
    return run.isRunning && this.runningRuns.get(run.id) === run;
  }

  /** The latest attempt of (analysis, revision)'s run, or undefined. */
  find(analysisId: string, revision: string): RunLookup | undefined {
    const latestOfAnalysis = (runId: string) =>
      this.options.runs.listByAnalysis(analysisId, 1)[0]?.id === runId;
    for (const run of this.runningRuns.values()) {
      if (run.identity.analysisId === analysisId && run.identity.revision === revision) {
        return {
          runId: run.id,
          attempt: run.identity.attempt,
          state: run.identity.state,
          verdict: run.document.verdict,
          currentShare: run.currentShare,
          latestOfAnalysis: latestOfAnalysis(run.id),
        };
      }
    }
    const stored = this.options.runs.find(analysisId, revision);
    if (!stored) return undefined;
    const stages = JSON.parse(stored.stagesJson) as StageRecord[];
    return {
      runId: stored.id,
      attempt: stored.attempt,
      state: stored.state,
      verdict: stored.verdict,
      currentShare: stages[stages.length - 1]?.canaryShare ?? null,
      latestOfAnalysis: latestOfAnalysis(stored.id),
    };
  }

  document(runId: string): VerdictDocument | undefined {
    const live = this.runningRuns.get(runId);
    if (live) return live.fullDocument();
    const stored = this.options.runs.get(runId);
    return stored ? (JSON.parse(stored.documentJson) as VerdictDocument) : undefined;
  }

  listByAnalysis(analysisId: string, limit: number): VerdictDocument[] {
    return this.options.runs
      .listByAnalysis(analysisId, limit)
      .map(
        (stored) =>
          this.runningRuns.get(stored.id)?.currentDocument() ??
          (JSON.parse(stored.documentJson) as VerdictDocument),
      );
  }

  /** Starts a new run (attempt `attempt`) of `spec` for `revision`, superseding the analysis's running run. */
  start(definition: Analysis, revision: string, attempt: number, options: StartRunOptions): VerdictDocument {
    const spec: Analysis = {
      ...definition,
      baseline: options.baseline ?? definition.baseline,
      canary: options.canary ?? definition.canary,
    };
    if (spec.baseline === spec.canary) {
      throw new JudgeError('INVALID_RUN', `baseline and canary are both "${spec.canary}"; they must differ`);
    }
    const superseded = this.runningOf(spec.id);
    if (!superseded && this.runningRuns.size >= this.options.maxRunningRuns) {
      throw new JudgeError(
        'RUN_LIMIT_REACHED',
        `at most ${this.options.maxRunningRuns} runs may be judged at once (judge.maxRunningRuns)`,
      );
    }
    if (superseded) {
      const by = superseded.identity.revision === revision ? `attempt ${attempt}` : `revision ${revision}`;
      this.abort(superseded.id, `superseded by ${by}`);
    }
    const nowMs = this.options.clock();
    const runId = this.options.newRunId?.() ?? defaultRunId(nowMs);
    const stages: StageRecord[] = [
      {
        startedAtMs: nowMs,
        canaryShare:
          options.canaryShare !== undefined
            ? options.canaryShare
            : options.initialShare !== undefined
              ? options.initialShare
              : spec.judge.canaryShare,
        declaredBy: options.declaredBy,
      },
    ];
    const identity = {
      analysisId: spec.id,
      runId,
      revision,
      attempt,
      state: 'running' as const,
      startedAtMs: nowMs,
      endedAtMs: null,
      endReason: null,
    };
    const run = new RunJudgement(
      identity,
      spec,
      stages,
      initialDocument(identity, stages),
      initialSequentialState(),
      nowMs,
    );
    this.options.runs.insert(this.stored(run));
    this.open(run, undefined);
    this.options.logger.info(
      {
        analysis: spec.id,
        run: runId,
        revision,
        attempt,
        canaryShare: stages[0].canaryShare,
        by: options.declaredBy,
      },
      'run started',
    );
    return run.currentDocument();
  }

  /**
   * Declares a new stage of a run from now on. The current stage's share again declares nothing (controllers
   * retry). A passed run is re-opened for the new stage; an ended or superseded run refuses.
   */
  declareStage(runId: string, canaryShare: number | null, declaredBy: string): VerdictDocument {
    const run = this.runningRuns.get(runId) ?? this.reopenable(runId);
    if (run.currentShare === canaryShare && run.isRunning) return run.currentDocument();
    const nowMs = this.options.clock();
    if (run.stages.length >= MAX_STAGES_PER_RUN) {
      throw new JudgeError(
        'STAGE_LIMIT_REACHED',
        `run "${runId}" already has ${MAX_STAGES_PER_RUN} stages (the stages-per-run limit); start a new revision`,
      );
    }
    const stage: StageRecord = { startedAtMs: nowMs, canaryShare, declaredBy };
    if (!run.isRunning) return this.reopen(run, stage);
    run.stages.push(stage);
    this.options.accumulator.declareStage(runId, stage);
    this.options.runs.update(this.stored(run));
    this.options.logger.info(
      {
        analysis: run.identity.analysisId,
        run: runId,
        stage: run.stages.length,
        canaryShare,
        by: declaredBy,
      },
      'stage declared',
    );
    return run.currentDocument();
  }

  /** Ends a running run without a verdict of its own (superseded, deleted, or asked to). */
  abort(runId: string, reason: string): VerdictDocument {
    const run = this.runningRuns.get(runId);
    if (!run) {
      const stored = this.options.runs.get(runId);
      if (!stored) throw new JudgeError('RUN_NOT_FOUND', `no run "${runId}"`);
      throw new JudgeError('RUN_ENDED', `run "${runId}" has already ended (${stored.state})`);
    }
    const nowMs = this.options.clock();
    Object.assign(run.identity, { state: 'aborted', endedAtMs: nowMs, endReason: reason });
    run.document = { ...run.currentDocument(), updatedAt: new Date(nowMs).toISOString() };
    this.options.runs.transaction(() => {
      this.options.runs.update(this.stored(run));
      this.options.runs.appendHistory(run.identity.analysisId, {
        runId,
        verdict: run.document.verdict,
        action: run.document.action,
        reason: `aborted: ${reason}`,
        at: run.document.updatedAt,
        document: run.document,
      });
      this.saveSnapshot(run, nowMs);
    });
    this.close(run);
    this.options.logger.info({ analysis: run.identity.analysisId, run: runId, reason }, 'run aborted');
    return run.currentDocument();
  }

  abortRunningOf(analysisId: string, reason: string): void {
    const run = this.runningOf(analysisId);
    if (run) this.abort(run.id, reason);
  }

  /**
   * Evaluates a running run's decisions on its evidence up to the watermark, without changing it; the full
   * evidence is filled in from the same inputs when the document is read or the verdict changes.
   */
  evaluate(run: RunJudgement, nowMs: number): RunEvaluation {
    const last = run.lastEvidence;
    const read = this.options.accumulator.readSince(run.id, nowMs, last?.version);
    const evidence = read.stages ?? last?.stages ?? this.options.accumulator.read(run.id, nowMs);
    const watermark = this.options.accumulator.evidence(run.id)?.watermark ?? -Infinity;
    const evaluation = run.evaluate(evidence, watermark, nowMs, false, read.version);
    if (!evaluation.changed) run.apply(evaluation);
    return evaluation;
  }

  /**
   * Applies a verdict change and records it; a final verdict ends the run. When recording fails (storage full
   * or failing) the change stays applied (the API shows it, controllers act on it) and is recorded again at
   * every tick until storage recovers; only then does a final run close.
   */
  commitChange(run: RunJudgement, evaluation: RunEvaluation): void {
    run.apply(evaluation);
    if (isFinal(evaluation.document.verdict)) {
      Object.assign(run.identity, {
        state: 'finished',
        endedAtMs: this.options.clock(),
        endReason: `verdict ${evaluation.document.verdict}`,
      });
    }
    run.document = run.fullDocument();
    this.record(run);
  }

  /** Records again the changes storage refused; the judge calls this at the start of every tick. */
  retryUnrecorded(): void {
    for (const run of [...this.unrecorded]) this.record(run);
  }

  private record(run: RunJudgement): void {
    try {
      this.options.onVerdictChange(run);
    } catch (error) {
      if (!this.unrecorded.has(run)) {
        this.options.logger.error(
          { err: error, analysis: run.identity.analysisId, run: run.id, verdict: run.document.verdict },
          'cannot record the verdict change; the API shows it, and it is recorded again every tick until storage recovers',
        );
      }
      this.unrecorded.add(run);
      return;
    }
    this.unrecorded.delete(run);
    if (run.identity.state === 'running') return;
    try {
      this.saveSnapshot(run, this.options.clock());
    } catch (error) {
      this.options.logger.warn({ err: error, run: run.id }, 'final evidence snapshot not saved');
    }
    this.close(run);
  }

  /** Writes the run's row (inside the caller's transaction when there is one). */
  persist(run: RunJudgement): void {
    this.options.runs.update(this.stored(run));
  }

  /** Every run held as running (also those whose final verdict waits to be recorded), for a sliced snapshot. */
  heldRuns(): RunJudgement[] {
    return [...this.runningRuns.values()];
  }

  /**
   * One slice of a snapshot: saves runs[start...] (those still held) in one transaction until `untilMs`
   * (performance.now() time) passes or `maxBytes` of snapshots were written, at least one run; returns the
   * index to continue from and the bytes written.
   */
  snapshotSlice(
    runs: readonly RunJudgement[],
    start: number,
    nowMs: number,
    untilMs: number,
    maxBytes = Infinity,
  ): { next: number; bytes: number } {
    let i = start;
    let bytes = 0;
    const saved: Array<[RunJudgement, SavedState]> = [];
    this.options.runs.transaction(() => {
      for (; i < runs.length && (i === start || (performance.now() < untilMs && bytes < maxBytes)); i++) {
        const run = runs[i];
        if (this.runningRuns.get(run.id) !== run) continue;
        const state = this.saveSnapshot(run, nowMs);
        if (!state) continue; // see snapshotRunning
        saved.push([run, state]);
        bytes += state.bytes;
        this.options.runs.update(this.stored(run));
      }
    });
    this.noteSaved(saved); // only once committed
    return { next: i, bytes };
  }

  snapshotRunning(): void {
    const nowMs = this.options.clock();
    const saved: Array<[RunJudgement, SavedState]> = [];
    this.options.runs.transaction(() => {
      for (const run of this.runningRuns.values()) {
        const state = this.saveSnapshot(run, nowMs);
        // Neither evidence nor carried state changed since the stored snapshot: the stored document differs
        // from the current one only in its time, and is left as it is (a verdict change, a stage or an abort
        // write the row at once). Rewriting 1 000 rows every snapshot made SQLite checkpoint each time.
        if (!state) continue;
        saved.push([run, state]);
        this.options.runs.update(this.stored(run));
      }
    });
    this.noteSaved(saved);
  }

  private noteSaved(saved: ReadonlyArray<[RunJudgement, SavedState]>): void {
    for (const [run, state] of saved) this.saved.set(run, state);
  }

  /** Resumes every run stored as running whose analysis is still defined; aborts the others. */
  resumeRunning(isDefined: (analysisId: string) => boolean): void {
    for (const stored of this.options.runs.listRunning()) {
      const parsed = analysisSchema.safeParse(JSON.parse(stored.specJson));
      if (!isDefined(stored.analysisId) || !parsed.success) {
        const reason = parsed.success ? 'analysis no longer defined' : 'run spec no longer valid';
        this.options.runs.update({
          ...stored,
          state: 'aborted',
          endedAtMs: this.options.clock(),
          endReason: reason,
        });
        this.options.logger.info(
          { analysis: stored.analysisId, run: stored.id, reason },
          'run aborted at boot',
        );
        continue;
      }
      const run = this.fromStored(stored, parsed.data);
      const state = this.loadState(run.id);
      if (state) run.carried = state.carried;
      this.open(run, state?.evidence);
      this.options.logger.info(
        {
          analysis: stored.analysisId,
          run: stored.id,
          revision: stored.revision,
          verdict: run.document.verdict,
        },
        'run resumed',
      );
    }
  }

  private runningOf(analysisId: string): RunJudgement | undefined {
    for (const run of this.runningRuns.values()) if (run.identity.analysisId === analysisId) return run;
    return undefined;
  }

  /** A stored run that a new stage may re-open: passed, and the analysis's latest run. */
  private reopenable(runId: string): RunJudgement {
    const stored = this.options.runs.get(runId);
    if (!stored) throw new JudgeError('RUN_NOT_FOUND', `no run "${runId}"`);
    const latest = this.options.runs.listByAnalysis(stored.analysisId, 1)[0];
    if (latest && latest.id !== stored.id) {
      throw new JudgeError(
        'RUN_SUPERSEDED',
        `run "${runId}" (revision ${stored.revision}) was superseded by revision ${latest.revision}`,
      );
    }
    if (stored.state === 'aborted' || stored.verdict !== 'pass') {
      throw new JudgeError(
        'RUN_ENDED',
        `run "${runId}" ended (${stored.state === 'aborted' ? `aborted: ${stored.endReason}` : `verdict ${stored.verdict}`}); start a new revision to judge again`,
      );
    }
    const parsed = analysisSchema.safeParse(JSON.parse(stored.specJson));
    if (!parsed.success)
      throw new JudgeError('RUN_ENDED', `run "${runId}" has a spec this version cannot read`);
    return this.fromStored(stored, parsed.data);
  }

  private reopen(run: RunJudgement, stage: StageRecord): VerdictDocument {
    if (this.runningRuns.size >= this.options.maxRunningRuns) {
      throw new JudgeError(
        'RUN_LIMIT_REACHED',
        `at most ${this.options.maxRunningRuns} runs may be judged at once (judge.maxRunningRuns)`,
      );
    }
    const nowMs = this.options.clock();
    const state = this.loadState(run.id);
    // Within-tolerance evidence restarts with the new stage (evaluate-analysis.ts); fail evidence carries.
    run.carried = state?.carried ?? initialSequentialState();
    Object.assign(run.identity, { state: 'running', endedAtMs: null, endReason: null });
    run.clockStartedAtMs = nowMs;
    run.stages.push(stage);
    const share = stage.canaryShare === null ? 'no share declared' : `canary share ${stage.canaryShare}`;
    run.document = {
      ...run.currentDocument(),
      verdict: 'running',
      action: 'continue',
      reason: `collecting evidence: stage ${run.stages.length} declared (${share}) after pass`,
      updatedAt: new Date(nowMs).toISOString(),
    };
    this.open(run, state?.evidence);
    this.options.accumulator.declareStage(run.id, stage);
    try {
      this.options.onVerdictChange(run);
    } catch (error) {
      this.close(run);
      throw error;
    }
    this.options.logger.info(
      { analysis: run.identity.analysisId, run: run.id, stage: run.stages.length, by: stage.declaredBy },
      'passed run re-opened for a new stage',
    );
    return run.currentDocument();
  }

  /** Opens the run's evidence (from a snapshot, or empty in its stages) and routes its traffic. */
  private open(run: RunJudgement, evidence: RunEvidenceSnapshot | undefined): void {
    const [first, ...later] = run.stages;
    const settleMs = run.spec.judge.stageSettleSeconds * 1000;
    let restored = false;
    if (evidence) {
      try {
        this.options.accumulator.restore(run.id, evidence, settleMs);
        restored = true;
      } catch (error) {
        this.options.logger.warn(
          { err: error, run: run.id },
          'run snapshot unreadable; judging it from empty evidence',
        );
      }
    }
    if (!restored) {
      this.options.accumulator.open(run.id, first, settleMs);
      for (const stage of later) this.options.accumulator.declareStage(run.id, stage);
    }
    this.saved.delete(run); // new evidence object: its version counts from 0 again
    this.runningRuns.set(run.id, run);
    this.options.routing.routeRun(run.id, run.spec);
  }

  private close(run: RunJudgement): void {
    this.options.routing.unrouteRun(run.id);
    this.options.accumulator.close(run.id);
    this.runningRuns.delete(run.id);
  }

  /**
   * Stores the run's evidence and carried state, unless its stored snapshot (as last noted after a commit)
   * already holds them; returns what it wrote, for the caller to note once its transaction has committed.
   */
  private saveSnapshot(run: RunJudgement, nowMs: number): SavedState | undefined {
    if (!this.options.accumulator.isOpen(run.id)) return undefined;
    const evidenceVersion = this.options.accumulator.version(run.id);
    const carried = JSON.stringify(run.carried);
    const stored = this.saved.get(run);
    if (stored && stored.evidenceVersion === evidenceVersion && stored.carried === carried) {
      return undefined;
    }
    const state: StoredState = { evidence: this.options.accumulator.snapshot(run.id), carried: run.carried };
    const json = JSON.stringify(state);
    this.options.runs.saveSnapshot(run.id, json, nowMs);
    return { evidenceVersion, carried, bytes: json.length };
  }

  private loadState(runId: string): StoredState | undefined {
    const json = this.options.runs.loadSnapshot(runId);
    if (!json) return undefined;
    try {
      return parseStoredSnapshot(json);
    } catch (error) {
      if (!(error instanceof SnapshotError)) throw error;
      // Quarantined: the run resumes from empty evidence rather than crash or wedge the boot (issue 9).
      this.options.logger.error(
        { run: runId, problem: error.message, snapshotBytes: json.length },
        'stored snapshot is invalid; quarantined, the run resumes from empty evidence',
      );
      this.options.onSnapshotQuarantined?.(runId);
      return undefined;
    }
  }

  private fromStored(stored: StoredRun, spec: Analysis): RunJudgement {
    const identity = {
      analysisId: stored.analysisId,
      runId: stored.id,
      revision: stored.revision,
      attempt: stored.attempt,
      state: stored.state,
      startedAtMs: stored.startedAtMs,
      endedAtMs: stored.endedAtMs,
      endReason: stored.endReason,
    };
    const stages = JSON.parse(stored.stagesJson) as StageRecord[];
    const document = withRun(JSON.parse(stored.documentJson) as VerdictDocument, identity, stages);
    return new RunJudgement(
      identity,
      spec,
      stages,
      document,
      initialSequentialState(),
      stored.clockStartedAtMs,
    );
  }

  private stored(run: RunJudgement): StoredRun {
    const document = run.currentDocument();
    return {
      id: run.id,
      analysisId: run.identity.analysisId,
      revision: run.identity.revision,
      attempt: run.identity.attempt,
      specJson: JSON.stringify(run.spec),
      state: run.identity.state,
      verdict: document.verdict,
      documentJson: JSON.stringify(document),
      stagesJson: JSON.stringify(run.stages),
      startedAtMs: run.identity.startedAtMs,
      clockStartedAtMs: run.clockStartedAtMs,
      updatedAtMs: Date.parse(document.updatedAt),
      endedAtMs: run.identity.endedAtMs,
      endReason: run.identity.endReason,
    };
  }
}
