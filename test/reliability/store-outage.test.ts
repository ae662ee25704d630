// Store outages inside one process: a real controller on a real SQLite file with real job
// processes, whose store fails its next commits the way a locked or unreachable database does
// (the driver's own SqliteError). Job results that arrive meanwhile are kept and recorded in order
// once the store answers again; writes are refused with 503 + Retry-After; /readyz says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { OperationError } from '../../src/controller/operations.ts';
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import { buildApp } from '../../src/http/app.ts';
import type { JobStatus } from '../../src/ports/executor.ts';
import type { Change, Store } from '../../src/ports/store.ts';
import { cleanup, config, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';

const STREAM = '4.22.0-0.nightly';
const CFG = config({
  name: STREAM,
  to: 'release',
  verify: {
    'e2e-aws': { prowJob: { name: 'e2e-aws' } },
    'e2e-gcp': { prowJob: { name: 'e2e-gcp' } },
    informing: { optional: true, prowJob: { name: 'informing' } },
  },
});
const INPUT = inputStreamOf(CFG);
const TOKEN = 'ci-token-0123456789abcdef';
/** how the runs of the payload end */
const VERIFY = { 'e2e-aws': 'Succeeded', 'e2e-gcp': 'Succeeded', informing: 'Failed' };

/** The real store; `failWith` makes its commits throw (without touching the database) until cleared. */
interface FaultyStore extends Store {
  failWith: Error | null;
  /** while set, commits wait for it first (a store that hangs, then fails) */
  hold: Promise<void> | null;
  /** changes of every commit that failed, in order */
  failed: Change[][];
  /** when each of them failed (ms) */
  failedAt: number[];
  /** changes of every commit that went through, in order */
  committed: Change[][];
}

function faulty(inner: Store): FaultyStore {
  const extra = { failWith: null as Error | null, hold: null as Promise<void> | null, failed: [] as Change[][], failedAt: [] as number[], committed: [] as Change[][] };
  const commit = async (changes: Change[]) => {
    if (extra.hold) await extra.hold;
    if (extra.failWith) {
      extra.failed.push(structuredClone(changes));
      extra.failedAt.push(Date.now());
      throw extra.failWith;
    }
    const ids = await inner.commit(changes);
    extra.committed.push(structuredClone(changes));
    return ids;
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'commit') return commit;
      if (prop in extra) return extra[prop as keyof typeof extra];
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    set(_target, prop, value) {
      if (prop in extra) {
        (extra as Record<string, unknown>)[prop as string] = value;
        return true;
      }
      return false;
    },
  }) as FaultyStore;
}

const busy = () => new Database.SqliteError('database is locked', 'SQLITE_BUSY');

/** the job run a commit records */
const runOf = (changes: Change[]) => changes.flatMap((ch) => (ch.kind === 'putJobRun' ? [ch.run] : []))[0];

interface World {
  dir: string;
  gate: string;
  launches: string;
  store: FaultyStore;
  executor: LocalExecutor;
  controller: Controller;
  /** final statuses in the order the executor reported them */
  reported: string[];
}

async function startWorld(dir: string): Promise<World> {
  const gate = join(dir, 'gate');
  const launches = join(dir, 'launches.log');
  // each job appends its run id (name + attempt) when it starts, then waits for the gate
  const s = writeScripts(dir, {
    job: `echo "$BUILD_ID" >> "${launches}"; while [ ! -e "${gate}" ]; do [ -d "${dir}" ] || exit 3; sleep 0.02; done; exit "\${EXIT:-0}"`,
  });
  const jobs = parseJobsFile(`jobs:\n  informing: { command: ["bash", "${s.job}"], env: { EXIT: "1" } }\n  "*": { command: ["bash", "${s.job}"] }\n`, join(dir, 'jobs.yaml'));
  const store = faulty(openSqliteStore(join(dir, 'rc.db')));
  const executor = new LocalExecutor({ jobs, runDir: join(dir, 'runs'), onShutdown: 'detach' });
  const reported: string[] = [];
  executor.onStatus((st: JobStatus) => {
    if (st.state !== 'Pending') reported.push(st.runId);
  });
  const controller = await Controller.create({
    store,
    executor,
    builder: new LocalBuilder(join(dir, 'payloads')),
    streams: [{ name: STREAM, config: CFG, file: `${STREAM}.json`, input: INPUT }],
    resyncMs: 0,
  });
  await controller.start();
  return { dir, gate, launches, store, executor, controller, reported };
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);

