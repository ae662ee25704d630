// The Store conformance suite on a real PostgreSQL server (RC_TEST_PG_URL, default the local test
// database). Each test gets its own random schema, dropped afterwards. An unreachable server is a
// failure, not a skip: CI starts PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/adapters/store/open.ts';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.ts';
import { MIGRATIONS } from '../../src/adapters/store/migrations.ts';
import { EVENT_COLS, JOB_RUN_COLS, PAYLOAD_COLS, eventParams, jobRunParams, payloadParams } from '../../src/adapters/store/rows.ts';
import type { Payload } from '../../src/domain/types.ts';
import { LEGACY_POSTGRES_MIGRATIONS } from '../helpers/legacy-migrations.ts';
import { event, jobRun, payload, storeSuite } from './store-suite.ts';

// the payload columns before migration 8 (mirror_repository), for writing rows as older versions did
const PRE_MIRROR_COLS = PAYLOAD_COLS.replace(', mirror_repository', '');
const preMirrorParams = (p: Payload) => payloadParams(p).slice(0, PRE_MIRROR_COLS.split(', ').length);

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
    assert.deepEqual(versions, MIGRATIONS.map(({ version }) => ({ version })));
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
    assert.deepEqual(versions, MIGRATIONS.map(({ version }) => ({ version })));
  } finally {
    await a.close();
    await b.close();
    await dropSchema(schema);
  }
});

/** what a schema is made of, for comparing two: columns, indexes, triggers, functions */
async function schemaShape(schema: string): Promise<unknown> {
  const columns = await sql(
    `SELECT table_name, column_name, data_type, is_nullable, is_identity, column_default FROM information_schema.columns
      WHERE table_schema = $1 ORDER BY table_name, column_name`,
    [schema],
  );
  const indexes = (await sql<{ indexname: string; indexdef: string }>('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname', [schema]))
    .map((r) => ({ ...r, indexdef: r.indexdef.replaceAll(`${schema}.`, '') }));
  const triggers = await sql(
    `SELECT event_object_table, trigger_name, event_manipulation, action_timing FROM information_schema.triggers
      WHERE trigger_schema = $1 ORDER BY trigger_name, event_manipulation`,
    [schema],
  );
  const functions = await sql(`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY 1`, [schema]);
  return { columns, indexes, triggers, functions };
}

for (const depth of [5, 6]) {
  test(`postgres: a schema written by the store before the shared migration list (its versions 1-${depth}) migrates forward with its data`, async () => {
    const schema = randomSchema();
    const fresh = randomSchema();
    const q = pg.escapeIdentifier(schema);
    const c = new pg.Client({ connectionString: PG_URL, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      // the schema exactly as that code left it, with a payload, runs and events written then
      await c.query(`CREATE SCHEMA ${q}`);
      await c.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
      for (const m of LEGACY_POSTGRES_MIGRATIONS.filter((x) => x.version <= depth)) {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations VALUES ($1, $2)', [m.version, '2026-01-01T00:00:00Z']);
      }
      const p = payload('s', 's-1');
      const runs = [jobRun(p, 'e2e'), jobRun(p, 'periodic', { kind: 'periodic' }), jobRun(p, 'upgrade', { state: 'Pending', finishedAt: null })];
      const values = (cols: string) => cols.split(', ').map((_, i) => `$${i + 1}`).join(', ');
      await c.query(`INSERT INTO payloads (${PRE_MIRROR_COLS}) VALUES (${values(PRE_MIRROR_COLS)})`, preMirrorParams(p));
      for (const r of runs) await c.query(`INSERT INTO job_runs (${JOB_RUN_COLS}) VALUES (${values(JOB_RUN_COLS)})`, jobRunParams(r));
      const e = event('s', 's-1');
      await c.query(`INSERT INTO events (${EVENT_COLS.replace('id, ', '')}) VALUES (${values(EVENT_COLS.replace('id, ', ''))})`, eventParams(e));
      await c.end();

      const store = await openPostgresStore(PG_URL, { schema });
      try {
        await store.migrate();
        await store.migrate();
        const versions = await sql<{ version: number }>(`SELECT version FROM ${q}.schema_migrations ORDER BY version`);
        assert.deepEqual(versions, MIGRATIONS.map(({ version }) => ({ version })), 'renumbered, and the missing ones applied');
        // nothing re-ran: the renumbered versions keep the time the old code applied them
        const kept = await sql<{ version: number }>(`SELECT version FROM ${q}.schema_migrations WHERE applied_at = '2026-01-01T00:00:00Z' ORDER BY version`);
        assert.deepEqual(kept.map((r) => r.version), [1, 3, 4, 5, 6, 7].slice(0, depth));
        const s = await store.load();
        assert.deepEqual(s.payloads, [p]);
        assert.deepEqual(s.jobRuns, runs);
        assert.deepEqual(await store.listEvents({}), [{ ...e, id: 1 }]);
        // the partial indexes SQLite has had since its migration 2
        const idx = (await sql<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1', [schema])).map((r) => r.indexname);
        for (const name of ['job_runs_pending', 'job_runs_periodic', 'events_prunable', 'change_log_at']) assert.ok(idx.includes(name), name);
        // writes keep going where the old code left off: insertion order of runs, event ids, the lease
        const later = jobRun(p, 'later');
        const ids = await store.commit([{ kind: 'putJobRun', run: later }, { kind: 'appendEvent', event: event('s', 's-1', { type: 'Later' }) }]);
        assert.deepEqual(ids, [2]);
        assert.deepEqual((await store.load()).jobRuns.map((r) => r.id), [...runs, later].map((r) => r.id));
        assert.ok(await store.replication!.acquire('a', 'http://a', 5000));
        // and the schema is the one a new store creates
        const other = await openPostgresStore(PG_URL, { schema: fresh });
        try {
          await other.migrate();
        } finally {
          await other.close();
        }
        assert.deepEqual(await schemaShape(schema), await schemaShape(fresh));
      } finally {
        await store.close();
      }
    } finally {
      await c.end().catch(() => {});
      await dropSchema(schema);
      await dropSchema(fresh);
    }
  });
}

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
