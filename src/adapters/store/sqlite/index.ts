// SQLite store adapter (embedded default): better-sqlite3, WAL, foreign keys, numbered migrations.
// Every commit is one transaction; load() reads each table once with raw rows for speed.
// SQL lives in statements.ts, record ↔ row mapping in rows.ts, the schema in migrations.ts.
import Database from 'better-sqlite3';
import type { EventRecord, JobRun } from '../../../domain/types.ts';
import type { Change, EventQuery, Snapshot, Store } from '../../../ports/store.ts';
import type { NotificationStore } from '../../../ports/notifications.ts';
import { migrate } from './migrations.ts';
import { SqliteNotificationStore } from './notifications.ts';
import {
  eventFromRow,
  eventParams,
  inputTagFromRow,
  inputTagParams,
  interner,
  jobRunFromRow,
  jobRunParams,
  payloadFromRow,
  payloadParams,
  pinFromRow,
  pinParams,
  publishedFromRow,
  publishedParams,
  streamFromRow,
  streamParams,
  upgradeFromRow,
  upgradeParams,
  type Row,
} from './rows.ts';
import { prepareStatements, type Statements } from './statements.ts';

const DEFAULT_EVENT_LIMIT = 1000;
const MAX_EVENT_LIMIT = 10_000;

export function openSqliteStore(path: string): Store {
  return new SqliteStore(openSqliteDatabase(path));
}

/** a connection set up the way the store uses it (also for tools and tests that inspect the file) */
export function openSqliteDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL'); // readers never block the writer; persistent in the file
  db.pragma('foreign_keys = ON'); // per connection: job runs must belong to a payload, and cascade with it
  db.pragma('synchronous = NORMAL'); // with WAL: durable across process crashes, at most the last commits lost on power loss
  db.pragma('busy_timeout = 5000');
  return db;
}

class SqliteStore implements Store {
  /** prepared after migrate() (the tables must exist), then reused for the life of the connection */
  private stmts: Statements | null = null;
  private closed = false;
  /** one transaction for a whole batch: any failing change rolls back every change before it */
  private readonly commitTx: (changes: Change[], ids: number[]) => void;

  constructor(private readonly db: Database.Database) {
    this.commitTx = db.transaction((changes: Change[], ids: number[]) => {
      const s = this.s;
      for (const c of changes) applyChange(s, c, ids);
    });
  }

  async migrate(): Promise<void> {
    this.open();
    migrate(this.db);
    this.stmts = null;
    this.notifyStore = null;
  }

  /** prepared on first use, after migrate() (its tables must exist) */
  private notifyStore: SqliteNotificationStore | null = null;
  get notifications(): NotificationStore {
    this.open();
    return (this.notifyStore ??= new SqliteNotificationStore(this.db, () => this.open()));
  }

  private get s(): Statements {
    this.open();
    return (this.stmts ??= prepareStatements(this.db));
  }

  private open(): void {
    if (this.closed) throw new Error('store is closed');
  }

  async load(opts: { activeRunsOnly?: boolean } = {}): Promise<Snapshot> {
    const s = this.s;
    const intern = interner();
    // one read transaction: every table from the same snapshot, even if another process writes meanwhile
    return this.db.transaction(
      (): Snapshot => ({
        streams: mapRows(s.allStreams, streamFromRow),
        inputTags: mapRows(s.allInputTags, inputTagFromRow),
        payloads: mapRows(s.allPayloads, payloadFromRow),
        jobRuns: mapRows(opts.activeRunsOnly ? s.activeJobRuns : s.allJobRuns, (r) => jobRunFromRow(r, intern)),
        upgrades: mapRows(s.allUpgrades, upgradeFromRow),
        published: mapRows(s.allPublished, publishedFromRow),
        pins: mapRows(s.allPins, pinFromRow),
      }),
    )();
  }

  async runsOf(stream: string, tag: string): Promise<JobRun[]> {
    this.open();
    return this.runsOfSync(stream, tag);
  }

  runsOfSync(stream: string, tag: string): JobRun[] {
    if (this.closed) return [];
    return (this.s.runsOfPayload.all(stream, tag) as Row[]).map((r) => jobRunFromRow(r));
  }

  async commit(changes: Change[]): Promise<number[]> {
    const ids: number[] = [];
    try {
      this.commitTx(changes, ids);
    } catch (err) {
      // SQLITE_BUSY, SQLITE_FULL, SQLITE_IOERR: the error goes to the caller (the controller retries
      // it), and the connection must stay usable for that retry. better-sqlite3 rolls back a failed
      // transaction, but a failing ROLLBACK (or COMMIT) can leave one open; end it here.
      if (this.db.open && this.db.inTransaction) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // nothing more to undo: SQLite already rolled back
        }
      }
      throw err;
    }
    return ids;
  }

  async listEvents(q: EventQuery): Promise<EventRecord[]> {
    const s = this.s;
    const after = q.afterId ?? 0;
    const limit = eventLimit(q.limit);
    let rows: Row[];
    if (q.stream !== undefined && q.tag !== undefined) rows = s.eventsOfPayload.all(q.stream, q.tag, after, limit) as Row[];
    else if (q.stream !== undefined) rows = s.eventsOfStream.all(q.stream, after, limit) as Row[];
    else if (q.tag !== undefined) rows = s.eventsOfTag.all(q.tag, after, limit) as Row[];
    else rows = s.events.all(after, limit) as Row[];
    return rows.map(eventFromRow);
  }

  async pruneEvents(before: string): Promise<number> {
    return this.s.pruneEvents.run({ before }).changes;
  }

  async listRunIds(): Promise<string[]> {
    return this.s.allRunIds.all() as string[];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stmts = null;
    this.db.close();
  }
}

/** maps rows one at a time: iterate() keeps no array of raw rows alive next to the records */
function mapRows<T>(stmt: Database.Statement, fn: (r: Row) => T): T[] {
  const out: T[] = [];
  for (const r of stmt.iterate() as IterableIterator<Row>) out.push(fn(r));
  return out;
}

function applyChange(s: Statements, c: Change, ids: number[]): void {
  switch (c.kind) {
    case 'putStream':
      s.putStream.run(...streamParams(c.stream));
      return;
    case 'deleteStream':
      s.deleteStream.run(c.name);
      return;
    case 'setInputTags':
      s.deleteInputTags.run(c.input);
      for (const t of c.tags) s.insertInputTag.run(...inputTagParams(c.input, t));
      return;
    case 'putPayload':
      s.putPayload.run(...payloadParams(c.payload));
      return;
    case 'deletePayload':
      s.deletePayloadUpgrades.run(c.stream, c.tag);
      s.deletePayload.run(c.stream, c.tag);
      return;
    case 'putJobRun':
      s.putJobRun.run(...jobRunParams(c.run));
      return;
    case 'appendEvent':
      ids.push(Number(s.appendEvent.run(...eventParams(c.event)).lastInsertRowid));
      return;
    case 'putUpgrade':
      s.putUpgrade.run(...upgradeParams(c.result));
      return;
    case 'putPublished':
      s.putPublished.run(...publishedParams(c.ref));
      return;
    case 'setPins':
      s.deletePins.run(c.input);
      for (const p of c.pins) s.insertPin.run(...pinParams(c.input, p));
      return;
  }
}

/** 1…10 000, default 1000; anything not a number falls back to the default */
function eventLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_EVENT_LIMIT;
  return Math.max(1, Math.min(Math.trunc(limit), MAX_EVENT_LIMIT));
}
