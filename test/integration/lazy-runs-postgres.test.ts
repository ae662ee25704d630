// Lazy loading of settled runs on PostgreSQL (issue 17 item 5) with real `serve` processes: after
// a restart, a settled payload's runs are not in memory (release_controller_job_runs counts the
// runs held), yet its release info (/api/v1/releasestream/{s}/release/{tag}) and console release
// page show them, read on demand; a follower (--role api) started lazily shows them too. Real
// PostgreSQL (RC_TEST_PG_URL), a database of its own; local executor.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const CI = 'ci-token-0123456789abcdef';
const STREAM = '4.21.0-0.nightly';
const INPUT = 'ocp-4.21';

async function get(p: ServeProc, path: string): Promise<{ status: number; text: string }> {
  const r = await fetch(p.url + path, { signal: AbortSignal.timeout(10_000) });
  return { status: r.status, text: await r.text() };
}

/** job runs held in memory, from /metrics (release_controller_job_runs, summed over states) */
async function runsInMemory(p: ServeProc): Promise<number> {
  const m = await get(p, '/metrics');
  assert.equal(m.status, 200);
  let n = 0;
  for (const [, v] of m.text.matchAll(/^release_controller_job_runs\{[^}]*\} (\d+)/gm)) n += Number(v);
  return n;
}

async function stop(p: ServeProc): Promise<void> {
  if (p.child.exitCode !== null) return;
  p.child.kill('SIGTERM');
  await p.exited;
}

test('PostgreSQL: after a restart a settled payload\'s runs stay in the store until its release info or page is asked for', { timeout: 120_000 }, async (t) => {
  const db = await freshDatabase(t, 'rc_lazy');
  const dir = tempDir('rc-lazy-pg-');
  const procs: ServeProc[] = [];
  t.after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    cleanup(dir);
  });
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  writeFileSync(join(releases, `${STREAM}.json`), JSON.stringify({
    name: STREAM, to: 'release', source: INPUT, maxUnreadyReleases: 10, minCreationIntervalSeconds: 0,
    verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } }, 'e2e-gcp': { prowJob: { name: 'e2e-gcp' }, optional: true } },
  }));
  const sc = writeScripts(dir, { job: 'exit 0' });
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `jobs:\n  "*": { command: ["bash", "${sc.job}"] }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- user: ci-user\n  token: ${CI}\n  roles: [ci]\n`);
  const args = ['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', join(dir, 'data'), '--db', db, '--port', '0', '--host', '127.0.0.1', '--no-watch'];
  const ready = (p: ServeProc) => waitFor('ready', async () => (await get(p, '/readyz')).status === 200, 20_000, 50);

  // ---- a payload verified and settled (Accepted, every CI entry final)
  let leader = await startServe([...args, '--replica-id', 'lazy-a']);
  procs.push(leader);
  await ready(leader);
  const put = await fetch(`${leader.url}/api/v1/inputstreams/${INPUT}/tags`, {
    method: 'PUT', headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags: { cli: pullSpec('cli'), installer: pullSpec('installer') } }),
  });
  assert.equal(put.status, 200);
  const tag = await waitFor('an accepted payload', async () => {
    const r = await get(leader, `/api/v1/releasestream/${STREAM}/tags`);
    const tags = (JSON.parse(r.text) as { tags: { name: string; phase: string }[] | null }).tags ?? [];
    return tags.find((x) => x.phase === 'Accepted')?.name;
  }, 30_000, 100);
  const infoPath = `/api/v1/releasestream/${STREAM}/release/${tag}?format=short`;
  // both jobs final (the optional one too), so nothing about the payload is deciding any more
  const before = await waitFor('both results final', async () => {
    const r = await get(leader, infoPath);
    const info = JSON.parse(r.text) as { results?: { blockingJobs?: Record<string, { state: string }>; informingJobs?: Record<string, { state: string }> } };
    const all = { ...info.results?.blockingJobs, ...info.results?.informingJobs };
    return Object.keys(all).length === 2 && Object.values(all).every((j) => j.state === 'Succeeded') ? r.text : undefined;
  }, 30_000, 100);
  assert.ok((await runsInMemory(leader)) >= 2);

  // ---- restart: the settled payload's runs are not loaded
  await stop(leader);
  leader = await startServe([...args, '--replica-id', 'lazy-a']);
  procs.push(leader);
  await ready(leader);
  const follower = await startServe([...args, '--role', 'api', '--replica-id', 'lazy-b']);
  procs.push(follower);
  await ready(follower);
  assert.equal(await runsInMemory(leader), 0, 'no run of the settled payload is in memory after the restart');
  assert.equal(await runsInMemory(follower), 0, 'nor on a follower');

  // ---- …yet its release info and release page show them, read on demand
  for (const p of [leader, follower]) {
    const info = await get(p, infoPath);
    assert.equal(info.status, 200);
    assert.equal(info.text, before, 'the release info after the restart is the one before it');
  }
  assert.equal(await runsInMemory(leader), 2, 'the two runs were read for the release info');
  const page = await get(follower, `/releasestream/${STREAM}/release/${tag}`);
  assert.equal(page.status, 200);
  for (const job of ['e2e-aws', 'e2e-gcp']) assert.match(page.text, new RegExp(`${job}[\\s\\S]*?Succeeded|Succeeded[\\s\\S]*?${job}`), `${job} on the release page`);
  const tagPage = await get(leader, `/releasetag/${tag}`);
  assert.equal(tagPage.status, 200);
  assert.ok(tagPage.text.includes('e2e-aws') && tagPage.text.includes('e2e-gcp'));
  await stop(follower);
  await stop(leader);
});
