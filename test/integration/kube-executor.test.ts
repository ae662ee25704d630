// Kubernetes executor (issue 15): batch/v1 Jobs against the fake API server of
// test/helpers/fake-kube.ts (the only faked part, named in each test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { buildJob, jobState, KubernetesExecutor } from '../../src/adapters/jobs/kubernetes/index.ts';
import { parseKubeJobsFile } from '../../src/adapters/jobs/kubernetes/jobsfile.ts';
import { loadKubeConfig } from '../../src/adapters/kube/client.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import type { JobSpec, JobStatus } from '../../src/ports/executor.ts';
import { FakeKube } from '../helpers/fake-kube.ts';
import { cleanup, config, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';

const JOBS = 'batch/v1/ns1/jobs';
const TAG = '4.16.0-0.nightly-2024-05-01-123456';
const jobsYaml = `
defaults: { env: { SHARED: "1" }, activeDeadlineSeconds: 3600 }
jobs:
  "*-e2e-gcp":
    kubernetes: { image: quay.io/example/e2e:gcp, args: [--cloud, gcp], activeDeadlineSeconds: 600 }
  "*":
    kubernetes:
      image: quay.io/example/e2e:latest
      command: [/bin/run-e2e]
      args: [--all]
      env: { CLOUD: aws }
      resources: { requests: { cpu: "1", memory: 2Gi }, limits: { memory: 4Gi } }
      serviceAccountName: e2e
`;
const jobs = parseKubeJobsFile(jobsYaml, 'jobs.yaml');

function spec(over: Partial<JobSpec> = {}): JobSpec {
  return {
    runId: `${TAG}-e2e-aws`, jobName: 'periodic-e2e-aws', stream: '4.16.0-0.nightly', tag: TAG, verifyName: 'e2e-aws', pullSpec: `registry/ocp/release:${TAG}`, initialPullSpec: '', env: {},
    labels: { 'release.openshift.io/verify': 'true', 'release.openshift.io/payload': TAG, 'release.openshift.io/kind': 'blocking' },
    ...over,
  };
}

test('Kubernetes Job manifest: template, labels, backoffLimit 0, TTL, deadline, environment', () => {
  const j = buildJob(spec({ initialPullSpec: 'registry/ocp/release:old', env: { VERIFICATION_JOB_NAME: 'agg' } }), jobs, 600);
  assert.equal(j.metadata!.name, `${TAG}-e2e-aws`);
  assert.deepEqual(j.metadata!.labels, { 'release.openshift.io/verify': 'true', 'release.openshift.io/payload': TAG, 'release.openshift.io/kind': 'blocking' });
  assert.equal(j.metadata!.annotations!['prow.k8s.io/job'], 'periodic-e2e-aws');
  assert.deepEqual(j.metadata!.finalizers, ['release.openshift.io/record-result'], 'kept until its result is recorded');
  assert.equal(j.spec!.backoffLimit, 0);
  assert.equal(j.spec!.ttlSecondsAfterFinished, 600);
  assert.equal(j.spec!.activeDeadlineSeconds, 3600, 'the defaults');
  const pod = j.spec!.template.spec!;
  assert.equal(pod.restartPolicy, 'Never');
  assert.equal(pod.serviceAccountName, 'e2e');
  assert.deepEqual(j.spec!.template.metadata!.labels, j.metadata!.labels);
  const c = pod.containers[0]!;
  assert.equal(c.image, 'quay.io/example/e2e:latest');
  assert.deepEqual(c.command, ['/bin/run-e2e']);
  assert.deepEqual(c.args, ['--all']);
  assert.deepEqual(c.resources, { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '4Gi' } });
  assert.deepEqual(Object.fromEntries(c.env!.map((e) => [e.name, e.value])), {
    SHARED: '1', CLOUD: 'aws', RELEASE_IMAGE_LATEST: `registry/ocp/release:${TAG}`, RELEASE_IMAGE_INITIAL: 'registry/ocp/release:old', JOB_NAME: 'periodic-e2e-aws',
    BUILD_ID: `${TAG}-e2e-aws`, PAYLOAD_TAG: TAG, RELEASE_STREAM: '4.16.0-0.nightly', VERIFICATION_JOB_NAME: 'agg',
  });
  const gcp = buildJob(spec({ jobName: 'periodic-e2e-gcp' }), jobs, 600);
  assert.equal(gcp.spec!.activeDeadlineSeconds, 600);
  assert.equal(gcp.spec!.template.spec!.containers[0]!.command, undefined);
  assert.ok(!gcp.spec!.template.spec!.containers[0]!.env!.some((e) => e.name === 'RELEASE_IMAGE_INITIAL'), 'no upgrade source: not set');
  // --release-architecture: upstream's names
  const envOf = (j: ReturnType<typeof buildJob>) => Object.fromEntries(j.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
  const s390x = envOf(buildJob(spec({ initialPullSpec: 'registry/ocp/release:old' }), jobs, 600, 's390x'));
  assert.equal(s390x.RELEASE_IMAGE_S390X_LATEST, `registry/ocp/release:${TAG}`);
  assert.equal(s390x.RELEASE_IMAGE_S390X_INITIAL, 'registry/ocp/release:old');
  assert.equal(s390x.RELEASE_IMAGE_LATEST, undefined);
  assert.equal(s390x.RELEASE_IMAGE_INITIAL, undefined);
  const multi = envOf(buildJob(spec(), jobs, 600, 'multi'));
  assert.equal(multi.RELEASE_IMAGE_LATEST, `registry/ocp/release:${TAG}`);
  assert.equal(multi.RELEASE_IMAGE_MULTI_LATEST, `registry/ocp/release:${TAG}`);
  assert.equal(multi.RELEASE_IMAGE_MULTI_INITIAL, undefined, 'no upgrade source: not set');
  assert.throws(() => parseKubeJobsFile('jobs:\n  x: { kubernetes: { command: [a] } }\n', 'bad.yaml'), /bad\.yaml: jobs\.x\.kubernetes\.image: is required/);
  assert.throws(() => parseKubeJobsFile('jobs:\n  x: { command: [a] }\n', 'bad.yaml'), /bad\.yaml: jobs\.x/);
  // conditions
  assert.deepEqual(jobState({ status: { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: '2024-05-01T14:00:00Z' }] } }), { state: 'Succeeded', reason: '', at: '2024-05-01T14:00:00Z' });
  assert.equal(jobState({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }] } }).reason, 'Timeout');
  assert.equal(jobState({ status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } }).state, 'Failed');
  assert.equal(jobState({ status: { conditions: [{ type: 'Failed', status: 'False' }] } }).state, 'Pending');
});

