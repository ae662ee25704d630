// IMAGE_FORMAT / IMAGE_<NAME> in the ProwJob a run gets (upstream-behavior.md §4.5), from the
// payload's mirror repository (JobSpec.imageFormatRepository): a declared IMAGE_FORMAT becomes
// `<mirror>:${component}`, any other declared IMAGE_<NAME> `<mirror>:<name lowercased, _ → ->`,
// nothing is appended. No periodic in test/fixtures/openshift-release/prowjobs declares any of
// them (`grep -rl IMAGE_FORMAT test/fixtures` finds none), so these cases copy a real periodic of
// the fixtures and add the variables to its container's env, saying which. Also the Kubernetes
// executor's Job, which sets IMAGE_FORMAT itself when there is a mirror.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseKubeJobsFile } from '../../src/adapters/jobs/kubernetes/jobsfile.ts';
import { buildJob } from '../../src/adapters/jobs/kubernetes/index.ts';
import { loadProwConfig, type Periodic } from '../../src/adapters/jobs/prow/config.ts';
import { buildProwJob } from '../../src/adapters/jobs/prow/prowjob.ts';
import type { JobSpec } from '../../src/ports/executor.ts';

const PROW_DIR = join(new URL('../fixtures/openshift-release/', import.meta.url).pathname, 'prowjobs');
const prow = loadProwConfig(PROW_DIR);
const E2E_AWS = 'periodic-ci-openshift-cluster-control-plane-machine-set-operator-release-4.16-periodics-e2e-aws';
const TAG = '4.16.0-0.nightly-2024-05-01-123456';
const PULL = `registry.ci.openshift.org/ocp/release@sha256:${'a'.repeat(64)}`;
const MIRROR = 'registry.ci.openshift.org/4.16-art-latest-2024-05-01-123456';
const opts = { sourceNamespace: 'ocp', architecture: 'amd64', podNamespace: 'ci', now: new Date('2024-05-01T13:00:00Z') };

type EnvVar = { name: string; value?: string; valueFrom?: unknown };
type Containers = { containers: { env?: EnvVar[]; args?: string[] }[] };

function spec(over: Partial<JobSpec> = {}): JobSpec {
  return {
    runId: `${TAG}-e2e-aws`, jobName: E2E_AWS, stream: '4.16.0-0.nightly', tag: TAG, verifyName: 'e2e-aws', pullSpec: PULL, initialPullSpec: '', env: {},
    labels: { 'release.openshift.io/verify': 'true', 'release.openshift.io/payload': TAG, 'release.openshift.io/kind': 'blocking' },
    ...over,
  };
}

/** the real periodic with `extra` added to its first container's env */
function periodicWith(extra: EnvVar[]): Periodic {
  const p = structuredClone(prow.periodics.get(E2E_AWS)!);
  const c = (p.spec as Containers).containers[0]!;
  c.env = [...(c.env ?? []), ...extra];
  return p;
}

const envList = (pj: ReturnType<typeof buildProwJob>, i = 0) => (pj.spec!.pod_spec as Containers).containers[i]!.env ?? [];
const envOf = (pj: ReturnType<typeof buildProwJob>, i = 0) => Object.fromEntries(envList(pj, i).map((e) => [e.name, e]));

test('ProwJob env: declared IMAGE_FORMAT and IMAGE_<NAME> are set from the mirror (real periodic + added variables), RELEASE_IMAGE_* untouched by the rule', () => {
  const declared: EnvVar[] = [
    { name: 'IMAGE_FORMAT', value: 'stale:${component}' },
    { name: 'IMAGE_CLUSTER_VERSION_OPERATOR', value: '' },
    { name: 'IMAGE_TESTS', valueFrom: { configMapKeyRef: { name: 'x', key: 'y' } } },
    { name: 'RELEASE_IMAGE_LATEST', value: 'old' },
    { name: 'MY_IMAGE_FORMAT', value: 'kept' },
  ];
  const periodic = periodicWith(declared);
  const before = (prow.periodics.get(E2E_AWS)!.spec as Containers).containers[0]!.env ?? [];
  const pj = buildProwJob(spec({ imageFormatRepository: MIRROR }), periodic, opts);
  const env = envOf(pj);
  assert.deepEqual(env.IMAGE_FORMAT, { name: 'IMAGE_FORMAT', value: `${MIRROR}:\${component}` });
  assert.deepEqual(env.IMAGE_CLUSTER_VERSION_OPERATOR, { name: 'IMAGE_CLUSTER_VERSION_OPERATOR', value: `${MIRROR}:cluster-version-operator` });
  assert.deepEqual(env.IMAGE_TESTS, { name: 'IMAGE_TESTS', value: `${MIRROR}:tests` }, 'valueFrom replaced by the value');
  assert.deepEqual(env.RELEASE_IMAGE_LATEST, { name: 'RELEASE_IMAGE_LATEST', value: PULL });
  assert.deepEqual(env.MY_IMAGE_FORMAT, { name: 'MY_IMAGE_FORMAT', value: 'kept' });
  // the periodic's own variables first, in order, then the declared ones, then what is always appended
  const names = envList(pj).map((e) => e.name);
  assert.deepEqual(names, [...before.map((e) => e.name), ...declared.map((e) => e.name), 'RELEASE_IMAGE_INITIAL', 'OPENSHIFT_INSTALL_AWS_PUBLIC_ONLY']);
  // the loaded config is not changed
  assert.equal(((periodic.spec as Containers).containers[0]!.env ?? []).find((e) => e.name === 'IMAGE_FORMAT')?.value, 'stale:${component}');
});

