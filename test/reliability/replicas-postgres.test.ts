// Several real `serve` replicas on one PostgreSQL database (issue 17): exactly one leads, a change
// committed through the leader is visible on a follower within 1 s, a write sent to a follower is
// forwarded to the leader (503 naming it when it cannot be), a SIGKILLed leader is replaced within
// 15 s and no job runs twice (each job appends its run id to a shared marker file), SSE clients of
// the survivors keep receiving events;
// and a leader paused (SIGSTOP) past its lease is fenced: once resumed it steps down, its writes are
// refused by the database and it launches nothing. Local executor, one shared data directory.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanup, pullSpec, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { freshDatabase } from '../helpers/postgres.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';
import { readFeed } from '../helpers/sse.ts';

const CI = 'ci-token-0123456789abcdef';
const STREAM = '4.20.0-0.nightly';
const INPUT = 'ocp-4.20';

interface Setup {
  dir: string;
  args: string[];
  marker: string;
}

function setup(db: string, jobSeconds: string): Setup {
  const dir = tempDir('rc-replicas-');
  const releases = join(dir, 'releases');
  mkdirSync(releases);
  writeFileSync(join(releases, `${STREAM}.json`), JSON.stringify({
    name: STREAM, to: 'release', source: INPUT, maxUnreadyReleases: 10, minCreationIntervalSeconds: 0,
    verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } }, 'e2e-gcp': { prowJob: { name: 'e2e-gcp' } } },
  }));
  const marker = join(dir, 'marker');
  // the run id and the serve process that launched it (the wrapper's parent)
  const sc = writeScripts(dir, { job: `echo "$BUILD_ID $(date +%s%N) $(ps -o ppid= -p $PPID | tr -d ' ')" >> "${marker}"\nsleep ${jobSeconds}\nexit 0` });
  const jobs = join(dir, 'jobs.yaml');
  writeFileSync(jobs, `concurrency: 32\njobs:\n  "*": { command: ["bash", "${sc.job}"] }\n`);
  const tokens = join(dir, 'tokens.yaml');
  writeFileSync(tokens, `- user: ci-user\n  token: ${CI}\n  roles: [ci]\n`);
  const data = join(dir, 'data');
  return { dir, marker, args: ['--releases', releases, '--jobs', jobs, '--tokens', tokens, '--data', data, '--db', db, '--port', '0', '--host', '127.0.0.1', '--no-watch'] };
}

