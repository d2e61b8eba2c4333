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
  // 4: runs. An analysis becomes a reusable definition; each rollout revision is judged by its own run, with
  // its own evidence (snapshots per run), verdict, history and events. Definitions are carried over from the
  // analyses still active; their evidence and verdicts were per analysis, not per revision, so no run is made
  // of them (the next gate call for a revision starts one). Old history rows keep run_id NULL. A revision
  // deployed again after it ended (a revert, a re-deploy, a retry) is judged by a new attempt.
  `CREATE TABLE analysis_definitions (
     id TEXT PRIMARY KEY,
     source TEXT NOT NULL CHECK (source IN ('config', 'api')),
     spec_json TEXT NOT NULL,
     created_at_ms INTEGER NOT NULL,
     updated_at_ms INTEGER NOT NULL
   );
   INSERT INTO analysis_definitions (id, source, spec_json, created_at_ms, updated_at_ms)
     SELECT id, source, spec_json, CAST(strftime('%s', started_at) AS INTEGER) * 1000,
            CAST(strftime('%s', updated_at) AS INTEGER) * 1000
     FROM analyses WHERE stopped_at IS NULL;
   DROP TABLE arm_snapshots;
   DROP TABLE analyses;
   CREATE TABLE runs (
     id TEXT PRIMARY KEY,
     analysis_id TEXT NOT NULL,
     revision TEXT NOT NULL,
     attempt INTEGER NOT NULL,
     spec_json TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('running', 'finished', 'aborted')),
     verdict TEXT NOT NULL,
     document_json TEXT NOT NULL,
     stages_json TEXT NOT NULL,
     started_at_ms INTEGER NOT NULL,
     clock_started_at_ms INTEGER NOT NULL,
     updated_at_ms INTEGER NOT NULL,
     ended_at_ms INTEGER,
     end_reason TEXT,
     UNIQUE (analysis_id, revision, attempt)
   );
   CREATE INDEX runs_by_analysis ON runs (analysis_id, started_at_ms);
   CREATE INDEX runs_by_state ON runs (state, ended_at_ms);
   CREATE TABLE run_snapshots (
     run_id TEXT PRIMARY KEY,
     state_json TEXT NOT NULL,
     taken_at_ms INTEGER NOT NULL
   );
   ALTER TABLE verdict_history ADD COLUMN run_id TEXT;
   CREATE INDEX verdict_history_by_run ON verdict_history (run_id, id);`,
  // 5: each run's evidence over time for the report page's charts (store/run-series-repository.ts): one row
  // per recorded judge tick, bounded per run by thinning, deleted with the run.
  `CREATE TABLE run_series (
     run_id TEXT NOT NULL,
     at_ms INTEGER NOT NULL,
     point_json TEXT NOT NULL,
     PRIMARY KEY (run_id, at_ms)
   ) WITHOUT ROWID;`,
];