/** every job of the (one) payload runs and its start is recorded: nothing is left to commit */
async function running(w: World): Promise<void> {
  await waitFor('three jobs running', () => lines(w.launches).length === 3, 20_000);
  const c = w.controller;
  await waitFor('their starts recorded', () => {
    const p = c.state.payloads(STREAM)[0];
    const runs = p ? c.state.runs(STREAM, p.tag) : [];
    return runs.length === 3 && runs.every((r) => r.startedAt !== null);
  }, 20_000);
  await c.idle();
}

/** sets the input's cli image and waits until the payload it makes runs its three jobs; resolves with its tag */
async function runningPayload(w: World, cli = pullSpec('cli')): Promise<string> {
  await w.controller.setInputTags(INPUT, { cli }, 'test');
  await running(w);
  return w.controller.state.payloads(STREAM)[0]!.tag;
}

async function stopWorld(w: World): Promise<void> {
  await w.controller.stop();
  await w.store.close();
}

function assertLaunchedOnce(w: World, runIds: string[]): void {
  const counts = new Map<string, number>();
  for (const l of lines(w.launches)) counts.set(l, (counts.get(l) ?? 0) + 1);
  for (const [run, n] of counts) assert.equal(n, 1, `${run} launched ${n} times`);
  assert.deepEqual([...counts.keys()].sort(), [...runIds].sort());
}

test('store outage: job results that arrive while commits fail are recorded in order once the store answers; writes get 503 + Retry-After; /readyz says why', async () => {
  const dir = tempDir();
  const w = await startWorld(dir);
  const app = await buildApp({ ops: w.controller, tokens: [{ user: 'ci', token: TOKEN, roles: ['ci'] }] });
  try {
    const c = w.controller;
    const tag = await runningPayload(w);
    const runIds = c.state.runs(STREAM, tag).map((r) => r.id);
    assert.equal(runIds.length, 3);

    // the store starts failing, then every job finishes
    w.store.failWith = busy();
    writeFileSync(w.gate, '');
    await waitFor('all three results reported', () => w.reported.length === 3, 20_000);
    await waitFor('the first result retried with backoff', () => w.store.failed.length >= 4, 20_000);

    const reason = c.unavailable();
    assert.match(reason ?? '', /^store unavailable: database is locked \(SQLITE_BUSY\) \(since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, \d+ attempts\)$/);
    // the view still matches the store: no result was applied without being recorded
    for (const id of runIds) assert.equal(c.state.run(id)!.state, 'Pending');
    // every failed attempt carried the same changes: the first result, nothing queued behind it
    for (const f of w.store.failed) assert.deepEqual(f, w.store.failed[0]);
    assert.equal(runOf(w.store.failed[0]!)?.id, w.reported[0]);
    assert.notEqual(runOf(w.store.failed[0]!)?.state, 'Pending');

    // what a user sees
    const ready = await app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.match(ready.body, /^not ready: store unavailable: database is locked \(SQLITE_BUSY\) \(since .*, \d+ attempts\)\n$/);
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    const put = await app.inject({
      method: 'PUT', url: `/api/v1/inputstreams/${INPUT}/tags`,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      payload: { tags: { cli: pullSpec('cli') } },
    });
    assert.equal(put.statusCode, 503, put.body);
    assert.match(put.headers['retry-after'] as string, /^[1-5]$/);
    assert.match((put.json() as { error: string }).error, /^store unavailable: database is locked \(SQLITE_BUSY\) .*nothing was changed, try again later$/);
    // a direct operation is refused the same way, at once
    const t0 = Date.now();
    await assert.rejects(c.retryJob(STREAM, tag, 'e2e-aws', 'test', 'test'), (e: unknown) => e instanceof OperationError && e.code === 'unavailable');
    assert.ok(Date.now() - t0 < 500, 'refused without waiting for the store');
    // reads keep serving the last view
    const tags = await app.inject({ url: `/api/v1/releasestream/${STREAM}/tags` });
    assert.equal(tags.statusCode, 200);
    assert.equal((tags.json() as { tags: { name: string }[] }).tags[0]!.name, tag);
    const committedBefore = w.store.committed.length;

    // the store answers again
    const failedAttempts = w.store.failed.length;
    w.store.failWith = null;
    const p = await waitFor('payload accepted', () => (c.state.payload(STREAM, tag)?.phase === 'Accepted' ? c.state.payload(STREAM, tag) : null), 20_000);
    await c.idle();
    assert.equal(c.unavailable(), null);
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    // the first commit after the outage is the one that kept failing
    assert.deepEqual(w.store.committed[committedBefore], w.store.failed[0]);

    // every result recorded, in the order the executor reported them, and nothing launched twice
    const events = await c.listEvents({ stream: STREAM, tag: p.tag });
    const finished = events.filter((e) => e.type === 'JobStateChanged' && e.data.state !== 'Pending').map((e) => e.data.runId as string);
    assert.deepEqual(finished, w.reported);
    const snap = await w.store.load();
    const states = Object.fromEntries(snap.jobRuns.filter((r) => r.tag === tag).map((r) => [r.verifyName, r.state]));
    assert.deepEqual(states, VERIFY);
    assertLaunchedOnce(w, runIds);
    console.log(`# outage: ${failedAttempts} failed commit attempts, 3 results kept and recorded in order`);
  } finally {
    await app.close();
    await stopWorld(w);
    cleanup(dir);
  }
});

