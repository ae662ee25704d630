// PostgreSQL store adapter: the same tables and behaviour as the SQLite store, for deployments
// that run several replicas or want a managed database. Every commit is one BEGIN/COMMIT; load()
// reads each table once inside one read-only snapshot.
//
// JSON columns use the `json` type rather than `jsonb`: jsonb reorders object keys, and key order
// is meaningful here (verify entries, components, annotations iterate in insertion order), so the
// state loaded after a restart must equal the state in memory before it.
import pg from 'pg';
import type { EventRecord, InputTag, Payload, StreamLock, StreamRecord } from '../../../domain/types.ts';
import type { NotificationStore } from '../../../ports/notifications.ts';
import { FencedError, NotLeaderError, type ChangeEntry, type LeaderInfo, type Lease, type Replication } from '../../../ports/replication.ts';
import type { Change, EventQuery, Snapshot, Store } from '../../../ports/store.ts';
import { PostgresNotificationStore } from './notifications.ts';
import {
  EVENT_COLS, INPUT_TAG_COLS, JOB_RUN_COLS, PAYLOAD_COLS, PIN_COLS, PUBLISHED_COLS, STREAM_COLS, UPGRADE_COLS,
  eventParams, inputTagParams, interner, jobRunFromRow, jobRunParams, json, payloadParams, pinFromRow, pinParams, publishedFromRow, publishedParams,
  upgradeFromRow, upgradeParams, type Param, type Row,
} from '../rows.ts';

export interface PostgresStoreOptions {
  /** schema to create (if missing) and use on every pooled connection; default: the server's search_path */
  schema?: string;
  /** pool size (default 4) */
  max?: number;
  /** how long a new connection may take (default 10 s) */
  connectTimeoutMs?: number;
}

type Client = pg.PoolClient;

// ---------------------------------------------------------------------------------------------
// Schema

const MIGRATIONS: { version: number; sql: string }[] = [
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

const CREATE_MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)';
/** serialises migrations of one schema across processes (released at COMMIT/ROLLBACK) */
const LOCK_MIGRATIONS = `SELECT pg_advisory_xact_lock(hashtext('release-controller:migrate:' || coalesce(current_schema(), '')))`;
const APPLIED_VERSIONS = 'SELECT version FROM schema_migrations';
const RECORD_MIGRATION = 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)';

// ---------------------------------------------------------------------------------------------
// Statements. Text is constant; every value is a bind parameter. Names make pg prepare each
// statement once per pooled connection.


const params = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
const prefixed = (alias: string, cols: string) => cols.split(', ').map((c) => `${alias}.${c}`).join(', ');

