// Reloading the cluster executors' configuration without a restart (issue 15): the Kubernetes
// executor's jobs file (Job templates) and the Prow job config directory (--prow-jobs), in the real
// `serve` (in-process, file watching on) against the fake API server of test/helpers/fake-kube.ts
// (the only faked part, named in each test). A bad file keeps its last good version, shows on the
// console and in /metrics like the other reload kinds, and is cleared when fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { serve } from '../../src/cli/serve.ts';
import { FakeKube, PROWJOBS } from '../helpers/fake-kube.ts';
import { cleanup, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';

const STREAM = '4.16.0-0.nightly';
const INPUT = '4.16-art-latest';
const CI = 'ci-token-0123456789ab';
const PROW_DIR = new URL('../fixtures/openshift-release/prowjobs/', import.meta.url).pathname;
const E2E_AWS = 'periodic-ci-openshift-cluster-control-plane-machine-set-operator-release-4.16-periodics-e2e-aws';

function replaceFile(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.swp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

async function configErrors(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^release_controller_config_errors\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]]));
    out.set(`${labels.kind} ${labels.file}`, Number(m[2]));
  }
  return out;
}

async function overview(url: string): Promise<string> {
  const r = await fetch(url);
  assert.equal(r.status, 200);
  return r.text();
}

/** a new payload: a new input tag set through the API (payload names are per second) */
async function newPayload(url: string, n: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 1100));
  const r = await fetch(`${url}/api/v1/inputstreams/${INPUT}/tags`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags: { cli: pullSpec(`cli-${n}`) } }),
  });
  assert.equal(r.status, 200, await r.text());
}

