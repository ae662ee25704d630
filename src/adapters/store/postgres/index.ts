// PostgreSQL store adapter: the same tables and behaviour as the SQLite store, for deployments
// that run several replicas or want a managed database. Every commit is one BEGIN/COMMIT; load()
// reads each table once inside one read-only snapshot.
//
// JSON columns use the `json` type rather than `jsonb`: jsonb reorders object keys, and key order
// is meaningful here (verify entries, components, annotations iterate in insertion order), so the
// state loaded after a restart must equal the state in memory before it.
import pg from 'pg';
import type { EventRecord, InputTag, JobRun, Payload, StreamLock, StreamRecord } from '../../../domain/types.ts';
import type { NotificationStore } from '../../../ports/notifications.ts';
import { FencedError, NotLeaderError, type ChangeEntry, type LeaderInfo, type Lease, type Replication } from '../../../ports/replication.ts';
import type { Change, EventQuery, Snapshot, Store } from '../../../ports/store.ts';
import { POSTGRES, migrationsFor, renumberLegacyPostgres } from '../migrations.ts';
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

/** the shared list as PostgreSQL runs it, in version order */
const MIGRATIONS = migrationsFor(POSTGRES);

const CREATE_MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)';
/** serialises migrations of one schema across processes (released at COMMIT/ROLLBACK) */
const LOCK_MIGRATIONS = `SELECT pg_advisory_xact_lock(hashtext('release-controller:migrate:' || coalesce(current_schema(), '')))`;
const APPLIED_VERSIONS = 'SELECT version FROM schema_migrations';
const RECORD_MIGRATION = 'INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)';
const RENUMBER_MIGRATION = 'UPDATE schema_migrations SET version = $2 WHERE version = $1';

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
  putPayload: `INSERT INTO payloads (${PAYLOAD_COLS}) VALUES (${params(16)})
    ON CONFLICT (stream, tag) DO UPDATE SET phase = excluded.phase, created_at = excluded.created_at, input_hash = excluded.input_hash,
      pull_spec = excluded.pull_spec, digest = excluded.digest, components = excluded.components, reason = excluded.reason,
      message = excluded.message, annotations = excluded.annotations, override = excluded.override, qe = excluded.qe,
      phase_changed_at = excluded.phase_changed_at, jobs = excluded.jobs,
      mirror_repository = excluded.mirror_repository`,
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
  // runs of deciding payloads (walked from the payloads through the run index) plus the Pending and
  // periodic runs (partial indexes), as SQLite's: one filter over every run joined to its payload
  // took 6.6 s at 1.9M runs, this 0.4 s
  activeJobRuns: `SELECT ${prefixed('r', JOB_RUN_COLS)} FROM job_runs r WHERE r.id IN (
      SELECT r2.id FROM payloads p JOIN job_runs r2 ON r2.stream = p.stream AND r2.tag = p.tag
        WHERE p.phase IN ('Pending', 'Ready') OR p.qe ->> 'state' IN ('QEPending', 'QERunning')
           OR (p.phase = 'Accepted' AND p.jobs ->> 'ciDone' = 'false')
      UNION SELECT id FROM job_runs WHERE state = 'Pending'
      UNION SELECT id FROM job_runs WHERE kind = 'periodic')
    ORDER BY r.seq`,
  runsOfPayload: `SELECT ${JOB_RUN_COLS} FROM job_runs WHERE stream = $1 AND tag = $2 ORDER BY seq`,
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
  ...(r[15] ? { mirrorRepository: r[15] as string } : {}),
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

  async snapshot(opts: { activeRunsOnly?: boolean } = {}): Promise<Snapshot & { changeSeq: number }> {
    return this.transaction(async (c) => {
      const s = await readAll(c, opts.activeRunsOnly ?? false);
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
      let applied = new Set((await c.query<{ version: number }>(APPLIED_VERSIONS)).rows.map((r) => r.version));
      const renumber = renumberLegacyPostgres([...applied]);
      if (renumber) {
        // a schema written before the list was shared: renumber what it recorded, highest first,
        // so no new number meets an old one still to be moved
        for (const [from, to] of [...renumber].sort((a, b) => b[0] - a[0])) await c.query(RENUMBER_MIGRATION, [from, to]);
        applied = new Set(renumber.values());
      }
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        if (m.sql.trim()) await c.query(m.sql);
        await c.query(RECORD_MIGRATION, [m.version, new Date().toISOString()]);
      }
    });
  }

  async load(opts: { activeRunsOnly?: boolean } = {}): Promise<Snapshot> {
    // one snapshot for all tables, so a concurrent commit is seen entirely or not at all
    return this.transaction((c) => readAll(c, opts.activeRunsOnly ?? false), 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async runsOf(stream: string, tag: string): Promise<JobRun[]> {
    this.open();
    return (await run(this.pool, 'runsOfPayload', [stream, tag])).map((r) => jobRunFromRow(r));
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
