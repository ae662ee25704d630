// Numbered schema migrations of every store adapter, written once. Each adapter applies this list
// in version order and records what it applied in `schema_migrations`; never edit a released
// migration, add the next number (numbers are shared: a migration one dialect does not need is
// recorded there all the same, with nothing run).
//
// What differs between the databases is said once, in Dialect: JSON columns (PostgreSQL `json`,
// not `jsonb`, which reorders object keys; SQLite text), booleans, identity keys, the insertion
// order of job runs (SQLite's rowid; a PostgreSQL identity column). Where a migration's statements
// differ entirely (triggers), or a table exists in one database only (the replica lease and change
// log), the migration carries a fragment per dialect.

export interface Dialect {
  name: 'sqlite' | 'postgres';
  /** a JSON document column */
  json: string;
  /** a NOT NULL boolean column defaulting to false */
  boolFalse: string;
  /** a 64-bit integer column */
  bigint: string;
  /** an integer primary key the database assigns in increasing order */
  serialKey: string;
  /** a job_runs column keeping insertion order across upserts ('' where the database has one: rowid) */
  runSeq: string;
}

export const SQLITE: Dialect = {
  name: 'sqlite',
  json: 'TEXT',
  boolFalse: 'INTEGER NOT NULL DEFAULT 0',
  bigint: 'INTEGER',
  serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  runSeq: '',
};

export const POSTGRES: Dialect = {
  name: 'postgres',
  json: 'JSON',
  boolFalse: 'BOOLEAN NOT NULL DEFAULT false',
  bigint: 'BIGINT',
  serialKey: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  // an upsert keeps the first seq, like SQLite's rowid
  runSeq: '\n  seq BIGINT GENERATED ALWAYS AS IDENTITY,',
};

export interface Migration {
  version: number;
  /** the statements for one dialect ('' when this migration has nothing to do there) */
  sql: (d: Dialect) => string;
}

