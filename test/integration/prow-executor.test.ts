// Prow executor (issue 15). The ProwJob contract is checked against the real periodics of
// test/fixtures/openshift-release/prowjobs; everything that talks to Kubernetes runs against the
// fake API server of test/helpers/fake-kube.ts (the only faked part, named in each test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { loadProwConfig } from '../../src/adapters/jobs/prow/config.ts';
import { ProwExecutor } from '../../src/adapters/jobs/prow/index.ts';
import { buildProwJob } from '../../src/adapters/jobs/prow/prowjob.ts';
import { loadKubeConfig } from '../../src/adapters/kube/client.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { runValidate } from '../../src/cli/validate.ts';
import { Controller } from '../../src/controller/controller.ts';
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import type { JobSpec, JobStatus } from '../../src/ports/executor.ts';
import { FakeKube, PROWJOBS } from '../helpers/fake-kube.ts';
import { cleanup, config, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';

const FIXTURES = new URL('../fixtures/openshift-release/', import.meta.url).pathname;
const PROW_DIR = join(FIXTURES, 'prowjobs');
const prow = loadProwConfig(PROW_DIR);
const E2E_AWS = 'periodic-ci-openshift-cluster-control-plane-machine-set-operator-release-4.16-periodics-e2e-aws';
const E2E_GCP = 'periodic-ci-openshift-cluster-control-plane-machine-set-operator-release-4.16-periodics-e2e-gcp';
const UPGRADE = 'release-openshift-origin-installer-e2e-aws-upgrade-4.1-stable-to-4.1-nightly';
const TAG = '4.16.0-0.nightly-2024-05-01-123456';
const PULL = `registry.ci.openshift.org/ocp/release:${TAG}`;
const NOW = new Date('2024-05-01T13:00:00.000Z');
const opts = { sourceNamespace: 'ocp', architecture: 'amd64', podNamespace: 'ci', now: NOW };

function spec(over: Partial<JobSpec> & { kind?: string } = {}): JobSpec {
  const { kind = 'blocking', ...rest } = over;
  return {
    runId: `${TAG}-e2e-aws`, jobName: E2E_AWS, stream: '4.16.0-0.nightly', tag: TAG, verifyName: 'e2e-aws', pullSpec: PULL, initialPullSpec: '', env: {},
    labels: { 'release.openshift.io/verify': 'true', 'release.openshift.io/payload': TAG, 'release.openshift.io/kind': kind },
    ...rest,
  };
}

type Env = { name: string; value?: string }[];
const container = (pj: ReturnType<typeof buildProwJob>, i = 0) => (pj.spec!.pod_spec as { containers: { env: Env; args: string[] }[] }).containers[i]!;
const envOf = (pj: ReturnType<typeof buildProwJob>, i = 0) => Object.fromEntries(container(pj, i).env.map((e) => [e.name, e.value]));

test('ProwJob contract: a plain job from the real fixture periodic, field by field', () => {
  const periodic = prow.periodics.get(E2E_AWS)!;
  const pj = buildProwJob(spec(), periodic, opts);
  assert.equal(pj.apiVersion, 'prow.k8s.io/v1');
  assert.equal(pj.kind, 'ProwJob');
  assert.equal(pj.metadata.name, `${TAG}-e2e-aws`);
  assert.deepEqual(pj.status, { state: 'triggered', startTime: '2024-05-01T13:00:00Z' });
  assert.equal(pj.spec!.type, 'periodic');
  assert.equal(pj.spec!.job, E2E_AWS);
  assert.equal(pj.spec!.cluster, periodic.cluster);
  assert.equal(pj.spec!.namespace, 'ci');
  const labels = pj.metadata.labels!;
  assert.equal(labels['release.openshift.io/verify'], 'true');
  assert.equal(labels['release.openshift.io/payload'], TAG);
  assert.equal(labels['capability/rce'], 'rce');
  assert.equal(labels['prow.k8s.io/type'], 'periodic');
  assert.equal(labels['prow.k8s.io/job'], E2E_AWS.slice(0, 63).replace(/[^A-Za-z0-9]+$/, ''));
  assert.equal(labels['release.openshift.io/aggregator'], undefined);
  for (const [k, v] of Object.entries((periodic.labels as Record<string, string>) ?? {})) assert.equal(labels[k], v, `periodic label ${k} kept`);
  assert.deepEqual(
    { ...pj.metadata.annotations },
    { ...((periodic.annotations as object) ?? {}), 'prow.k8s.io/job': E2E_AWS, 'release.openshift.io/source': 'ocp/4.16.0-0.nightly', 'release.openshift.io/tag': TAG, 'release.openshift.io/architecture': 'amd64' },
  );
  // env: the periodic's own variables, then the appended release images (non-upgrade: INITIAL = the tag itself)
  const orig = (periodic.spec as { containers: { env?: Env; args?: string[] }[] }).containers[0]!;
  const env = container(pj).env;
  assert.deepEqual(env.slice(0, (orig.env ?? []).length), orig.env ?? []);
  assert.deepEqual(env.slice((orig.env ?? []).length), [
    { name: 'RELEASE_IMAGE_LATEST', value: PULL },
    { name: 'RELEASE_IMAGE_INITIAL', value: PULL },
    { name: 'OPENSHIFT_INSTALL_AWS_PUBLIC_ONLY', value: 'false' },
  ]);
  assert.deepEqual(container(pj).args, [...(orig.args ?? []), '--multi-stage-param=RELEASE_CONTROLLER_JOB=true']);
  // the config itself is not changed (deep copy)
  assert.ok(!(orig.env ?? []).some((e) => e.name === 'RELEASE_IMAGE_LATEST'));
  // architecture variants
  const arm = envOf(buildProwJob(spec(), periodic, { ...opts, architecture: 'arm64' }));
  assert.equal(arm.RELEASE_IMAGE_ARM64_LATEST, PULL);
  assert.equal(arm.RELEASE_IMAGE_ARM64_INITIAL, PULL);
  assert.equal(arm.RELEASE_IMAGE_LATEST, undefined);
  const multi = envOf(buildProwJob(spec(), periodic, { ...opts, architecture: 'multi' }));
  assert.equal(multi.RELEASE_IMAGE_LATEST, PULL);
  assert.equal(multi.RELEASE_IMAGE_MULTI_LATEST, PULL);
});

test('ProwJob contract: an upgrade job (existing RELEASE_IMAGE_INITIAL / _LATEST filled in, from-tag annotation)', () => {
  const periodic = prow.periodics.get(UPGRADE)!;
  const orig = (periodic.spec as { containers: { env?: Env }[] }).containers[0]!.env ?? [];
  const from = 'registry.ci.openshift.org/ocp/release:4.16.0-0.nightly-2024-04-30-000000';
  const pj = buildProwJob(spec({ runId: `${TAG}-upgrade`, jobName: UPGRADE, verifyName: 'upgrade', initialPullSpec: from }), periodic, opts);
  assert.equal(pj.metadata.annotations!['release.openshift.io/from-tag'], '4.16.0-0.nightly-2024-04-30-000000');
  const env = envOf(pj);
  assert.equal(env.RELEASE_IMAGE_LATEST, PULL);
  assert.equal(env.RELEASE_IMAGE_INITIAL, from);
  // variables the periodic declares are filled in place, not appended twice
  const names = container(pj).env.map((e) => e.name);
  assert.equal(names.filter((n) => n === 'RELEASE_IMAGE_INITIAL').length, 1);
  assert.equal(names.filter((n) => n === 'RELEASE_IMAGE_LATEST').length, 1);
  if (orig.some((e) => e.name === 'RELEASE_IMAGE_INITIAL')) assert.equal(names.indexOf('RELEASE_IMAGE_INITIAL'), orig.findIndex((e) => e.name === 'RELEASE_IMAGE_INITIAL'));
  // a non-upgrade run of a periodic that declares RELEASE_IMAGE_INITIAL is impossible
  if (orig.some((e) => e.name === 'RELEASE_IMAGE_INITIAL')) assert.throws(() => buildProwJob(spec({ jobName: UPGRADE }), periodic, opts), /RELEASE_IMAGE_INITIAL/);
});

test('ProwJob contract: an aggregated job (aggregator + analysis runs) and a multiJobAnalysis job', () => {
  // the aggregator job itself is not in the fixtures: a periodic shaped like upstream's, with the three variables it fills
  const aggregatorPeriodic = {
    name: 'release-openshift-release-analysis-aggregator', file: 'x.yaml', agent: 'kubernetes', cluster: 'build05', decorate: true,
    spec: { containers: [{ image: 'aggregator', args: ['--job-name=$(VERIFICATION_JOB_NAME)'], env: [{ name: 'PAYLOAD_TAG' }, { name: 'VERIFICATION_JOB_NAME' }, { name: 'JOB_START_TIME' }] }] },
  };
  const aggEnv = { PAYLOAD_TAG: TAG, VERIFICATION_JOB_NAME: E2E_AWS, JOB_START_TIME: '2024-05-01T12:00:00Z', ANALYSIS_JOB_COUNT: '10', ANALYSIS_JOBS_SUCCEEDED: '7' };
  const agg = buildProwJob(spec({ runId: `${TAG}-agg-aggregator`, jobName: aggregatorPeriodic.name, verifyName: 'agg', kind: 'aggregator', env: aggEnv }), aggregatorPeriodic, opts);
  assert.equal(agg.spec!.job, 'agg-release-openshift-release-analysis-aggregator');
  assert.equal(agg.metadata.annotations!['prow.k8s.io/job'], 'agg-release-openshift-release-analysis-aggregator');
  assert.equal(agg.metadata.labels!['release.openshift.io/aggregator'], TAG);
  assert.equal(agg.metadata.labels!['release.openshift.io/verify'], 'true');
  const e = envOf(agg);
  assert.equal(e.PAYLOAD_TAG, TAG);
  assert.equal(e.VERIFICATION_JOB_NAME, E2E_AWS);
  assert.equal(e.JOB_START_TIME, '2024-05-01T12:00:00Z');
  assert.equal(e.ANALYSIS_JOB_COUNT, undefined, 'only filled in, never added');
  assert.deepEqual(agg.spec!.decoration_config, {});

  const analysis = buildProwJob(spec({ runId: `${TAG}-agg-analysis-0`, verifyName: 'agg', kind: 'analysis' }), prow.periodics.get(E2E_AWS)!, opts);
  assert.equal(analysis.spec!.job, E2E_AWS);
  assert.equal(analysis.metadata.labels!['release.openshift.io/analysis'], TAG);
  assert.equal(analysis.metadata.labels!['release.openshift.io/payload'], TAG);
  assert.equal(analysis.metadata.labels!['release.openshift.io/verify'], undefined, 'analysis runs lack the verify label');

  // multiJobAnalysis: same filling rule on the entry's own periodic; the fixture periodic declares none of them → nothing added
  const mja = buildProwJob(spec({ env: { PAYLOAD_TAG: TAG, VERIFICATION_JOB_NAME: E2E_AWS, JOB_START_TIME: 'now' } }), prow.periodics.get(E2E_AWS)!, opts);
  assert.equal(envOf(mja).PAYLOAD_TAG, undefined);
  const withVars = { ...aggregatorPeriodic, name: 'mja' };
  assert.equal(envOf(buildProwJob(spec({ jobName: 'mja', env: { PAYLOAD_TAG: TAG, VERIFICATION_JOB_NAME: 'mja', JOB_START_TIME: 'now' } }), withVars, opts)).VERIFICATION_JOB_NAME, 'mja');
  assert.equal(mja.spec!.job, E2E_AWS);
});

test('ProwJob contract: a QE job is a plain verify job with the qe kind', () => {
  const pj = buildProwJob(spec({ runId: `${TAG}-qe-gcp`, jobName: E2E_GCP, verifyName: 'qe-gcp', kind: 'qe' }), prow.periodics.get(E2E_GCP)!, opts);
  assert.equal(pj.spec!.job, E2E_GCP);
  assert.equal(pj.metadata.labels!['release.openshift.io/verify'], 'true');
  assert.equal(envOf(pj).RELEASE_IMAGE_LATEST, PULL);
});

test('validate --prow-jobs over the real fixtures: every missing periodic is named, exit 1', () => {
  const out: string[] = [];
  const rc = runValidate(join(FIXTURES, 'releases'), (l) => out.push(l), () => {}, { prowJobs: PROW_DIR });
  assert.equal(rc, 1);
  assert.ok(out.includes(`release-ocp-4.1.json: verify.aws.prowJob.name: no periodic named periodic-ci-openshift-release-master-nightly-4.1-e2e-aws in ${PROW_DIR}`), out.slice(0, 3).join('\n'));
  // names the fixtures do have are not reported
  assert.ok(!out.some((l) => l.includes(`named ${UPGRADE} `)));
  // without --prow-jobs the same directory is valid
  assert.equal(runValidate(join(FIXTURES, 'releases'), () => {}, () => {}), 0);
});

// ------------------------------------------------------------------ against the fake API server

async function withFake(fn: (f: FakeKube, dir: string, make: (o?: Partial<ConstructorParameters<typeof ProwExecutor>[0]>) => ProwExecutor) => Promise<void>) {
  const f = new FakeKube();
  await f.start();
  const dir = tempDir('rc-prow-');
  const executors: ProwExecutor[] = [];
  const kc = loadKubeConfig({ kubeconfig: f.writeKubeconfig(dir), context: 'fake' });
  const make = (o: Partial<ConstructorParameters<typeof ProwExecutor>[0]> = {}) => {
    const x = new ProwExecutor({ kc, namespace: 'ci', prowJobsDir: PROW_DIR, watchConfig: false, retry: { firstDelayMs: 20, maxDelayMs: 100 }, maxCreatesPerSecond: 0, ...o });
    executors.push(x);
    return x;
  };
  try {
    await fn(f, dir, make);
  } finally {
    for (const x of executors) await x.shutdown();
    await f.stop();
    cleanup(dir);
  }
}

test('fake API server: launch creates the ProwJob, AlreadyExists is success, the watch reports state, url and end once', async () => {
  await withFake(async (f, _dir, make) => {
    const x = make();
    const seen: JobStatus[] = [];
    x.onStatus((s) => seen.push(s));
    await x.synced();
    const st = await x.launch(spec());
    assert.equal(st.state, 'Pending');
    assert.equal(f.get(PROWJOBS, `${TAG}-e2e-aws`)?.metadata.labels?.['release.openshift.io/payload'], TAG);
    // launching again (a restart between create and record): 409 from the server, success here, no second object
    assert.equal((await x.launch(spec())).state, 'Pending');
    assert.equal(f.stats.conflicts, 1);
    assert.equal(f.list(PROWJOBS).length, 1);
    f.update(PROWJOBS, `${TAG}-e2e-aws`, { status: { state: 'pending', url: 'https://prow.example/view/1' } });
    await waitFor('url reported', () => seen.find((s) => s.url === 'https://prow.example/view/1'));
    f.bookmark();
    f.update(PROWJOBS, `${TAG}-e2e-aws`, { status: { state: 'success', completionTime: '2024-05-01T14:00:00Z' } });
    const done = await waitFor('success reported', () => seen.find((s) => s.state === 'Succeeded'));
    assert.equal(done.finishedAt, '2024-05-01T14:00:00Z');
    assert.equal(done.url, 'https://prow.example/view/1');
    assert.equal(seen.filter((s) => s.state === 'Succeeded').length, 1);
  });
});

test('fake API server: 410 Gone and dropped connections are recovered by re-listing, without missed or duplicated results', async () => {
  await withFake(async (f, _dir, make) => {
    const x = make();
    const seen: JobStatus[] = [];
    x.onStatus((s) => seen.push(s));
    await x.synced();
    const ids = ['a1', 'a2', 'a3', 'a4'].map((n) => `${TAG}-${n}`);
    for (const id of ids) await x.launch(spec({ runId: id }));
    await waitFor('watch open', () => f.stats.watches >= 1);
    // 1: a dropped connection while a1 finishes
    f.dropWatches();
    f.update(PROWJOBS, ids[0]!, { status: { state: 'success' } });
    // 2: results that happen while the history is compacted: the resumed watch gets 410 and re-lists
    f.dropWatches();
    f.updateSilently(PROWJOBS, ids[1]!, { status: { state: 'failure' } });
    f.compact();
    f.update(PROWJOBS, ids[2]!, { status: { state: 'aborted', description: 'by hand' } });
    await waitFor('all three reported', () => ids.slice(0, 3).every((id) => seen.some((s) => s.runId === id && s.state !== 'Pending')), 10_000);
    f.dropWatches();
    f.update(PROWJOBS, ids[3]!, { status: { state: 'error', description: 'pod deleted' } });
    await waitFor('a4 reported', () => seen.some((s) => s.runId === ids[3] && s.state === 'Failed'), 10_000);
    // several more re-lists: still exactly one report per result
    const lists = f.stats.lists;
    x.resync();
    await waitFor('re-listed', () => f.stats.lists > lists, 10_000);
    await new Promise((r) => setTimeout(r, 100));
    const finals = seen.filter((s) => s.state !== 'Pending');
    assert.deepEqual(finals.map((s) => [s.runId, s.state]).sort(), [[ids[0], 'Succeeded'], [ids[1], 'Failed'], [ids[2], 'Aborted'], [ids[3], 'Failed']].sort());
    assert.equal(finals.find((s) => s.runId === ids[3])?.reason, 'error: pod deleted');
  });
});

test('fake API server: restart adoption lists what exists and never relaunches; cancel aborts with a description', async () => {
  await withFake(async (f, _dir, make) => {
    const a = make();
    await a.launch(spec({ runId: `${TAG}-r1` }));
    await a.launch(spec({ runId: `${TAG}-r2` }));
    await a.shutdown();
    f.update(PROWJOBS, `${TAG}-r1`, { status: { state: 'success', url: 'u1', completionTime: '2024-05-01T15:00:00Z' } });
    const creates = f.stats.creates;
    const b = make();
    assert.deepEqual(await b.adopt(`${TAG}-r1`), { runId: `${TAG}-r1`, state: 'Succeeded', reason: '', url: 'u1', logPath: '', startedAt: (f.get(PROWJOBS, `${TAG}-r1`)!.status as { startTime: string }).startTime, finishedAt: '2024-05-01T15:00:00Z' });
    assert.equal((await b.adopt(`${TAG}-r2`) as JobStatus).state, 'Pending');
    assert.equal(await b.adopt(`${TAG}-never`), 'unknown');
    assert.equal(f.stats.creates, creates, 'adoption creates nothing');
    const seen: JobStatus[] = [];
    b.onStatus((s) => seen.push(s));
    await b.cancel(`${TAG}-r2`, 'QETimeout');
    const pj = f.get(PROWJOBS, `${TAG}-r2`)!;
    assert.equal((pj.status as { state: string }).state, 'aborted');
    assert.equal((pj.status as { description: string }).description, 'Aborted by the release controller: QETimeout');
    assert.ok((pj.status as { completionTime?: string }).completionTime);
    const aborted = await waitFor('abort reported', () => seen.find((s) => s.runId === `${TAG}-r2` && s.state === 'Aborted'));
    assert.equal(aborted.reason, 'QETimeout', 'the cancel reason, as the local executor reports it (the domain compares it)');
    // cancelling a finished one changes nothing
    const patches = f.stats.patches;
    await b.cancel(`${TAG}-r1`, 'x');
    assert.equal(f.stats.patches, patches);
    // deleted by someone else before it finished: lost (relaunched by the controller), not Pending for ever; a finished one deleted: nothing
    await b.synced();
    await b.launch(spec({ runId: `${TAG}-r3` }));
    f.remove(PROWJOBS, `${TAG}-r3`);
    f.remove(PROWJOBS, `${TAG}-r1`);
    const lost = await waitFor('lost reported', () => seen.find((s) => s.runId === `${TAG}-r3` && s.state === 'Interrupted'));
    assert.equal(lost.reason, 'Lost: the ProwJob was deleted before it finished');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(seen.map((s) => `${s.runId.slice(TAG.length)} ${s.state}`), ['-r2 Aborted', '-r3 Interrupted']);
  });
});

test('fake API server: an unknown periodic is never created, stays Pending as ProwJobInvalid, and launches once the config has it', async () => {
  await withFake(async (f, dir, make) => {
    const pdir = join(dir, 'prow');
    cpSync(PROW_DIR, pdir, { recursive: true });
    const x = make({ prowJobsDir: pdir });
    const seen: JobStatus[] = [];
    x.onStatus((s) => seen.push(s));
    const st = await x.launch(spec({ runId: `${TAG}-missing`, jobName: 'periodic-does-not-exist' }));
    assert.equal(st.state, 'Pending');
    assert.equal(st.reason, `ProwJobInvalid: no periodic named "periodic-does-not-exist" in ${pdir}`);
    assert.equal(f.list(PROWJOBS).length, 0);
    assert.equal(((await x.adopt(`${TAG}-missing`)) as JobStatus).reason, st.reason);
    writeFileSync(join(pdir, 'new.yaml'), `periodics:\n- name: periodic-does-not-exist\n  agent: kubernetes\n  cluster: build01\n  spec:\n    containers:\n    - image: x\n`);
    x.reload();
    await waitFor('created after reload', () => f.get(PROWJOBS, `${TAG}-missing`));
  });
});

test('fake API server: 429 with Retry-After and 5xx are retried; an unreachable API shows as unavailable and fails no run', async () => {
  await withFake(async (f, _dir, make) => {
    const x = make();
    await x.synced();
    f.fail(429, 1, { retryAfter: 0, match: /^POST / });
    f.fail(503, 2, { match: /^POST / });
    const st = await x.launch(spec());
    assert.equal(st.state, 'Pending');
    assert.equal(f.stats.faults, 3);
    assert.equal(f.stats.creates, 1);
    // the API goes away: the create keeps retrying, unavailable() says why, nothing is reported failed
    const seen: JobStatus[] = [];
    x.onStatus((s) => seen.push(s));
    f.down = true;
    f.dropWatches();
    const p = x.launch(spec({ runId: `${TAG}-later` }));
    await waitFor('unavailable', () => x.unavailable());
    assert.match(x.unavailable()!, /^Kubernetes API unreachable since \S+Z \(\d+ retr(y|ies)\): /);
    assert.ok(x.apiOutage()!.retries >= 1);
    f.down = false;
    assert.equal((await p).state, 'Pending');
    await waitFor('available again', () => x.unavailable() === null, 10_000);
    assert.ok(!seen.some((s) => s.state !== 'Pending'));
  });
});

test('fake API server: watch → verdict with a real controller on SQLite (Accepted on success, Rejected on failure after retries)', async () => {
  await withFake(async (f, dir, make) => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'releases/release-ocp-4.16.json'), 'utf8'));
    const cfg = config({
      name: fixture.name, to: fixture.to, mirrorPrefix: fixture.mirrorPrefix, minCreationIntervalSeconds: 0, maxUnreadyReleases: 1,
      verify: { 'e2e-aws': { prowJob: { name: E2E_AWS } }, 'e2e-gcp': { prowJob: { name: E2E_GCP }, maxRetries: 1 } },
    });
    const store = openSqliteStore(join(dir, 'rc.db'));
    const x = make();
    const controller = await Controller.create({
      store, executor: x, builder: new LocalBuilder(join(dir, 'payloads')),
      streams: [{ name: cfg.name, config: cfg, file: 'c.json', input: inputStreamOf(cfg) }], resyncMs: 0,
    });
    await controller.start();
    // "Prow": finishes every triggered ProwJob; gcp fails while `failGcp` is set
    let failGcp = false;
    const prowSim = setInterval(() => {
      for (const o of f.list(PROWJOBS)) {
        if ((o.status as { state: string }).state !== 'triggered') continue;
        const fail = failGcp && (o.spec as { job: string }).job === E2E_GCP;
        f.update(PROWJOBS, o.metadata.name, { status: { state: fail ? 'failure' : 'success', url: `https://prow.example/view/${o.metadata.name}`, completionTime: new Date().toISOString() } });
      }
    }, 20);
    try {
      const payloads = () => controller.state.payloads(cfg.name);
      await controller.setInputTags(inputStreamOf(cfg), { cli: pullSpec('cli') }, 'test');
      const p1 = await waitFor('payload 1 accepted', () => payloads().find((p) => p.phase === 'Accepted'), 20_000);
      const runs1 = controller.state.runs(p1.stream, p1.tag);
      assert.equal(runs1.length, 2);
      for (const r of runs1) assert.equal(r.url, `https://prow.example/view/${r.id}`);
      await new Promise((r) => setTimeout(r, 1100)); // tag names have one-second resolution
      failGcp = true;
      await controller.setInputTags(inputStreamOf(cfg), { cli: pullSpec('cli') }, 'test');
      const p2 = await waitFor('payload 2 rejected', () => payloads().find((p) => p.phase === 'Rejected'), 20_000);
      assert.match(p2.message, /e2e-gcp/);
      const gcp = controller.state.runs(p2.stream, p2.tag).filter((r) => r.verifyName === 'e2e-gcp');
      assert.deepEqual(gcp.map((r) => r.state), ['Failed', 'Failed'], 'first attempt + one retry');
      assert.equal(f.list(PROWJOBS).length, 5);
    } finally {
      clearInterval(prowSim);
      await controller.stop();
      await store.close();
    }
  });
});

