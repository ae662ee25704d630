// The Store conformance suite on a real SQLite file, plus checks of the SQLite set-up itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, sqlitePath } from '../../src/adapters/store/open.ts';
import { openSqliteDatabase, openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { MIGRATIONS } from '../../src/adapters/store/sqlite/migrations.ts';
import { EVENT_COLS, JOB_RUN_COLS, PAYLOAD_COLS, UPGRADE_COLS, eventParams, jobRunParams, payloadParams, upgradeParams } from '../../src/adapters/store/rows.ts';
import type { Payload } from '../../src/domain/types.ts';
import { LEGACY_SQLITE_MIGRATIONS } from '../helpers/legacy-migrations.ts';
import { event, jobRun, payload, storeSuite } from './store-suite.ts';

// the payload columns before migration 8 (mirror_repository), for writing rows as older versions did
const PRE_MIRROR_COLS = PAYLOAD_COLS.replace(', mirror_repository', '');
const preMirrorParams = (p: Payload) => payloadParams(p).slice(0, PRE_MIRROR_COLS.split(', ').length);

function tempDb(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rc-store-'));
  return { dir, path: join(dir, 'rc.db') };
}

storeSuite('sqlite', async () => {
  const { dir, path } = tempDb();
  return {
    store: openSqliteStore(path),
    reopen: async () => openSqliteStore(path),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

test('sqlite: WAL journal, foreign keys, synchronous NORMAL, busy timeout, every migration recorded once', async () => {
  const { dir, path } = tempDb();
  try {
    const store = openSqliteStore(path);
    await store.migrate();
    await store.migrate();
    await store.close();
    const db = openSqliteDatabase(path);
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(db.pragma('synchronous', { simple: true }), 1); // NORMAL
      assert.ok((db.pragma('busy_timeout', { simple: true }) as number) > 0);
      assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), MIGRATIONS.map((m) => m.version).sort((a, b) => a - b));
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: migrating a store written before upgrade results went with their runs removes the ones left behind', async () => {
  const { dir, path } = tempDb();
  try {
    // a store at migration 3, where garbage collection deleted payloads and runs but not upgrade results
    const old = openSqliteDatabase(path);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, '2026-01-01T00:00:00Z');
    }
    // the rows as that version wrote them (today's store statements need today's schema)
    const p = payload('s', 's-2');
    const run = { id: 's-2-upgrade', stream: 's', tag: 's-2', verifyName: 'upgrade', jobName: 'j', kind: 'upgrade' as const, attempt: 0, generation: 0, state: 'Succeeded' as const, url: 'u', upgradeFrom: 's-1', upgradeFromPullSpec: '', createdAt: '', startedAt: null, finishedAt: null, reason: '', logPath: '' };
    old.prepare(`INSERT INTO payloads (${PRE_MIRROR_COLS}) VALUES (${PRE_MIRROR_COLS.split(', ').map(() => '?').join(', ')})`).run(...preMirrorParams(p));
    old.prepare(`INSERT INTO job_runs (${JOB_RUN_COLS}) VALUES (${JOB_RUN_COLS.split(', ').map(() => '?').join(', ')})`).run(...jobRunParams(run));
    const up = old.prepare(`INSERT INTO upgrades (${UPGRADE_COLS}) VALUES (?, ?, ?, ?, ?)`);
    up.run(...upgradeParams({ runId: run.id, from: 's-1', to: 's-2', url: 'u', state: 'Succeeded' }));
    up.run(...upgradeParams({ runId: 's-1-upgrade', from: 's-0', to: 's-1', url: 'v', state: 'Failed' })); // s-1 and its run are long gone
    old.close();
    const store = openSqliteStore(path);
    await store.migrate();
    assert.deepEqual((await store.load()).upgrades.map((u) => u.runId), [run.id]);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** what a file's schema is made of, for comparing two: tables' columns, indexes, triggers */
function schemaShape(db: ReturnType<typeof openSqliteDatabase>): unknown {
  const objects = db.prepare("SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").all() as { type: string; name: string }[];
  return objects.map((o) => ({
    ...o,
    ...(o.type === 'table' ? { columns: db.prepare('SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid').all(o.name) } : {}),
    ...(o.type === 'index' ? { columns: db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(o.name) } : {}),
  }));
}

test('sqlite: a file written by the store before the shared migration list (versions 1-6) migrates forward with its data', async () => {
  const { dir, path } = tempDb();
  try {
    const old = openSqliteDatabase(path);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const m of LEGACY_SQLITE_MIGRATIONS) {
      old.exec(m.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, '2026-01-01T00:00:00Z');
    }
    const p = payload('s', 's-1');
    const runs = [jobRun(p, 'e2e'), jobRun(p, 'periodic', { kind: 'periodic' })];
    const marks = (cols: string) => cols.split(', ').map(() => '?').join(', ');
    old.prepare(`INSERT INTO payloads (${PRE_MIRROR_COLS}) VALUES (${marks(PRE_MIRROR_COLS)})`).run(...preMirrorParams(p));
    for (const r of runs) old.prepare(`INSERT INTO job_runs (${JOB_RUN_COLS}) VALUES (${marks(JOB_RUN_COLS)})`).run(...jobRunParams(r));
    const evCols = EVENT_COLS.replace('id, ', '');
    const e = event('s', 's-1');
    old.prepare(`INSERT INTO events (${evCols}) VALUES (${marks(evCols)})`).run(...eventParams(e));
    old.close();

    const store = openSqliteStore(path);
    await store.migrate();
    const s = await store.load();
    assert.deepEqual(s.payloads, [p]);
    assert.deepEqual(s.jobRuns, runs);
    assert.deepEqual(await store.listEvents({}), [{ ...e, id: 1 }]);
    assert.deepEqual(await store.commit([{ kind: 'appendEvent', event: event('s', 's-1', { type: 'Later' }) }]), [2]);
    await store.close();
    const fresh = tempDb();
    try {
      const other = openSqliteStore(fresh.path);
      await other.migrate();
      await other.close();
      const a = openSqliteDatabase(path);
      const b = openSqliteDatabase(fresh.path);
      try {
        assert.deepEqual(a.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), MIGRATIONS.map((m) => m.version));
        // nothing re-ran: the versions of the old file keep the time they were applied
        assert.deepEqual(a.prepare("SELECT version FROM schema_migrations WHERE applied_at = '2026-01-01T00:00:00Z' ORDER BY version").pluck().all(), [1, 2, 3, 4, 5, 6]);
        assert.deepEqual(schemaShape(a), schemaShape(b));
      } finally {
        a.close();
        b.close();
      }
    } finally {
      rmSync(fresh.dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: events cannot be updated, nor deleted while their payload or stream lives, even by hand', async () => {
  const { dir, path } = tempDb();
  try {
    const store = openSqliteStore(path);
    await store.migrate();
    await store.commit([
      { kind: 'putPayload', payload: payload('s', 's-1') },
      { kind: 'appendEvent', event: event('s', 's-1') },
      { kind: 'appendEvent', event: event('s', '', { type: 'InputUpdated' }) },
      { kind: 'appendEvent', event: event('s', 's-gone') },
    ]);
    await store.close();
    const db = openSqliteDatabase(path);
    try {
      assert.throws(() => db.prepare("UPDATE events SET message = 'rewritten'").run(), /append-only/);
      assert.throws(() => db.prepare('DELETE FROM events').run(), /append-only/);
      assert.throws(() => db.prepare("DELETE FROM events WHERE tag = ''").run(), /append-only/);
      assert.equal(db.prepare('SELECT count(*) FROM events').pluck().get(), 3);
      // the events of a payload that is gone may go (pruneEvents)
      assert.equal(db.prepare("DELETE FROM events WHERE tag = 's-gone'").run().changes, 1);
      assert.equal(db.prepare('SELECT count(*) FROM events').pluck().get(), 2);
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: a job run for a missing payload is refused (foreign keys are enforced)', async () => {
  const { dir, path } = tempDb();
  const store = openSqliteStore(path);
  try {
    await store.migrate();
    const p = payload('s', 's-1');
    await assert.rejects(
      store.commit([{ kind: 'putJobRun', run: { id: 'r', stream: p.stream, tag: p.tag, verifyName: 'v', jobName: 'j', kind: 'blocking', attempt: 1, generation: 0, state: 'Pending', url: '', upgradeFrom: '', upgradeFromPullSpec: '', createdAt: '', startedAt: null, finishedAt: null, reason: '', logPath: '' } }]),
      /FOREIGN KEY/,
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openStore picks SQLite for sqlite:, file: and plain paths', async () => {
  assert.equal(sqlitePath('sqlite:/data/rc.db'), '/data/rc.db');
  assert.equal(sqlitePath('sqlite:///data/rc.db'), '/data/rc.db');
  assert.equal(sqlitePath('sqlite:rc.db'), 'rc.db');
  assert.equal(sqlitePath('file:/data/rc.db'), '/data/rc.db');
  assert.equal(sqlitePath('file:///data/my%20rc.db'), '/data/my rc.db');
  assert.equal(sqlitePath('/data/rc.db'), '/data/rc.db');
  assert.equal(sqlitePath('sqlite::memory:'), ':memory:');
  const { dir, path } = tempDb();
  try {
    for (const url of [`sqlite:${path}`, `file://${path}`, path]) {
      const store = await openStore(url);
      await store.migrate();
      await store.commit([{ kind: 'putPayload', payload: payload('s', url) }]);
      await store.close();
    }
    const store = openSqliteStore(path);
    assert.equal((await store.load()).payloads.length, 3);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
