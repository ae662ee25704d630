// Conformance suite for the Store port (src/ports/store.ts): every adapter must pass it unchanged.
// Each test opens a fresh, empty store through `open()` and migrates it itself.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import type { EventRecord, InputTag, JobRun, Payload, Pin, PublishedRef, StreamRecord, UpgradeResult } from '../../src/domain/types.ts';
import type { Delivery } from '../../src/ports/notifications.ts';
import type { Change, Snapshot, Store } from '../../src/ports/store.ts';
import { isSettled } from '../../src/controller/state.ts';

export interface OpenedStore {
  store: Store;
  /** opens a new store on the same file / database (the suite closes `store` first) */
  reopen?: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

/** text that breaks naive SQL or JSON handling */
const NASTY = `it's "quoted" \`back\` \\slash\\ ; DROP TABLE payloads; -- ünïcödé 日本語 🚀 \u00e9\u0301 \n\ttab $1 ? :name %s`;

export function streamRecord(name: string, over: Partial<StreamRecord> = {}): StreamRecord {
  return {
    name,
    config: ReleaseConfigSchema.parse({
      name,
      to: 'release',
      message: NASTY,
      maxUnreadyReleases: 2,
      // key order is meaningful (iteration order of verify entries) and must survive
      verify: {
        'z-last': { prowJob: { name: 'periodic-ci-z' }, optional: true },
        'a-first': { prowJob: { name: 'periodic-ci-a' }, maxRetries: 2 },
        upgrade: { upgrade: true, upgradeFrom: 'Previous', prowJob: { name: 'upgrade' }, upgradeFromRelease: null },
        'qe-b': { qe: true, prowJob: { name: 'qe-b' }, qualifiers: { 'rh-qe': { deep: [1, 2.5, { x: null, y: [true, false] }] } } },
      },
      publish: { tag: { tagRef: { name: 'latest' }, on: 'QEAccepted' } },
      qe: { gate: 'InformingPassed', timeout: '6h' },
      unknownField: { kept: ['for', 'the', 'validator'] },
    }),
    sourceFile: `/etc/release/${name}.json`,
    input: `${name}-input`,
    errors: [],
    warnings: [],
    locked: false,
    ...over,
  };
}

export function inputTag(input: string, component: string, over: Partial<InputTag> = {}): InputTag {
  return {
    input,
    component,
    pullSpec: `quay.io/openshift/ocp@sha256:${'a'.repeat(64)}`,
    labels: { 'io.openshift.build.commit.id': 'b'.repeat(40), 'io.openshift.build.source-location': `https://github.com/openshift/${component}`, note: NASTY },
    updatedAt: '2026-01-02T03:04:05Z',
    ...over,
  };
}

export function payload(stream: string, tag: string, over: Partial<Payload> = {}): Payload {
  return {
    stream,
    tag,
    phase: 'Accepted',
    createdAt: '2026-01-02T03:04:05Z',
    inputHash: 'hash-1',
    pullSpec: `registry.example/ocp/release:${tag}`,
    digest: `sha256:${'c'.repeat(64)}`,
    components: {
      'zz-last': { pullSpec: 'quay.io/z@sha256:1', labels: { 'io.openshift.build.commit.id': 'abc' } },
      'aa-first': { pullSpec: 'quay.io/a@sha256:2' },
    },
    reason: '',
    message: '',
    annotations: { 'release.openshift.io/phase': 'Accepted', 'release.openshift.io/name': stream },
    override: null,
    qe: { state: '', reason: '', message: '', startedAt: null, deadline: null, generation: 0, jobs: [], override: null },
    phaseChangedAt: '2026-01-02T03:14:05Z',
    ...over,
  };
}

export function jobRun(p: Payload, verifyName: string, over: Partial<JobRun> = {}): JobRun {
  return {
    id: `${p.tag}-${verifyName}-1`,
    stream: p.stream,
    tag: p.tag,
    verifyName,
    jobName: `periodic-ci-openshift-release-${verifyName}`,
    kind: 'blocking',
    attempt: 1,
    generation: 0,
    state: 'Succeeded',
    url: `https://prow.example/view/${p.tag}/${verifyName}`,
    upgradeFrom: '',
    upgradeFromPullSpec: '',
    createdAt: '2026-01-02T03:05:00Z',
    startedAt: '2026-01-02T03:05:01Z',
    finishedAt: '2026-01-02T04:05:00Z',
    reason: '',
    logPath: `/var/lib/rc/runs/${p.tag}-${verifyName}-1/log`,
    ...over,
  };
}

export function event(stream: string, tag: string, over: Partial<EventRecord> = {}): EventRecord {
  return { at: '2026-01-02T03:04:05Z', stream, tag, type: 'PhaseChanged', actor: 'controller', message: 'Pending → Ready', data: { from: 'Pending', to: 'Ready' }, ...over };
}

const put = {
  stream: (stream: StreamRecord): Change => ({ kind: 'putStream', stream }),
  payload: (p: Payload): Change => ({ kind: 'putPayload', payload: p }),
  run: (run: JobRun): Change => ({ kind: 'putJobRun', run }),
  event: (e: EventRecord): Change => ({ kind: 'appendEvent', event: e }),
  upgrade: (result: UpgradeResult): Change => ({ kind: 'putUpgrade', result }),
  published: (ref: PublishedRef): Change => ({ kind: 'putPublished', ref }),
  inputTags: (input: string, tags: InputTag[]): Change => ({ kind: 'setInputTags', input, tags }),
};

const byKey = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

/** the snapshot with every list in key order (job runs keep their load order) */
function sorted(s: Snapshot): Snapshot {
  return {
    streams: [...s.streams].sort(byKey((x) => x.name)),
    inputTags: [...s.inputTags].sort(byKey((x) => `${x.input}\u0000${x.component}`)),
    payloads: [...s.payloads].sort(byKey((x) => `${x.stream}\u0000${x.tag}`)),
    jobRuns: s.jobRuns,
    upgrades: [...s.upgrades].sort(byKey((x) => x.runId)),
    published: [...s.published].sort(byKey((x) => `${x.stream}\u0000${x.name}`)),
    pins: [...(s.pins ?? [])].sort(byKey((x) => `${x.input}\u0000${x.component}`)),
  };
}

/** equal values and equal key order at every depth (deepStrictEqual ignores key order) */
function assertSameJson(actual: unknown, expected: unknown, what: string): void {
  assert.deepEqual(actual, expected, what);
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), `${what}: key order`);
}