test('store outage: stop() does not wait for a dead store; the next start adopts the unrecorded results from the executor', async () => {
  const dir = tempDir();
  let w = await startWorld(dir);
  try {
    const tag = await runningPayload(w);
    const runIds = w.controller.state.runs(STREAM, tag).map((r) => r.id);

    w.store.failWith = busy();
    writeFileSync(w.gate, '');
    await waitFor('all three results reported', () => w.reported.length === 3, 20_000);
    await waitFor('retrying', () => w.store.failed.length >= 3, 20_000);
    const t0 = Date.now();
    await w.controller.stop();
    const stopMs = Date.now() - t0;
    assert.ok(stopMs < 2000, `stop took ${stopMs} ms`);
    await w.store.close();
    // nothing was recorded: the runs are still Pending in the file
    const file = openSqliteStore(join(dir, 'rc.db'));
    assert.deepEqual((await file.load()).jobRuns.map((r) => r.state), ['Pending', 'Pending', 'Pending']);
    await file.close();

    // a new process on the same data: adoption records every result, no job runs again
    w = await startWorld(dir);
    const p = await waitFor('payload accepted after restart', () => (w.controller.state.payload(STREAM, tag)?.phase === 'Accepted' ? w.controller.state.payload(STREAM, tag) : null), 20_000);
    await w.controller.idle();
    const states = Object.fromEntries(w.controller.state.runs(STREAM, p.tag).map((r) => [r.verifyName, r.state]));
    assert.deepEqual(states, VERIFY);
    assertLaunchedOnce(w, runIds);
  } finally {
    await stopWorld(w);
    cleanup(dir);
  }
});

test('store outage: an error retrying cannot fix (a constraint violation) is not retried in a loop and does not mark the store unavailable; the result is recorded on a later try', async () => {
  const dir = tempDir();
  const w = await startWorld(dir);
  try {
    const c = w.controller;
    const tag = await runningPayload(w);

    // an operation whose commit fails with a non-transient error fails with that error (HTTP 500), once
    w.store.failWith = new Database.SqliteError('FOREIGN KEY constraint failed', 'SQLITE_CONSTRAINT_FOREIGNKEY');
    await assert.rejects(c.overridePhase(STREAM, tag, 'Rejected', 'test', 'test'), /FOREIGN KEY constraint failed/);
    assert.equal(w.store.failed.length, 1);
    assert.equal(c.unavailable(), null);

    // a job result whose commit fails that way is tried again later (after 5 s), not in a backoff loop
    writeFileSync(w.gate, '');
    const first = await waitFor('a result failed to record', () => runOf(w.store.failed[1] ?? [])?.id, 20_000);
    const again = await waitFor('the same result tried again', () => {
      const k = w.store.failed.findIndex((f, n) => n > 1 && runOf(f)?.id === first);
      return k > 0 ? k : null;
    }, 20_000);
    const gapMs = w.store.failedAt[again]! - w.store.failedAt[1]!;
    assert.ok(gapMs >= 4500, `tried again after ${gapMs} ms`);
    // in between: at most the other two results, once each
    assert.ok(again - 1 <= 3, `${again - 1} attempts before the retry`);
    assert.equal(c.unavailable(), null);
    w.store.failWith = null;
    await waitFor('payload accepted', () => c.state.payload(STREAM, tag)?.phase === 'Accepted', 20_000);
    // the informing result may be the one still waiting for its later try
    await waitFor('every result recorded', () => c.state.runs(STREAM, tag).every((r) => r.state !== 'Pending'), 20_000);
    const states = Object.fromEntries(c.state.runs(STREAM, tag).map((r) => [r.verifyName, r.state]));
    assert.deepEqual(states, VERIFY);
  } finally {
    await stopWorld(w);
    cleanup(dir);
  }
});

