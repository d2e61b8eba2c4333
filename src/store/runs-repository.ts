// Persistence of runs: each run's effective spec, state, latest verdict document and stages, its verdict
// history, and snapshots of its evidence, so a restart resumes every running run where it was (losing at most
// one snapshot interval of evidence). Finished runs stay readable until retention prunes the oldest.
import type { Store } from './database.js';

export type RunState = 'running' | 'finished' | 'aborted';

export interface StoredRun {
  id: string;
  analysisId: string;
  revision: string;
  /** 1 for a revision's first run; a revision deployed again after its run ended gets the next. */
  attempt: number;
  specJson: string;
  state: RunState;
  verdict: string;
  documentJson: string;
  stagesJson: string;
  startedAtMs: number;
  /** When the run's time limit started counting: its start, or when a passed run was re-opened. */
  clockStartedAtMs: number;
  updatedAtMs: number;
  endedAtMs: number | null;
  endReason: string | null;
}

export interface HistoryEntry {
  runId: string | null;
  verdict: string;
  action: string;
  reason: string;
  at: string;
  document: unknown;
}

interface RunRow {
  id: string;
  analysis_id: string;
  revision: string;
  attempt: number;
  spec_json: string;
  state: RunState;
  verdict: string;
  document_json: string;
  stages_json: string;
  started_at_ms: number;
  clock_started_at_ms: number;
  updated_at_ms: number;
  ended_at_ms: number | null;
  end_reason: string | null;
}

const fromRow = (row: RunRow): StoredRun => ({
  id: row.id,
  analysisId: row.analysis_id,
  revision: row.revision,
  attempt: row.attempt,
  specJson: row.spec_json,
  state: row.state,
  verdict: row.verdict,
  documentJson: row.document_json,
  stagesJson: row.stages_json,
  startedAtMs: row.started_at_ms,
  clockStartedAtMs: row.clock_started_at_ms,
  updatedAtMs: row.updated_at_ms,
  endedAtMs: row.ended_at_ms,
  endReason: row.end_reason,
});

export class RunsRepository {
  constructor(private readonly store: Store) {}

  /**
   * Runs `work` in one SQLite transaction (synchronous, as better-sqlite3's are); a storage failure is
   * tracked by the store (readiness, and writers pausing until it recovers). Every write below runs inside
   * one of these or through `write`.
   */
  transaction<T>(work: () => T): T {
    return this.store.write(() => this.store.db.transaction(work)());
  }

  /** A PASSIVE checkpoint of the write-ahead log (Store.checkpoint). */
  checkpoint(): { logPages: number; checkpointedPages: number } {
    return this.store.checkpoint();
  }

  insert(run: StoredRun): void {
    this.transaction(() => this.insertRow(run));
  }

  private insertRow(run: StoredRun): void {
    this.store.db
      .prepare(
        `INSERT INTO runs (id, analysis_id, revision, attempt, spec_json, state, verdict, document_json, stages_json,
           started_at_ms, clock_started_at_ms, updated_at_ms, ended_at_ms, end_reason)
         VALUES (@id, @analysisId, @revision, @attempt, @specJson, @state, @verdict, @documentJson, @stagesJson,
           @startedAtMs, @clockStartedAtMs, @updatedAtMs, @endedAtMs, @endReason)`,
      )
      .run(run);
  }

  /** Writes the run's mutable fields (everything but its identity, spec and start). */
  update(run: StoredRun): void {
    this.transaction(() => this.updateRow(run));
  }

  private updateRow(run: StoredRun): void {
    this.store.db
      .prepare(
        `UPDATE runs SET state = @state, verdict = @verdict, document_json = @documentJson,
           stages_json = @stagesJson, clock_started_at_ms = @clockStartedAtMs, updated_at_ms = @updatedAtMs,
           ended_at_ms = @endedAtMs, end_reason = @endReason
         WHERE id = @id`,
      )
      .run(run);
  }

  get(id: string): StoredRun | undefined {
    const row = this.store.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** The latest attempt of a revision's run. */
  find(analysisId: string, revision: string): StoredRun | undefined {
    const row = this.store.db
      .prepare('SELECT * FROM runs WHERE analysis_id = ? AND revision = ? ORDER BY attempt DESC LIMIT 1')
      .get(analysisId, revision) as RunRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  listRunning(): StoredRun[] {
    const rows = this.store.db
      .prepare("SELECT * FROM runs WHERE state = 'running' ORDER BY started_at_ms, id")
      .all() as RunRow[];
    return rows.map(fromRow);
  }

  /** The analysis's runs, newest first, at most `limit`. */
  listByAnalysis(analysisId: string, limit: number): StoredRun[] {
    const rows = this.store.db
      .prepare('SELECT * FROM runs WHERE analysis_id = ? ORDER BY started_at_ms DESC, id DESC LIMIT ?')
      .all(analysisId, limit) as RunRow[];
    return rows.map(fromRow);
  }

  appendHistory(analysisId: string, entry: HistoryEntry): void {
    this.store.db
      .prepare(
        `INSERT INTO verdict_history (analysis_id, run_id, verdict, action, reason, document_json, at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        analysisId,
        entry.runId,
        entry.verdict,
        entry.action,
        entry.reason,
        JSON.stringify(entry.document),
        entry.at,
      );
  }

  /** Verdict changes of a run, oldest first, at most `limit`. */
  history(runId: string, limit = 1000): HistoryEntry[] {
    const rows = this.store.db
      .prepare(
        'SELECT run_id, verdict, action, reason, document_json, at FROM verdict_history WHERE run_id = ? ORDER BY id LIMIT ?',
      )
      .all(runId, limit) as Array<{
      run_id: string | null;
      verdict: string;
      action: string;
      reason: string;
      document_json: string;
      at: string;
    }>;
    return rows.map((row) => ({
      runId: row.run_id,
      verdict: row.verdict,
      action: row.action,
      reason: row.reason,
      at: row.at,
      document: JSON.parse(row.document_json) as unknown,
    }));
  }

  saveSnapshot(runId: string, stateJson: string, takenAtMs: number): void {
    this.store.db
      .prepare(
        `INSERT INTO run_snapshots (run_id, state_json, taken_at_ms) VALUES (?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET state_json = excluded.state_json, taken_at_ms = excluded.taken_at_ms`,
      )
      .run(runId, stateJson, takenAtMs);
  }

  loadSnapshot(runId: string): string | undefined {
    const row = this.store.db.prepare('SELECT state_json FROM run_snapshots WHERE run_id = ?').get(runId) as
      { state_json: string } | undefined;
    return row?.state_json;
  }

  /**
   * Deletes the oldest ended runs beyond `keep`, with their history, snapshots and chart points, at most `batch` per call
   * (retention runs in small steps on a timer, never as one long transaction). Returns how many were deleted.
   */
  pruneEnded(keep: number, batch: number): number {
    const ids = this.store.db
      .prepare(
        `SELECT id FROM runs WHERE state != 'running' ORDER BY ended_at_ms DESC, id DESC LIMIT ? OFFSET ?`,
      )
      .all(batch, keep) as Array<{ id: string }>;
    if (ids.length === 0) return 0;
    this.transaction(() => {
      for (const { id } of ids) {
        this.store.db.prepare('DELETE FROM verdict_history WHERE run_id = ?').run(id);
        this.store.db.prepare('DELETE FROM run_snapshots WHERE run_id = ?').run(id);
        this.store.db.prepare('DELETE FROM run_series WHERE run_id = ?').run(id);
        this.store.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
      }
    });
    return ids.length;
  }
}