function setup(dir: string, verify: Record<string, unknown>) {
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  writeFileSync(join(releases, 'n.json'), JSON.stringify({ name: STREAM, to: 'release', mirrorPrefix: INPUT, minCreationIntervalSeconds: 0, verify }));
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- { user: bot, token: ${CI}, roles: [ci] }\n`);
  return { releases, tokens };
}

test('fake API server: serve --executor kubernetes reloads its jobs file; a bad one keeps the last good templates and is shown until fixed', async () => {
  const f = new FakeKube();
  await f.start();
  const dir = tempDir('rc-kube-reload-');
  const JOBS = 'batch/v1/rc/jobs';
  const { releases, tokens } = setup(dir, { 'e2e-aws': { prowJob: { name: 'periodic-e2e-aws' } } });
  const jobs = join(dir, 'jobs.yaml');
  const template = (image: string) => `jobs:\n  "*":\n    kubernetes: { image: ${image}, command: [/bin/e2e] }\n`;
  writeFileSync(jobs, template('quay.io/example/e2e:v1'));
  const srv = await serve({ releases, jobs, tokens, data: join(dir, 'data'), port: 0, host: '127.0.0.1', executor: 'kubernetes', prow: { kubeconfig: f.writeKubeconfig(dir) }, kubernetes: { namespace: 'rc' }, logLevel: 'silent', watchDebounceMs: 50 });
  const images = () => f.list(JOBS).map((j) => (j.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]!.image).sort();
  try {
    await newPayload(srv.url, 1);
    await waitFor('first Job', () => f.list(JOBS).length === 1, 20_000);
    assert.deepEqual(images(), ['quay.io/example/e2e:v1']);

    // a local-executor jobs file is no template file: refused, the last good templates keep running
    replaceFile(jobs, 'jobs:\n  "*": { command: [bash] }\n');
    await waitFor('error in /metrics', async () => (await configErrors(srv.url)).get(`jobs ${jobs}`), 5000);
    const page = await overview(srv.url);
    assert.match(page, /data-config-kind="jobs"/);
    assert.match(page, /the last good version is still running/);
    assert.match(page, /jobs\.\*/, 'the failing field is named');
    await newPayload(srv.url, 2);
    await waitFor('second Job', () => f.list(JOBS).length === 2, 20_000);
    assert.deepEqual(images(), ['quay.io/example/e2e:v1', 'quay.io/example/e2e:v1'], 'launched from the last good templates');

    // fixed with a new image: the error goes, new Jobs use it
    replaceFile(jobs, template('quay.io/example/e2e:v2'));
    await waitFor('gauge cleared', async () => !(await configErrors(srv.url)).get(`jobs ${jobs}`), 5000);
    assert.doesNotMatch(await overview(srv.url), /config-problems/);
    await newPayload(srv.url, 3);
    await waitFor('third Job', () => f.list(JOBS).length === 3, 20_000);
    assert.deepEqual(images(), ['quay.io/example/e2e:v1', 'quay.io/example/e2e:v1', 'quay.io/example/e2e:v2']);
  } finally {
    await srv.close();
    await f.stop();
    cleanup(dir);
  }
});

test('fake API server: serve --executor prow reloads the Prow job config directory per file; a bad file keeps its last good periodics and is shown until fixed', async () => {
  const f = new FakeKube();
  await f.start();
  const dir = tempDir('rc-prow-reload-');
  const { releases, tokens } = setup(dir, { 'e2e-aws': { prowJob: { name: E2E_AWS } }, extra: { prowJob: { name: 'periodic-extra' } }, later: { prowJob: { name: 'periodic-later' }, optional: true } });
  const prowDir = join(dir, 'prow');
  cpSync(PROW_DIR, prowDir, { recursive: true });
  const periodic = (name: string) => `periodics:\n- name: ${name}\n  agent: kubernetes\n  cluster: build01\n  spec:\n    containers:\n    - image: x\n`;
  const extra = join(prowDir, 'extra.yaml');
  writeFileSync(extra, periodic('periodic-extra'));
  const srv = await serve({ releases, tokens, data: join(dir, 'data'), port: 0, host: '127.0.0.1', executor: 'prow', prow: { kubeconfig: f.writeKubeconfig(dir), prowJobs: prowDir }, logLevel: 'silent', watchDebounceMs: 50 });
  const created = (name: string) => f.list(PROWJOBS).filter((p) => (p.metadata.annotations as Record<string, string> | undefined)?.['prow.k8s.io/job'] === name).length;
  try {
    await newPayload(srv.url, 1);
    await waitFor('aws and extra created', () => created(E2E_AWS) === 1 && created('periodic-extra') === 1, 20_000);
    assert.equal(created('periodic-later'), 0, 'unknown periodic: ProwJobInvalid, nothing created');

    // a new file in a new subdirectory: picked up by the watcher, the held run is launched
    mkdirSync(join(prowDir, 'new', 'sub'), { recursive: true });
    writeFileSync(join(prowDir, 'new', 'sub', 'later.yaml'), periodic('periodic-later'));
    await waitFor('later created', () => created('periodic-later') === 1, 10_000);

    // extra.yaml broken (saved by rename): reported, its periodic still launches
    replaceFile(extra, 'periodics: [ {name: <b>broken\n');
    const file = join(prowDir, 'extra.yaml');
    await waitFor('error in /metrics', async () => (await configErrors(srv.url)).get(`prowJobs ${file}`), 5000);
    const page = await overview(srv.url);
    assert.match(page, /data-config-kind="prowJobs"/);
    assert.match(page, /Prow job config <code>[^<]*extra\.yaml<\/code>/);
    assert.match(page, /the last good version is still running/);
    assert.ok(!page.includes('<b>broken'), 'the error is escaped');
    await newPayload(srv.url, 2);
    await waitFor('extra created from the last good file', () => created('periodic-extra') === 2, 20_000);

    // fixed: the error goes
    replaceFile(extra, periodic('periodic-extra'));
    await waitFor('gauge cleared', async () => !(await configErrors(srv.url)).get(`prowJobs ${file}`), 5000);
    assert.doesNotMatch(await overview(srv.url), /config-problems/);
  } finally {
    await srv.close();
    await f.stop();
    cleanup(dir);
  }
});
