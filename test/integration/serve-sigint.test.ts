// Interruptions are not failures (DESIGN.md §14): Ctrl-C the real `release-controller serve`
// process while a blocking job runs, start it again on the same data directory, and the payload is
// still Accepted. By default the running job is left running and re-adopted (its work is done
// once); with --stop-jobs it is stopped, recorded Interrupted, and relaunched after the restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import type { EventRecord, JobRun } from '../../src/domain/types.ts';
import { cleanup, pidAlive, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.21.0-0.nightly';
const TOKEN = 'ci-token-0123456789abcdef';


async function sigint(p: ServeProc): Promise<void> {
  p.child.kill('SIGINT');
  const code = await p.exited;
  assert.equal(code, 0, `clean stop exits 0:\n${p.output()}`);
}

interface Setup {
  dir: string;
  args: string[];
  data: string;
  /** lines "<BUILD_ID> start" / "<BUILD_ID> end" appended by the job */
  lines: () => string[];
}

function setup(): Setup {
  const dir = tempDir('rc-sigint-');
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  const log = join(dir, 'job.log');
  const s = writeScripts(dir, { job: `echo "$BUILD_ID start" >> "${log}"; sleep 3; echo "$BUILD_ID end" >> "${log}"; exit 0` });
  writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } } } }));
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- user: ci\n  token: ${TOKEN}\n  roles: [ci]\n`);
  const data = join(dir, 'data');
  return {
    dir,
    data,
    args: ['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', data, '--port', '0', '--host', '127.0.0.1'],
    lines: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []),
  };
}

async function feed(p: ServeProc): Promise<void> {
  const put = await fetch(`${p.url}/api/v1/inputstreams/${STREAM}/tags`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags: { cli: pullSpec('cli') } }),
  });
  assert.ok(put.status < 300, await put.text());
}

async function tags(p: ServeProc): Promise<{ name: string; phase: string }[]> {
  const r = await fetch(`${p.url}/api/v1/releasestream/${STREAM}/tags`);
  return ((await r.json()) as { tags: { name: string; phase: string }[] | null }).tags ?? [];
}

/** waitFor, failing with the server's tags and output (what it was doing) */
function waitOn<T>(p: ServeProc, what: string, fn: () => T | Promise<T>): Promise<NonNullable<T>> {
  return waitFor(what, fn, 15_000).catch(async (e: Error) => {
    throw new Error(`${e.message}; tags ${JSON.stringify(await tags(p).catch(() => null))}; output:\n${p.output().slice(-4000)}`);
  });
}

async function waitAccepted(p: ServeProc): Promise<string> {
  const t = await waitOn(p, 'payload decided', async () => (await tags(p)).find((x) => x.phase !== 'Pending' && x.phase !== 'Ready'));
  assert.equal(t.phase, 'Accepted', `payload ${t.name}:\n${p.output()}`);
  return t.name;
}

async function events(p: ServeProc, tag: string): Promise<EventRecord[]> {
  const r = await fetch(`${p.url}/api/v1/releasestream/${STREAM}/release/${tag}/events`);
  assert.equal(r.status, 200);
  return (await r.json()) as EventRecord[];
}

async function storedRuns(data: string, tag: string): Promise<JobRun[]> {
  const store = openSqliteStore(join(data, 'release-controller.db'));
  try {
    return (await store.load()).jobRuns.filter((r) => r.tag === tag).sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  } finally {
    await store.close();
  }
}

async function storedRun(data: string, id: string): Promise<JobRun | undefined> {
  const store = openSqliteStore(join(data, 'release-controller.db'));
  try {
    return (await store.load()).jobRuns.find((r) => r.id === id);
  } finally {
    await store.close();
  }
}

const jobStates = (evs: EventRecord[]) => evs.filter((e) => e.type === 'JobStateChanged').map((e) => String(e.data.state));

test('Ctrl-C while a blocking job runs, start again: the job is left running, re-adopted, runs once; the payload is Accepted', async () => {
  const s = setup();
  let proc: ServeProc | undefined;
  try {
    proc = await startServe(s.args);
    await feed(proc);
    const started = await waitOn(proc, 'job started', () => s.lines().find((l) => l.endsWith(' start')));
    const runId = started.split(' ')[0];
    await sigint(proc);
    // the controller is gone, the job is not: it was let go of, not stopped
    assert.deepEqual(s.lines(), [`${runId} start`], 'not stopped, not waited for');
    const wrapper = Number(readFileSync(join(s.data, 'runs', runId, 'pid'), 'utf8'));
    assert.ok(pidAlive(wrapper), 'the job still runs after the controller exited');

    proc = await startServe(s.args);
    const tag = await waitAccepted(proc);
    assert.deepEqual(s.lines(), [`${runId} start`, `${runId} end`], 'the job started exactly once and ended once');
    const evs = await events(proc, tag);
    assert.deepEqual(jobStates(evs).filter((st) => st !== 'Pending'), ['Succeeded'], JSON.stringify(evs, null, 1));
    await sigint(proc);

    const runs = await storedRuns(s.data, tag);
    assert.deepEqual(runs.map((r) => [r.id, r.verifyName, r.state]), [[runId, 'e2e-aws', 'Succeeded']]);
  } finally {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    cleanup(s.dir);
  }
});

test('Ctrl-C with --stop-jobs: the job is stopped and recorded Interrupted, relaunched after the restart; the payload is Accepted, not Rejected', async () => {
  const s = setup();
  let proc: ServeProc | undefined;
  try {
    proc = await startServe([...s.args, '--stop-jobs']);
    await feed(proc);
    const started = await waitOn(proc, 'job started', () => s.lines().find((l) => l.endsWith(' start')));
    const first = started.split(' ')[0];
    await sigint(proc);
    const wrapper = Number(readFileSync(join(s.data, 'runs', first, 'pid'), 'utf8'));
    assert.equal(pidAlive(wrapper), false, 'the job was stopped before the controller exited');
    assert.equal(JSON.parse(readFileSync(join(s.data, 'runs', first, 'status.json'), 'utf8')).state, 'Interrupted');
    const stopped = await storedRun(s.data, first);
    assert.deepEqual([stopped?.state, stopped?.reason], ['Interrupted', 'Shutdown'], 'recorded by the stopping controller');

    proc = await startServe([...s.args, '--stop-jobs']);
    const tag = await waitAccepted(proc);
    const lines = s.lines();
    const second = lines.find((l) => l.endsWith(' start') && !l.startsWith(`${first} `))?.split(' ')[0];
    assert.ok(second, `relaunched under a new run id: ${lines.join(', ')}`);
    assert.deepEqual(lines, [`${first} start`, `${second} start`, `${second} end`], 'the interrupted job ran again, once');
    const evs = await events(proc, tag);
    assert.deepEqual(jobStates(evs).filter((st) => st !== 'Pending'), ['Interrupted', 'Succeeded'], JSON.stringify(evs, null, 1));
    await sigint(proc);

    const runs = await storedRuns(s.data, tag);
    assert.deepEqual(
      runs.map((r) => [r.id, r.verifyName, r.state, r.state === 'Interrupted' ? r.reason : '']),
      [
        [first, 'e2e-aws', 'Interrupted', 'Shutdown'],
        [second, 'e2e-aws', 'Succeeded', ''],
      ],
    );
  } finally {
    if (proc && proc.child.exitCode === null) proc.child.kill('SIGKILL');
    cleanup(s.dir);
  }
});