test('fake API server: creates are paced by maxCreatesPerSecond; a change of the Prow job config on disk is picked up', async () => {
  await withFake(async (f, dir, make) => {
    const pdir = join(dir, 'prow');
    cpSync(PROW_DIR, pdir, { recursive: true });
    const x = make({ maxCreatesPerSecond: 20, prowJobsDir: pdir, watchConfig: true });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 11 }, (_, k) => x.launch(spec({ runId: `${TAG}-p${k}` }))));
    const took = Date.now() - t0;
    assert.equal(f.stats.creates, 11);
    assert.ok(took >= 450, `11 creates at 20/s take at least 500 ms (took ${took} ms)`);
    // connections are kept alive and reused (client-node alone opens one per request)
    const conns = f.stats.connections;
    for (let k = 0; k < 20; k++) await x.launch(spec({ runId: `${TAG}-q${k}` }));
    assert.ok(f.stats.connections - conns <= 2, `20 sequential creates opened ${f.stats.connections - conns} connections`);
    // the file watcher: a periodic added on disk launches the run held as ProwJobInvalid
    const st = await x.launch(spec({ runId: `${TAG}-late`, jobName: 'periodic-added-later' }));
    assert.match(st.reason, /^ProwJobInvalid: /);
    writeFileSync(join(pdir, 'later.yaml'), `periodics:\n- name: periodic-added-later\n  agent: kubernetes\n  cluster: build01\n  spec:\n    containers:\n    - image: x\n`);
    await waitFor('created after the file changed', () => f.get(PROWJOBS, `${TAG}-late`), 10_000);
  });
});

