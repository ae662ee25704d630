// Lazy loading of settled payloads' runs with an async loader (a database server, issue 17 item 5):
// their runs are in memory only after ensureRuns; what the leader or a follower applies meanwhile
// never makes a payload look complete; deciding payloads are loaded before a pass (ensureDeciding);
// a payload deleted during a read gets nothing back; the LRU cap holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { State, isSettled } from '../../src/controller/state.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { JobRun, Payload, StreamRecord } from '../../src/domain/types.ts';
import type { Snapshot } from '../../src/ports/store.ts';

const rec = (name: string): StreamRecord => ({ name, config: ReleaseConfigSchema.parse({ name, to: 'release' }), sourceFile: '', input: name, errors: [], warnings: [], locked: false });
const payload = (tag: string, day: number, over: Partial<Payload> = {}): Payload => ({
  stream: 's', tag, phase: 'Accepted', createdAt: `2024-05-0${day}T00:00:00Z`, inputHash: tag, pullSpec: `r:${tag}`, digest: '', components: {}, reason: '',
  message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: `2024-05-0${day}T00:00:00Z`, ...over,
});
const run = (p: Payload, verifyName: string, over: Partial<JobRun> = {}): JobRun => ({
  id: `${p.tag}-${verifyName}`, stream: p.stream, tag: p.tag, verifyName, jobName: verifyName, kind: 'blocking', attempt: 0, generation: 0, state: 'Succeeded',
  url: `u/${p.tag}-${verifyName}`, upgradeFrom: '', upgradeFromPullSpec: '', createdAt: p.createdAt, startedAt: p.createdAt, finishedAt: p.createdAt, reason: '', logPath: '',
  ...over,
});

/** a store of runs read asynchronously, counting reads; `hold` keeps reads waiting until released */
function asyncStore(runs: JobRun[]) {
  const rows = new Map<string, JobRun[]>();
  for (const r of runs) rows.set(`${r.stream}/${r.tag}`, [...(rows.get(`${r.stream}/${r.tag}`) ?? []), r]);
  let reads = 0;
  let gate: Promise<void> | null = null;
  let open = () => {};
  return {
    rows,
    reads: () => reads,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = null;
      open();
    },
    loader: async (s: string, t: string): Promise<JobRun[]> => {
      reads++;
      const g = gate;
      if (g) await g;
      return [...(rows.get(`${s}/${t}`) ?? [])];
    },
  };
}

/** a: settled, 2 finished runs and a periodic one; b: settled, a Pending run; c: Ready (deciding) */
function world() {
  const a = payload('a', 1);
  const b = payload('b', 2);
  const c = payload('c', 3, { phase: 'Ready' });
  const runs = [run(a, 'e2e'), run(a, 'upgrade', { state: 'Failed' }), run(a, 'nightly', { kind: 'periodic' }), run(b, 'e2e'), run(b, 'slow', { state: 'Pending', finishedAt: null }), run(c, 'e2e')];
  const store = asyncStore(runs);
  // what load({ activeRunsOnly }) returns: runs of deciding payloads, Pending and periodic runs
  const active = runs.filter((r) => r.tag === 'c' || r.state === 'Pending' || r.kind === 'periodic');
  const snap: Snapshot = { streams: [rec('s')], inputTags: [], payloads: [a, b, c], jobRuns: active, upgrades: [], published: [] };
  return { a, b, c, runs, store, snap };
}

const ids = (rs: readonly JobRun[]) => rs.map((r) => r.id).sort();

test('settled payloads start without their finished runs; ensureRuns reads them once, concurrent callers share the read', async () => {
  const { a, c, runs, store, snap } = world();
  const st = State.fromSnapshot(snap, { asyncLoader: store.loader });
  assert.equal(st.lazy, true);
  assert.equal(isSettled(a), true);
  assert.equal(st.hasRuns('s', 'a'), false);
  assert.deepEqual(ids(st.runs('s', 'a')), ['a-nightly'], 'only what is in memory, no read');
  assert.equal(store.reads(), 0);
  assert.equal(st.hasRuns('s', 'c'), true, 'a deciding payload has all its runs from the start');
  await Promise.all([st.ensureRuns('s', 'a'), st.ensureRuns('s', 'a'), st.ensureRunsOf([a, a, c])]);
  assert.equal(store.reads(), 1);
  assert.equal(st.hasRuns('s', 'a'), true);
  assert.deepEqual(ids(st.runs('s', 'a')), ids(runs.filter((r) => r.tag === 'a')));
  assert.equal(st.run('a-upgrade')?.state, 'Failed');
  await st.ensureRuns('s', 'a');
  await st.ensureRuns('s', 'no-such');
  assert.equal(store.reads(), 1, 'nothing more to read');
});