const SQL = {
  putStream: `INSERT INTO streams (${STREAM_COLS}) VALUES (${params(9)})
    ON CONFLICT (name) DO UPDATE SET config = excluded.config, source_file = excluded.source_file, input = excluded.input,
      errors = excluded.errors, warnings = excluded.warnings, locked = excluded.locked, conditions = excluded.conditions, lock_info = excluded.lock_info`,
  deleteStream: 'DELETE FROM streams WHERE name = $1',
  deleteInputTags: 'DELETE FROM input_tags WHERE input = $1',
  insertInputTag: `INSERT INTO input_tags (${INPUT_TAG_COLS}) VALUES (${params(5)})`,
  deletePins: 'DELETE FROM pins WHERE input = $1',
  insertPin: `INSERT INTO pins (${PIN_COLS}) VALUES (${params(8)})`,
  putPayload: `INSERT INTO payloads (${PAYLOAD_COLS}) VALUES (${params(15)})
    ON CONFLICT (stream, tag) DO UPDATE SET phase = excluded.phase, created_at = excluded.created_at, input_hash = excluded.input_hash,
      pull_spec = excluded.pull_spec, digest = excluded.digest, components = excluded.components, reason = excluded.reason,
      message = excluded.message, annotations = excluded.annotations, override = excluded.override, qe = excluded.qe,
      phase_changed_at = excluded.phase_changed_at, jobs = excluded.jobs`,
  /** job runs go with it (ON DELETE CASCADE); events stay */
  deletePayload: 'DELETE FROM payloads WHERE stream = $1 AND tag = $2',
  /** before deletePayload: the upgrade results of its runs (through job_runs_payload and the upgrades key) */
  deletePayloadUpgrades: 'DELETE FROM upgrades WHERE run_id IN (SELECT id FROM job_runs WHERE stream = $1 AND tag = $2)',
  /**
   * events older than the cutoff (partial index events_prunable) of payloads that are gone, whose
   * trail has no event at or after the cutoff (events_stream_tag)
   */
  pruneEvents: `DELETE FROM events e WHERE e.tag <> '' AND e.at < $1
    AND NOT EXISTS (SELECT 1 FROM payloads p WHERE p.stream = e.stream AND p.tag = e.tag)
    AND NOT EXISTS (SELECT 1 FROM events n WHERE n.stream = e.stream AND n.tag = e.tag AND n.at >= $1)`,
  allRunIds: 'SELECT id FROM job_runs',
  putJobRun: `INSERT INTO job_runs (${JOB_RUN_COLS}) VALUES (${params(18)})
    ON CONFLICT (id) DO UPDATE SET stream = excluded.stream, tag = excluded.tag, verify_name = excluded.verify_name,
      job_name = excluded.job_name, kind = excluded.kind, attempt = excluded.attempt, generation = excluded.generation,
      state = excluded.state, url = excluded.url, upgrade_from = excluded.upgrade_from,
      upgrade_from_pull_spec = excluded.upgrade_from_pull_spec, created_at = excluded.created_at, started_at = excluded.started_at,
      finished_at = excluded.finished_at, reason = excluded.reason, log_path = excluded.log_path, env = excluded.env`,
  appendEvent: `INSERT INTO events (at, stream, tag, type, actor, message, data) VALUES (${params(7)}) RETURNING id`,
  putUpgrade: `INSERT INTO upgrades (${UPGRADE_COLS}) VALUES (${params(5)})
    ON CONFLICT (run_id) DO UPDATE SET from_tag = excluded.from_tag, to_tag = excluded.to_tag, url = excluded.url, state = excluded.state`,
  putPublished: `INSERT INTO published (${PUBLISHED_COLS}) VALUES (${params(4)})
    ON CONFLICT (stream, name) DO UPDATE SET tag = excluded.tag, updated_at = excluded.updated_at`,

  // whole-table reads for load(); COLLATE "C" orders like SQLite (bytewise), whatever the database locale
  allStreams: `SELECT ${STREAM_COLS} FROM streams ORDER BY name COLLATE "C"`,
  allInputTags: `SELECT ${INPUT_TAG_COLS} FROM input_tags ORDER BY input COLLATE "C", component COLLATE "C"`,
  allPayloads: `SELECT ${PAYLOAD_COLS} FROM payloads ORDER BY stream COLLATE "C", created_at COLLATE "C", tag COLLATE "C"`,
  allJobRuns: `SELECT ${JOB_RUN_COLS} FROM job_runs ORDER BY seq`,
  /** runs of payloads still deciding, plus every Pending or periodic run (mirrors isSettled in controller/state.ts) */
  activeJobRuns: `SELECT ${prefixed('r', JOB_RUN_COLS)} FROM job_runs r JOIN payloads p ON p.stream = r.stream AND p.tag = r.tag
    WHERE r.state = 'Pending' OR r.kind = 'periodic' OR p.phase IN ('Pending', 'Ready')
       OR p.qe ->> 'state' IN ('QEPending', 'QERunning')
       OR (p.phase = 'Accepted' AND p.jobs ->> 'ciDone' = 'false')
    ORDER BY r.seq`,
  allUpgrades: `SELECT ${UPGRADE_COLS} FROM upgrades ORDER BY to_tag COLLATE "C", from_tag COLLATE "C", run_id COLLATE "C"`,
  allPublished: `SELECT ${PUBLISHED_COLS} FROM published ORDER BY stream COLLATE "C", name COLLATE "C"`,
  allPins: `SELECT ${PIN_COLS} FROM pins ORDER BY input COLLATE "C", component COLLATE "C"`,

  // event queries, one per filter combination so each can use its index; all take (afterId, limit) last
  events: `SELECT ${EVENT_COLS} FROM events WHERE id > $1 ORDER BY id LIMIT $2`,
  eventsOfStream: `SELECT ${EVENT_COLS} FROM events WHERE stream = $1 AND id > $2 ORDER BY id LIMIT $3`,
  eventsOfTag: `SELECT ${EVENT_COLS} FROM events WHERE tag = $1 AND id > $2 ORDER BY id LIMIT $3`,
  eventsOfPayload: `SELECT ${EVENT_COLS} FROM events WHERE stream = $1 AND tag = $2 AND id > $3 ORDER BY id LIMIT $4`,

  // replicas (issue 17). Every lease test uses the database's clock, so replicas' clocks may differ.
  /**
   * first statement of a fenced commit: the lease is still this holder's and unexpired; FOR UPDATE
   * keeps a takeover (acquireLease) waiting until this commit ends, so the old holder's last commit
   * is ordered entirely before the new holder's first, and change-log seqs follow commit order
   */
  checkLease: `SELECT epoch FROM leader_lease WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > clock_timestamp() FOR UPDATE`,
  /**
   * free, expired, or held under the same name: a replica restarted with its --replica-id (a pod
   * name) takes its lease back at once, with a new epoch that fences the old process's commits
   */
  acquireLease: `UPDATE leader_lease SET holder = $1, url = $2, epoch = epoch + 1, expires_at = clock_timestamp() + $3 * interval '1 millisecond'
    WHERE id = 1 AND (holder = '' OR holder = $1 OR expires_at <= clock_timestamp()) RETURNING epoch`,
  renewLease: `UPDATE leader_lease SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
    WHERE id = 1 AND holder = $1 AND epoch = $2 AND expires_at > clock_timestamp() RETURNING epoch`,
  releaseLease: `UPDATE leader_lease SET holder = '', url = '', expires_at = '-infinity' WHERE id = 1 AND holder = $1 AND epoch = $2`,
  leader: `SELECT holder, url, epoch, expires_at > clock_timestamp() FROM leader_lease WHERE id = 1`,
  appendChange: 'INSERT INTO change_log (changes) VALUES ($1) RETURNING seq',
  notifyChange: 'SELECT pg_notify($1, $2)',
  changesSince: 'SELECT seq, changes FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2',
  prunedSeq: 'SELECT pruned_seq FROM leader_lease WHERE id = 1',
  changeSeq: 'SELECT greatest(coalesce((SELECT max(seq) FROM change_log), 0), (SELECT pruned_seq FROM leader_lease WHERE id = 1))',
  pruneChanges: `WITH gone AS (
      DELETE FROM change_log WHERE at < clock_timestamp() - $1 * interval '1 millisecond' AND seq < (SELECT max(seq) FROM change_log) RETURNING seq)
    UPDATE leader_lease SET pruned_seq = greatest(pruned_seq, (SELECT coalesce(max(seq), 0) FROM gone)) WHERE id = 1
    RETURNING (SELECT count(*) FROM gone)`,
} as const;

