// Which errors the controller retries (store and disk faults) and which stop the process (bugs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describeError, isProgrammingError, isTransientStoreError } from '../../src/controller/faults.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

const withCode = (code: string, message = `failed: ${code}`, ctor: ErrorConstructor = Error) => Object.assign(new ctor(message), { code });

const TABLE: { what: string; err: unknown; transient: boolean; bug: boolean }[] = [
  // PostgreSQL SQLSTATEs
  { what: 'pg 57P01 admin shutdown (pg_terminate_backend)', err: withCode('57P01', 'terminating connection due to administrator command'), transient: true, bug: false },
  { what: 'pg 57P03 cannot connect now (starting up)', err: withCode('57P03', 'the database system is starting up'), transient: true, bug: false },
  { what: 'pg 08006 connection failure', err: withCode('08006'), transient: true, bug: false },
  { what: 'pg 08P01 protocol violation', err: withCode('08P01'), transient: true, bug: false },
  { what: 'pg 53100 disk full', err: withCode('53100', 'could not extend file: No space left on device'), transient: true, bug: false },
  { what: 'pg 53300 too many connections', err: withCode('53300'), transient: true, bug: false },
  { what: 'pg 40001 serialization failure', err: withCode('40001'), transient: true, bug: false },
  { what: 'pg 40P01 deadlock', err: withCode('40P01'), transient: true, bug: false },
  { what: 'pg 23505 unique violation', err: withCode('23505', 'duplicate key value violates unique constraint'), transient: false, bug: false },
  { what: 'pg 23503 foreign key violation', err: withCode('23503'), transient: false, bug: false },
  { what: 'pg 42P01 undefined table', err: withCode('42P01', 'relation "payloads" does not exist'), transient: false, bug: false },
  { what: 'pg 22P02 invalid text representation', err: withCode('22P02'), transient: false, bug: false },
  { what: 'pg P0001 raise exception (append-only trigger)', err: withCode('P0001', 'events are append-only'), transient: false, bug: false },
  // the pg driver's own connection errors have no code
  { what: 'pg: Connection terminated unexpectedly', err: new Error('Connection terminated unexpectedly'), transient: true, bug: false },
  { what: 'pg: Connection terminated due to connection timeout', err: new Error('Connection terminated due to connection timeout'), transient: true, bug: false },
  { what: 'pg: not queryable after a connection error', err: new Error('Client has encountered a connection error and is not queryable'), transient: true, bug: false },
  { what: 'pg-pool: connect timeout', err: new Error('timeout exceeded when trying to connect'), transient: true, bug: false },
  // SQLite (better-sqlite3 reports extended codes)
  { what: 'SQLITE_BUSY', err: withCode('SQLITE_BUSY', 'database is locked'), transient: true, bug: false },
  { what: 'SQLITE_BUSY_SNAPSHOT', err: withCode('SQLITE_BUSY_SNAPSHOT'), transient: true, bug: false },
  { what: 'SQLITE_LOCKED', err: withCode('SQLITE_LOCKED'), transient: true, bug: false },
  { what: 'SQLITE_FULL', err: withCode('SQLITE_FULL', 'database or disk is full'), transient: true, bug: false },
  { what: 'SQLITE_IOERR_WRITE', err: withCode('SQLITE_IOERR_WRITE', 'disk I/O error'), transient: true, bug: false },
  { what: 'SQLITE_IOERR_SHMSIZE', err: withCode('SQLITE_IOERR_SHMSIZE'), transient: true, bug: false },
  { what: 'SQLITE_CONSTRAINT_FOREIGNKEY', err: withCode('SQLITE_CONSTRAINT_FOREIGNKEY', 'FOREIGN KEY constraint failed'), transient: false, bug: false },
  { what: 'SQLITE_CORRUPT', err: withCode('SQLITE_CORRUPT'), transient: false, bug: false },
  { what: 'SQLITE_ERROR (no such table)', err: withCode('SQLITE_ERROR', 'no such table: payloads'), transient: false, bug: false },
  { what: 'SQLITE_MISMATCH', err: withCode('SQLITE_MISMATCH'), transient: false, bug: false },
  // operating system
  ...['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOSPC', 'EIO', 'EAI_AGAIN', 'EMFILE'].map((code) => ({ what: code, err: withCode(code), transient: true, bug: false })),
  { what: 'ENOENT (a missing file is not an outage)', err: withCode('ENOENT'), transient: false, bug: false },
  { what: 'EACCES', err: withCode('EACCES'), transient: false, bug: false },
  { what: 'AggregateError of ECONNREFUSED (every address refused)', err: Object.assign(new AggregateError([withCode('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'), withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')], ''), { code: 'ECONNREFUSED' }), transient: true, bug: false },
  { what: 'fetch failed (TypeError) caused by ECONNRESET', err: new TypeError('fetch failed', { cause: withCode('ECONNRESET') }), transient: true, bug: false },
  // bugs
  { what: 'TypeError', err: new TypeError("Cannot read properties of undefined (reading 'tag')"), transient: false, bug: true },
  { what: 'ReferenceError', err: new ReferenceError('x is not defined'), transient: false, bug: true },
  { what: 'RangeError', err: new RangeError('Invalid array length'), transient: false, bug: true },
  { what: 'SyntaxError', err: new SyntaxError('Unexpected token } in JSON'), transient: false, bug: true },
  { what: 'Node TypeError with code ERR_INVALID_ARG_TYPE', err: withCode('ERR_INVALID_ARG_TYPE', 'The "path" argument must be of type string', TypeError), transient: false, bug: true },
  { what: 'assertion', err: (() => { try { assert.equal(1, 2); } catch (e) { return e; } })(), transient: false, bug: true },
  { what: 'plain Error', err: new Error('something went wrong'), transient: false, bug: false },
  { what: 'a rejection with a string', err: 'nope', transient: false, bug: false },
  { what: 'undefined', err: undefined, transient: false, bug: false },
];

for (const row of TABLE) {
  test(`faults: ${row.what} → ${row.transient ? 'retried' : 'not retried'}, ${row.bug ? 'a bug (exit)' : 'not a bug (keep running)'}`, () => {
    assert.equal(isTransientStoreError(row.err), row.transient);
    assert.equal(isProgrammingError(row.err), row.bug);
  });
}

test('faults: real driver errors — a refused PostgreSQL connect is retried, a SQLite constraint is not, SQLITE_BUSY is', async (t) => {
  // a port nothing listens on: bind one, close it, connect
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
  const refused = await client.connect().then(() => null, (e: unknown) => e);
  assert.ok(refused, 'connect must fail');
  assert.equal(isTransientStoreError(refused), true, describeError(refused));
  assert.match(describeError(refused), /ECONNREFUSED/);

  const dir = tempDir();
  t.after(() => cleanup(dir));
  const a = new Database(join(dir, 'x.db'));
  a.exec('CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE r (p INTEGER NOT NULL REFERENCES p(id))');
  a.pragma('foreign_keys = ON');
  const fk = (() => { try { a.prepare('INSERT INTO r (p) VALUES (1)').run(); } catch (e) { return e; } })();
  assert.equal((fk as { code: string }).code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
  assert.equal(isTransientStoreError(fk), false);
  const b = new Database(join(dir, 'x.db'));
  b.pragma('busy_timeout = 0');
  a.exec('BEGIN IMMEDIATE');
  const busy = (() => { try { b.exec('BEGIN IMMEDIATE'); } catch (e) { return e; } })();
  a.exec('ROLLBACK');
  assert.equal((busy as { code: string }).code, 'SQLITE_BUSY');
  assert.equal(isTransientStoreError(busy), true);
  a.close();
  b.close();
});

test('faults: describeError names the code once and unwraps an empty AggregateError', () => {
  assert.equal(describeError(withCode('SQLITE_FULL', 'database or disk is full')), 'database or disk is full (SQLITE_FULL)');
  assert.equal(describeError(withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')), 'connect ECONNREFUSED 127.0.0.1:5432');
  assert.equal(describeError(new AggregateError([withCode('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432')], '')), 'connect ECONNREFUSED ::1:5432');
  assert.equal(describeError('text'), 'text');
});
