// The schema, as numbered migrations: migration n is at index n-1. Store.open applies those a database
// has not seen yet, in one transaction, and records the version in SQLite's user_version.

/** Never edit one that has shipped; add a new one. */
export const MIGRATIONS: ReadonlyArray<string> = [
  `CREATE TABLE sidecar_boots (
     id INTEGER PRIMARY KEY,
     started_at TEXT NOT NULL,
     version TEXT NOT NULL,
     pid INTEGER NOT NULL
   );`,
  // 2: analyses and their verdict history, the webhook outbox, and per-arm state snapshots.
  `CREATE TABLE analyses (
     id TEXT PRIMARY KEY,
     source TEXT NOT NULL CHECK (source IN ('config', 'api')),
     spec_json TEXT NOT NULL,
     state TEXT NOT NULL,
     document_json TEXT,
     started_at TEXT NOT NULL,
     updated_at TEXT NOT NULL,
     stopped_at TEXT
   );
   CREATE TABLE verdict_history (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     analysis_id TEXT NOT NULL,
     verdict TEXT NOT NULL,
     action TEXT NOT NULL,
     reason TEXT NOT NULL,
     document_json TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE INDEX verdict_history_by_analysis ON verdict_history (analysis_id, id);
   CREATE TABLE webhook_outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     event_id TEXT NOT NULL UNIQUE,
     analysis_id TEXT NOT NULL,
     url TEXT NOT NULL,
     secret TEXT NOT NULL,
     body TEXT NOT NULL,
     created_at_ms INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at_ms INTEGER NOT NULL,
     state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
     last_error TEXT,
     finished_at_ms INTEGER
   );
   CREATE INDEX webhook_outbox_pending ON webhook_outbox (state, analysis_id, id);
   CREATE TABLE arm_snapshots (
     analysis_id TEXT PRIMARY KEY,
     state_json TEXT NOT NULL,
     taken_at_ms INTEGER NOT NULL
   );`,
  // 3: indexes for the webhook outbox's per-target bound and for pruning finished rows in small batches
  // (src/publish/webhook-outbox-table.ts), so neither scans the table.
  `CREATE INDEX webhook_outbox_by_target ON webhook_outbox (url, state, id);
   CREATE INDEX webhook_outbox_finished ON webhook_outbox (finished_at_ms) WHERE finished_at_ms IS NOT NULL;`,
];