async function withFake(fn: (f: FakeKube, dir: string, make: (logDir?: string) => KubernetesExecutor) => Promise<void>) {
  const f = new FakeKube();
  await f.start();
  const dir = tempDir('rc-kube-');
  const xs: KubernetesExecutor[] = [];
  const kc = loadKubeConfig({ kubeconfig: f.writeKubeconfig(dir) });
  try {
    await fn(f, dir, (logDir?: string) => {
      const x = new KubernetesExecutor({ kc, namespace: 'ns1', jobs, retry: { firstDelayMs: 20, maxDelayMs: 100 }, ...(logDir ? { logDir } : {}) });
      xs.push(x);
      return x;
    });
  } finally {
    for (const x of xs) await x.shutdown();
    await f.stop();
    cleanup(dir);
  }
}

const complete = (ok: boolean) => ({ status: { startTime: '2024-05-01T13:00:00Z', ...(ok ? { completionTime: '2024-05-01T14:00:00Z' } : {}), conditions: [{ type: ok ? 'Complete' : 'Failed', status: 'True', reason: ok ? undefined : 'BackoffLimitExceeded', lastTransitionTime: '2024-05-01T14:00:00Z' }] } });

test('fake API server: Kubernetes Jobs are created once, report their conditions, are deleted on cancel, and are adopted after a restart', async () => {
  await withFake(async (f, _dir, make) => {
    const x = make();
    const seen: JobStatus[] = [];
    x.onStatus((s) => seen.push(s));
    await x.synced();
    assert.equal((await x.launch(spec())).state, 'Pending');
    assert.equal((await x.launch(spec())).state, 'Pending', 'AlreadyExists is success');
    assert.equal(f.stats.conflicts, 1);
    await x.launch(spec({ runId: `${TAG}-b` }));
    await x.launch(spec({ runId: `${TAG}-c` }));
    await x.launch(spec({ runId: `${TAG}-d` }));
    f.update(JOBS, `${TAG}-e2e-aws`, complete(true));
    f.dropWatches();
    f.update(JOBS, `${TAG}-b`, complete(false));
    await waitFor('both reported', () => seen.some((s) => s.runId === `${TAG}-e2e-aws` && s.state === 'Succeeded') && seen.some((s) => s.runId === `${TAG}-b` && s.state === 'Failed'));
    assert.equal(seen.find((s) => s.state === 'Succeeded')!.finishedAt, '2024-05-01T14:00:00Z');
    // cancel = delete with Background propagation
    await x.cancel(`${TAG}-c`, 'QETimeout');
    assert.ok(f.get(JOBS, `${TAG}-c`)?.metadata.deletionTimestamp, 'deleted, kept by the result finalizer');
    assert.ok(f.requests.some((r) => r.startsWith(`DELETE /apis/batch/v1/namespaces/ns1/jobs/${TAG}-c`) && r.includes('propagationPolicy=Background')), f.requests.filter((r) => r.startsWith('DELETE')).join());
    await waitFor('aborted', () => seen.find((s) => s.runId === `${TAG}-c` && s.state === 'Aborted' && s.reason === 'QETimeout'));
    x.resultRecorded(`${TAG}-c`);
    await waitFor('gone once recorded', () => f.get(JOBS, `${TAG}-c`) === undefined);
    // deleted by someone else while running: Interrupted (relaunched, uses up no retry)
    f.remove(JOBS, `${TAG}-d`);
    await waitFor('lost', () => seen.find((s) => s.runId === `${TAG}-d` && s.state === 'Interrupted' && s.reason === 'Lost: the Job was deleted before it finished'));
    assert.ok(f.get(JOBS, `${TAG}-d`), 'kept until the controller recorded the loss');
    x.resultRecorded(`${TAG}-d`);
    await waitFor('gone', () => f.get(JOBS, `${TAG}-d`) === undefined);
    assert.equal(seen.filter((s) => s.state !== 'Pending').length, 4, 'each result once');
    await x.shutdown();
    // restart: adopted from the list, nothing created
    const creates = f.stats.creates;
    const y = make();
    await y.synced();
    assert.equal(((await y.adopt(`${TAG}-e2e-aws`)) as JobStatus).state, 'Succeeded');
    assert.equal(((await y.adopt(`${TAG}-b`)) as JobStatus).reason, 'BackoffLimitExceeded');
    assert.equal(await y.adopt(`${TAG}-c`), 'unknown');
    assert.equal(f.stats.creates, creates);
  });
});