test('fake API server: a QE job past its time limit has its ProwJob aborted (status.state aborted with a description), QERejected', async () => {
  await withFake(async (f, dir, make) => {
    const cfg = config({
      name: '4.16.0-0.nightly', to: 'release', mirrorPrefix: '4.16-art-latest', minCreationIntervalSeconds: 0,
      verify: { 'e2e-aws': { prowJob: { name: E2E_AWS } }, 'qe-gcp': { qe: true, prowJob: { name: E2E_GCP } } },
      qe: { gate: 'InformingPassed', timeout: '2s' },
    });
    const store = openSqliteStore(join(dir, 'rc.db'));
    const controller = await Controller.create({
      store, executor: make(), builder: new LocalBuilder(join(dir, 'payloads')),
      streams: [{ name: cfg.name, config: cfg, file: 'c.json', input: inputStreamOf(cfg) }], resyncMs: 0,
    });
    await controller.start();
    // "Prow": the blocking job passes; the QE job starts and never ends
    const prowSim = setInterval(() => {
      for (const o of f.list(PROWJOBS)) {
        if ((o.status as { state: string }).state !== 'triggered') continue;
        const qe = (o.spec as { job: string }).job === E2E_GCP;
        f.update(PROWJOBS, o.metadata.name, { status: qe ? { state: 'pending', url: 'https://prow.example/qe' } : { state: 'success', completionTime: new Date().toISOString() } });
      }
    }, 20);
    try {
      await controller.setInputTags(inputStreamOf(cfg), { cli: pullSpec('cli') }, 'test');
      const p = await waitFor('QE verdict', () => controller.state.payloads(cfg.name).find((x) => x.qe.state === 'QERejected' || x.qe.state === 'QEAccepted'), 20_000);
      assert.equal(p.qe.state, 'QERejected');
      assert.equal(p.qe.reason, 'QETimeout');
      assert.equal(p.phase, 'Accepted', 'CI accepted it; QE is separate');
      const qeRun = controller.state.runs(p.stream, p.tag).find((r) => r.verifyName === 'qe-gcp')!;
      const pj = await waitFor('ProwJob aborted', () => {
        const o = f.get(PROWJOBS, qeRun.id);
        return (o?.status as { state?: string } | undefined)?.state === 'aborted' ? o : null;
      });
      assert.match((pj.status as { description: string }).description, /^Aborted by the release controller: /);
      await waitFor('run recorded Aborted', () => controller.state.run(qeRun.id)?.state === 'Aborted');
    } finally {
      clearInterval(prowSim);
      await controller.stop();
      await store.close();
    }
  });
});