test('a run applied for a payload whose runs are not loaded does not make it complete; the read keeps the newer run in memory', async () => {
  const { a, store, snap } = world();
  const st = State.fromSnapshot(snap, { asyncLoader: store.loader });
  // a follower applies the leader's change: a run of a (its stored version is older than this one)
  const newer = { ...run(a, 'upgrade'), state: 'Succeeded' as const, reason: 'retried by hand' };
  const added = run(a, 'extra');
  store.rows.get('s/a')!.push(added);
  st.apply([{ kind: 'putJobRun', run: newer }, { kind: 'putJobRun', run: added }]);
  assert.equal(st.hasRuns('s', 'a'), false, 'still not complete');
  assert.deepEqual(ids(st.runs('s', 'a')), ['a-extra', 'a-nightly', 'a-upgrade']);
  await st.ensureRuns('s', 'a');
  assert.deepEqual(ids(st.runs('s', 'a')), ['a-e2e', 'a-extra', 'a-nightly', 'a-upgrade']);
  assert.equal(st.run('a-upgrade'), newer, 'the run in memory is kept, not the stored one');
  assert.equal(st.runs('s', 'a').filter((r) => r.id === 'a-upgrade').length, 1, 'no duplicate');
});

test('a settled payload made to decide again is loaded by ensureDeciding before a pass', async () => {
  const { a, store, snap } = world();
  const st = State.fromSnapshot(snap, { asyncLoader: store.loader });
  await st.ensureDeciding();
  assert.equal(store.reads(), 0, 'nothing deciding is missing runs');
  // e.g. a retry on a follower: the payload is Ready again
  st.apply([{ kind: 'putPayload', payload: { ...a, phase: 'Ready' } }]);
  assert.equal(st.hasRuns('s', 'a'), false);
  await st.ensureDeciding();
  assert.equal(st.hasRuns('s', 'a'), true);
  assert.deepEqual(ids(st.runs('s', 'a')), ['a-e2e', 'a-nightly', 'a-upgrade']);
  // b deciding again, then settled again before any pass: no read for it
  const b = st.payload('s', 'b')!;
  st.apply([{ kind: 'putPayload', payload: { ...b, phase: 'Ready' } }]);
  st.apply([{ kind: 'putPayload', payload: b }]);
  const reads = store.reads();
  await st.ensureDeciding();
  assert.equal(store.reads(), reads);
  assert.equal(st.hasRuns('s', 'b'), false);
});

test('a payload deleted while its runs are read gets none of them back', async () => {
  const { a, store, snap } = world();
  const st = State.fromSnapshot(snap, { asyncLoader: store.loader });
  store.hold();
  const loading = st.ensureRuns('s', 'a');
  st.apply([{ kind: 'deletePayload', stream: 's', tag: 'a' }]);
  store.release();
  await loading;
  assert.equal(st.payload('s', 'a'), undefined);
  assert.deepEqual(st.runs('s', 'a'), []);
  for (const id of ['a-e2e', 'a-upgrade', 'a-nightly']) assert.equal(st.run(id), undefined, id);
  assert.equal(st.sizes().runKeys, 2, 'b and c only');
  assert.equal(a.tag, 'a');
});

test('the cap of settled payloads in memory holds with the async loader; Pending and periodic runs stay', async () => {
  const { a, b, store, snap } = world();
  const st = State.fromSnapshot(snap, { asyncLoader: store.loader, settledRunsCap: 1 });
  await st.ensureRuns('s', 'a');
  assert.equal(st.hasRuns('s', 'a'), true);
  await st.ensureRuns('s', 'b');
  assert.equal(st.hasRuns('s', 'b'), true);
  assert.equal(st.hasRuns('s', 'a'), false, 'a left memory');
  assert.deepEqual(ids(st.runs('s', 'a')), ['a-nightly'], 'its periodic run stays');
  assert.equal(st.sizes().lru, 1);
  await st.ensureRuns('s', 'a');
  assert.deepEqual(ids(st.runs(b.stream, b.tag)), ['b-slow'], 'b left memory but its Pending run stays');
  assert.equal(a.tag, 'a');
});

test('with the sync loader ensureRuns reads through it; without a loader every payload is complete', async () => {
  const { runs, store, snap } = world();
  const st = State.fromSnapshot(snap, { loader: (s, t) => store.rows.get(`${s}/${t}`) ?? [] });
  assert.equal(st.hasRuns('s', 'a'), false);
  await st.ensureRuns('s', 'a');
  assert.equal(st.hasRuns('s', 'a'), true);
  const all = State.fromSnapshot({ ...snap, jobRuns: runs });
  assert.equal(all.lazy, false);
  assert.equal(all.hasRuns('s', 'a'), true);
  await all.ensureRuns('s', 'a');
  assert.deepEqual(ids(all.runs('s', 'a')), ['a-e2e', 'a-nightly', 'a-upgrade']);
});
