// Crash safety: SIGKILL the real `release-controller serve` process while jobs (and QE jobs) run,
// start it again on the same data directory, and check every run is accounted for exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';



async function json(url: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url);
  const text = await r.text();
  return { status: r.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text };
}

test('SIGKILL during verification and QE: restart loses no result and launches no job twice', async () => {
  const dir = tempDir();
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  const launches = join(dir, 'launches.log');
  // each process appends its run name when it starts: a run launched twice shows up twice
  const s = writeScripts(dir, {
    job: `echo "$BUILD_ID" >> "${launches}"; sleep "\${SLEEP:-2}"; exit 0`,
  });
  writeFileSync(
    join(releases, 'stream.json'),
    JSON.stringify({
      name: '4.20.0-0.nightly',
      to: 'release',
      verify: {
        'e2e-aws': { prowJob: { name: 'e2e-aws' } },
        'e2e-gcp': { prowJob: { name: 'e2e-gcp' } },
        informing: { optional: true, prowJob: { name: 'informing' } },
        'qe-a': { qe: true, prowJob: { name: 'qe-a' } },
        'qe-b': { qe: true, prowJob: { name: 'qe-b' } },
      },
      qe: { timeout: '10m' },
    }),
  );
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `jobs:\n  "qe-*": { command: ["bash", "${s.job}"], env: { SLEEP: "3" } }\n  "*": { command: ["bash", "${s.job}"], env: { SLEEP: "2" } }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, '- user: ci\n  token: ci-token-0123456789abcdef\n  roles: [ci]\n');
  const data = join(dir, 'data');
  const args = ['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', data, '--port', '0', '--host', '127.0.0.1'];
  let proc: ServeProc | undefined;
  try {
    proc = await startServe(args);
    const put = await fetch(`${proc.url}/api/v1/inputstreams/4.20.0-0.nightly/tags`, {
      method: 'PUT',
      headers: { authorization: 'Bearer ci-token-0123456789abcdef', 'content-type': 'application/json' },
      body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
    });
    assert.equal(put.status < 300, true, await put.text());
    // kill while CI jobs run
    await waitFor('CI jobs running', () => existsSync(launches) && readFileSync(launches, 'utf8').trim().split('\n').length >= 3, 20_000);
    proc.child.kill('SIGKILL');
    await new Promise((r) => proc!.child.once('exit', r));

    proc = await startServe(args);
    const tags = await waitFor('payload accepted after restart', async () => {
      const r = await json(`${proc!.url}/api/v1/releasestream/4.20.0-0.nightly/tags`);
      const list = (r.body as { tags: { name: string; phase: string; qePhase: string }[] | null }).tags;
      return list?.find((t) => t.phase === 'Accepted' && t.qePhase === 'QERunning') ? list : null;
    }, 30_000);
    const tag = tags[0].name;
    // kill again while QE jobs run
    await waitFor('QE jobs running', () => readFileSync(launches, 'utf8').includes('qe-a'), 20_000);
    proc.child.kill('SIGKILL');
    await new Promise((r) => proc!.child.once('exit', r));
    const before = openSqliteStore(join(data, 'release-controller.db'));
    const qeBefore = (await before.load()).payloads.find((p) => p.tag === tag)!.qe;
    await before.close();

    proc = await startServe(args);
    await waitFor('QE verdict after restart', async () => {
      const r = await json(`${proc!.url}/api/v1/releasestream/4.20.0-0.nightly/release/${tag}`);
      return (r.body as { qePhase?: string }).qePhase === 'QEAccepted';
    }, 30_000);
    proc.child.kill('SIGINT');
    const code = await new Promise((r) => proc!.child.once('exit', (c) => r(c)));
    assert.equal(code, 0, proc.output());

    // every run launched exactly once, every recorded run finished
    const lines = readFileSync(launches, 'utf8').trim().split('\n');
    const counts = new Map<string, number>();
    for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
    for (const [run, n] of counts) assert.equal(n, 1, `${run} launched ${n} times`);
    const store = openSqliteStore(join(data, 'release-controller.db'));
    const snap = await store.load();
    await store.close();
    const runs = snap.jobRuns.filter((r) => r.tag === tag);
    assert.deepEqual(runs.map((r) => r.verifyName).sort(), ['e2e-aws', 'e2e-gcp', 'informing', 'qe-a', 'qe-b']);
    for (const r of runs) assert.equal(r.state, 'Succeeded', `${r.id}: ${r.state} ${r.reason}`);
    for (const r of runs) assert.equal(counts.get(r.id), 1, `${r.id} has one process`);
    // the QE clock was not reset by the restart
    const qeAfter = snap.payloads.find((p) => p.tag === tag)!.qe;
    assert.equal(qeAfter.startedAt, qeBefore.startedAt);
    assert.equal(qeAfter.deadline, qeBefore.deadline);
  } finally {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    cleanup(dir);
  }
});
