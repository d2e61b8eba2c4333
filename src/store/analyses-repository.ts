// Persistence of analyses: their spec and latest verdict document, the history of verdict changes, and
// snapshots of their per-arm state, so a restart resumes every analysis where it was (losing at most
// one snapshot interval of evidence).
import type { Store } from './database.js';

export type AnalysisSource = 'config' | 'api';

export interface StoredAnalysis {
  id: string;
  source: AnalysisSource;
  specJson: string;
  state: string;
  documentJson: string | null;
  startedAt: string;
  updatedAt: string;
  stoppedAt: string | null;
}

export interface HistoryEntry {
  verdict: string;
  action: string;
  reason: string;
  at: string;
  document: unknown;
}

interface AnalysisRow {
  id: string;
  source: AnalysisSource;
  spec_json: string;
  state: string;
  document_json: string | null;
  started_at: string;
  updated_at: string;
  stopped_at: string | null;
}

function fromRow(row: AnalysisRow): StoredAnalysis {
  return {
    id: row.id,
    source: row.source,
    specJson: row.spec_json,
    state: row.state,
    documentJson: row.document_json,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    stoppedAt: row.stopped_at,
  };
}

export class AnalysesRepository {
  constructor(private readonly store: Store) {}

  /** Runs `work` in one SQLite transaction (synchronous, as better-sqlite3's are); a storage failure is tracked by the store. */
  transaction<T>(work: () => T): T {
    return this.store.write(() => this.store.db.transaction(work)());
  }

  /** Inserts a new analysis, replacing a stopped one of the same id (its history is kept). */
  insert(analysis: Omit<StoredAnalysis, 'stoppedAt'>): void {
    this.store.db
      .prepare(
        `INSERT INTO analyses (id, source, spec_json, state, document_json, started_at, updated_at, stopped_at)
         VALUES (@id, @source, @specJson, @state, @documentJson, @startedAt, @updatedAt, NULL)
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, spec_json = excluded.spec_json,
           state = excluded.state, document_json = excluded.document_json, started_at = excluded.started_at,
           updated_at = excluded.updated_at, stopped_at = NULL`,
      )
      .run(analysis);
    this.store.db.prepare('DELETE FROM arm_snapshots WHERE analysis_id = ?').run(analysis.id);
  }

  get(id: string): StoredAnalysis | undefined {
    const row = this.store.db.prepare('SELECT * FROM analyses WHERE id = ?').get(id) as
      AnalysisRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Analyses not stopped, oldest first. */
  listActive(): StoredAnalysis[] {
    const rows = this.store.db
      .prepare('SELECT * FROM analyses WHERE stopped_at IS NULL ORDER BY started_at, id')
      .all() as AnalysisRow[];
    return rows.map(fromRow);
  }

  saveDocument(id: string, state: string, documentJson: string, updatedAt: string): void {
    this.store.db
      .prepare('UPDATE analyses SET state = ?, document_json = ?, updated_at = ? WHERE id = ?')
      .run(state, documentJson, updatedAt, id);
  }

  markStopped(id: string, stoppedAt: string): void {
    this.store.db
      .prepare("UPDATE analyses SET stopped_at = ?, updated_at = ?, state = 'stopped' WHERE id = ?")
      .run(stoppedAt, stoppedAt, id);
    this.store.db.prepare('DELETE FROM arm_snapshots WHERE analysis_id = ?').run(id);
  }

  appendHistory(id: string, entry: HistoryEntry): void {
    this.store.db
      .prepare(
        `INSERT INTO verdict_history (analysis_id, verdict, action, reason, document_json, at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(id, entry.verdict, entry.action, entry.reason, JSON.stringify(entry.document), entry.at);
  }

  /** Verdict changes of `id`, oldest first, at most `limit`. */
  history(id: string, limit = 1000): HistoryEntry[] {
    const rows = this.store.db
      .prepare(
        'SELECT verdict, action, reason, document_json, at FROM verdict_history WHERE analysis_id = ? ORDER BY id LIMIT ?',
      )
      .all(id, limit) as Array<{
      verdict: string;
      action: string;
      reason: string;
      document_json: string;
      at: string;
    }>;
    return rows.map((row) => ({
      verdict: row.verdict,
      action: row.action,
      reason: row.reason,
      at: row.at,
      document: JSON.parse(row.document_json) as unknown,
    }));
  }

  saveSnapshot(id: string, stateJson: string, takenAtMs: number): void {
    this.store.db
      .prepare(
        `INSERT INTO arm_snapshots (analysis_id, state_json, taken_at_ms) VALUES (?, ?, ?)
         ON CONFLICT (analysis_id) DO UPDATE SET state_json = excluded.state_json, taken_at_ms = excluded.taken_at_ms`,
      )
      .run(id, stateJson, takenAtMs);
  }

  loadSnapshot(id: string): string | undefined {
    const row = this.store.db
      .prepare('SELECT state_json FROM arm_snapshots WHERE analysis_id = ?')
      .get(id) as { state_json: string } | undefined;
    return row?.state_json;
  }
}
