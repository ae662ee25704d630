// Replicas in one process (issue 17, controller/replica.ts): two controllers on one PostgreSQL
// schema, each with its own store (connection pool) and Replica. The leader reconciles and
// launches; the follower's view follows through NOTIFY, refuses writes naming the leader, records
// no config; a follower whose position was pruned from the change log reloads the whole state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { openPostgresStore } from '../../src/adapters/store/postgres/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { OperationError } from '../../src/controller/operations.ts';
import { Replica, type ReplicaRole } from '../../src/controller/replica.ts';
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import type { Store } from '../../src/ports/store.ts';
import { cleanup, config, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';

const PG_URL = process.env.RC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const CFG = config({ name: '4.20.0-0.nightly', to: 'release', source: 'ocp-4.20', minCreationIntervalSeconds: 0, verify: { e2e: { prowJob: { name: 'e2e' } } } });

interface Node {
  store: Store;
  controller: Controller;
  replica: Replica;
  close(): Promise<void>;
}

async function node(schema: string, dir: string, id: string, role: ReplicaRole): Promise<Node> {
  const store = await openPostgresStore(PG_URL, { schema });
  store.replication!.enforce();
  const executor = new LocalExecutor({ jobs: parseJobsFile('jobs:\n  "*": { command: ["true"] }\n', 'jobs.yaml'), runDir: join(dir, 'runs'), onShutdown: 'stop' });
  const controller = await Controller.create({
    store, executor, builder: new LocalBuilder(join(dir, 'payloads')), resyncMs: 0, standby: true,
    streams: [{ name: CFG.name, config: CFG, file: `${CFG.name}.json`, input: inputStreamOf(CFG) }],
  });
  const replica = new Replica({
    controller, replication: store.replication!, id, url: `http://${id}`, role, leaseMs: 1500,
    log: { info() {}, warn() {}, error() {} }, lead: () => controller.lead(), follow: () => {},
  });
  await replica.start();
  return {
    store, controller, replica,
    async close() {
      await replica.stop();
      await controller.stop();
      await replica.release();
      await store.close();
    },
  };
}

test('replica: the follower follows the leader within 1 s, refuses writes naming it, records nothing, and reloads after a pruned change log', { timeout: 60_000 }, async (t) => {
  const schema = `rc_replica_${randomBytes(6).toString('hex')}`;
  const dir = tempDir('rc-replica-');
  const nodes: Node[] = [];
  t.after(async () => {
    for (const n of nodes) await n.close().catch(() => undefined);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await c.end();
    cleanup(dir);
  });
  const a = await node(schema, dir, 'replica-a', 'all');
  nodes.push(a);
  await waitFor('A leads', () => a.replica.isLeader() && a.controller.ready(), 10_000, 20);
  const b = await node(schema, dir, 'replica-b', 'api');
  nodes.push(b);
  assert.equal(b.replica.isLeader(), false);
  await waitFor('B ready', () => b.controller.ready(), 5000, 20);
  assert.ok(b.controller.state.stream(CFG.name), "the follower sees the leader's recorded config");

  await a.controller.setInputTags('ocp-4.20', { cli: pullSpec('cli') }, 'tester');
  const t0 = Date.now();
  await waitFor('the input on B', () => b.controller.state.inputTags('ocp-4.20').length === 1, 1000, 5);
  assert.ok(Date.now() - t0 <= 1000);
  const accepted = await waitFor('a payload accepted on A', () => a.controller.state.payloads(CFG.name).find((p) => p.phase === 'Accepted'), 20_000, 20);
  await waitFor('the same verdict on B', () => b.controller.state.payload(CFG.name, accepted.tag)?.phase === 'Accepted', 1000, 5);
  assert.deepEqual(b.controller.state.runs(CFG.name, accepted.tag), a.controller.state.runs(CFG.name, accepted.tag));

  // a write sent to the follower: refused as unavailable, naming the leader; nothing written
  await assert.rejects(b.controller.setInputTags('ocp-4.20', { cli: pullSpec('cli') }, 'tester'), (e: unknown) => {
    assert.ok(e instanceof OperationError);
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /follower.*replica-a at http:\/\/replica-a/);
    return true;
  });
  assert.equal(b.store.replication!.ownSeq(), 0, 'the follower committed nothing (configs included)');

  // B stops following; A keeps committing and prunes the whole log but the newest entry
  await b.replica.stop();
  await a.controller.setInputTags('ocp-4.20', { cli: pullSpec('cli'), installer: pullSpec('installer') }, 'tester');
  await waitFor('a second payload accepted on A', () => a.controller.state.payloads(CFG.name).filter((p) => p.phase === 'Accepted').length === 2, 20_000, 20);
  await a.controller.setInputTags('ocp-4.20', { cli: pullSpec('cli2') }, 'tester');
  await a.controller.idle();
  assert.ok((await a.store.replication!.pruneChanges(0)) > 0);
  // a fresh Replica on B's controller starts from the controller's (pruned) position: it reloads
  const version = b.controller.state.version;
  const b2 = new Replica({ controller: b.controller, replication: b.store.replication!, id: 'replica-b2', url: '', role: 'api', log: { info() {}, warn() {}, error() {} }, lead: async () => {}, follow: () => {} });
  await b2.start();
  t.after(() => b2.stop());
  assert.ok(b.controller.state.version > version, 'the view was replaced');
  assert.deepEqual(b.controller.state.inputTags('ocp-4.20').map((x) => x.pullSpec), a.controller.state.inputTags('ocp-4.20').map((x) => x.pullSpec));
  assert.deepEqual(b.controller.state.payloads(CFG.name).map((p) => [p.tag, p.phase]), a.controller.state.payloads(CFG.name).map((p) => [p.tag, p.phase]));
});

test('replica: a leader that steps down stops launching at once and hands over to the next', { timeout: 60_000 }, async (t) => {
  const schema = `rc_replica_${randomBytes(6).toString('hex')}`;
  const dir = tempDir('rc-replica-');
  const nodes: Node[] = [];
  t.after(async () => {
    for (const n of nodes) await n.close().catch(() => undefined);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    await c.end();
    cleanup(dir);
  });
  const a = await node(schema, dir, 'replica-a', 'all');
  nodes.push(a);
  await waitFor('A leads', () => a.replica.isLeader() && a.controller.ready(), 10_000, 20);
  const b = await node(schema, dir, 'replica-b', 'all');
  nodes.push(b);
  assert.equal(b.replica.isLeader(), false, 'B cannot lead while A holds the lease');
  // the clean stop of A releases the lease: B leads well before A's lease would have run out
  await a.replica.stop();
  await a.controller.stop();
  const t0 = Date.now();
  await a.replica.release();
  await waitFor('B leads', () => b.replica.isLeader() && b.controller.ready(), 5000, 10);
  assert.ok(Date.now() - t0 < 1500, `took over after ${Date.now() - t0} ms (the lease lasts 1500 ms)`);
  await b.controller.setInputTags('ocp-4.20', { cli: pullSpec('cli') }, 'tester');
  await waitFor('B decides', () => b.controller.state.payloads(CFG.name).some((p) => p.phase === 'Accepted'), 20_000, 20);
  // A's store is fenced off: a commit with its old lease (or none) is refused by the database
  await assert.rejects(a.store.commit([]), /lease/);
});