test('fake API server: Kubernetes executor watch → verdict with a real controller on SQLite', async () => {
  await withFake(async (f, dir, make) => {
    const cfg = config({ name: '4.16.0-0.nightly', to: 'release', mirrorPrefix: '4.16-art-latest', minCreationIntervalSeconds: 0, verify: { 'e2e-aws': { prowJob: { name: 'periodic-e2e-aws' } }, 'e2e-gcp': { prowJob: { name: 'periodic-e2e-gcp' }, maxRetries: 1 } } });
    const store = openSqliteStore(join(dir, 'rc.db'));
    const controller = await Controller.create({ store, executor: make(), builder: new LocalBuilder(join(dir, 'payloads')), streams: [{ name: cfg.name, config: cfg, file: 'c.json', input: inputStreamOf(cfg) }], resyncMs: 0 });
    await controller.start();
    let failGcp = false;
    const sim = setInterval(() => {
      for (const o of f.list(JOBS)) {
        if ((o.status as { conditions?: unknown[] } | undefined)?.conditions) continue;
        f.update(JOBS, o.metadata.name, complete(!(failGcp && o.metadata.name.includes('e2e-gcp'))));
      }
    }, 20);
    try {
      await controller.setInputTags(inputStreamOf(cfg), { cli: pullSpec('cli') }, 'test');
      await waitFor('accepted', () => controller.state.payloads(cfg.name).find((p) => p.phase === 'Accepted'), 20_000);
      await new Promise((r) => setTimeout(r, 1100));
      failGcp = true;
      await controller.setInputTags(inputStreamOf(cfg), { cli: pullSpec('cli') }, 'test');
      const p2 = await waitFor('rejected', () => controller.state.payloads(cfg.name).find((p) => p.phase === 'Rejected'), 20_000);
      assert.deepEqual(controller.state.runs(p2.stream, p2.tag).filter((r) => r.verifyName === 'e2e-gcp').map((r) => r.state), ['Failed', 'Failed']);
    } finally {
      clearInterval(sim);
      await controller.stop();
      await store.close();
    }
  });
});