/** the channel every replica LISTENs on; the payload is the change-log seq (a hint: followers read the log) */
const CHANGES_CHANNEL = 'release_controller_changes';

type StatementName = keyof typeof SQL;

/** runs a named statement (prepared once per connection), rows as arrays */
async function run(c: Client | pg.Pool, name: StatementName, values: Param[] = []): Promise<Row[]> {
  const r = await c.query<Row>({ name: `rc_${name}`, text: SQL[name], values, rowMode: 'array' });
  return r.rows;
}

// ---------------------------------------------------------------------------------------------
// Record ↔ row mapping. pg parses json columns itself; JSON parameters are passed as text.

const streamParams = (s: StreamRecord): Param[] => [s.name, json(s.config), s.sourceFile, s.input, json(s.errors), json(s.warnings), s.locked, json(s.conditions ?? {}), s.lock ? json(s.lock) : null];

const streamFromRow = (r: Row): StreamRecord => ({
  name: r[0] as string,
  config: r[1] as StreamRecord['config'],
  sourceFile: r[2] as string,
  input: r[3] as string,
  errors: r[4] as string[],
  warnings: r[5] as string[],
  locked: r[6] as boolean,
  ...(r[7] && Object.keys(r[7] as object).length ? { conditions: r[7] as Record<string, string> } : {}),
  ...(r[8] ? { lock: r[8] as StreamLock } : {}),
});

const inputTagFromRow = (r: Row): InputTag => ({
  input: r[0] as string,
  component: r[1] as string,
  pullSpec: r[2] as string,
  labels: r[3] as InputTag['labels'],
  updatedAt: r[4] as string,
});