const emptySnapshot: Snapshot = { streams: [], inputTags: [], payloads: [], jobRuns: [], upgrades: [], published: [], pins: [] };

export function storeSuite(name: string, open: () => Promise<OpenedStore>): void {
  /** opens a fresh store, migrates it, runs `fn`, then closes and cleans up whatever happened */
  async function withStore(fn: (store: Store, opened: OpenedStore) => Promise<void>): Promise<void> {
    const opened = await open();
    try {
      await opened.store.migrate();
      await fn(opened.store, opened);
    } finally {
      await opened.store.close();
      await opened.cleanup();
    }
  }

  describe(`Store conformance: ${name}`, () => {
    test('a new store is empty, and migrating again is harmless and keeps the data', () =>
      withStore(async (store) => {
        assert.deepEqual(await store.load(), emptySnapshot);
        assert.deepEqual(await store.listEvents({}), []);
        const p = payload('s', 's-1');
        await store.commit([put.stream(streamRecord('s')), put.payload(p), put.run(jobRun(p, 'e2e')), put.event(event('s', 's-1'))]);
        const before = await store.load();
        await store.migrate();
        await store.migrate();
        assert.deepEqual(await store.load(), before);
        assert.equal((await store.listEvents({})).length, 1);
      }));

    test('round-trips every record type with every field', () =>
      withStore(async (store) => {
        const bigAnnotations: Record<string, string> = {};
        for (let i = 0; i < 2000; i++) bigAnnotations[`example.com/annotation-${String(2000 - i).padStart(4, '0')}`] = `${NASTY} ${i}`;
        const streams = [
          streamRecord('4.20.0-0.nightly', { errors: ['verify.x.prowJob: required', NASTY], warnings: ['unknown field "foo"'], locked: true }),
          streamRecord('4.20.0-0.ci', { sourceFile: '', input: '' }),
        ];
        const tags = [inputTag('in-a', 'cli'), inputTag('in-a', 'installer', { labels: {} }), inputTag('in-b', 'ünïcödé-component')];
        const full = payload('4.20.0-0.nightly', '4.20.0-0.nightly-2026-01-02-030405', {
          phase: 'Rejected',
          reason: 'VerificationFailed',
          message: NASTY,
          mirrorRepository: 'registry.local:5000/4.20-art-latest-2026-01-02-030405',
          annotations: { ...bigAnnotations, 'release.openshift.io/message': NASTY, empty: '' },
          override: { phase: 'Rejected', reason: NASTY, user: 'ßob@example.com', at: '2026-01-02T05:00:00Z' },
          qe: {
            state: 'QERejected',
            reason: 'QEJobFailed',
            message: 'qe-b failed',
            startedAt: '2026-01-02T04:00:00Z',
            deadline: '2026-01-02T10:00:00Z',
            generation: 3,
            jobs: ['qe-b', 'qe-a'],
            override: { phase: 'QERejected', reason: 'manual', user: 'qe-lead', at: '2026-01-02T06:00:00Z' },
          },
        });
        const bare = payload('4.20.0-0.ci', '4.20.0-0.ci-2026-01-02-030405', { phase: 'Pending', components: {}, annotations: {}, inputHash: '', pullSpec: '', digest: '' });
        const runs = [
          jobRun(full, 'upgrade', {
            kind: 'upgrade',
            attempt: 2,
            state: 'Failed',
            upgradeFrom: '4.19.3',
            upgradeFromPullSpec: 'quay.io/openshift-release-dev/ocp-release:4.19.3-x86_64',
            reason: NASTY,
          }),
          jobRun(full, 'qe-b', { kind: 'qe', generation: 3, attempt: 0 }),
          jobRun(bare, 'e2e', { state: 'Pending', startedAt: null, finishedAt: null, url: '', logPath: '' }),
          jobRun(bare, 'e2e-empty-times', { state: 'Pending', startedAt: '', finishedAt: '' }),
        ];
        const upgrades: UpgradeResult[] = [
          { runId: runs[0]!.id, from: '4.19.3', to: full.tag, url: runs[0]!.url, state: 'Failed' },
          { runId: 'other', from: '', to: bare.tag, url: '', state: 'Pending' },
        ];
        const published: PublishedRef[] = [
          { stream: 'release', name: 'latest', tag: full.tag, updatedAt: '2026-01-02T07:00:00Z' },
          { stream: 'release', name: NASTY, tag: bare.tag, updatedAt: '' },
        ];
        const ev = event(full.stream, full.tag, { message: NASTY, data: { nested: { list: [1, 'two', null, { three: true }] }, quote: NASTY, big: 12345678901234, frac: 0.125 } });
        await store.commit([
          ...streams.map(put.stream),
          put.inputTags('in-a', tags.slice(0, 2)),
          put.inputTags('in-b', tags.slice(2)),
          put.payload(full),
          put.payload(bare),
          ...runs.map(put.run),
          ...upgrades.map(put.upgrade),
          ...published.map(put.published),
          put.event(ev),
        ]);

        const got = sorted(await store.load());
        assert.deepEqual(got, sorted({ streams, inputTags: tags, payloads: [full, bare], jobRuns: runs, upgrades, published }));
        const locked = got.streams.find((s) => s.name === streams[0]!.name)!;
        assertSameJson(locked.config, streams[0]!.config, 'stream config');
        const p = got.payloads.find((x) => x.tag === full.tag)!;
        assertSameJson(p.annotations, full.annotations, 'annotations');
        assertSameJson(p.components, full.components, 'components');
        assertSameJson(p.qe, full.qe, 'qe');
        assertSameJson(p.override, full.override, 'override');
        assertSameJson(got.inputTags[0]!.labels, tags[0]!.labels, 'labels');
        const events = await store.listEvents({});
        assert.equal(events.length, 1);
        assert.equal(typeof events[0]!.id, 'number');
        assert.deepEqual(events[0], { ...ev, id: events[0]!.id });
        assertSameJson(events[0]!.data, ev.data, 'event data');
      }));

    test('operator levers: a stream lock (who, why, when) and pinned components round-trip; setPins replaces an input’s set', () =>
      withStore(async (store, opened) => {
        const lock = { reason: NASTY, user: 'ßob@example.com', at: '2026-01-02T05:00:00Z' };
        const pin = (input: string, component: string, over: Partial<Pin> = {}): Pin => ({
          input, component, pullSpec: `quay.io/openshift/ocp@sha256:${'e'.repeat(64)}`, labels: { 'io.openshift.build.commit.id': 'f'.repeat(40), note: NASTY },
          fromTag: '4.20.0-0.nightly-2026-01-02-030405', reason: NASTY, user: 'rel-eng', at: '2026-01-02T06:00:00Z', ...over,
        });
        const pins = [pin('in-a', 'installer'), pin('in-a', 'cli', { labels: {}, fromTag: '' }), pin('in-b', 'ünïcödé-component')];
        await store.commit([
          put.stream(streamRecord('locked', { locked: true, lock })),
          put.stream(streamRecord('open')),
          { kind: 'setPins', input: 'in-a', pins: pins.slice(0, 2) },
          { kind: 'setPins', input: 'in-b', pins: pins.slice(2) },
        ]);
        let got = sorted(await store.load());
        assert.deepEqual(got.streams.find((x) => x.name === 'locked'), streamRecord('locked', { locked: true, lock }));
        assert.equal(got.streams.find((x) => x.name === 'open')!.lock, undefined, 'no lock: no field');
        assert.deepEqual(got.pins, sorted({ ...emptySnapshot, pins }).pins);
        assertSameJson(got.pins!.find((p) => p.component === 'installer')!.labels, pins[0]!.labels, 'pin labels');
        // unlocking drops the lock; a new pin set replaces the old one; an empty set removes them all
        await store.commit([put.stream(streamRecord('locked')), { kind: 'setPins', input: 'in-a', pins: [pins[1]!] }, { kind: 'setPins', input: 'in-b', pins: [] }]);
        got = sorted(await store.load());
        assert.equal(got.streams.find((x) => x.name === 'locked')!.lock, undefined);
        assert.equal(got.streams.find((x) => x.name === 'locked')!.locked, false);
        assert.deepEqual(got.pins, [pins[1]]);
        if (opened.reopen) {
          await store.commit([put.stream(streamRecord('locked', { locked: true, lock }))]);
          await store.close();
          const again = await opened.reopen();
          try {
            await again.migrate();
            const s2 = await again.load();
            assert.deepEqual(s2.streams.find((x) => x.name === 'locked')!.lock, lock, 'the lock survives a reopen');
            assert.deepEqual(s2.pins, [pins[1]]);
          } finally {
            await again.close();
          }
        }
      }));

    test('puts are upserts: the last write wins and nothing is duplicated', () =>
      withStore(async (store) => {
        const p1 = payload('s', 's-1', { phase: 'Pending' });
        const p2 = payload('s', 's-2');
        const a = jobRun(p1, 'a', { state: 'Pending', startedAt: null, finishedAt: null });
        const b = jobRun(p1, 'b');
        await store.commit([
          put.stream(streamRecord('s')),
          put.payload(p1),
          put.payload(p2),
          put.run(a),
          put.run(b),
          put.upgrade({ runId: a.id, from: 'x', to: p1.tag, url: '', state: 'Pending' }),
          put.published({ stream: 'release', name: 'latest', tag: p1.tag, updatedAt: '1' }),
        ]);
        const s2 = streamRecord('s', { locked: true, errors: ['broken'], config: ReleaseConfigSchema.parse({ name: 's', verify: {} }) });
        const p1b = { ...p1, phase: 'Accepted' as const, override: { phase: 'Accepted', reason: 'r', user: 'u', at: 't' }, annotations: { only: 'this' } };
        const a2 = { ...a, state: 'Failed' as const, startedAt: '2026-01-02T03:05:01Z', finishedAt: '2026-01-02T03:06:01Z', reason: 'exit 1' };
        await store.commit([
          put.stream(s2),
          put.payload(p1b),
          put.run(a2),
          put.upgrade({ runId: a.id, from: 'x', to: p1.tag, url: 'u', state: 'Failed' }),
          put.published({ stream: 'release', name: 'latest', tag: p2.tag, updatedAt: '2' }),
        ]);
        let s = sorted(await store.load());
        assert.deepEqual(s.streams, [s2]);
        assert.deepEqual(s.payloads, [p1b, p2]);
        // an updated run keeps its place in load order (runs load in first-insertion order)
        assert.deepEqual(s.jobRuns, [a2, b]);
        assert.deepEqual(s.upgrades, [{ runId: a.id, from: 'x', to: p1.tag, url: 'u', state: 'Failed' }]);
        assert.deepEqual(s.published, [{ stream: 'release', name: 'latest', tag: p2.tag, updatedAt: '2' }]);

        // and back to null / empty values
        const p1c = { ...p1b, override: null, annotations: {} };
        await store.commit([put.payload(p1c)]);
        s = sorted(await store.load());
        assert.deepEqual(s.payloads, [p1c, p2]);
      }));

    test('setInputTags replaces the whole component set of that input only', () =>
      withStore(async (store) => {
        await store.commit([put.inputTags('in', [inputTag('in', 'a'), inputTag('in', 'b')]), put.inputTags('other', [inputTag('other', 'a')])]);
        const b2 = inputTag('in', 'b', { pullSpec: 'quay.io/b@sha256:new', updatedAt: '2026-02-01T00:00:00Z' });
        await store.commit([put.inputTags('in', [b2, inputTag('in', 'c')])]);
        assert.deepEqual(sorted(await store.load()).inputTags, [b2, inputTag('in', 'c'), inputTag('other', 'a')]);
        await store.commit([put.inputTags('in', [])]);
        assert.deepEqual((await store.load()).inputTags, [inputTag('other', 'a')]);
      }));

    test('a batch whose later change fails rolls back entirely and rejects', () =>
      withStore(async (store) => {
        const p = payload('s', 's-1');
        await store.commit([
          put.stream(streamRecord('s')),
          put.inputTags('in', [inputTag('in', 'a')]),
          put.payload(p),
          put.run(jobRun(p, 'e2e')),
          put.event(event('s', 's-1')),
        ]);
        const before = await store.load();
        const eventsBefore = await store.listEvents({});

        const orphan = jobRun(payload('s', 'no-such-payload'), 'e2e');
        await assert.rejects(
          store.commit([
            put.stream(streamRecord('s2')),
            put.stream({ ...streamRecord('s'), locked: true }),
            put.inputTags('in', [inputTag('in', 'b')]),
            put.payload(payload('s', 's-2')),
            put.payload({ ...p, phase: 'Rejected' }),
            put.run({ ...jobRun(p, 'e2e'), state: 'Failed' }),
            put.event(event('s', 's-2')),
            put.upgrade({ runId: 'u', from: 'a', to: 'b', url: '', state: 'Pending' }),
            put.published({ stream: 'release', name: 'latest', tag: 's-1', updatedAt: 'now' }),
            { kind: 'deleteStream', name: 's' },
            put.run(orphan), // foreign key violation: no such payload
          ]),
        );
        assert.deepEqual(await store.load(), before);
        assert.deepEqual(await store.listEvents({}), eventsBefore);

        // the store is still usable, and event ids keep increasing
        const [id] = await store.commit([put.event(event('s', 's-1'))]);
        assert.ok(id! > eventsBefore[0]!.id!);
      }));

    test('deletePayload removes its job runs (periodic ones too) but keeps its events', () =>
      withStore(async (store) => {
        const gone = payload('s', 's-1');
        const kept = payload('s', 's-2');
        const keptRun = jobRun(kept, 'e2e');
        await store.commit([
          put.payload(gone),
          put.payload(kept),
          put.run(jobRun(gone, 'e2e')),
          put.run(jobRun(gone, 'nightly-periodic', { kind: 'periodic' })),
          put.run(keptRun),
          put.event(event('s', 's-1')),
        ]);
        await store.commit([{ kind: 'deletePayload', stream: 's', tag: 's-1' }]);
        const s = await store.load();
        assert.deepEqual(s.payloads, [kept]);
        assert.deepEqual(s.jobRuns, [keptRun]);
        assert.equal((await store.listEvents({ stream: 's', tag: 's-1' })).length, 1);
        // deleting what is not there is not an error
        assert.deepEqual(await store.commit([{ kind: 'deletePayload', stream: 's', tag: 's-1' }]), []);
      }));

    test('deletePayload removes the upgrade results of its runs; results of live payloads\' runs from it stay', () =>
      withStore(async (store) => {
        const older = payload('s', 's-1');
        const gone = payload('s', 's-2');
        const live = payload('s', 's-3');
        const other = payload('t', 's-2'); // the same tag in another stream keeps its own results
        const intoGone = jobRun(gone, 'upgrade', { upgradeFrom: older.tag });
        const periodicIntoGone = jobRun(gone, 'periodic-upgrade', { kind: 'periodic', upgradeFrom: older.tag });
        const fromGone = jobRun(live, 'upgrade', { upgradeFrom: gone.tag });
        const intoOther = jobRun(other, 'upgrade', { id: 't-upgrade', upgradeFrom: older.tag });
        const result = (r: JobRun): UpgradeResult => ({ runId: r.id, from: r.upgradeFrom, to: r.tag, url: r.url, state: 'Succeeded' });
        await store.commit([
          ...[older, gone, live, other].map(put.payload),
          ...[intoGone, periodicIntoGone, fromGone, intoOther].map(put.run),
          ...[intoGone, periodicIntoGone, fromGone, intoOther].map((r) => put.upgrade(result(r))),
        ]);
        await store.commit([{ kind: 'deletePayload', stream: 's', tag: gone.tag }]);
        const s = await store.load();
        assert.deepEqual(s.upgrades.map((u) => u.runId).sort(), [fromGone.id, intoOther.id].sort());
        assert.deepEqual(s.jobRuns.map((r) => r.id).sort(), [fromGone.id, intoOther.id].sort());
        // the live payload's results from the deleted one are its own: deleting their source does not touch them
        await store.commit([{ kind: 'deletePayload', stream: 's', tag: older.tag }]);
        assert.deepEqual((await store.load()).upgrades.map((u) => u.runId).sort(), [fromGone.id, intoOther.id].sort());
        await store.commit([{ kind: 'deletePayload', stream: 's', tag: live.tag }, { kind: 'deletePayload', stream: 't', tag: other.tag }]);
        assert.deepEqual((await store.load()).upgrades, []);
      }));

    test('listRunIds lists every job run id', () =>
      withStore(async (store) => {
        assert.deepEqual(await store.listRunIds(), []);
        const p = payload('s', 's-1');
        await store.commit([put.payload(p), put.run(jobRun(p, 'a')), put.run(jobRun(p, 'b', { kind: 'periodic' }))]);
        assert.deepEqual((await store.listRunIds()).sort(), [jobRun(p, 'a').id, jobRun(p, 'b').id]);
        await store.commit([{ kind: 'deletePayload', stream: 's', tag: 's-1' }]);
        assert.deepEqual(await store.listRunIds(), []);
      }));

    test('pruneEvents removes the whole trail of a deleted payload once its newest event is older than the cutoff, and nothing else', () =>
      withStore(async (store) => {
        const at = (day: number, h = 0) => `2026-01-${String(day).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;
        const live = payload('s', 's-live');
        await store.commit([put.stream(streamRecord('s')), put.payload(live), put.payload(payload('s', 's-old')), put.payload(payload('s', 's-recent'))]);
        await store.commit([
          // a live payload's trail, however old, and stream-level events (tag "") stay
          put.event(event('s', 's-live', { at: at(1) })),
          put.event(event('s', '', { at: at(1), type: 'InputUpdated' })),
          put.event(event('gone-stream', '', { at: at(1), type: 'InputUpdated' })),
          put.event(event('', '', { at: at(1), type: 'InputUpdated' })),
          // deleted long ago: the whole trail goes
          put.event(event('s', 's-old', { at: at(1) })),
          put.event(event('s', 's-old', { at: at(2), type: 'PayloadDeleted' })),
          // deleted recently: an old event stays while the trail's newest event is within the retention
          put.event(event('s', 's-recent', { at: at(1) })),
          put.event(event('s', 's-recent', { at: at(9), type: 'PayloadDeleted' })),
          // the same tag in another stream, deleted long ago
          put.event(event('t', 's-live', { at: at(1) })),
        ]);
        await store.commit([{ kind: 'deletePayload', stream: 's', tag: 's-old' }, { kind: 'deletePayload', stream: 's', tag: 's-recent' }]);
        const before = await store.listEvents({});
        assert.equal(before.length, 9);
        assert.equal(await store.pruneEvents(at(5)), 3);
        const left = await store.listEvents({});
        assert.deepEqual(
          left.map((e) => `${e.stream}/${e.tag}@${e.at.slice(8, 10)}`),
          ['s/s-live@01', 's/@01', 'gone-stream/@01', '/@01', 's/s-recent@01', 's/s-recent@09'],
        );
        // ids and contents of what is left are unchanged
        assert.deepEqual(left, before.filter((e) => left.some((l) => l.id === e.id)));
        assert.equal(await store.pruneEvents(at(5)), 0, 'pruning again finds nothing');
        assert.equal(await store.pruneEvents(at(9)), 0, 'the cutoff is exclusive');
        assert.equal(await store.pruneEvents(at(9, 1)), 2);
        assert.equal(await store.pruneEvents('2099-01-01T00:00:00Z'), 0, 'live and stream-level events are never pruned');
        assert.equal((await store.listEvents({})).length, 4);
        // appending goes on with increasing ids
        const [id] = await store.commit([put.event(event('s', 's-live'))]);
        assert.ok(id! > left[left.length - 1]!.id!);
      }));

    test('deleteStream removes the stream record only', () =>
      withStore(async (store) => {
        const p = payload('s', 's-1');
        await store.commit([put.stream(streamRecord('s')), put.stream(streamRecord('t')), put.payload(p)]);
        await store.commit([{ kind: 'deleteStream', name: 's' }]);
        const s = await store.load();
        assert.deepEqual(s.streams, [streamRecord('t')]);
        assert.deepEqual(s.payloads, [p]);
      }));

    test('events are append-only with increasing ids; listEvents filters by stream, tag, afterId and limit', () =>
      withStore(async (store) => {
        assert.deepEqual(await store.commit([]), []);
        const batch1 = [event('a', 'a-1', { type: 'T1' }), event('a', 'a-2'), event('b', 'b-1'), event('a', 'a-1', { type: 'T2', data: {} })];
        const ids1 = await store.commit([put.stream(streamRecord('a')), ...batch1.map(put.event)]);
        assert.equal(ids1.length, 4);
        const ids2 = await store.commit([put.event(event('b', 'b-1')), put.stream(streamRecord('b')), put.event(event('a', 'a-1', { type: 'T3' }))]);
        const ids = [...ids1, ...ids2];
        for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `ids increase: ${ids}`);

        const all = await store.listEvents({});
        assert.deepEqual(
          all.map((e) => e.id),
          ids,
        );
        assert.deepEqual(all[0], { ...batch1[0], id: ids[0] });
        const ofA1 = await store.listEvents({ stream: 'a', tag: 'a-1' });
        assert.deepEqual(
          ofA1.map((e) => e.type),
          ['T1', 'T2', 'T3'],
        );
        assert.deepEqual(
          (await store.listEvents({ stream: 'a' })).map((e) => e.id),
          [ids[0], ids[1], ids[3], ids[5]],
        );
        assert.deepEqual(
          (await store.listEvents({ tag: 'b-1' })).map((e) => e.id),
          [ids[2], ids[4]],
        );
        assert.deepEqual(
          (await store.listEvents({ afterId: ids[2] })).map((e) => e.id),
          ids.slice(3),
        );
        assert.deepEqual(
          (await store.listEvents({ stream: 'a', tag: 'a-1', afterId: ids[0], limit: 1 })).map((e) => e.type),
          ['T2'],
        );
        assert.deepEqual(
          (await store.listEvents({ limit: 2 })).map((e) => e.id),
          ids.slice(0, 2),
        );
        assert.deepEqual(await store.listEvents({ stream: 'nope' }), []);
        assert.deepEqual(await store.listEvents({ afterId: ids[ids.length - 1] }), []);
      }));

    test('listEvents returns at most 1000 events unless asked for more', () =>
      withStore(async (store) => {
        const many = Array.from({ length: 1005 }, (_, i) => put.event(event('s', 's-1', { message: `#${i}` })));
        const ids = await store.commit(many);
        assert.equal(ids.length, 1005);
        const first = await store.listEvents({ stream: 's' });
        assert.equal(first.length, 1000);
        assert.equal(first[999]!.message, '#999');
        const rest = await store.listEvents({ stream: 's', afterId: first[999]!.id });
        assert.deepEqual(
          rest.map((e) => e.message),
          ['#1000', '#1001', '#1002', '#1003', '#1004'],
        );
        assert.equal((await store.listEvents({ limit: 1005 })).length, 1005);
      }));

    test('load({ activeRunsOnly }) returns the runs of deciding payloads plus Pending and periodic runs', () =>
      withStore(async (store) => {
        const settled = payload('s', 's-1');
        const ready = payload('s', 's-2', { phase: 'Ready' });
        const qeRunning = payload('s', 's-3', { qe: { ...settled.qe, state: 'QERunning' } });
        const settledRuns = [jobRun(settled, 'e2e'), jobRun(settled, 'pending', { state: 'Pending' }), jobRun(settled, 'periodic', { kind: 'periodic' })];
        const readyRun = jobRun(ready, 'e2e');
        const qeRun = jobRun(qeRunning, 'qe-a', { kind: 'qe' });
        await store.commit([put.payload(settled), put.payload(ready), put.payload(qeRunning), ...settledRuns.map(put.run), put.run(readyRun), put.run(qeRun)]);
        const active = await store.load({ activeRunsOnly: true });
        assert.deepEqual(active.jobRuns, [settledRuns[1], settledRuns[2], readyRun, qeRun]);
        assert.equal(active.payloads.length, 3);
        assert.equal((await store.load()).jobRuns.length, 5);
        if (store.runsOfSync) {
          assert.deepEqual(store.runsOfSync('s', 's-1'), settledRuns);
          assert.deepEqual(store.runsOfSync('s', 'no-such'), []);
        }
      }));

    test('runsOf reads every run of one payload, in insertion order, as committed last', () =>
      withStore(async (store) => {
        assert.ok(store.runsOf, 'the adapter reads one payload\'s runs on demand (lazy loading of settled runs)');
        const a = payload('s', 's-1');
        const b = payload('s', 's-2');
        const other = payload('t', 's-1'); // the same tag in another stream
        const runs = [jobRun(a, 'z-first'), jobRun(a, 'a-second', { state: 'Failed', reason: NASTY }), jobRun(a, 'env', { env: { K: NASTY } })];
        await store.commit([put.payload(a), put.payload(b), put.payload(other), put.run(runs[0]), put.run(jobRun(b, 'e2e')), put.run(runs[1]), put.run(jobRun(other, 'e2e')), put.run(runs[2])]);
        assertSameJson(await store.runsOf('s', 's-1'), runs, 'runs of s/s-1');
        // an update keeps a run's place
        const retried = { ...runs[0], state: 'Failed' as const, finishedAt: '2026-01-02T05:00:00Z' };
        await store.commit([put.run(retried)]);
        assertSameJson(await store.runsOf('s', 's-1'), [retried, runs[1], runs[2]], 'after an update');
        assert.deepEqual(await store.runsOf('s', 'no-such'), []);
        assert.deepEqual((await store.runsOf('t', 's-1')).map((r) => r.id), [jobRun(other, 'e2e').id]);
        // the payload's runs go with it
        await store.commit([{ kind: 'deletePayload', stream: 's', tag: 's-1' }]);
        assert.deepEqual(await store.runsOf('s', 's-1'), []);
        // the loads agree: the runs of every payload, whole or through runsOf
        const all = (await store.load()).jobRuns;
        assert.deepEqual([...(await store.runsOf('s', 's-2')), ...(await store.runsOf('t', 's-1'))].sort(byKey((r) => r.id)), [...all].sort(byKey((r) => r.id)));
      }));

    test('load({ activeRunsOnly }) leaves out the runs of settled payloads of every kind, and runsOf reads them', () =>
      withStore(async (store) => {
        const base = payload('s', 'x');
        const cases: [Payload, boolean][] = [
          [payload('s', 'accepted-ci-done', { jobs: { verify: {}, removed: {}, waivers: {}, ciDone: true } }), false],
          [payload('s', 'accepted-ci-open', { jobs: { verify: {}, removed: {}, waivers: {}, ciDone: false } }), true],
          [payload('s', 'rejected', { phase: 'Rejected' }), false],
          [payload('s', 'failed', { phase: 'Failed' }), false],
          [payload('s', 'pending', { phase: 'Pending' }), true],
          [payload('s', 'ready', { phase: 'Ready' }), true],
          [payload('s', 'qe-pending', { qe: { ...base.qe, state: 'QEPending' } }), true],
          [payload('s', 'qe-accepted', { qe: { ...base.qe, state: 'QEAccepted' } }), false],
          [payload('s', 'qe-skipped', { phase: 'Rejected', qe: { ...base.qe, state: 'QESkipped' } }), false],
        ];
        const changes: Change[] = [];
        for (const [p] of cases) changes.push(put.payload(p), put.run(jobRun(p, 'e2e')), put.run(jobRun(p, 'informing', { kind: 'informing', state: 'Failed' })));
        await store.commit(changes);
        const active = new Set((await store.load({ activeRunsOnly: true })).jobRuns.map((r) => r.tag));
        for (const [p, deciding] of cases) {
          assert.equal(isSettled(p), !deciding, `${p.tag}: the in-memory state agrees`);
          assert.equal(active.has(p.tag), deciding, `${p.tag}: runs loaded at start ${deciding ? '' : 'not '}expected`);
          assert.equal((await store.runsOf!(p.stream, p.tag)).length, 2, `${p.tag}: runsOf reads both`);
        }
      }));

    test('notifications: cursors move forward only, deliveries are recorded once, listed newest first, counted and pruned', () =>
      withStore(async (store, opened) => {
        const n = store.notifications!;
        assert.ok(n, 'the adapter has a NotificationStore');
        assert.equal(await n.latestEventId(), 0);
        assert.equal(await n.notifyCursor('art'), null);
        const ids = await store.commit([put.event(event('s', 's-1')), put.event(event('s', 's-2')), put.event(event('s', 's-3'))]);
        assert.equal(await n.latestEventId(), ids[2]);
        const d = (eventId: number, over: Partial<Delivery> = {}): Delivery => ({
          webhook: 'art', eventId, type: 'PayloadAccepted', stream: 's', tag: `s-${eventId}`, format: 'cloudevents', state: 'pending', attempts: 0,
          lastStatus: null, lastError: '', createdAt: '2026-01-02T03:04:05Z', updatedAt: '2026-01-02T03:04:05Z', nextAttemptAt: null, body: `{"x":${JSON.stringify(NASTY)}}`, ...over,
        });
        await n.enqueueDeliveries('art', ids[1]!, [d(ids[0]!), d(ids[1]!, { type: 'QERejected' })], '2026-01-02T03:04:05Z');
        assert.equal(await n.notifyCursor('art'), ids[1]);
        // the same event again is left as recorded; a cursor never moves back
        await n.enqueueDeliveries('art', ids[0]!, [d(ids[0]!, { body: 'other' })], '2026-01-02T03:04:06Z');
        assert.equal(await n.notifyCursor('art'), ids[1]);
        await n.enqueueDeliveries('slack', ids[2]!, [d(ids[2]!, { webhook: 'slack', format: 'slack', state: 'dropped', lastError: 'queue full' })], '2026-01-02T03:04:05Z');
        assert.deepEqual(await n.notifyCursors(), [{ webhook: 'art', eventId: ids[1] }, { webhook: 'slack', eventId: ids[2] }]);

        const pending = await n.pendingDeliveries('art', 10);
        assert.deepEqual(pending.map((x) => [x.eventId, x.type, x.body]), [[ids[0], 'PayloadAccepted', `{"x":${JSON.stringify(NASTY)}}`], [ids[1], 'QERejected', `{"x":${JSON.stringify(NASTY)}}`]]);
        const { seq: _seq, ...first } = pending[0]!;
        assert.deepEqual(first, d(ids[0]!));
        await n.updateDelivery({ webhook: 'art', eventId: ids[0]!, state: 'delivered', attempts: 2, lastStatus: 200, lastError: '', updatedAt: '2026-01-02T04:00:00Z', nextAttemptAt: null });
        await n.updateDelivery({ webhook: 'art', eventId: ids[1]!, state: 'pending', attempts: 1, lastStatus: 503, lastError: NASTY, updatedAt: '2026-01-02T04:00:00Z', nextAttemptAt: '2026-01-02T04:00:02Z' });
        assert.deepEqual((await n.pendingDeliveries('art', 10)).map((x) => [x.eventId, x.attempts, x.lastStatus, x.lastError, x.nextAttemptAt]), [[ids[1], 1, 503, NASTY, '2026-01-02T04:00:02Z']]);

        const all = await n.listDeliveries({});
        assert.deepEqual(all.map((x) => [x.webhook, x.eventId]), [['slack', ids[2]], ['art', ids[1]], ['art', ids[0]]]);
        assert.deepEqual((await n.listDeliveries({ webhook: 'art', state: 'delivered' })).map((x) => x.eventId), [ids[0]]);
        assert.deepEqual((await n.listDeliveries({ limit: 1 })).map((x) => x.eventId), [ids[2]]);
        assert.deepEqual((await n.listDeliveries({ before: all[0]!.seq, limit: 1 })).map((x) => x.eventId), [ids[1]]);
        assert.deepEqual(await n.countDeliveries(), [
          { webhook: 'art', state: 'delivered', count: 1 },
          { webhook: 'art', state: 'pending', count: 1 },
          { webhook: 'slack', state: 'dropped', count: 1 },
        ]);
        // finished ones older than the cutoff go; pending ones never do
        assert.equal(await n.pruneDeliveries('2026-01-03T00:00:00Z'), 2);
        assert.deepEqual((await n.listDeliveries({})).map((x) => x.eventId), [ids[1]]);
        await n.forgetWebhook('art');
        assert.equal(await n.notifyCursor('art'), null);
        assert.equal((await n.listDeliveries({ webhook: 'art' })).length, 1, 'deliveries stay as history');

        if (!opened.reopen) return;
        await store.close();
        const again = await opened.reopen();
        try {
          await again.migrate();
          assert.equal(await again.notifications!.notifyCursor('slack'), ids[2]);
          assert.equal((await again.notifications!.pendingDeliveries('art', 10)).length, 1);
        } finally {
          await again.close();
        }
      }));

    test('everything committed is still there after close and reopen', () =>
      withStore(async (store, opened) => {
        if (!opened.reopen) return;
        const p = payload('s', 's-1', { annotations: { b: '1', a: NASTY } });
        await store.commit([
          put.stream(streamRecord('s', { warnings: ['w'] })),
          put.inputTags('in', [inputTag('in', 'a')]),
          put.payload(p),
          put.run(jobRun(p, 'e2e', { startedAt: null })),
          put.run(jobRun(p, 'periodic', { kind: 'periodic' })),
          put.event(event('s', 's-1')),
          put.upgrade({ runId: 'r', from: 'x', to: 's-1', url: '', state: 'Succeeded' }),
          put.published({ stream: 'release', name: 'latest', tag: 's-1', updatedAt: 'now' }),
        ]);
        const before = await store.load();
        const eventsBefore = await store.listEvents({});
        await store.close();
        await assert.rejects(store.load(), /closed/);

        const again = await opened.reopen();
        try {
          await again.migrate();
          const after = await again.load();
          assert.deepEqual(after, before);
          assertSameJson(after.payloads[0]!.annotations, p.annotations, 'annotations');
          assert.deepEqual(await again.listEvents({}), eventsBefore);
          const [id] = await again.commit([put.event(event('s', 's-1'))]);
          assert.ok(id! > eventsBefore[0]!.id!);
        } finally {
          await again.close();
        }
      }));
  });
}