test('fake API server: the pod log of a Kubernetes Job is copied while it runs and after a dropped connection, and removed by forget', async () => {
  await withFake(async (f, dir, make) => {
    const logDir = join(dir, 'runs');
    const x = make(logDir);
    const st = await x.launch(spec());
    assert.equal(st.logPath, join(logDir, `${TAG}-e2e-aws`, 'log'));
    assert.equal(st.url, `/logs/${TAG}-e2e-aws`);
    // the pod appears after the Job; its log grows while it runs
    f.addPod('ns1', 'pod-1', `${TAG}-e2e-aws`);
    f.update(JOBS, `${TAG}-e2e-aws`, { status: { active: 1 } });
    f.podLog('ns1', 'pod-1', 'line 1\n');
    await waitFor('first line copied', () => existsSync(st.logPath) && readFileSync(st.logPath, 'utf8') === 'line 1\n');
    f.podLog('ns1', 'pod-1', 'line 2\n');
    await waitFor('second line followed', () => readFileSync(st.logPath, 'utf8') === 'line 1\nline 2\n');
    // the log connection drops: fetched again from the start, nothing lost or doubled
    for (const l of f.podLogs.values()) for (const r of l.followers) r.destroy();
    f.podLog('ns1', 'pod-1', 'line 3\n', true);
    f.update(JOBS, `${TAG}-e2e-aws`, complete(true));
    await waitFor('whole log', () => readFileSync(st.logPath, 'utf8') === 'line 1\nline 2\nline 3\n', 10_000);
    assert.deepEqual(f.get(JOBS, `${TAG}-e2e-aws`)!.metadata.finalizers, ['release.openshift.io/record-result']);
    await x.forget([`${TAG}-e2e-aws`]);
    assert.ok(!existsSync(st.logPath));
    await waitFor('a forgotten run needs no result: its finalizer goes', () => (f.get(JOBS, `${TAG}-e2e-aws`)!.metadata.finalizers as string[]).length === 0);
  });
});

