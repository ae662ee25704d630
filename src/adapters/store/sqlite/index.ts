// SQLite store adapter (embedded default): better-sqlite3, WAL, foreign keys, numbered migrations.
// Every commit is one transaction; load() reads each table once with raw rows for speed.
import Database from 'better-sqlite3';
import type { EventRecord, InputTag, JobRun, Payload, PublishedRef, StreamRecord, UpgradeResult } from '../../../domain/types.ts';
import type { Change, EventQuery, Snapshot, Store } from '../../../ports/store.ts';
import { MIGRATIONS } from './migrations.ts';

type Row = unknown[];

function toRun(r: Row): JobRun {
  return {
    id: r[0] as string,
    stream: r[1] as string,
    tag: r[2] as string,
    verifyName: r[3] as string,
    jobName: r[4] as string,
    kind: r[5] as JobRun['kind'],
    attempt: r[6] as number,
    generation: r[7] as number,
    state: r[8] as JobRun['state'],
    url: r[9] as string,
    upgradeFrom: r[10] as string,
    upgradeFromPullSpec: r[11] as string,
    createdAt: r[12] as string,
    startedAt: r[13] as string | null,
    finishedAt: r[14] as string | null,
    reason: r[15] as string,
    logPath: r[16] as string,
  };
}

export function openSqliteStore(path: string): Store {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return new SqliteStore(db);
}

const PAYLOAD_COLS = 'stream, tag, phase, created_at, input_hash, pull_spec, digest, components, reason, message, annotations, override, qe, phase_changed_at';
const RUN_COLS = 'id, stream, tag, verify_name, job_name, kind, attempt, generation, state, url, upgrade_from, upgrade_from_pull_spec, created_at, started_at, finished_at, reason, log_path';

class SqliteStore implements Store {
  private stmts: ReturnType<SqliteStore['prepare']> | null = null;
  private closed = false;

  constructor(private readonly db: Database.Database) {}

