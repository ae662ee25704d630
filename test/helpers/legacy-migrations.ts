// The schemas as the stores wrote them before one migration list drove both (issue 17 item 5),
// copied verbatim: the SQLite store at versions 1-6 and the PostgreSQL store at its own versions
// 1-6 (its 2-5 were SQLite's 3-6, its 6 the replica tables). Tests build a database with these,
// then open it with today's store. Never edit: they are what deployed databases contain.

export const LEGACY_SQLITE_MIGRATIONS: { version: number; sql: string }[] = [
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

export const LEGACY_POSTGRES_MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE streams (
  name TEXT PRIMARY KEY,
  config JSON NOT NULL,
  source_file TEXT NOT NULL,
  input TEXT NOT NULL,
  errors JSON NOT NULL,
  warnings JSON NOT NULL,
  locked BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE input_tags (
  input TEXT NOT NULL,
  component TEXT NOT NULL,
  pull_spec TEXT NOT NULL,
  labels JSON NOT NULL,
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
  components JSON NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  annotations JSON NOT NULL,
  override JSON,
  qe JSON NOT NULL,
  phase_changed_at TEXT NOT NULL,
  PRIMARY KEY (stream, tag)
);
-- seq keeps insertion order (an upsert keeps the first seq), like SQLite's rowid
CREATE TABLE job_runs (
  id TEXT PRIMARY KEY,
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
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
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at TEXT NOT NULL,
  stream TEXT NOT NULL,
  tag TEXT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  message TEXT NOT NULL,
  data JSON NOT NULL
);
CREATE INDEX events_stream_tag ON events (stream, tag, id);
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
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
`,
  },
  {
    // frozen job sets and waivers per payload; the launch environment of each run; stream conditions
    version: 2,
    sql: `
ALTER TABLE payloads ADD COLUMN jobs JSON;
ALTER TABLE job_runs ADD COLUMN env JSON NOT NULL DEFAULT '{}';
ALTER TABLE streams ADD COLUMN conditions JSON NOT NULL DEFAULT '{}';
`,
  },
  {
    // bounded growth: events of deleted payloads may be pruned (never those of live payloads, never
    // stream-level ones), with an index for the pruning query; upgrade results go with their runs,
    // so the ones left behind by earlier garbage collections are removed
    version: 3,
    sql: `
DROP TRIGGER events_no_update_delete ON events;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
-- SET search_path FROM CURRENT: the function finds this schema's payloads from any session
CREATE FUNCTION events_prune_only() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF OLD.tag = '' OR EXISTS (SELECT 1 FROM payloads p WHERE p.stream = OLD.stream AND p.tag = OLD.tag) THEN
    RAISE EXCEPTION 'events are append-only: the audit trail of a live payload or stream is never deleted';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER events_no_live_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_prune_only();
CREATE INDEX events_prunable ON events (at) WHERE tag <> '';
DELETE FROM upgrades u WHERE NOT EXISTS (SELECT 1 FROM job_runs r WHERE r.id = u.run_id);
`,
  },
  {
    // operator levers (issue 21): who locked a stream and why; pinned ("reverted") components
    version: 4,
    sql: `
ALTER TABLE streams ADD COLUMN lock_info JSON;
CREATE TABLE pins (
  input TEXT NOT NULL,
  component TEXT NOT NULL,
  pull_spec TEXT NOT NULL,
  labels JSON NOT NULL,
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
    version: 5,
    sql: `
CREATE TABLE notify_cursors (
  webhook TEXT PRIMARY KEY,
  event_id BIGINT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE notify_deliveries (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  webhook TEXT NOT NULL,
  event_id BIGINT NOT NULL,
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
  {
    // replicas (issue 17): the leader lease (one row; epoch fences the holder's commits) and the
    // change log followers replay (each committed transaction's changes, in commit order);
    // pruned_seq is the newest entry pruned, so a follower behind it reloads instead of skipping
    version: 6,
    sql: `
CREATE TABLE leader_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  holder TEXT NOT NULL,
  url TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  pruned_seq BIGINT NOT NULL
);
INSERT INTO leader_lease (id, holder, url, epoch, expires_at, pruned_seq) VALUES (1, '', '', 0, '-infinity', 0);
CREATE TABLE change_log (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
  changes JSON NOT NULL
);
CREATE INDEX change_log_at ON change_log (at);
`,
  },
];
