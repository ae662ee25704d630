// `serve --executor kubernetes` as a real process against the fake API server of
// test/helpers/fake-kube.ts (the only faked part): a payload accepted from batch/v1 Job conditions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { FakeKube } from '../helpers/fake-kube.ts';
import { cleanup, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';
import { BIN, startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.16.0-0.nightly';
const INPUT = '4.16-art-latest';
const CI = 'ci-token-0123456789ab';
const JOBS = 'batch/v1/rc/jobs';

test('fake API server: serve --executor kubernetes runs each verify job as a batch/v1 Job and accepts the payload from its conditions', async () => {
  const f = new FakeKube();
  await f.start();
  const dir = tempDir('rc-kube-serve-');
  let s: ServeProc | undefined;
  try {
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'n.json'), JSON.stringify({ name: STREAM, to: 'release', mirrorPrefix: INPUT, verify: { 'e2e-aws': { prowJob: { name: 'periodic-e2e-aws' } } } }));
    const jobs = join(dir, 'jobs.yaml');
    writeFileSync(jobs, 'jobs:\n  "*":\n    kubernetes: { image: quay.io/example/e2e:latest, command: [/bin/e2e], activeDeadlineSeconds: 600 }\n');
    const tokens = join(dir, 'tokens.yaml');
    writeFileSync(tokens, `- { user: bot, token: ${CI}, roles: [ci] }\n`);
    // a jobs file that is not a template file is refused at start, naming the field
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'jobs:\n  "*": { command: [bash] }\n');
    const base = ['--releases', releases, '--tokens', tokens, '--data', join(dir, 'data'), '--port', '0', '--no-watch', '--executor', 'kubernetes', '--kubeconfig', f.writeKubeconfig(dir), '--namespace', 'rc'];
    const refused = spawnSync(process.execPath, [BIN, 'serve', ...base, '--jobs', bad], { encoding: 'utf8' });
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /bad\.yaml: jobs\.\*/);
    s = await startServe([...base, '--jobs', jobs]);
    const r = spawnSync(process.execPath, [BIN, 'input', 'set', INPUT, `cli=${pullSpec('cli')}`, '--token', CI], { encoding: 'utf8', env: { ...process.env, RELEASE_CONTROLLER_SERVER: s.url } });
    assert.equal(r.status, 0, r.stderr);
    const job = await waitFor('Job created', () => f.list(JOBS)[0], 20_000);
    const spec = job.spec as { backoffLimit: number; activeDeadlineSeconds: number; template: { spec: { containers: { image: string }[] } } };
    assert.equal(spec.backoffLimit, 0);
    assert.equal(spec.activeDeadlineSeconds, 600);
    assert.equal(spec.template.spec.containers[0]!.image, 'quay.io/example/e2e:latest');
    // its pod's log is streamed at /logs/{runId} while it runs
    f.addPod('rc', 'pod-e2e', job.metadata.name);
    f.update(JOBS, job.metadata.name, { status: { active: 1 } });
    f.podLog('rc', 'pod-e2e', 'installing cluster\n');
    const logUrl = `${s.url}/logs/${job.metadata.name}`;
    await waitFor('log copied', () => existsSync(join(dir, 'data', 'runs', job.metadata.name, 'log')) && readFileSync(join(dir, 'data', 'runs', job.metadata.name, 'log'), 'utf8').length > 0);
    f.podLog('rc', 'pod-e2e', 'tests passed\n', true);
    f.update(JOBS, job.metadata.name, { status: { conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: new Date().toISOString() }] } });
    const tags = async () => ((await (await fetch(`${s!.url}/api/v1/releasestream/${STREAM}/tags`)).json()) as { tags: { name: string; phase: string }[] }).tags ?? [];
    await waitFor('accepted', async () => (await tags()).find((t) => t.phase === 'Accepted'), 20_000);
    const res = await fetch(logUrl);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'installing cluster\ntests passed\n');
  } finally {
    if (s && s.child.exitCode === null) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    await f.stop();
    cleanup(dir);
  }
});