/** per-dialect fragments where the statements differ entirely */
const only = (d: Dialect, f: { sqlite?: string; postgres?: string }): string => f[d.name] ?? '';

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: (d) => `
CREATE TABLE streams (
  name TEXT PRIMARY KEY,
  config ${d.json} NOT NULL,
  source_file TEXT NOT NULL,
  input TEXT NOT NULL,
  errors ${d.json} NOT NULL,
  warnings ${d.json} NOT NULL,
  locked ${d.boolFalse}
);
CREATE TABLE input_tags (
  input TEXT NOT NULL,
  component TEXT NOT NULL,
  pull_spec TEXT NOT NULL,
  labels ${d.json} NOT NULL,
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
  components ${d.json} NOT NULL,
  reason TEXT NOT NULL,
  message TEXT NOT NULL,
  annotations ${d.json} NOT NULL,
  override ${d.json},
  qe ${d.json} NOT NULL,
  phase_changed_at TEXT NOT NULL,
  PRIMARY KEY (stream, tag)
);
CREATE TABLE job_runs (
  id TEXT PRIMARY KEY,${d.runSeq}
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
  id ${d.serialKey},
  at TEXT NOT NULL,
  stream TEXT NOT NULL,
  tag TEXT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  message TEXT NOT NULL,
  data ${d.json} NOT NULL
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
${only(d, {
  sqlite: `CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;`,
  postgres: `CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();`,
})}
`,
  },
  {
    // the partial indexes the query of active runs uses (load with activeRunsOnly)
    version: 2,
    sql: () => `
CREATE INDEX job_runs_pending ON job_runs (state) WHERE state = 'Pending';
CREATE INDEX job_runs_periodic ON job_runs (kind) WHERE kind = 'periodic';
`,
  },
  {
    // frozen job sets and waivers per payload; the launch environment of each run; stream conditions
    version: 3,
    sql: (d) => `
ALTER TABLE payloads ADD COLUMN jobs ${d.json};
ALTER TABLE job_runs ADD COLUMN env ${d.json} NOT NULL DEFAULT '{}';
ALTER TABLE streams ADD COLUMN conditions ${d.json} NOT NULL DEFAULT '{}';
`,
  },
  {
    // bounded growth: events of deleted payloads may be pruned (never those of live payloads, never
    // stream-level ones), with an index for the pruning query; upgrade results go with their runs,
    // so the ones left behind by earlier garbage collections are removed
    version: 4,
    sql: (d) => `
${only(d, {
  sqlite: `DROP TRIGGER events_append_only_delete;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
  WHEN old.tag = '' OR EXISTS (SELECT 1 FROM payloads p WHERE p.stream = old.stream AND p.tag = old.tag)
  BEGIN SELECT RAISE(ABORT, 'events are append-only: the audit trail of a live payload or stream is never deleted'); END;`,
  postgres: `DROP TRIGGER events_no_update_delete ON events;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION events_append_only();
-- SET search_path FROM CURRENT: the function finds this schema's payloads from any session
CREATE FUNCTION events_prune_only() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF OLD.tag = '' OR EXISTS (SELECT 1 FROM payloads p WHERE p.stream = OLD.stream AND p.tag = OLD.tag) THEN
    RAISE EXCEPTION 'events are append-only: the audit trail of a live payload or stream is never deleted';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER events_no_live_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION events_prune_only();`,
})}
CREATE INDEX events_prunable ON events (at) WHERE tag <> '';
DELETE FROM upgrades WHERE NOT EXISTS (SELECT 1 FROM job_runs r WHERE r.id = upgrades.run_id);
`,
  },
  {
    // operator levers (issue 21): who locked a stream and why; pinned ("reverted") components
    version: 5,
    sql: (d) => `
ALTER TABLE streams ADD COLUMN lock_info ${d.json};
CREATE TABLE pins (
  input TEXT NOT NULL,
  component TEXT NOT NULL,
  pull_spec TEXT NOT NULL,
  labels ${d.json} NOT NULL,
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
    sql: (d) => `
CREATE TABLE notify_cursors (
  webhook TEXT PRIMARY KEY,
  event_id ${d.bigint} NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE notify_deliveries (
  seq ${d.serialKey},
  webhook TEXT NOT NULL,
  event_id ${d.bigint} NOT NULL,
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
    // replicas (issue 17), PostgreSQL only: the leader lease (one row; epoch fences the holder's
    // commits) and the change log followers replay (each committed transaction's changes, in
    // commit order); pruned_seq is the newest entry pruned, so a follower behind it reloads
    // instead of skipping
    version: 7,
    sql: (d) =>
      only(d, {
        postgres: `
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
      }),
  },
  {
    // the payload's mirror repository (upstream's mirror stream: one tag per component), which
    // jobs get as IMAGE_FORMAT; '' when the builder wrote none
    version: 8,
    sql: () => `
ALTER TABLE payloads ADD COLUMN mirror_repository TEXT NOT NULL DEFAULT '';
`,
  },
];

/** the list for one dialect, in version order */
export function migrationsFor(d: Dialect): { version: number; sql: string }[] {
  return [...MIGRATIONS].sort((a, b) => a.version - b.version).map((m) => ({ version: m.version, sql: m.sql(d) }));
}

/**
 * Before this list was shared, the PostgreSQL store numbered its own migrations: its 1 was
 * today's 1, its 2–5 today's 3–6, its 6 today's 7, and it had no 2 (the partial indexes, which
 * such a schema then gets as a missing migration). A schema at that numbering is recognised by
 * having versions but none past 6 (every migrate() applies the whole list in one transaction, so
 * a schema at today's numbering always has 7); its recorded versions are renumbered once.
 */
export const LEGACY_POSTGRES_VERSIONS: ReadonlyMap<number, number> = new Map([
  [1, 1],
  [2, 3],
  [3, 4],
  [4, 5],
  [5, 6],
  [6, 7],
]);

/** the versions recorded by a schema at the PostgreSQL store's own numbering, renumbered; null when already at today's */
export function renumberLegacyPostgres(applied: readonly number[]): Map<number, number> | null {
  if (!applied.length || Math.max(...applied) > Math.max(...LEGACY_POSTGRES_VERSIONS.keys())) return null;
  const out = new Map<number, number>();
  for (const v of applied) {
    const to = LEGACY_POSTGRES_VERSIONS.get(v);
    if (to === undefined) throw new Error(`schema_migrations records version ${v}, unknown to this release`);
    out.set(v, to);
  }
  return out;
}
