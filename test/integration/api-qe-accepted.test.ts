// DESIGN §14 through the HTTP API on state seeded through the real SQLite store: a payload is QE
// accepted for every consumer only while its CI phase is Accepted — a QE-accepted payload that is
// Rejected (overridden) or still Ready is not returned by `phase=QEAccepted` on /tags and /latest,
// by /releasestreams/qeaccepted or as a candidate; the console does not call it QE accepted. And a
// waived entry reads `Succeeded` in release info, with our `waived` field after upstream's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { ciEntries } from '../../src/domain/config/schema.ts';
import type { Payload } from '../../src/domain/types.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { CONFIGS, NIGHTLY, ReadOps, STABLE, EMPTY, PLAIN, T, pl, seedChanges } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

const QE = { state: 'QEAccepted' as const, reason: 'QEJobsPassed', message: '', startedAt: '2024-05-08T05:00:00Z', deadline: '2024-05-09T05:00:00Z', generation: 0, jobs: ['qe-e2e'], override: null };

/** A copy of an Accepted, QE-accepted seed payload under another tag (newer than every seeded one). */
function like(day: number, extra: Partial<Payload>): Payload {
  const base = pl(T(4));
  const tag = T(day);
  const createdAt = `2024-05-0${day}T00:00:00Z`;
  return { ...base, tag, createdAt, phaseChangedAt: createdAt, inputHash: `sha256:${tag}`, pullSpec: `registry.local/release:${tag}`, annotations: {}, ...extra };
}

const WAIVER = { reason: 'no 4.15 <stable> yet', user: 'carol', at: '2024-05-09T03:00:00Z' };

const EXTRA: Payload[] = [
  // QE accepted, then CI overridden to Rejected: not QE accepted for anyone
  like(8, {
    phase: 'Rejected', reason: 'ReleasePayloadManuallyRejected', message: 'bad build',
    override: { phase: 'Rejected', reason: 'bad build', user: 'admin', at: '2024-05-08T09:00:00Z' },
    qe: { ...QE, override: { phase: 'QEAccepted', reason: 'looks fine', user: 'qa', at: '2024-05-08T08:00:00Z' } },
  }),
  // QE verdict set while still Ready (legacy data): not QE accepted either; its upgrade entry is waived
  like(9, {
    phase: 'Ready', message: 'waiting for an upgrade source for upgrade-minor: no 4.15 release',
    qe: { ...QE, startedAt: '2024-05-09T05:00:00Z', deadline: '2024-05-10T05:00:00Z' },
    jobs: { verify: Object.fromEntries(ciEntries(CONFIGS[NIGHTLY])), removed: {}, waivers: { 'upgrade-minor': WAIVER }, ciDone: false },
  }),
];

describe('QE accepted only while CI Accepted, through the API (SQLite store)', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  const get = (url: string) => app.inject({ method: 'GET', url });

  before(async () => {
    dir = tempDir('rc-api-qe-accepted-');
    store = openSqliteStore(join(dir, 'rc.db'));
    await store.migrate();
    await store.commit([...seedChanges(), ...EXTRA.map((payload) => ({ kind: 'putPayload' as const, payload }))]);
    const ops = await ReadOps.load(store);
    app = await buildApp({ ops, artifactsUrl: 'https://openshift-release-artifacts.example.com', registerPages: createPages(ops) });
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('the extra payloads are stored and listed (they are the newest tags)', async () => {
    const all = (await get(`/api/v1/releasestream/${NIGHTLY}/tags`)).json();
    assert.deepEqual(all.tags.slice(0, 2).map((t: { name: string; phase: string; qePhase: string }) => [t.name, t.phase, t.qePhase]), [
      [T(9), 'Ready', 'QEAccepted'],
      [T(8), 'Rejected', 'QEAccepted'],
    ]);
  });

  test('tags?phase=QEAccepted leaves out QE-accepted payloads that are Rejected or Ready', async () => {
    const q = (await get(`/api/v1/releasestream/${NIGHTLY}/tags?phase=QEAccepted`)).json();
    assert.deepEqual(q.tags.map((t: { name: string }) => t.name), [T(4), T(1)]);
    // an explicit CI phase still finds them
    const r = (await get(`/api/v1/releasestream/${NIGHTLY}/tags?phase=Rejected`)).json();
    assert.ok(r.tags.some((t: { name: string }) => t.name === T(8)));
  });

  test('latest?phase=QEAccepted → the newest payload that is Accepted and QE accepted', async () => {
    assert.equal((await get(`/api/v1/releasestream/${NIGHTLY}/latest?phase=QEAccepted`)).json().name, T(4));
    assert.equal((await get(`/api/v1/releasestream/${NIGHTLY}/latest?phase=QEAccepted&phase=Ready`)).json().name, T(9), 'Ready matches as a CI phase');
    const redirect = await get(`/releasestream/${NIGHTLY}/latest?phase=QEAccepted`);
    assert.equal(redirect.headers.location, `/releasestream/${NIGHTLY}/release/${T(4)}`);
  });

  test('/releasestreams/qeaccepted lists only Accepted, QE-accepted payloads', async () => {
    assert.deepEqual((await get('/api/v1/releasestreams/qeaccepted')).json(), { [STABLE]: null, [PLAIN]: null, [NIGHTLY]: [T(4), T(1)], [EMPTY]: null });
  });

  test('candidate: a newer QE-accepted payload that is not Accepted is no candidate', async () => {
    assert.equal((await get(`/api/v1/releasestream/${NIGHTLY}/candidate`)).json().candidate.fromTag, T(4));
  });

  test('console: the QE label of such a payload is void, the summary line names the Accepted one', async () => {
    const page = (await get(`/releasestream/${NIGHTLY}/release/${T(8)}`)).body;
    assert.match(page, /data-qe="QEAccepted" data-qe-void=""[^>]*title="QE accepted by qa, but the payload is Rejected: it counts as QE accepted only while Accepted"/);
    assert.ok(page.includes('QE Accepted (void)'));
    const stream = (await get(`/releasestream/${NIGHTLY}?qe=QEAccepted`)).body;
    const rows = [...stream.matchAll(/<tr data-tag="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(rows, [T(4), T(1)]);
    assert.match(stream, new RegExp(`QE accepted <a href="/releasestream/${NIGHTLY.replace(/\./g, '\\.')}/release/${T(4).replace(/\./g, '\\.')}">`));
  });

  test('release info: a waived entry reads Succeeded with our waived field after upstream’s', async () => {
    const r = await get(`/api/v1/releasestream/${NIGHTLY}/release/${T(9)}`);
    assert.equal(r.statusCode, 200);
    const info = r.json();
    assert.deepEqual(info.results.informingJobs, { 'upgrade-minor': { state: 'Succeeded', url: '', waived: { user: 'carol', reason: 'no 4.15 <stable> yet', at: '2024-05-09T03:00:00Z' } } });
    // Go's encoder escapes < and > in the reason
    assert.ok(r.body.includes('"reason": "no 4.15 \\u003cstable\\u003e yet"'), r.body);
  });
});
