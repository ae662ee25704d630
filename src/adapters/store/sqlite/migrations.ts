// Numbered schema migrations for the SQLite store, applied in order at start-up.
// Never edit a released migration: add the next number.
import type Database from 'better-sqlite3';

export const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE streams (
  name TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  source_file TEXT NOT NULL,
  input TEXT NOT NULL,
  errors TEXT NOT NULL,
  warnings TEXT NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE input_tags (
  input TEXT NOT NULL,
  component TEXT NOT NULL,
  pull_spec TEXT NOT NULL,
  labels TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (input, component)
);
CREATE TABLE payloads (
  stream TEXT NOT NULL,
  tag TEXT NOT NULL,
  phase TEXT NOT NULL,
  created_at TEXT NOT NULL,
  input_hash TEXT NOT NULL,
  pull_spec TEXT NOT NULL,
  digest TEXT NOT NULL,
  components TEXT NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  annotations TEXT NOT NULL,
  override TEXT,
  qe TEXT NOT NULL,
  phase_changed_at TEXT NOT NULL,
  PRIMARY KEY (stream, tag)
);
CREATE TABLE job_runs (
  id TEXT PRIMARY KEY,
  stream TEXT NOT NULL,
  tag TEXT NOT NULL,
  verify_name TEXT NOT NULL,
  job_name TEXT NOT NULL,
  kind TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  generation INTEGER NOT NULL,
  state TEXT NOT NULL,
  url TEXT NOT NULL,
  upgrade_from TEXT NOT NULL,
  upgrade_from_pull_spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  reason TEXT NOT NULL,
  log_path TEXT NOT NULL,
  FOREIGN KEY (stream, tag) REFERENCES payloads (stream, tag) ON DELETE CASCADE
);
CREATE INDEX job_runs_payload ON job_runs (stream, tag);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  stream TEXT NOT NULL,
  tag TEXT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  message TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX events_stream_tag ON events (stream, tag, id);
CREATE TABLE upgrades (
  run_id TEXT PRIMARY KEY,
  from_tag TEXT NOT NULL,
  to_tag TEXT NOT NULL,
  url TEXT NOT NULL,
  state TEXT NOT NULL
);
CREATE INDEX upgrades_to ON upgrades (to_tag);
CREATE TABLE published (
  stream TEXT NOT NULL,
  name TEXT NOT NULL,
  tag TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (stream, name)
);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
`,
  },
  {
    version: 2,
    sql: `
CREATE INDEX job_runs_pending ON job_runs (state) WHERE state = 'Pending';
CREATE INDEX job_runs_periodic ON job_runs (kind) WHERE kind = 'periodic';
`,
  },
  {
    // frozen job sets and waivers per payload; the launch environment of each run; stream conditions
    version: 3,
    sql: `
ALTER TABLE payloads ADD COLUMN jobs TEXT;
ALTER TABLE job_runs ADD COLUMN env TEXT NOT NULL DEFAULT '{}';
ALTER TABLE streams ADD COLUMN conditions TEXT NOT NULL DEFAULT '{}';
`,
  },
  {
    // bounded growth: events of deleted payloads may be pruned (never those of live payloads, never
    // stream-level ones), with an index for the pruning query; upgrade results go with their runs,
    // so the ones left behind by earlier garbage collections are removed
    version: 4,
    sql: `
DROP TRIGGER events_append_only_delete;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
  WHEN old.tag = '' OR EXISTS (SELECT 1 FROM payloads p WHERE p.stream = old.stream AND p.tag = old.tag)
  BEGIN SELECT RAISE(ABORT, 'events are append-only: the audit trail of a live payload or stream is never deleted'); END;
CREATE INDEX events_prunable ON events (at) WHERE tag <> '';
DELETE FROM upgrades WHERE run_id NOT IN (SELECT id FROM job_runs);
`,
  },
  {
    // operator levers (issue 21): who locked a stream and why; pinned ("reverted") components
    version: 5,
    sql: `
ALTER TABLE streams ADD COLUMN lock_info TEXT;
CREATE TABLE pins (
  input TEXT NOT NULL,
  component TEXT NOT NULL,
  pull_spec TEXT NOT NULL,
  labels TEXT NOT NULL,
  from_tag TEXT NOT NULL,
  reason TEXT NOT NULL,
  pinned_by TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (input, component)
);
`,
  },
  {
    // notifications (issue 19): per webhook, the last event handled (the events table is the
    // outbox) and one row per notification to deliver, with its exact body and attempt state
    version: 6,
    sql: `
CREATE TABLE notify_cursors (
  webhook TEXT PRIMARY KEY,
  event_id INTEGER NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE notify_deliveries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  webhook TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  type TEXT NOT NULL,
  stream TEXT NOT NULL,
  tag TEXT NOT NULL,
  format TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_status INTEGER,
  last_error TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  next_attempt_at TEXT,
  body TEXT NOT NULL,
  UNIQUE (webhook, event_id)
);
CREATE INDEX notify_deliveries_pending ON notify_deliveries (webhook, event_id) WHERE state = 'pending';
CREATE INDEX notify_deliveries_state ON notify_deliveries (state, seq);
CREATE INDEX notify_deliveries_webhook ON notify_deliveries (webhook, state, seq);
CREATE INDEX notify_deliveries_done ON notify_deliveries (updated_at) WHERE state <> 'pending';
`,
  },
];

/**
 * Applies the migrations not yet recorded in `schema_migrations`, each in its own IMMEDIATE
 * transaction (so two processes starting on one file never both apply the same number).
 */
export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  // by version, whatever order the list was written in (numbers are assigned per change; gaps are fine)
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
    db.transaction(() => {
      if (isApplied.get(m.version)) return;
      db.exec(m.sql);
      record.run(m.version, new Date().toISOString());
    }).immediate();
  }
}
