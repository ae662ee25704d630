// The replication side of the PostgreSQL store (issue 17): the leader lease with its fencing
// epoch, refused commits of a stale or absent leader, the change log with NOTIFY, and pruning.
// Two stores on one schema stand for two replicas. Real PostgreSQL (RC_TEST_PG_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.ts';
import { FencedError, NotLeaderError } from '../../src/ports/replication.ts';
import type { Store } from '../../src/ports/store.ts';
import { event, payload, streamRecord } from './store-suite.ts';

const PG_URL = process.env.RC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';

async function twoReplicas(t: { after: (fn: () => Promise<void>) => void }): Promise<[Store, Store]> {
  const schema = `rc_repl_${randomBytes(6).toString('hex')}`;
  const a = await openPostgresStore(PG_URL, { schema });
  const b = await openPostgresStore(PG_URL, { schema });
  t.after(async () => {
    await a.close();
    await b.close();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await c.end();
  });
  await a.migrate();
  await b.migrate();
  a.replication!.enforce();
  b.replication!.enforce();
  return [a, b];
}

test('replication: one holder at a time; the other takes over only after expiry; the stale holder is refused by the database', async (t) => {
  const [a, b] = await twoReplicas(t);
  const ra = a.replication!;
  const rb = b.replication!;
  const la = await ra.acquire('A', 'http://a', 400);
  assert.ok(la, 'A gets the free lease');
  assert.equal(await rb.acquire('B', 'http://b', 400), null, 'B cannot take a live lease');
  assert.deepEqual(await rb.leader(), { holder: 'A', url: 'http://a', epoch: la.epoch, live: true });

  // no lease: refused before anything is written
  await assert.rejects(b.commit([{ kind: 'putStream', stream: streamRecord('s') }]), NotLeaderError);
  ra.fence(la);
  await a.commit([{ kind: 'putStream', stream: streamRecord('s') }]);
  assert.ok(await ra.renew(la, 400));

  await new Promise((r) => setTimeout(r, 500)); // A "paused" past its lease
  const lb = await rb.acquire('B', 'http://b', 5000);
  assert.ok(lb && lb.epoch === la.epoch + 1, 'B takes over with the next epoch');
  assert.equal(await ra.renew(la, 400), false, 'A cannot renew a lease taken over');
  await assert.rejects(a.commit([{ kind: 'putPayload', payload: payload('s', 't1') }]), FencedError);
  rb.fence(lb);
  await b.commit([{ kind: 'putPayload', payload: payload('s', 't2') }]);
  const snap = await b.load();
  assert.deepEqual(snap.payloads.map((p) => p.tag), ['t2'], "the stale leader's payload was not written");
  await rb.release(lb);
  assert.equal(await ra.leader(), null, 'a released lease names no leader');
  const again = await ra.acquire('A', 'http://a', 5000);
  assert.ok(again, 'a released lease is free at once');
  // a replica restarted under the same name takes its live lease back at once, fencing its old self
  const restarted = await rb.acquire('A', 'http://a2', 5000);
  assert.ok(restarted && restarted.epoch === again.epoch + 1);
  ra.fence(again);
  await assert.rejects(a.commit([]), FencedError);
  assert.equal(await rb.acquire('B', 'http://b', 5000), null, 'another name still waits');
});

test('replication: commits are logged in order with event ids, announced by NOTIFY, and replayed from a snapshot position', async (t) => {
  const [a, b] = await twoReplicas(t);
  const lease = (await a.replication!.acquire('A', '', 10_000))!;
  a.replication!.fence(lease);
  await a.commit([{ kind: 'putStream', stream: streamRecord('s') }]);
  const snap = await b.replication!.snapshot();
  assert.deepEqual(snap.streams.map((s) => s.name), ['s']);
  let notified = 0;
  const announced = new Promise<void>((resolve) => {
    void b.replication!.listen(() => {
      notified++;
      resolve();
    }, (err) => assert.fail(err)).then((stop) => t.after(stop));
  });
  await new Promise((r) => setTimeout(r, 100)); // listening
  const ids = await a.commit([{ kind: 'putPayload', payload: payload('s', 't1') }, { kind: 'appendEvent', event: event('s', 't1') }]);
  await announced;
  assert.ok(notified >= 1);
  const entries = await b.replication!.changesSince(snap.changeSeq, 100);
  assert.ok(entries !== 'gap');
  assert.equal(entries.length, 1, 'only the commit after the snapshot');
  assert.equal(entries[0]!.seq, a.replication!.ownSeq());
  assert.deepEqual(entries[0]!.changes.map((c) => c.kind), ['putPayload', 'appendEvent']);
  const ev = entries[0]!.changes[1]!;
  assert.ok(ev.kind === 'appendEvent' && ev.event.id === ids[0], 'the logged event carries its id');
  // pruning: a follower behind the horizon is told to reload
  await new Promise((r) => setTimeout(r, 20));
  await a.commit([{ kind: 'putPayload', payload: payload('s', 't2') }]);
  assert.equal(await a.replication!.pruneChanges(0), 2, 'all but the newest entry pruned');
  assert.equal(await b.replication!.changesSince(snap.changeSeq, 100), 'gap');
  const head = await b.replication!.snapshot();
  assert.deepEqual(await b.replication!.changesSince(head.changeSeq, 100), []);
});