async function api(p: ServeProc, method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; text: string; forwardedTo: string | null } | null> {
  try {
    const r = await fetch(p.url + path, {
      method,
      headers: { ...(method !== 'GET' ? { authorization: `Bearer ${CI}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    return { status: r.status, text: await r.text(), forwardedTo: r.headers.get('x-release-controller-forwarded-to') };
  } catch {
    return null;
  }
}

async function leads(p: ServeProc): Promise<boolean | null> {
  const m = await api(p, 'GET', '/metrics');
  if (!m || m.status !== 200) return null;
  const line = /^release_controller_leader (\d)/m.exec(m.text);
  return line ? line[1] === '1' : null;
}

async function leaderOf(procs: ServeProc[]): Promise<ServeProc | null> {
  const states = await Promise.all(procs.map(leads));
  const leaders = procs.filter((_, i) => states[i] === true);
  assert.ok(leaders.length <= 1, `two replicas lead at once: ${leaders.map((p) => p.url).join(', ')}`);
  return leaders[0] ?? null;
}

const inputUpdate = (n: number) => ({ tags: { cli: pullSpec(`cli${n}`), installer: pullSpec(`installer${n}`) } });

async function tags(p: ServeProc): Promise<{ name: string; phase: string }[] | null> {
  const r = await api(p, 'GET', `/api/v1/releasestream/${STREAM}/tags`);
  return r?.status === 200 ? ((JSON.parse(r.text) as { tags: { name: string; phase: string }[] | null }).tags ?? []) : null;
}

function markerLines(marker: string): { run: string; at: number; pid: number }[] {
  if (!existsSync(marker)) return [];
  return readFileSync(marker, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [run, at, pid] = l.split(' ');
    return { run: run!, at: Number(at) / 1e6, pid: Number(pid) };
  });
}

/** reads SSE events of one replica into `into` until aborted */
function follow(p: ServeProc, into: { id: number; type: string }[], signal: AbortSignal): void {
  void readFeed(`${p.url}/api/v1/events`, signal, (e) => {
    if (e.id !== null) into.push({ id: e.id, type: e.type });
  }).catch(() => undefined);
}

test('replicas: one leader, followers current within 1 s and forwarding writes, SIGKILL failover within 15 s, no job twice, SSE of survivors continues', { timeout: 240_000 }, async (t) => {
  const db = await freshDatabase(t, 'rc_replicas');
  const s = setup(db, '1.5');
  const procs: ServeProc[] = [];
  t.after(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    cleanup(s.dir);
  });
  // the first one creates the schema; the other two race for nothing but the lease
  procs.push(await startServe([...s.args, '--role', 'all', '--replica-id', 'replica-a']));
  procs.push(...(await Promise.all([
    startServe([...s.args, '--role', 'all', '--replica-id', 'replica-b']),
    startServe([...s.args, '--role', 'api', '--replica-id', 'replica-c']),
  ])));
  const [, , c] = procs as [ServeProc, ServeProc, ServeProc];
  const leader = await waitFor('a leader', () => leaderOf(procs), 20_000, 100);
  const followers = procs.filter((p) => p !== leader);
  assert.deepEqual(await Promise.all(followers.map(leads)), [false, false], 'exactly one leads');
  for (const f of followers) await waitFor('follower ready', async () => (await api(f, 'GET', '/readyz'))?.status === 200, 10_000, 50);
  await waitFor('leader ready', async () => (await api(leader, 'GET', '/readyz'))?.status === 200, 10_000, 50);

  // a change committed through the leader is visible on a follower within 1 s
  const locked = await api(leader, 'POST', `/api/v1/releasestream/${STREAM}/lock`, { locked: true, reason: 'replica test' });
  assert.equal(locked?.status, 200, locked?.text);
  const t0 = Date.now();
  await waitFor('the lock visible on the api replica', async () => (JSON.parse((await api(c, 'GET', `/api/v1/releasestream/${STREAM}/status`))!.text) as { locked: boolean }).locked, 1000, 20);
  const visibleMs = Date.now() - t0;
  assert.ok(visibleMs <= 1000, `visible after ${visibleMs} ms`);
  const m = (await api(c, 'GET', '/metrics'))!.text;
  const lag = Number(/^release_controller_view_lag_seconds (\S+)/m.exec(m)?.[1]);
  assert.ok(lag >= 0 && lag < 1, `the api replica's view lag metric: ${lag}`);
  // the console footer says which replica answered and who leads (escaped like everything else)
  const page = (await api(c, 'GET', '/'))!.text;
  assert.ok(page.includes(`answered by replica replica-c · leader: ${leader === procs[0] ? 'replica-a' : 'replica-b'} at ${leader.url}</span></footer>`), page.slice(-400));
  assert.ok((await api(leader, 'GET', '/'))!.text.includes('(the leader)</span></footer>'));
  // a write sent to a follower is forwarded to the leader, which validates and records it once
  const unlocked = await api(c, 'POST', `/api/v1/releasestream/${STREAM}/lock`, { locked: false, reason: 'replica test' });
  assert.equal(unlocked?.status, 200, unlocked?.text);
  assert.equal(unlocked?.forwardedTo, leader.url);
  assert.equal((JSON.parse((await api(leader, 'GET', `/api/v1/releasestream/${STREAM}/status`))!.text) as { locked: boolean }).locked, false);
  // one already forwarded is not forwarded again: 503 naming the leader, nothing changed
  const refused = await api(c, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(0), { 'x-release-controller-forwarded': '1' });
  assert.equal(refused?.status, 503, refused?.text);
  assert.match(refused!.text, /follower/);
  assert.ok(refused!.text.includes(leader.url), `the refusal names the leader's URL ${leader.url}: ${refused!.text}`);
  assert.deepEqual(await tags(leader), []);

  // live feeds on both survivors-to-be
  const aborter = new AbortController();
  t.after(() => aborter.abort());
  const survivorsFeeds = new Map(followers.map((f) => [f, [] as { id: number; type: string }[]]));
  for (const [f, into] of survivorsFeeds) follow(f, into, aborter.signal);
  await new Promise((r) => setTimeout(r, 200));

  // a burst of input updates through the leader, SIGKILL in the middle of its launches
  for (let n = 1; n <= 3; n++) assert.equal((await api(leader, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(n)))?.status, 200);
  await waitFor('jobs launched by the leader', () => markerLines(s.marker).length >= 2, 20_000, 20);
  leader.child.kill('SIGKILL');
  const killedAt = Date.now();
  await leader.exited;
  const next = await waitFor('a new leader', () => leaderOf(followers), 20_000, 100);
  const failoverMs = Date.now() - killedAt;
  assert.ok(failoverMs < 15_000, `new leader after ${failoverMs} ms`);
  assert.notEqual(next, c, 'the api replica never leads');
  const before = survivorsFeeds.get(c)!.length;
  // more updates through the new leader; everything is decided in the end
  for (let n = 4; n <= 5; n++) assert.equal((await api(next, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(n)))?.status, 200);
  // (updates close together may share one payload: the loop builds from the inputs as they are then)
  const countBefore = (await tags(next))!.length;
  const done = await waitFor('every payload decided', async () => {
    const list = await tags(next);
    if (!list || list.length <= countBefore) return null;
    return list.every((x) => x.phase === 'Accepted' || x.phase === 'Rejected') ? list : null;
  }, 60_000, 200);
  assert.ok(done.length >= 2, `payloads before and after the failover: ${done.length}`);
  // the api replica has the same view within a second
  await waitFor('the api replica agrees', async () => JSON.stringify(await tags(c)) === JSON.stringify(done), 1000, 20);

  const runs = markerLines(s.marker).map((m) => m.run);
  const dup = runs.filter((r, i) => runs.indexOf(r) !== i);
  assert.deepEqual(dup, [], 'no job ran twice');
  // every finished run recorded ran exactly once
  const info = await api(next, 'GET', `/api/v1/releasestream/${STREAM}/release/${done[0]!.name}`);
  assert.equal(info?.status, 200);
  const after = survivorsFeeds.get(c)!;
  assert.ok(after.length > before, 'the SSE client of the api replica kept receiving events after the failover');
  assert.ok(after.some((e, i) => i >= before && e.type === 'PhaseChanged'), 'including verdicts decided by the new leader');
  const ids = after.map((e) => e.id);
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'in id order');
  console.log(`visible on a follower after ${visibleMs} ms; failover after ${failoverMs} ms; ${runs.length} job runs, none twice`);
});

test('fencing: a leader paused past its lease is refused by the database, steps down and launches nothing', { timeout: 120_000 }, async (t) => {
  const db = await freshDatabase(t, 'rc_replicas');
  const s = setup(db, '0.2');
  const procs: ServeProc[] = [];
  t.after(() => {
    for (const p of procs) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGCONT');
        p.child.kill('SIGKILL');
      }
    }
    cleanup(s.dir);
  });
  const lease = ['--lease-duration', '4s'];
  procs.push(await startServe([...s.args, ...lease, '--replica-id', 'replica-a']));
  procs.push(await startServe([...s.args, ...lease, '--replica-id', 'replica-b']));
  const first = await waitFor('a leader', () => leaderOf(procs), 20_000, 100);
  await waitFor('leader ready', async () => (await api(first, 'GET', '/readyz'))?.status === 200, 10_000, 50);
  // sent to either replica (a follower forwards it)
  const put = await api(procs[1]!, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(0));
  assert.equal(put?.status, 200, `${put?.text}\n${procs.map((p) => p.output().split('\n').filter((l) => /replica|lead|lease/.test(l)).join('\n')).join('\n----\n')}`);
  await waitFor('first payload decided', async () => (await tags(first))?.some((x) => x.phase === 'Accepted'), 30_000, 100);
  // on a busy machine the lease may have moved meanwhile: freeze whoever leads now
  const old = await waitFor('the leader', () => leaderOf(procs), 10_000, 50);
  const other = procs.find((p) => p !== old)!;

  // a write under way as the leader freezes
  const pending = api(old, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(1));
  old.child.kill('SIGSTOP');
  const stoppedAt = Date.now();
  await waitFor('the other replica leads', () => leads(other), 15_000, 100);
  assert.equal((await api(other, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(2)))?.status, 200);
  await waitFor('the new leader decides', async () => {
    const list = await tags(other);
    return list && list.length >= 2 && list.some((x) => x.phase === 'Accepted' && markerLines(s.marker).length >= 4) && list.every((x) => x.phase === 'Accepted' || x.phase === 'Rejected') ? list : null;
  }, 30_000, 100);
  const resumedAt = Date.now();
  old.child.kill('SIGCONT');
  await waitFor('the old leader steps down', async () => (await leads(old)) === false && /stepped down|no longer leads/.test(old.output()), 10_000, 50);
  await pending;
  // it keeps serving, as a follower: writes sent to it go to the new leader
  const w = await waitFor('a write forwarded to the new leader', async () => {
    const r = await api(old, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(3));
    return r?.status === 200 && r.forwardedTo === other.url ? r : null;
  }, 3000, 50);
  assert.equal(w.status, 200);
  const direct = await api(old, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(4), { 'x-release-controller-forwarded': '1' });
  assert.equal(direct?.status, 503, direct?.text);
  assert.ok(direct!.text.includes(other.url), direct!.text);
  await new Promise((r) => setTimeout(r, 1500)); // time for anything it had queued to (not) happen
  const oldPid = old.child.pid!;
  const late = markerLines(s.marker).filter((m) => m.pid === oldPid && m.at >= stoppedAt);
  assert.deepEqual(late, [], 'the paused leader launched nothing after it was frozen');
  const runs = markerLines(s.marker).map((m) => m.run);
  assert.deepEqual(runs.filter((r, i) => runs.indexOf(r) !== i), [], 'no job ran twice');
  assert.equal(await leads(other), true, 'the new leader still leads');
  console.log(`paused ${resumedAt - stoppedAt} ms; old leader output tail:\n${old.output().split('\n').filter((l) => /lease|lead|fenced/i.test(l)).slice(-5).join('\n')}`);
});

test('--role controller: leads and takes writes (its own and those an api replica forwards) but serves no reads; the api replica serves them', { timeout: 120_000 }, async (t) => {
  const db = await freshDatabase(t, 'rc_replicas');
  const s = setup(db, '0.2');
  const procs: ServeProc[] = [];
  t.after(() => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    cleanup(s.dir);
  });
  const ctl = await startServe([...s.args, '--role', 'controller', '--replica-id', 'replica-ctl']);
  procs.push(ctl);
  const reader = await startServe([...s.args, '--role', 'api', '--replica-id', 'replica-api']);
  procs.push(reader);
  await waitFor('the controller replica leads', () => leads(ctl), 20_000, 100);
  assert.equal(await leads(reader), false);
  await waitFor('both ready', async () => (await api(ctl, 'GET', '/readyz'))?.status === 200 && (await api(reader, 'GET', '/readyz'))?.status === 200, 10_000, 50);
  // no reads on the controller replica: a plain-text 404 naming the roles that serve them
  for (const path of [`/api/v1/releasestream/${STREAM}/tags`, '/', `/releasestream/${STREAM}`]) {
    const r = await api(ctl, 'GET', path);
    assert.equal(r?.status, 404, path);
    assert.match(r!.text, /--role controller: .*read from a replica with --role api or all/);
  }
  // a write through the api replica is forwarded to the controller and recorded once
  const put = await api(reader, 'PUT', `/api/v1/inputstreams/${INPUT}/tags`, inputUpdate(1));
  assert.equal(put?.status, 200, put?.text);
  assert.equal(put?.forwardedTo, ctl.url);
  // and one sent to the controller itself is taken there
  const lock = await api(ctl, 'POST', `/api/v1/releasestream/${STREAM}/lock`, { locked: true, reason: 'role test' });
  assert.equal(lock?.status, 200, lock?.text);
  const list = await waitFor('the payload decided, seen on the api replica', async () => {
    const l = await tags(reader);
    return l && l.length === 1 && l[0]!.phase === 'Accepted' ? l : null;
  }, 30_000, 100);
  assert.equal(list.length, 1);
  await waitFor('the lock seen on the api replica', async () => (JSON.parse((await api(reader, 'GET', `/api/v1/releasestream/${STREAM}/status`))!.text) as { locked: boolean }).locked, 2000, 20);
  // the controller replica ran the jobs: two verify entries, once each
  const runs = markerLines(s.marker).map((m) => m.run);
  assert.equal(runs.length, 2, runs.join(', '));
});
