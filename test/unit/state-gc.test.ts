// The in-memory view forgets everything of a deleted payload (issue 13, bounded growth): the payload,
// its runs (periodic ones too), the upgrade results of its runs, and every index entry keyed by it;
// upgrade results of live payloads' runs from the deleted payload stay (they are those payloads').
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { State } from '../../src/controller/state.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { JobRun, Payload, StreamRecord, UpgradeResult } from '../../src/domain/types.ts';
import type { Snapshot } from '../../src/ports/store.ts';

const rec = (name: string): StreamRecord => ({ name, config: ReleaseConfigSchema.parse({ name, to: 'release' }), sourceFile: '', input: name, errors: [], warnings: [], locked: false });
const payload = (stream: string, tag: string, day: number): Payload => ({
  stream, tag, phase: 'Accepted', createdAt: `2024-05-0${day}T00:00:00Z`, inputHash: tag, pullSpec: `r:${tag}`, digest: '', components: {}, reason: '',
  message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: `2024-05-0${day}T00:00:00Z`,
});
const run = (p: Payload, verifyName: string, over: Partial<JobRun> = {}): JobRun => ({
  id: `${p.tag}-${verifyName}`, stream: p.stream, tag: p.tag, verifyName, jobName: verifyName, kind: 'blocking', attempt: 0, generation: 0, state: 'Succeeded',
  url: `u/${p.tag}-${verifyName}`, upgradeFrom: '', upgradeFromPullSpec: '', createdAt: p.createdAt, startedAt: p.createdAt, finishedAt: p.createdAt, reason: '', logPath: '',
  ...over,
});
const result = (r: JobRun): UpgradeResult => ({ runId: r.id, from: r.upgradeFrom, to: r.tag, url: r.url, state: 'Succeeded' });

/** s: a ← b ← c (each upgrade job of a payload upgrades from the one before); t: another stream with tag "b" too */
function world(): { snap: Snapshot; a: Payload; b: Payload; c: Payload; tb: Payload } {
  const a = payload('s', 'a', 1);
  const b = payload('s', 'b', 2);
  const c = payload('s', 'c', 3);
  const tb = payload('t', 'b', 2);
  const runs = [
    run(a, 'e2e'),
    run(b, 'e2e'), run(b, 'upgrade', { upgradeFrom: 'a' }), run(b, 'nightly', { kind: 'periodic', upgradeFrom: 'a' }),
    run(c, 'e2e'), run(c, 'upgrade', { upgradeFrom: 'b' }),
    run(tb, 'upgrade', { id: 't-b-upgrade', upgradeFrom: 'a' }),
  ];
  const upgrades = runs.filter((r) => r.upgradeFrom).map(result);
  return { snap: { streams: [rec('s'), rec('t')], inputTags: [], payloads: [a, b, c, tb], jobRuns: runs, upgrades, published: [] }, a, b, c, tb };
}

for (const lazy of [false, true]) {
  test(`deletePayload drops every index entry of the payload${lazy ? ' (runs of settled payloads loaded lazily)' : ''}`, () => {
    const { snap, b, c, tb } = world();
    const stored = new Map<string, JobRun[]>();
    for (const r of snap.jobRuns) stored.set(`${r.stream}/${r.tag}`, [...(stored.get(`${r.stream}/${r.tag}`) ?? []), r]);
    const opts = lazy ? { loader: (s: string, t: string) => stored.get(`${s}/${t}`) ?? [] } : {};
    // lazily: only periodic runs are in memory at first (as the stores' active-runs query gives them)
    const st = State.fromSnapshot(lazy ? { ...snap, jobRuns: snap.jobRuns.filter((r) => r.kind === 'periodic') } : snap, opts);
    assert.deepEqual(st.upgradesInto('b').map((u) => u.runId).sort(), ['b-nightly', 'b-upgrade', 't-b-upgrade']);

    // the controller reads the runs of what it deletes before the commit (so they are in memory)
    assert.equal(st.runs('s', 'b').length, 3);
    st.apply([{ kind: 'deletePayload', stream: 's', tag: 'b' }]);
    stored.delete('s/b');
    assert.equal(st.payload('s', 'b'), undefined);
    assert.equal(st.findTag('b'), tb, 'the tag still names the payload of stream t');
    assert.deepEqual(st.runs('s', 'b'), []);
    assert.equal(st.run('b-upgrade'), undefined);
    assert.deepEqual(st.periodicRuns('s'), []);
    // into b (s): gone; into b (t): kept; from b into the live c: kept, shown on c's page
    assert.deepEqual(st.upgradesInto('b').map((u) => u.runId), ['t-b-upgrade']);
    assert.deepEqual(st.upgradesInto('c').map((u) => u.runId), ['c-upgrade']);
    assert.deepEqual(st.upgradesOutOf('b').map((u) => u.runId), ['c-upgrade']);
    assert.deepEqual(st.upgradesOutOf('a').map((u) => u.runId), ['t-b-upgrade']);

    // once every payload is gone, nothing keyed by a payload, run or tag is left
    for (const [s, p] of [['s', 'a'], ['s', c.tag], ['t', tb.tag]] as const) st.apply([{ kind: 'deletePayload', stream: s, tag: p }]);
    const sizes = st.sizes();
    assert.deepEqual(Object.entries(sizes).filter(([, n]) => n !== 0), [], JSON.stringify(sizes));
    assert.equal(st.findTag('b'), undefined);
    assert.equal(b.tag, 'b');
  });
}

test('a deleted payload leaves nothing behind over many create/delete cycles', () => {
  const st = State.fromSnapshot({ streams: [rec('s')], inputTags: [], payloads: [], jobRuns: [], upgrades: [], published: [] });
  let prev: Payload | null = null;
  const baseline: Record<string, number>[] = [];
  for (let i = 0; i < 300; i++) {
    const p = payload('s', `p${i}`, 1 + (i % 9));
    const runs = [run(p, 'e2e'), run(p, 'upgrade', { upgradeFrom: prev?.tag ?? '' }), run(p, 'periodic', { kind: 'periodic' })];
    st.apply([{ kind: 'putPayload', payload: p }, ...runs.map((r) => ({ kind: 'putJobRun' as const, run: r })), ...(prev ? [{ kind: 'putUpgrade' as const, result: result(runs[1]!) }] : [])]);
    // keep the newest 5
    const old = st.payloads('s').slice(5);
    for (const o of old) st.apply([{ kind: 'deletePayload', stream: o.stream, tag: o.tag }]);
    if (i >= 10) baseline.push(st.sizes());
    prev = p;
  }
  for (const s of baseline) assert.deepEqual(s, baseline[0]);
  assert.equal(baseline[0]!.payloads, 5);
  assert.equal(baseline[0]!.runs, 15);
  assert.equal(baseline[0]!.upgrades, 5, 'each kept payload keeps the result of its upgrade job (from a payload that may be gone)');
});