  async migrate(): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, new Date().toISOString());
      })();
    }
    this.stmts = null;
  }

  private prepare() {
    const db = this.db;
    return {
      putStream: db.prepare(
        `INSERT INTO streams (name, config, source_file, input, errors, warnings, locked) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET config = excluded.config, source_file = excluded.source_file, input = excluded.input,
           errors = excluded.errors, warnings = excluded.warnings, locked = excluded.locked`,
      ),
      deleteStream: db.prepare('DELETE FROM streams WHERE name = ?'),
      deleteInputTags: db.prepare('DELETE FROM input_tags WHERE input = ?'),
      insertInputTag: db.prepare('INSERT INTO input_tags (input, component, pull_spec, labels, updated_at) VALUES (?, ?, ?, ?, ?)'),
      putPayload: db.prepare(
        `INSERT INTO payloads (${PAYLOAD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream, tag) DO UPDATE SET phase = excluded.phase, created_at = excluded.created_at, input_hash = excluded.input_hash,
           pull_spec = excluded.pull_spec, digest = excluded.digest, components = excluded.components, reason = excluded.reason,
           message = excluded.message, annotations = excluded.annotations, override = excluded.override, qe = excluded.qe,
           phase_changed_at = excluded.phase_changed_at`,
      ),
      deletePayload: db.prepare('DELETE FROM payloads WHERE stream = ? AND tag = ?'),
      putJobRun: db.prepare(
        `INSERT INTO job_runs (${RUN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET stream = excluded.stream, tag = excluded.tag, verify_name = excluded.verify_name,
           job_name = excluded.job_name, kind = excluded.kind, attempt = excluded.attempt, generation = excluded.generation,
           state = excluded.state, url = excluded.url, upgrade_from = excluded.upgrade_from,
           upgrade_from_pull_spec = excluded.upgrade_from_pull_spec, created_at = excluded.created_at, started_at = excluded.started_at,
           finished_at = excluded.finished_at, reason = excluded.reason, log_path = excluded.log_path`,
      ),
      appendEvent: db.prepare('INSERT INTO events (at, stream, tag, type, actor, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      putUpgrade: db.prepare(
        `INSERT INTO upgrades (run_id, from_tag, to_tag, url, state) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (run_id) DO UPDATE SET from_tag = excluded.from_tag, to_tag = excluded.to_tag, url = excluded.url, state = excluded.state`,
      ),
      runsOf: db.prepare(`SELECT ${RUN_COLS} FROM job_runs WHERE stream = ? AND tag = ? ORDER BY rowid`),
      putPublished: db.prepare(
        `INSERT INTO published (stream, name, tag, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (stream, name) DO UPDATE SET tag = excluded.tag, updated_at = excluded.updated_at`,
      ),
    };
  }

  private get s() {
    if (this.closed) throw new Error('store is closed');
    return (this.stmts ??= this.prepare());
  }

  async load(opts: { activeRunsOnly?: boolean } = {}): Promise<Snapshot> {
    const db = this.db;
    const streams = (db.prepare('SELECT name, config, source_file, input, errors, warnings, locked FROM streams ORDER BY name').raw().all() as Row[]).map(
      (r): StreamRecord => ({
        name: r[0] as string,
        config: JSON.parse(r[1] as string),
        sourceFile: r[2] as string,
        input: r[3] as string,
        errors: JSON.parse(r[4] as string),
        warnings: JSON.parse(r[5] as string),
        locked: r[6] === 1,
      }),
    );
    const inputTags = (db.prepare('SELECT input, component, pull_spec, labels, updated_at FROM input_tags ORDER BY input, component').raw().all() as Row[]).map(
      (r): InputTag => ({ input: r[0] as string, component: r[1] as string, pullSpec: r[2] as string, labels: JSON.parse(r[3] as string), updatedAt: r[4] as string }),
    );
    const payloads = (db.prepare(`SELECT ${PAYLOAD_COLS} FROM payloads ORDER BY stream, created_at, tag`).raw().all() as Row[]).map(
      (r): Payload => ({
        stream: r[0] as string,
        tag: r[1] as string,
        phase: r[2] as Payload['phase'],
        createdAt: r[3] as string,
        inputHash: r[4] as string,
        pullSpec: r[5] as string,
        digest: r[6] as string,
        components: JSON.parse(r[7] as string),
        reason: r[8] as string,
        message: r[9] as string,
        annotations: JSON.parse(r[10] as string),
        override: r[11] === null ? null : JSON.parse(r[11] as string),
        qe: JSON.parse(r[12] as string),
        phaseChangedAt: r[13] as string,
      }),
    );
    const runSql = opts.activeRunsOnly
      ? `SELECT ${RUN_COLS.split(', ').map((c) => `r.${c}`).join(', ')} FROM job_runs r JOIN payloads p ON p.stream = r.stream AND p.tag = r.tag
         WHERE r.state = 'Pending' OR r.kind = 'periodic' OR p.phase IN ('Pending', 'Ready')
            OR json_extract(p.qe, '$.state') IN ('QEPending', 'QERunning', 'QESkipped') ORDER BY r.rowid`
      : `SELECT ${RUN_COLS} FROM job_runs ORDER BY rowid`;
    const jobRuns = (db.prepare(runSql).raw().all() as Row[]).map(toRun);
    const upgrades = (db.prepare('SELECT run_id, from_tag, to_tag, url, state FROM upgrades ORDER BY to_tag, from_tag, run_id').raw().all() as Row[]).map(
      (r): UpgradeResult => ({ runId: r[0] as string, from: r[1] as string, to: r[2] as string, url: r[3] as string, state: r[4] as UpgradeResult['state'] }),
    );
    const published = (db.prepare('SELECT stream, name, tag, updated_at FROM published ORDER BY stream, name').raw().all() as Row[]).map(
      (r): PublishedRef => ({ stream: r[0] as string, name: r[1] as string, tag: r[2] as string, updatedAt: r[3] as string }),
    );
    return { streams, inputTags, payloads, jobRuns, upgrades, published };
  }

  runsOfSync(stream: string, tag: string): JobRun[] {
    if (this.closed) return [];
    return (this.s.runsOf.raw().all(stream, tag) as Row[]).map(toRun);
  }

  async commit(changes: Change[]): Promise<number[]> {
    const s = this.s;
    const ids: number[] = [];
    this.db.transaction(() => {
      for (const c of changes) {
        switch (c.kind) {
          case 'putStream': {
            const x = c.stream;
            s.putStream.run(x.name, JSON.stringify(x.config), x.sourceFile, x.input, JSON.stringify(x.errors), JSON.stringify(x.warnings), x.locked ? 1 : 0);
            break;
          }
          case 'deleteStream':
            s.deleteStream.run(c.name);
            break;
          case 'setInputTags':
            s.deleteInputTags.run(c.input);
            for (const t of c.tags) s.insertInputTag.run(c.input, t.component, t.pullSpec, JSON.stringify(t.labels), t.updatedAt);
            break;
          case 'putPayload': {
            const p = c.payload;
            s.putPayload.run(
              p.stream, p.tag, p.phase, p.createdAt, p.inputHash, p.pullSpec, p.digest, JSON.stringify(p.components), p.reason, p.message,
              JSON.stringify(p.annotations), p.override === null ? null : JSON.stringify(p.override), JSON.stringify(p.qe), p.phaseChangedAt,
            );
            break;
          }
          case 'deletePayload':
            s.deletePayload.run(c.stream, c.tag);
            break;
          case 'putJobRun': {
            const r = c.run;
            s.putJobRun.run(
              r.id, r.stream, r.tag, r.verifyName, r.jobName, r.kind, r.attempt, r.generation, r.state, r.url, r.upgradeFrom,
              r.upgradeFromPullSpec, r.createdAt, r.startedAt, r.finishedAt, r.reason, r.logPath,
            );
            break;
          }
          case 'appendEvent': {
            const e = c.event;
            ids.push(Number(s.appendEvent.run(e.at, e.stream, e.tag, e.type, e.actor, e.message, JSON.stringify(e.data)).lastInsertRowid));
            break;
          }
          case 'putUpgrade': {
            const u = c.result;
            s.putUpgrade.run(u.runId, u.from, u.to, u.url, u.state);
            break;
          }
          case 'putPublished': {
            const r = c.ref;
            s.putPublished.run(r.stream, r.name, r.tag, r.updatedAt);
            break;
          }
        }
      }
    })();
    return ids;
  }

  async listEvents(q: EventQuery): Promise<EventRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.stream !== undefined) {
      where.push('stream = ?');
      args.push(q.stream);
    }
    if (q.tag !== undefined) {
      where.push('tag = ?');
      args.push(q.tag);
    }
    if (q.afterId !== undefined) {
      where.push('id > ?');
      args.push(q.afterId);
    }
    const limit = Math.max(1, Math.min(q.limit ?? 1000, 10_000));
    const sql = `SELECT id, at, stream, tag, type, actor, message, data FROM events ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id LIMIT ${limit}`;
    return (this.db.prepare(sql).raw().all(...args) as Row[]).map((r) => ({
      id: r[0] as number,
      at: r[1] as string,
      stream: r[2] as string,
      tag: r[3] as string,
      type: r[4] as string,
      actor: r[5] as string,
      message: r[6] as string,
      data: JSON.parse(r[7] as string),
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stmts = null;
    this.db.close();
  }
}
