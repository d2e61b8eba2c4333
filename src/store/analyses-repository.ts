// Persistence of analysis definitions: the reusable spec (match, variant, metrics, judge settings) that runs
// are started from. A definition has no evidence or verdict of its own; those belong to its runs
// (runs-repository.ts).
import type { Store } from './database.js';

export type AnalysisSource = 'config' | 'api';

export interface StoredDefinition {
  id: string;
  source: AnalysisSource;
  specJson: string;
  createdAtMs: number;
  updatedAtMs: number;
}

interface DefinitionRow {
  id: string;
  source: AnalysisSource;
  spec_json: string;
  created_at_ms: number;
  updated_at_ms: number;
}

const fromRow = (row: DefinitionRow): StoredDefinition => ({
  id: row.id,
  source: row.source,
  specJson: row.spec_json,
  createdAtMs: row.created_at_ms,
  updatedAtMs: row.updated_at_ms,
});

export class AnalysesRepository {
  constructor(private readonly store: Store) {}

  /** Inserts a definition or replaces the one with the same id (keeping its creation time). */
  upsert(definition: StoredDefinition): void {
    this.store.write(() =>
      this.store.db
        .prepare(
          `INSERT INTO analysis_definitions (id, source, spec_json, created_at_ms, updated_at_ms)
         VALUES (@id, @source, @specJson, @createdAtMs, @updatedAtMs)
         ON CONFLICT (id) DO UPDATE SET source = excluded.source, spec_json = excluded.spec_json,
           updated_at_ms = excluded.updated_at_ms`,
        )
        .run(definition),
    );
  }

  delete(id: string): boolean {
    return this.store.write(
      () => this.store.db.prepare('DELETE FROM analysis_definitions WHERE id = ?').run(id).changes > 0,
    );
  }

  list(): StoredDefinition[] {
    const rows = this.store.db
      .prepare('SELECT * FROM analysis_definitions ORDER BY created_at_ms, id')
      .all() as DefinitionRow[];
    return rows.map(fromRow);
  }
}
