// Table tests for promotion into a Stable stream (issue 16, item 1) and the upgrade sources that
// resolve against promoted releases (item 3): state + request + now → changes or a refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { State } from '../../src/controller/state.ts';
import { ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { freezeJobs } from '../../src/domain/judging.ts';
import { promoteRelease, type OpResult, type PromoteRequest } from '../../src/domain/operations.ts';
import { applyAdoption, planStream } from '../../src/domain/plan.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { JobRun, Payload, QEStatus, StreamRecord, UpgradeResult } from '../../src/domain/types.ts';
import { resolveUpgradeSource } from '../../src/domain/upgrade.ts';
import { officialReleaseImage, sampleUpgradeVersions, stableUpgradeLaunches } from '../../src/domain/stable-upgrades.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const AT = '2026-06-01T11:00:00Z';
const nightly = ReleaseConfigSchema.parse({
  name: '4.16.0-0.nightly', to: 'release',
  verify: { e2e: { prowJob: { name: 'e2e' } }, 'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } }, patch: { upgrade: true, upgradeFrom: 'PreviousPatch', prowJob: { name: 'up' } } },
});
const ci = ReleaseConfigSchema.parse({ name: '4.16.0-0.ci', to: 'release-ci', verify: { e2e: { prowJob: { name: 'e2e' } } } });
const stable = ReleaseConfigSchema.parse({ name: '4-stable', as: 'Stable', verify: { 'upgrade-patch': { upgrade: true, prowJob: { name: 'up' } } } });
const arm = ReleaseConfigSchema.parse({ name: '4-stable-arm64', as: 'Stable', verify: {} });

function payload(config: ReleaseConfig, tag: string, o: Partial<Payload> = {}, qe: Partial<QEStatus> = {}): Payload {
  return {
    stream: config.name, tag, phase: 'Accepted', createdAt: AT, inputHash: `h-${tag}`, pullSpec: `q/${config.to ?? config.name}:${tag}`, digest: `sha256:${tag.length}`,
    components: { cli: { pullSpec: `q/cli@sha256:${tag.length}`, labels: {} } } as Payload['components'], reason: '', message: '',
    annotations: {}, override: null, qe: { ...emptyQEStatus(), ...qe }, phaseChangedAt: AT, jobs: freezeJobs(config), ...o,
  };
}

const N_QE = payload(nightly, '4.16.0-0.nightly-2026-06-01-000001', {}, { state: 'QEAccepted' });
const N_QEPENDING = payload(nightly, '4.16.0-0.nightly-2026-06-01-000002', {}, { state: 'QEPending' });
const N_READY = payload(nightly, '4.16.0-0.nightly-2026-06-01-000003', { phase: 'Ready' }, { state: 'QEPending' });
const C_ACC = payload(ci, '4.16.0-0.ci-2026-06-01-000001');
const S1 = payload(stable, '4.16.1');
const S_RC = payload(stable, '4.17.0-rc.1', { phase: 'Ready' });
const S_OLD = payload(stable, '4.15.9');
const A1 = payload(arm, '4.16.1-arm', { pullSpec: 'q/arm:4.16.1' });

const up = (from: string, to: string, state: UpgradeResult['state'], i = 0): UpgradeResult => ({ from, to, url: `u/${from}-${to}-${i}`, state, runId: `${from}-${to}-${i}` });
const rec = (config: ReleaseConfig, o: Partial<StreamRecord> = {}): StreamRecord => ({ name: config.name, config, sourceFile: `${config.name}.json`, input: config.name, errors: [], warnings: [], locked: false, ...o });

function world(o: { stable?: Partial<StreamRecord>; payloads?: Payload[] } = {}): State {
  return State.fromSnapshot({
    streams: [rec(nightly), rec(ci), rec(stable, o.stable), rec(arm)],
    inputTags: [],
    payloads: o.payloads ?? [N_QE, N_QEPENDING, N_READY, C_ACC, S1, S_RC, S_OLD, A1],
    jobRuns: [],
    upgrades: [up('4.16.1', N_QE.tag, 'Succeeded'), up('4.15.9', N_QE.tag, 'Failed'), up(N_READY.tag, N_QE.tag, 'Succeeded')],
    published: [],
  });
}
const W = world();

const req = (o: Partial<PromoteRequest> = {}): PromoteRequest => ({
  stream: '4-stable', version: '4.16.2', from: `4.16.0-0.nightly/${N_QE.tag}`, reason: 'GA candidate', user: 'alice', force: false, previous: [], repository: 'quay.io/ocp/release', ...o,
});

function refused(r: OpResult): [number, string] | null {
  return r.ok ? null : [r.refusal.status, r.refusal.message];
}

const REFUSALS: { name: string; view?: State; req: Partial<PromoteRequest>; status: number; message: RegExp }[] = [
  { name: 'empty reason', req: { reason: ' ' }, status: 400, message: /reason is required/ },
  { name: 'unknown target stream', req: { stream: 'nope' }, status: 404, message: /unknown release stream nope/ },
  { name: 'target is not Stable', req: { stream: '4.16.0-0.ci' }, status: 400, message: /is not a Stable stream/ },
  { name: 'target locked', view: world({ stable: { locked: true, lock: { reason: 'freeze', user: 'boss', at: AT } } }), req: {}, status: 409, message: /locked by boss: freeze; unlock it first/ },
  { name: 'target has config errors', view: world({ stable: { errors: ['bad'] } }), req: {}, status: 409, message: /configuration errors/ },
  { name: 'version not semver', req: { version: '4.16' }, status: 400, message: /"4.16" is not a semantic version/ },
  { name: 'version with a v', req: { version: 'v4.16.2' }, status: 400, message: /not a semantic version/ },
  { name: 'version exists', req: { version: '4.16.1' }, status: 409, message: /4\.16\.1 already exists in stream 4-stable/ },
  { name: 'from without a slash', req: { from: N_QE.tag }, status: 400, message: /from must be <stream>\/<tag>/ },
  { name: 'from with an empty tag', req: { from: '4.16.0-0.nightly/' }, status: 400, message: /from must be <stream>\/<tag>/ },
  { name: 'unknown source stream', req: { from: 'nope/x' }, status: 404, message: /unknown release stream nope/ },
  { name: 'unknown source tag', req: { from: '4.16.0-0.nightly/nope' }, status: 404, message: /unknown release tag nope in stream 4.16.0-0.nightly/ },
  { name: 'source in the same Stable stream', req: { from: '4-stable/4.16.1' }, status: 400, message: /already a release of 4-stable/ },
  { name: 'source Accepted but not QE accepted', req: { from: `4.16.0-0.nightly/${N_QEPENDING.tag}` }, status: 409, message: /its QE verdict is QEPending, not QEAccepted \(force/ },
  { name: 'source Ready', req: { from: `4.16.0-0.nightly/${N_READY.tag}` }, status: 409, message: /it is Ready, not Accepted and its QE verdict is QEPending/ },
  { name: 'bad previous', req: { previous: ['4.16.1', 'latest'] }, status: 400, message: /previous: "latest" is not a semantic version/ },
];

for (const row of REFUSALS) {
  test(`promote refused: ${row.name}`, () => {
    const r = refused(promoteRelease(row.view ?? W, req(row.req), NOW));
    assert.ok(r, 'refused');
    assert.equal(r[0], row.status);
    assert.match(r[1], row.message);
  });
}

test('promote: the release is Pending in the Stable stream with the source components, lineage and tested upgrade sources', () => {
  const r = promoteRelease(W, req({ previous: ['4.16.0'] }), NOW);
  assert.ok(r.ok);
  const p = r.changes.payload!;
  assert.equal(p.stream, '4-stable');
  assert.equal(p.tag, '4.16.2');
  assert.equal(p.phase, 'Pending');
  assert.equal(p.pullSpec, 'quay.io/ocp/release:4.16.2');
  assert.equal(p.digest, '');
  assert.deepEqual(p.components, N_QE.components);
  assert.equal(p.createdAt, '2026-06-01T12:00:00Z');
  // the failed run from 4.15.9 and the nightly-to-nightly run are no declared upgrade sources
  assert.deepEqual(p.annotations, { 'release.openshift.io/from-tag': N_QE.tag, 'release.openshift.io/previous': '4.16.1,4.16.0' });
  assert.deepEqual(Object.keys(p.jobs!.verify).sort(), ['upgrade-patch'], 'verified by the Stable config');
  assert.equal(p.qe.state, '', 'no QE on a Stable stream without QE entries');
  assert.deepEqual(r.changes.wake, ['4-stable']);
  const [e] = r.changes.events;
  assert.equal(e.type, 'ReleasePromoted');
  assert.equal(e.actor, 'alice');
  assert.equal(e.stream, '4-stable');
  assert.equal(e.tag, '4.16.2');
  assert.match(e.message, /4\.16\.2 promoted from 4\.16\.0-0\.nightly\/.*: GA candidate/);
  assert.equal(e.data.force, false);
  assert.deepEqual(e.data.previous, ['4.16.1', '4.16.0']);
});

test('promote: a stream without QE jobs needs only Accepted', () => {
  const r = promoteRelease(W, req({ from: `4.16.0-0.ci/${C_ACC.tag}` }), NOW);
  assert.ok(r.ok, JSON.stringify(refused(r)));
  assert.equal(r.changes.payload!.annotations['release.openshift.io/previous'], undefined, 'no tested sources, none declared');
});

test('promote: a pre-release version is a valid name', () => {
  const r = promoteRelease(W, req({ version: '4.17.0-ec.2' }), NOW);
  assert.ok(r.ok, JSON.stringify(refused(r)));
  assert.equal(r.changes.payload!.tag, '4.17.0-ec.2');
});

test('promote: force overrides a missing QE verdict and is audited', () => {
  const r = promoteRelease(W, req({ from: `4.16.0-0.nightly/${N_READY.tag}`, force: true, reason: 'hotfix' }), NOW);
  assert.ok(r.ok);
  const [e] = r.changes.events;
  assert.equal(e.data.force, true);
  assert.match(String(e.data.overridden), /it is Ready, not Accepted and its QE verdict is QEPending/);
  assert.match(e.message, /\(forced: it is Ready/);
});

test('promote: force on an eligible source is not recorded as forced', () => {
  const r = promoteRelease(W, req({ force: true }), NOW);
  assert.ok(r.ok);
  assert.equal(r.changes.events[0].data.force, false);
  assert.equal('overridden' in r.changes.events[0].data, false);
});

test('Stable stream: every Pending release is built, none aborts another', () => {
  const p1 = { ...payload(stable, '4.16.2', { phase: 'Pending', pullSpec: 'q/release:4.16.2', digest: '' }) };
  const p2 = { ...payload(stable, '4.16.3', { phase: 'Pending', pullSpec: 'q/release:4.16.3', digest: '' }) };
  const plan = planStream(world({ payloads: [p2, p1, S1] }), '4-stable', NOW);
  assert.deepEqual([...plan.builds].sort(), ['4.16.2', '4.16.3']);
  assert.equal(plan.payloads.filter((p) => p.phase === 'Failed').length, 0);
});

// ------------------------------------------------------------------ upgrade sources (item 3)

const nightlyP = payload(nightly, '4.16.0-0.nightly-2026-06-02-000001', { phase: 'Ready' });

test('PreviousPatch of a nightly resolves to the newest Accepted release of its minor in any Stable stream', () => {
  const w = world({ payloads: [nightlyP, S1, payload(stable, '4.16.2', { pullSpec: 'q/release:4.16.2' }), payload(stable, '4.16.3', { phase: 'Ready' }), S_OLD] });
  const r = resolveUpgradeSource(w, nightly, nightlyP, { upgradeFrom: 'PreviousPatch' }, 'verify');
  assert.deepEqual(r, { ok: true, source: { tag: '4.16.2', pullSpec: 'q/release:4.16.2' }, why: 'PreviousPatch' });
  const minor = resolveUpgradeSource(w, nightly, nightlyP, { upgradeFrom: 'PreviousMinor' }, 'verify');
  assert.deepEqual(minor.ok && minor.source?.tag, '4.15.9');
});

const OFFICIAL: { name: string; release: { version: string; channel: string; architecture?: string }; tag: string | null; why: RegExp }[] = [
  { name: 'x.y takes the highest Accepted GA release of the channel', release: { version: '4.16', channel: 'stable' }, tag: '4.16.1', why: /channel stable-4\.16/ },
  { name: 'a channel that names its minor is kept', release: { version: '4.16', channel: 'fast-4.16' }, tag: '4.16.1', why: /channel fast-4\.16$/ },
  { name: 'x.y.z must exist', release: { version: '4.15.9', channel: 'stable' }, tag: '4.15.9', why: /stable-4\.15/ },
  { name: 'an x.y.z we do not have waits', release: { version: '4.16.7', channel: 'stable' }, tag: null, why: /4\.16\.7 .* is not a release of this deployment/ },
  { name: 'candidate offers Ready pre-releases', release: { version: '4.17', channel: 'candidate' }, tag: '4.17.0-rc.1', why: /candidate-4\.17/ },
  { name: 'stable offers no pre-release', release: { version: '4.17.0-rc.1', channel: 'stable' }, tag: null, why: /not a release of this deployment/ },
  { name: 'architecture picks the streams of that architecture', release: { version: '4.16', channel: 'stable', architecture: 'arm64' }, tag: null, why: /arm64/ },
];

for (const row of OFFICIAL) {
  test(`official upgrade source from our graph: ${row.name}`, () => {
    const r = resolveUpgradeSource(W, nightly, nightlyP, { upgradeFromRelease: { release: row.release } }, 'verify');
    assert.ok(r.ok);
    assert.equal(r.source?.tag ?? null, row.tag);
    assert.match(r.why, row.why);
    if (row.tag) assert.match(r.source!.pullSpec, /@sha256:/, 'pulled by digest, as the update service hands it out');
  });
}

test('official upgrade source: an unparseable version is a config error of the job', () => {
  const r = resolveUpgradeSource(W, nightly, nightlyP, { upgradeFromRelease: { release: { version: 'latest', channel: 'stable' } } }, 'verify');
  assert.deepEqual(r, { ok: false, error: 'upgradeFromRelease.release: invalid version latest' });
});

// ------------------------------------------------------------------ Stable upgrade tests (§5.2)

test('upgrade sample: fewer than 9 per minor are all taken, highest first, minors ascending', () => {
  assert.deepEqual(sampleUpgradeVersions(['4.16.1', '4.15.9', 'junk', '4.16.3', '4.15.10', '4.16.1']), ['4.15.10', '4.15.9', '4.16.3', '4.16.1']);
  assert.deepEqual(sampleUpgradeVersions(['4.9.1', '4.10.2']), ['4.9.1', '4.10.2'], 'minor 9 sorts before 10');
  assert.deepEqual(sampleUpgradeVersions([]), []);
});

test('upgrade sample: a large minor gives its 3 highest, 3 lowest and 3 others, the same for the same list', () => {
  const list = Array.from({ length: 20 }, (_, i) => `4.15.${i}`);
  const a = sampleUpgradeVersions(list);
  assert.equal(a.length, 9);
  assert.deepEqual(a.slice(0, 3), ['4.15.19', '4.15.18', '4.15.17']);
  assert.deepEqual(a.slice(-3), ['4.15.2', '4.15.1', '4.15.0']);
  const middle = a.slice(3, 6);
  assert.equal(new Set(middle).size, 3);
  for (const v of middle) assert.ok(Number(v.split('.')[2]) >= 3 && Number(v.split('.')[2]) <= 16, v);
  assert.deepEqual(sampleUpgradeVersions(list), a, 'stable for a given list');
  assert.equal(sampleUpgradeVersions([...list, '4.16.0']).at(-1), '4.16.0', 'each minor is sampled alone');
});

test('official release image names follow upstream (x86_64, aarch64, else the architecture)', () => {
  assert.equal(officialReleaseImage('4.15.9', 'amd64'), 'quay.io/openshift-release-dev/ocp-release:4.15.9-x86_64');
  assert.equal(officialReleaseImage('4.15.9', 'arm64'), 'quay.io/openshift-release-dev/ocp-release:4.15.9-aarch64');
  assert.equal(officialReleaseImage('4.15.9', 's390x'), 'quay.io/openshift-release-dev/ocp-release:4.15.9-s390x');
});

const stableUp = ReleaseConfigSchema.parse({ name: '4-stable', as: 'Stable', verify: {}, upgrade: { gcp: { prowJob: { name: 'up-gcp' } }, aws: { prowJob: { name: 'up-aws' } }, off: { disabled: true, prowJob: { name: 'x' } } } });
const R = payload(stableUp, '4.16.2', { phase: 'Ready', annotations: { 'release.openshift.io/previous': '4.16.1,4.15.9,4.15.8' } });
const upWorld = (runs: JobRun[] = []) =>
  State.fromSnapshot({ streams: [rec(stableUp)], inputTags: [], payloads: [R, payload(stableUp, '4.16.1'), payload(stableUp, '4.15.9', { phase: 'Rejected' })], jobRuns: runs, upgrades: [], published: [] });

test('Stable upgrade tests: one run per sampled version, platforms round-robin by name, our release by digest else upstream\'s image', () => {
  const w = upWorld();
  const plan = planStream(w, '4-stable', NOW);
  const runs = plan.runs.filter((r) => r.verifyName.startsWith('upgrade-from-'));
  assert.deepEqual(
    runs.map((r) => [r.id, r.jobName, r.kind, r.upgradeFrom, r.upgradeFromPullSpec]),
    [
      ['4.16.2-upgrade-from-4.15.9-aws', 'up-aws', 'upgrade', '4.15.9', 'quay.io/openshift-release-dev/ocp-release:4.15.9-x86_64'],
      ['4.16.2-upgrade-from-4.15.8-gcp', 'up-gcp', 'upgrade', '4.15.8', 'quay.io/openshift-release-dev/ocp-release:4.15.8-x86_64'],
      ['4.16.2-upgrade-from-4.16.1-aws', 'up-aws', 'upgrade', '4.16.1', 'q/4-stable@sha256:6'],
    ],
  );
  assert.deepEqual(plan.launches.map((l) => l.runId).sort(), runs.map((r) => r.id).sort());
  assert.equal(plan.payloads.find((p) => p.tag === '4.16.2')?.phase, 'Accepted', 'the sampled runs do not hold the verdict');
});

test('Stable upgrade tests: launched once; an interrupted one is relaunched under a new name; none for Accepted or integration payloads', () => {
  const plan = planStream(upWorld(), '4-stable', NOW);
  const recorded = plan.runs.map((r) => (r.upgradeFrom === '4.15.8' ? { ...r, state: 'Interrupted' as const } : { ...r, state: 'Succeeded' as const }));
  const again = planStream(upWorld(recorded), '4-stable', NOW);
  assert.deepEqual(again.runs.filter((r) => r.verifyName.startsWith('upgrade-from-')).map((r) => r.id), ['4.16.2-upgrade-from-4.15.8-gcp-i1']);
  assert.equal(stableUpgradeLaunches(upWorld(), stableUp, { ...R, phase: 'Accepted' }, []).length, 0);
  assert.equal(stableUpgradeLaunches(W, nightly, { ...N_QE, phase: 'Ready', annotations: R.annotations }, []).length, 0);
});

// ------------------------------------------------------------------ adoption (item 2)

const IMG = 'quay.io/art/ocp-release@sha256:' + 'a'.repeat(64);
const adoptWorld = (payloads: Payload[] = [S1]) =>
  State.fromSnapshot({
    streams: [rec(stable)],
    inputTags: ['4.16.5', 'cli', '4.16.1', 'v4.16.6'].map((component) => ({ input: '4-stable', component, pullSpec: component === 'cli' ? 'q/cli@sha256:1' : IMG, labels: {}, updatedAt: AT })),
    payloads, jobRuns: [], upgrades: [], published: [],
  });

test('adoption: a semver tag of a Stable stream\'s input that is no release yet becomes a Pending release of that image', () => {
  const plan = planStream(adoptWorld(), '4-stable', NOW);
  const adopted = plan.payloads.filter((p) => p.annotations['release.openshift.io/adopted-from']);
  assert.deepEqual(adopted.map((p) => [p.tag, p.phase, p.pullSpec]), [['4.16.5', 'Pending', IMG]], 'not cli, not v4.16.6, not the existing 4.16.1');
  assert.equal(adopted[0].annotations['release.openshift.io/adopted-from'], IMG);
  const e = plan.events.find((x) => x.type === 'ReleaseAdopted');
  assert.ok(e);
  assert.equal(e.tag, '4.16.5');
  assert.match(e.message, /4\.16\.5 adopted from quay\.io\/art\/ocp-release@sha256:a+ \(tag 4\.16\.5 of input stream 4-stable\)/);
  const again = planStream(adoptWorld([S1, adopted[0]]), '4-stable', NOW);
  assert.equal(again.events.filter((x) => x.type === 'ReleaseAdopted').length, 0, 'adopted once');
  assert.ok(again.builds.includes('4.16.5'), 'handed to the controller to read back');
});

test('adoption applied: Ready with the image\'s components and previous versions; a mismatched version says it was rebuilt; a failure fails it', () => {
  const pending = planStream(adoptWorld(), '4-stable', NOW).payloads.find((p) => p.tag === '4.16.5')!;
  const w = adoptWorld([S1, pending]);
  const components = { cli: { pullSpec: 'quay.io/x@sha256:2', labels: { 'io.openshift.build.commit.id': 'abc' } } };
  const ok = applyAdoption(w, pending, { components, previous: ['4.16.1', 'junk', '4.15.9', '4.16.4'], version: '4.16.5' }, { ok: true, pullSpec: IMG, digest: 'sha256:' + 'a'.repeat(64) }, NOW)!;
  assert.equal(ok.payload.phase, 'Ready');
  assert.deepEqual(ok.payload.components, components);
  assert.equal(ok.payload.annotations['release.openshift.io/previous'], '4.16.4,4.16.1,4.15.9');
  assert.equal(ok.event.data.adopted, true);
  const re = applyAdoption(w, pending, { components, previous: [], version: '4.16.4' }, { ok: true, pullSpec: 'r/4-stable@sha256:b', digest: 'sha256:b' }, NOW)!;
  assert.match(re.event.message, /the image named version 4\.16\.4, so it was rebuilt as 4\.16\.5/);
  assert.equal(re.payload.pullSpec, 'r/4-stable@sha256:b');
  assert.equal(re.payload.annotations['release.openshift.io/previous'], undefined);
  const bad = applyAdoption(w, pending, { components: {}, previous: [], version: '4.16.5' }, { ok: false, reason: 'AdoptReleaseFailed', message: 'not a release image' }, NOW)!;
  assert.deepEqual([bad.payload.phase, bad.payload.reason, bad.payload.message], ['Failed', 'AdoptReleaseFailed', 'not a release image']);
});