test('store outage: an operation queued behind a commit that then fails gives up at once and writes nothing', async () => {
  const dir = tempDir();
  const w = await startWorld(dir);
  try {
    const c = w.controller;
    const first = pullSpec('cli');
    const tag = await runningPayload(w, first);

    // the store hangs on the next commit (a result), then fails it
    let release!: () => void;
    w.store.hold = new Promise<void>((r) => (release = r));
    w.store.failWith = busy();
    writeFileSync(w.gate, '');
    await waitFor('a result waiting for the store', () => w.reported.length > 0, 20_000);
    // the operation arrives while the store looks healthy, and queues behind that commit
    assert.equal(c.unavailable(), null);
    const op = c.setInputTags(INPUT, { cli: pullSpec('cli') }, 'test').then(() => null, (e: unknown) => e);
    const t0 = Date.now();
    w.store.hold = null;
    release();
    const err = await op;
    assert.ok(err instanceof OperationError && err.code === 'unavailable', String(err));
    assert.ok(Date.now() - t0 < 1000, 'the queued operation gave up without waiting out the outage');
    assert.match(err.message, /^store unavailable: database is locked \(SQLITE_BUSY\) \(since .*\); nothing was changed, try again later$/);

    w.store.failWith = null;
    await waitFor('every result recorded', () => c.state.runs(STREAM, tag).every((r) => r.state !== 'Pending'), 20_000);
    await c.idle();
    // the refused change never reached the store, even after it recovered
    const snap = await w.store.load();
    assert.deepEqual(snap.inputTags.filter((x) => x.input === INPUT).map((x) => x.pullSpec), [first]);
    assert.deepEqual(snap.payloads.map((p) => p.tag), [tag]);
    assert.ok(!w.store.committed.some((ch) => ch.some((x) => x.kind === 'setInputTags' && x.tags.some((t) => t.pullSpec !== first))));
  } finally {
    await stopWorld(w);
    cleanup(dir);
  }
});

test('store outage: an idle controller whose operation hits a dead store reports unavailable until a probe commit gets through', async () => {
  const dir = tempDir('rc-outage-');
  const w = await startWorld(dir);
  try {
    const c = w.controller;
    await c.idle();
    assert.equal(c.unavailable(), null);
    w.store.failWith = busy();
    // nothing else commits: only the operation finds out the store is down
    await assert.rejects(c.setInputTags(INPUT, { cli: pullSpec('cli') }, 'test'), (e: unknown) => e instanceof OperationError && e.code === 'unavailable');
    assert.match(c.unavailable() ?? '', /^store unavailable: database is locked/);
    // the next write is refused at once, without touching the store
    const tries = w.store.failed.length;
    await assert.rejects(c.setInputTags(INPUT, { cli: pullSpec('cli') }, 'test'), (e: unknown) => e instanceof OperationError && e.code === 'unavailable');
    await waitFor('the probe retried', () => w.store.failed.length > tries + 1, 10_000);
    w.store.failWith = null;
    await waitFor('available again', () => c.unavailable() === null, 10_000);
    // and writes work again, with their effect
    await runningPayload(w);
    assert.equal(c.state.payloads(STREAM).length, 1);
    assert.equal(c.state.inputTags(INPUT).length, 1);
  } finally {
    await stopWorld(w);
    cleanup(dir);
  }
});
