// The Store conformance suite on a real PostgreSQL server (RC_TEST_PG_URL, default the local test
// database). Each test gets its own random schema, dropped afterwards. An unreachable server is a
// failure, not a skip: CI starts PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/adapters/store/open.ts';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.ts';
import { event, payload, storeSuite } from './store-suite.ts';

const PG_URL = process.env.RC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

const randomSchema = () => `rc_test_${randomBytes(6).toString('hex')}`;

async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

const dropSchema = (schema: string) => sql(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);

test(`PostgreSQL is reachable at ${PG_URL.replace(/:[^:@/]*@/, ':***@')}`, async () => {
  const rows = await sql<{ one: number }>('SELECT 1 AS one');
  assert.deepEqual(rows, [{ one: 1 }]);
});

storeSuite('postgres', async () => {
  const schema = randomSchema();
  try {
    return {
      store: await openPostgresStore(PG_URL, { schema }),
      reopen: () => openPostgresStore(PG_URL, { schema }),
      cleanup: async () => void (await dropSchema(schema)),
    };
  } catch (err) {
    await dropSchema(schema).catch(() => {});
    throw err;
  }
});

test('postgres: tables live in the requested schema and migration 1 is recorded once', async () => {
  const schema = randomSchema();
  const store = await openPostgresStore(PG_URL, { schema });
  try {
    await store.migrate();
    await store.migrate();
    const tables = await sql<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
    assert.deepEqual(
      tables.map((t) => t.table_name),
      ['change_log', 'events', 'input_tags', 'job_runs', 'leader_lease', 'notify_cursors', 'notify_deliveries', 'payloads', 'pins', 'published', 'schema_migrations', 'streams', 'upgrades'],
    );
    const versions = await sql<{ version: number }>(`SELECT version FROM ${pg.escapeIdentifier(schema)}.schema_migrations ORDER BY version`);
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 6].map((version) => ({ version })));
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

test('postgres: two stores migrating the same schema at once apply each migration once', async () => {
  const schema = randomSchema();
  const a = await openPostgresStore(PG_URL, { schema });
  const b = await openPostgresStore(PG_URL, { schema });
  try {
    await Promise.all([a.migrate(), b.migrate()]);
    const versions = await sql<{ version: number }>(`SELECT version FROM ${pg.escapeIdentifier(schema)}.schema_migrations ORDER BY version`);
    assert.deepEqual(versions, [1, 2, 3, 4, 5, 6].map((version) => ({ version })));
  } finally {
    await a.close();
    await b.close();
    await dropSchema(schema);
  }
});

test('postgres: events cannot be updated, nor deleted while their payload or stream lives, even by hand', async () => {
  const schema = randomSchema();
  const store = await openPostgresStore(PG_URL, { schema });
  try {
    await store.migrate();
    await store.commit([
      { kind: 'putPayload', payload: payload('s', 's-1') },
      { kind: 'appendEvent', event: event('s', 's-1') },
      { kind: 'appendEvent', event: event('s', '', { type: 'InputUpdated' }) },
      { kind: 'appendEvent', event: event('s', 's-gone') },
    ]);
    const events = `${pg.escapeIdentifier(schema)}.events`;
    await assert.rejects(sql(`UPDATE ${events} SET message = 'rewritten'`), /append-only/);
    await assert.rejects(sql(`DELETE FROM ${events}`), /append-only/);
    await assert.rejects(sql(`DELETE FROM ${events} WHERE tag = ''`), /append-only/);
    await assert.rejects(sql(`TRUNCATE ${events}`), /append-only/);
    assert.equal((await store.listEvents({})).length, 3);
    // the events of a payload that is gone may go (pruneEvents)
    await sql(`DELETE FROM ${events} WHERE tag = 's-gone'`);
    assert.equal((await store.listEvents({})).length, 2);
  } finally {
    await store.close();
    await dropSchema(schema);
  }
});

test('postgres: an invalid schema name is refused before touching the server', async () => {
  await assert.rejects(openPostgresStore(PG_URL, { schema: 'x"; DROP SCHEMA public; --' }), /invalid schema name/);
});

test('openStore picks PostgreSQL for postgres:// and postgresql:// URLs', async () => {
  // nothing listens on port 1: the connection is refused (SQLite would have created a file)
  for (const url of ['postgres://postgres@127.0.0.1:1/test', 'postgresql://postgres@127.0.0.1:1/test']) {
    await assert.rejects(openStore(url), /ECONNREFUSED/);
  }
  const store = await openStore(PG_URL);
  await store.close();
});
