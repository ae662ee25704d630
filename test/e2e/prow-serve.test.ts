// `serve --executor prow` as a real process against the fake API server of test/helpers/fake-kube.ts
// (the only faked part): payload accepted from ProwJob results, the run URL from status.url,
// /readyz naming an unreachable API server without failing runs, and a restart adopting the
// existing ProwJobs without creating any again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FakeKube, PROWJOBS } from '../helpers/fake-kube.ts';
import { cleanup, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';
import { BIN, startServe, type ServeProc } from '../helpers/serve-proc.ts';

const PROW_DIR = new URL('../fixtures/openshift-release/prowjobs/', import.meta.url).pathname;
const E2E_AWS = 'periodic-ci-openshift-cluster-control-plane-machine-set-operator-release-4.16-periodics-e2e-aws';
const STREAM = '4.16.0-0.nightly';
const INPUT = '4.16-art-latest';
const CI = 'ci-token-0123456789ab';

test('fake API server: serve --executor prow accepts a payload from ProwJob results, reports an unreachable API on /readyz, adopts after a restart', async () => {
  const f = new FakeKube();
  await f.start();
  const dir = tempDir('rc-prow-serve-');
  let s: ServeProc | undefined;
  try {
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'n.json'), JSON.stringify({ name: STREAM, to: 'release', mirrorPrefix: INPUT, verify: { 'e2e-aws': { prowJob: { name: E2E_AWS } }, missing: { prowJob: { name: 'no-such-periodic' }, optional: true } } }));
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `- { user: bot, token: ${CI}, roles: [ci] }\n`);
    const kubeconfig = f.writeKubeconfig(dir);
    // no --jobs: the Prow job config is the job definition
    const args = ['--releases', releases, '--tokens', tokens, '--data', join(dir, 'data'), '--port', '0', '--no-watch',
      '--executor', 'prow', '--kubeconfig', kubeconfig, '--context', 'fake', '--prow-namespace', 'ci', '--prow-jobs', PROW_DIR];
    s = await startServe(args);
    const url = s.url;
    const r = spawnSync(process.execPath, [BIN, 'input', 'set', INPUT, `cli=${pullSpec('cli')}`, '--token', CI], { encoding: 'utf8', env: { ...process.env, RELEASE_CONTROLLER_SERVER: url } });
    assert.equal(r.status, 0, r.stderr);
    const pj = await waitFor('ProwJob created', () => f.list(PROWJOBS)[0], 20_000);
    const tag = pj.metadata.labels!['release.openshift.io/payload']!;
    assert.equal(pj.metadata.name, `${tag}-e2e-aws`);
    assert.equal(f.list(PROWJOBS).length, 1, 'the entry naming an unknown periodic creates nothing');

    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${url}/metrics`)).text())?.[1]);
    assert.equal(await metric('release_controller_kubernetes_api_up'), 1);
    // the API server stops while the job runs: /readyz, /metrics and the console say since when and how many retries; the run stays Pending
    const stoppedAt = Math.floor(Date.now() / 1000);
    await f.halt();
    const readyz = await waitFor('readyz reports the API', async () => {
      const res = await fetch(`${url}/readyz`);
      const text = await res.text();
      return res.status === 503 && /\((?:[2-9]|\d\d+) retries\)/.test(text) ? text : null;
    }, 30_000);
    assert.match(readyz, /^not ready: Kubernetes API unreachable since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+ retries\): /);
    const since = Date.parse(/since (\S+)/.exec(readyz)![1]!) / 1000;
    assert.ok(since >= stoppedAt - 1 && since <= Date.now() / 1000, readyz);
    const overview = await (await fetch(url)).text();
    const banner = /<div class="box danger unavailable"[^>]*>(.*?)<\/div>/s.exec(overview)?.[1] ?? '';
    assert.match(banner, /Not ready:<\/strong> Kubernetes API unreachable since \S+ \(\d+ retries\)/);
    assert.match(banner, /none is failed because of it/);
    assert.equal(await metric('release_controller_kubernetes_api_up'), 0);
    assert.equal(await metric('release_controller_kubernetes_api_unreachable_since_seconds'), since);
    assert.ok((await metric('release_controller_kubernetes_api_retries')) >= 2);
    const runs = ((await (await fetch(`${url}/api/v1/releasestream/${STREAM}/release/${tag}`)).json()) as { results?: { blockingJobs?: Record<string, { state: string }> } }).results;
    assert.equal(runs?.blockingJobs?.['e2e-aws']?.state, 'Pending', 'no run fails because the API is away');
    f.update(PROWJOBS, pj.metadata.name, { status: { state: 'pending', url: `https://prow.example/view/${pj.metadata.name}` } });
    await f.resume();
    await waitFor('ready again', async () => (await fetch(`${url}/readyz`)).status === 200, 30_000);
    assert.doesNotMatch(await (await fetch(url)).text(), /class="box danger unavailable"/, 'the banner is gone');
    assert.equal(await metric('release_controller_kubernetes_api_up'), 1);
    assert.equal(await metric('release_controller_kubernetes_api_retries'), 0);

    // restart: nothing is created again; the result that arrives after the restart is adopted
    s.child.kill('SIGTERM');
    await s.exited;
    const creates = f.stats.creates;
    f.update(PROWJOBS, pj.metadata.name, { status: { state: 'success', completionTime: new Date().toISOString() } });
    s = await startServe(args);
    const tags = async () => ((await (await fetch(`${s!.url}/api/v1/releasestream/${STREAM}/tags`)).json()) as { tags: { name: string; phase: string }[] }).tags ?? [];
    await waitFor('accepted', async () => (await tags()).find((t) => t.name === tag && t.phase === 'Accepted'), 20_000);
    assert.equal(f.stats.creates, creates, 'no ProwJob created again after the restart');
    const info = await (await fetch(`${s.url}/api/v1/releasestream/${STREAM}/release/${tag}`)).json() as { results?: { blockingJobs?: Record<string, { url: string; state: string }>; informingJobs?: Record<string, { url: string; state: string }> } };
    assert.equal(info.results?.blockingJobs?.['e2e-aws']?.url, `https://prow.example/view/${pj.metadata.name}`);
    assert.equal(info.results?.informingJobs?.missing?.state, 'Pending');
  } finally {
    if (s && s.child.exitCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    await f.stop();
    cleanup(dir);
  }
});