test('ProwJob env: IMAGE_FORMAT is never appended; the real periodic (declaring none) gets no IMAGE_ variable', () => {
  const pj = buildProwJob(spec({ imageFormatRepository: MIRROR }), prow.periodics.get(E2E_AWS)!, opts);
  assert.deepEqual(envList(pj).filter((e) => e.name.startsWith('IMAGE_')), []);
  const plain = buildProwJob(spec(), prow.periodics.get(E2E_AWS)!, opts);
  assert.deepEqual(envList(pj), envList(plain), 'a mirror changes nothing when no IMAGE_ variable is declared');
});

test('ProwJob env: without a mirror (the local builder) declared IMAGE_ variables stay as the periodic has them', () => {
  const declared: EnvVar[] = [{ name: 'IMAGE_FORMAT', value: 'registry.example/ns/stable:${component}' }, { name: 'IMAGE_TESTS', valueFrom: { fieldRef: { fieldPath: 'x' } } }];
  const env = envOf(buildProwJob(spec(), periodicWith(declared), opts));
  assert.deepEqual(env.IMAGE_FORMAT, declared[0]);
  assert.deepEqual(env.IMAGE_TESTS, declared[1]);
});

test('ProwJob env: the rule applies to every container (a second container added to the real periodic), upgrade and aggregator runs alike', () => {
  const periodic = periodicWith([{ name: 'IMAGE_FORMAT', value: '' }]);
  (periodic.spec as Containers).containers.push({ env: [{ name: 'IMAGE_INSTALLER', value: '' }, { name: 'IMAGE_FORMAT', value: '' }] });
  const upgrade = buildProwJob(spec({ imageFormatRepository: MIRROR, initialPullSpec: 'registry.ci.openshift.org/ocp/release:4.16.0-0.nightly-2024-04-30-000000' }), periodic, opts);
  assert.equal(envOf(upgrade, 0).IMAGE_FORMAT?.value, `${MIRROR}:\${component}`);
  assert.equal(envOf(upgrade, 1).IMAGE_FORMAT?.value, `${MIRROR}:\${component}`);
  assert.equal(envOf(upgrade, 1).IMAGE_INSTALLER?.value, `${MIRROR}:installer`);
  const agg = buildProwJob(
    spec({ imageFormatRepository: MIRROR, runId: `${TAG}-agg-aggregator`, verifyName: 'agg', labels: { 'release.openshift.io/kind': 'aggregator' }, env: { VERIFICATION_JOB_NAME: E2E_AWS } }),
    periodic,
    opts,
  );
  assert.equal(envOf(agg, 0).IMAGE_FORMAT?.value, `${MIRROR}:\${component}`);
});

test('Kubernetes Job env: IMAGE_FORMAT = <mirror>:${component} when the payload has a mirror, absent without one', () => {
  const jobs = parseKubeJobsFile('jobs:\n  "*":\n    kubernetes:\n      image: quay.io/example/e2e:latest\n      env: { CLOUD: aws }\n', 'jobs.yaml');
  const env = (j: ReturnType<typeof buildJob>) => Object.fromEntries((j.spec!.template.spec!.containers[0]!.env ?? []).map((e) => [e.name, e.value]));
  const withMirror = env(buildJob(spec({ imageFormatRepository: MIRROR }), jobs, 3600));
  assert.equal(withMirror.IMAGE_FORMAT, `${MIRROR}:\${component}`);
  assert.equal(withMirror.RELEASE_IMAGE_LATEST, PULL);
  assert.equal(withMirror.CLOUD, 'aws');
  assert.equal(env(buildJob(spec(), jobs, 3600)).IMAGE_FORMAT, undefined);
});