test('fake API server: a Kubernetes Job removed (TTL, kubectl delete) before its result was recorded keeps the result through a restart and is not relaunched', async () => {
  await withFake(async (f, dir, make) => {
    const cfg = config({ name: '4.16.0-0.nightly', to: 'release', mirrorPrefix: '4.16-art-latest', minCreationIntervalSeconds: 0, verify: { 'e2e-aws': { prowJob: { name: 'periodic-e2e-aws' } }, 'e2e-gcp': { prowJob: { name: 'periodic-e2e-gcp' } } } });
    const streams = [{ name: cfg.name, config: cfg, file: 'c.json', input: inputStreamOf(cfg) }];
    const dbPath = join(dir, 'rc.db');
    const builder = new LocalBuilder(join(dir, 'payloads'));
    let store = openSqliteStore(dbPath);
    let controller = await Controller.create({ store, executor: make(), builder, streams, resyncMs: 0 });
    await controller.start();
    await controller.setInputTags(inputStreamOf(cfg), { cli: pullSpec('cli') }, 'test');
    await waitFor('two Jobs', () => f.list(JOBS).length === 2, 20_000);
    await controller.stop();
    await store.close();
    // while the controller is down: the aws Job finishes and its TTL deletes it; someone deletes the running gcp Job
    const aws = f.list(JOBS).find((o) => o.metadata.name.includes('e2e-aws'))!.metadata.name;
    const gcp = f.list(JOBS).find((o) => o.metadata.name.includes('e2e-gcp'))!.metadata.name;
    f.update(JOBS, aws, complete(true));
    f.remove(JOBS, aws);
    f.remove(JOBS, gcp);
    assert.ok(f.get(JOBS, aws)?.metadata.deletionTimestamp && f.get(JOBS, gcp)?.metadata.deletionTimestamp, 'both kept by the finalizer');
    const creates = f.stats.creates;
    store = openSqliteStore(dbPath);
    controller = await Controller.create({ store, executor: make(), builder, streams, resyncMs: 0 });
    try {
      await controller.start();
      const p = controller.state.payloads(cfg.name)[0]!;
      const runs = () => controller.state.runs(p.stream, p.tag);
      await waitFor('aws recorded Succeeded', () => runs().find((r) => r.id === aws && r.state === 'Succeeded'), 20_000);
      await waitFor('gcp recorded lost', () => runs().find((r) => r.id === gcp && r.state === 'Interrupted'), 20_000);
      assert.equal(runs().find((r) => r.id === gcp)!.reason, 'Lost: the Job was deleted before it finished');
      // once recorded the finalizers go and the Jobs with them; only the lost run is launched again
      await waitFor('both Jobs gone', () => !f.get(JOBS, aws) && !f.get(JOBS, gcp), 20_000);
      await waitFor('gcp relaunched', () => f.stats.creates === creates + 1, 20_000);
      const again = f.list(JOBS);
      assert.equal(again.length, 1);
      assert.ok(again[0]!.metadata.name.includes('e2e-gcp') && again[0]!.metadata.name !== gcp, again[0]!.metadata.name);
      assert.equal(runs().filter((r) => r.verifyName === 'e2e-aws').length, 1, 'the finished job is not run again');
      f.update(JOBS, again[0]!.metadata.name, complete(true));
      await waitFor('accepted', () => controller.state.payload(p.stream, p.tag)?.phase === 'Accepted', 20_000);
      await waitFor('last Job released', () => f.list(JOBS).length === 1 && !(f.list(JOBS)[0]!.metadata.finalizers as string[]).length, 20_000);
    } finally {
      await controller.stop();
      await store.close();
    }
  });
});

test('fake API server: Kubernetes Job results across 410 Gone and dropped watches are reported once each', async () => {
  await withFake(async (f, _dir, make) => {
    const x = make();
    const seen: JobStatus[] = [];
    x.onStatus((s) => seen.push(s));
    await x.synced();
    const ids = ['g1', 'g2', 'g3'].map((n) => `${TAG}-${n}`);
    for (const id of ids) await x.launch(spec({ runId: id }));
    await waitFor('watch open', () => f.stats.watches >= 1);
    f.dropWatches();
    f.update(JOBS, ids[0]!, complete(true));
    // a result while the history is compacted: the resumed watch gets 410 Gone and re-lists
    f.dropWatches();
    f.updateSilently(JOBS, ids[1]!, complete(false));
    f.compact();
    f.update(JOBS, ids[2]!, complete(true));
    await waitFor('all reported', () => ids.every((id) => seen.some((s) => s.runId === id && s.state !== 'Pending')), 10_000);
    const lists = f.stats.lists;
    const watches = f.stats.watches;
    f.dropWatches();
    await waitFor('watching again after the last drop', () => f.stats.lists > lists || f.stats.watches > watches, 20_000);
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(seen.filter((s) => s.state !== 'Pending').map((s) => `${s.runId.slice(TAG.length)} ${s.state}`).sort(), ['-g1 Succeeded', '-g2 Failed', '-g3 Succeeded']);
  });
});