const payloadFromRow = (r: Row): Payload => ({
  stream: r[0] as string,
  tag: r[1] as string,
  phase: r[2] as Payload['phase'],
  createdAt: r[3] as string,
  inputHash: r[4] as string,
  pullSpec: r[5] as string,
  digest: r[6] as string,
  components: r[7] as Payload['components'],
  reason: r[8] as string,
  message: r[9] as string,
  annotations: r[10] as Payload['annotations'],
  override: r[11] as Payload['override'],
  qe: r[12] as Payload['qe'],
  phaseChangedAt: r[13] as string,
  ...(r[14] === null || r[14] === undefined ? {} : { jobs: r[14] as Payload['jobs'] }),
});

const eventFromRow = (r: Row): EventRecord => ({
  id: Number(r[0]), // BIGINT arrives as a string
  at: r[1] as string,
  stream: r[2] as string,
  tag: r[3] as string,
  type: r[4] as string,
  actor: r[5] as string,
  message: r[6] as string,
  data: r[7] as EventRecord['data'],
});

// ---------------------------------------------------------------------------------------------

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const DEFAULT_EVENT_LIMIT = 1000;
const MAX_EVENT_LIMIT = 10_000;

export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  const { schema } = opts;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}: letters, digits and _ only`);
  const clientConfig: pg.ClientConfig = {
    connectionString: url,
    // a server that does not answer (a network partition) fails a connect instead of hanging the write chain
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    // notices a dead peer on an idle pooled connection
    keepAlive: true,
    // every pooled connection starts with the schema first on its search_path
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  };
  const pool = new pg.Pool({ ...clientConfig, max: opts.max ?? 4 });
  // an idle connection dropped by the server (restart, pg_terminate_backend) must not crash the
  // process; the pool discards it and the next checkout connects anew
  pool.on('error', () => {});
  try {
    if (schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
    else await pool.query('SELECT 1');
  } catch (err) {
    await pool.end();
    throw err;
  }
  return new PostgresStore(pool, clientConfig);
}

class PostgresStore implements Store, Replication {
  private closed = false;
  readonly notifications: NotificationStore;
  readonly replication: Replication = this;
  /** leadership is in force: commits need a lease (enforce()) */
  private enforced = false;
  private lease: Lease | null = null;
  private lastOwnSeq = 0;
  /** stop functions of the LISTEN connections (close() ends them) */
  private readonly listeners = new Set<() => Promise<void>>();

  constructor(private readonly pool: pg.Pool, private readonly clientConfig: pg.ClientConfig) {
    this.notifications = new PostgresNotificationStore(pool, () => this.open());
  }

  // ------------------------------------------------------------- replication (issue 17)
  //
  // Leadership is a lease row with a fencing epoch, not an advisory lock: a lock lives as long as
  // one connection, so a paused leader (SIGSTOP, a long GC) would keep it and a dead connection
  // would end it without the holder knowing; a lease expires by the database's clock, and every
  // commit of the holder checks (and locks) the row in its own transaction, so a stale leader's
  // write is refused by the database however late it arrives.

  enforce(): void {
    this.enforced = true;
  }

  async acquire(holder: string, url: string, durationMs: number): Promise<Lease | null> {
    this.open();
    const rows = await run(this.pool, 'acquireLease', [holder, url, Math.max(1, Math.round(durationMs))]);
    return rows.length ? { holder, epoch: Number(rows[0]![0]) } : null;
  }

  async renew(lease: Lease, durationMs: number): Promise<boolean> {
    this.open();
    return (await run(this.pool, 'renewLease', [lease.holder, lease.epoch, Math.max(1, Math.round(durationMs))])).length > 0;
  }

  async release(lease: Lease): Promise<void> {
    this.open();
    await run(this.pool, 'releaseLease', [lease.holder, lease.epoch]);
  }

  async leader(): Promise<LeaderInfo | null> {
    this.open();
    const [r] = await run(this.pool, 'leader');
    if (!r || r[0] === '') return null;
    return { holder: r[0] as string, url: r[1] as string, epoch: Number(r[2]), live: r[3] as boolean };
  }

  fence(lease: Lease | null): void {
    this.lease = lease;
  }

  ownSeq(): number {
    return this.lastOwnSeq;
  }

  async changesSince(seq: number, limit: number): Promise<ChangeEntry[] | 'gap'> {
    // one snapshot: the pruning horizon and the entries agree
    return this.transaction(async (c) => {
      const pruned = Number((await run(c, 'prunedSeq'))[0]![0]);
      if (seq < pruned) return 'gap' as const;
      return (await run(c, 'changesSince', [seq, limit])).map((r) => ({ seq: Number(r[0]), changes: r[1] as Change[] }));
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async snapshot(): Promise<Snapshot & { changeSeq: number }> {
    return this.transaction(async (c) => {
      const s = await readAll(c, false);
      // the change-log position this snapshot includes (a follower replays from there)
      return { ...s, changeSeq: Number((await run(c, 'changeSeq'))[0]![0]) };
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async listen(onChange: () => void, onError: (err: Error) => void): Promise<() => Promise<void>> {
    this.open();
    // a dedicated connection: a pooled one would be handed to others between notifications
    const client = new pg.Client(this.clientConfig);
    let ended = false;
    client.on('error', (err) => {
      if (!ended) onError(err);
    });
    client.on('end', () => {
      if (!ended) onError(new Error('the LISTEN connection ended'));
    });
    client.on('notification', (n) => {
      if (n.channel === CHANGES_CHANNEL) onChange();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      ended = true;
      await client.end().catch(() => undefined);
      throw err;
    }
    const stop = async () => {
      if (ended) return;
      ended = true;
      this.listeners.delete(stop);
      await client.end().catch(() => undefined);
    };
    this.listeners.add(stop);
    return stop;
  }

  async pruneChanges(olderThanMs: number): Promise<number> {
    this.open();
    const r = await run(this.pool, 'pruneChanges', [Math.max(0, Math.round(olderThanMs))]);
    return Number(r[0]?.[0] ?? 0);
  }

  async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await c.query(LOCK_MIGRATIONS);
      await c.query(CREATE_MIGRATIONS_TABLE);
      const applied = new Set((await c.query<{ version: number }>(APPLIED_VERSIONS)).rows.map((r) => r.version));
      // by version, whatever order the list was written in (numbers are assigned per change; gaps are fine)
      for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
        if (applied.has(m.version)) continue;
        await c.query(m.sql);
        await c.query(RECORD_MIGRATION, [m.version, new Date().toISOString()]);
      }
    });
  }

  async load(opts: { activeRunsOnly?: boolean } = {}): Promise<Snapshot> {
    // one snapshot for all tables, so a concurrent commit is seen entirely or not at all
    return this.transaction((c) => readAll(c, opts.activeRunsOnly ?? false), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async commit(changes: Change[]): Promise<number[]> {
    const lease = this.lease;
    if (this.enforced && !lease) {
      this.open();
      throw new NotLeaderError('this replica does not hold the leader lease: it may not write');
    }
    let seq = 0;
    const ids = await this.transaction(async (c) => {
      if (lease && (await run(c, 'checkLease', [lease.holder, lease.epoch])).length === 0) {
        throw new FencedError(`the leader lease of epoch ${lease.epoch} is no longer held by ${lease.holder} (expired or taken over): nothing was written`);
      }
      const ids: number[] = [];
      for (const change of changes) await applyChange(c, change, ids);
      if (this.enforced && changes.length) {
        const [row] = await run(c, 'appendChange', [json(withEventIds(changes, ids))]);
        seq = Number(row![0]);
        await run(c, 'notifyChange', [CHANGES_CHANNEL, String(seq)]);
      }
      return ids;
    });
    if (seq > this.lastOwnSeq) this.lastOwnSeq = seq;
    return ids;
  }

  async listEvents(q: EventQuery): Promise<EventRecord[]> {
    this.open();
    const after = q.afterId ?? 0;
    const limit = eventLimit(q.limit);
    let rows: Row[];
    if (q.stream !== undefined && q.tag !== undefined) rows = await run(this.pool, 'eventsOfPayload', [q.stream, q.tag, after, limit]);
    else if (q.stream !== undefined) rows = await run(this.pool, 'eventsOfStream', [q.stream, after, limit]);
    else if (q.tag !== undefined) rows = await run(this.pool, 'eventsOfTag', [q.tag, after, limit]);
    else rows = await run(this.pool, 'events', [after, limit]);
    return rows.map(eventFromRow);
  }

  async pruneEvents(before: string): Promise<number> {
    this.open();
    const r = await this.pool.query({ name: 'rc_pruneEvents', text: SQL.pruneEvents, values: [before] });
    return r.rowCount ?? 0;
  }

  async listRunIds(): Promise<string[]> {
    this.open();
    return (await run(this.pool, 'allRunIds')).map((r) => r[0] as string);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.listeners].map((stop) => stop()));
    await this.pool.end();
  }

  private open(): void {
    if (this.closed) throw new Error('store is closed');
  }

  /**
   * Runs `fn` between BEGIN and COMMIT on one connection; ROLLBACK (and rethrow) on any error.
   * A connection that failed (server restart, killed backend, network) is released as broken, so
   * the pool drops it and the caller's retry gets a fresh one; a connect failure is rethrown as is
   * (ECONNREFUSED, 57P03, a timeout), for the controller to retry.
   */
  private async transaction<T>(fn: (c: Client) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    this.open();
    const c = await this.pool.connect();
    // the pool listens for errors on idle clients only: a checked-out client whose connection ends
    // emits 'error', which must not reach the process as an uncaught exception
    let broken: Error | undefined;
    const onError = (err: Error) => (broken ??= err);
    c.on('error', onError);
    try {
      await c.query(begin);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      if (!broken && isConnectionFault(err)) broken = err as Error;
      if (!broken) {
        try {
          await c.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error; // the connection is unusable: drop it from the pool
        }
      }
      throw err;
    } finally {
      c.removeListener('error', onError);
      c.release(broken);
    }
  }
}

/** every table, inside the caller's (read-only, repeatable-read) transaction */
async function readAll(c: Client, activeRunsOnly: boolean): Promise<Snapshot> {
  const intern = interner();
  return {
    streams: (await run(c, 'allStreams')).map(streamFromRow),
    inputTags: (await run(c, 'allInputTags')).map(inputTagFromRow),
    payloads: (await run(c, 'allPayloads')).map(payloadFromRow),
    jobRuns: (await run(c, activeRunsOnly ? 'activeJobRuns' : 'allJobRuns')).map((r) => jobRunFromRow(r, intern)),
    upgrades: (await run(c, 'allUpgrades')).map(upgradeFromRow),
    published: (await run(c, 'allPublished')).map(publishedFromRow),
    pins: (await run(c, 'allPins')).map((r) => pinFromRow(r, r[3] as Record<string, string>)),
  };
}

/** the connection itself failed (not the statement): it cannot be used for ROLLBACK or again */
function isConnectionFault(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code.startsWith('08') || code.startsWith('57P') || /^E[A-Z]+$/.test(code);
  return err instanceof Error && /^(Connection terminated|Client has encountered a connection error|Client was closed)/.test(err.message);
}

async function applyChange(c: Client, ch: Change, ids: number[]): Promise<void> {
  switch (ch.kind) {
    case 'putStream':
      await run(c, 'putStream', streamParams(ch.stream));
      return;
    case 'deleteStream':
      await run(c, 'deleteStream', [ch.name]);
      return;
    case 'setInputTags':
      await run(c, 'deleteInputTags', [ch.input]);
      for (const t of ch.tags) await run(c, 'insertInputTag', inputTagParams(ch.input, t));
      return;
    case 'putPayload':
      await run(c, 'putPayload', payloadParams(ch.payload));
      return;
    case 'deletePayload':
      await run(c, 'deletePayloadUpgrades', [ch.stream, ch.tag]);
      await run(c, 'deletePayload', [ch.stream, ch.tag]);
      return;
    case 'putJobRun':
      await run(c, 'putJobRun', jobRunParams(ch.run));
      return;
    case 'appendEvent': {
      const [row] = await run(c, 'appendEvent', eventParams(ch.event));
      ids.push(Number(row![0]));
      return;
    }
    case 'putUpgrade':
      await run(c, 'putUpgrade', upgradeParams(ch.result));
      return;
    case 'putPublished':
      await run(c, 'putPublished', publishedParams(ch.ref));
      return;
    case 'setPins':
      await run(c, 'deletePins', [ch.input]);
      for (const p of ch.pins) await run(c, 'insertPin', pinParams(ch.input, p));
      return;
  }
}

/** the changes as committed, appended events with the ids the database gave them (for followers' feeds) */
function withEventIds(changes: Change[], ids: number[]): Change[] {
  let i = 0;
  return changes.map((c) => (c.kind === 'appendEvent' ? { ...c, event: { ...c.event, id: ids[i++] } } : c));
}

/** 1…10 000, default 1000; anything not a number falls back to the default */
function eventLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_EVENT_LIMIT;
  return Math.max(1, Math.min(Math.trunc(limit), MAX_EVENT_LIMIT));
}
