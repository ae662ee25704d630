// Local executor (DESIGN.md §7) and its jobs file (§11), with real child processes: tiny bash
// scripts in a temp dir. Long runs wait on a "gate" file the test creates, so nothing sleeps
// for a fixed time; every wait polls for a condition with a deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { INHERITED_ENV, LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { loadJobsFile, matchJob, parseJobsFile, type JobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import type { JobSpec, JobStatus } from '../../src/ports/executor.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';

const SCRIPTS: Record<string, string> = {
  ok: 'echo hello from $BUILD_ID',
  fail: 'echo failing; exit 3',
  env: [
    'echo "RELEASE_IMAGE_LATEST=$RELEASE_IMAGE_LATEST"',
    'echo "RELEASE_IMAGE_INITIAL=${RELEASE_IMAGE_INITIAL-unset}"',
    'echo "JOB_NAME=$JOB_NAME"',
    'echo "BUILD_ID=$BUILD_ID"',
    'echo "PAYLOAD_TAG=$PAYLOAD_TAG"',
    'echo "RELEASE_STREAM=$RELEASE_STREAM"',
    'echo "VERIFICATION_JOB_NAME=$VERIFICATION_JOB_NAME"',
    'echo "ARTIFACT_DIR=$ARTIFACT_DIR"',
    'echo "FROM_DEFAULTS=${FROM_DEFAULTS-unset} FROM_ENTRY=${FROM_ENTRY-unset} FROM_SPEC=${FROM_SPEC-unset}"',
    'echo "PWD=$PWD"',
    'test -d "$ARTIFACT_DIR"',
  ].join('\n'),
  // appends its run name to a file (launch counting), then waits for its gate file
  gate: 'echo "$BUILD_ID" >> "$WORK/launches"; echo "$$" > "$ARTIFACT_DIR/self"; while [ ! -e "$WORK/gate-$BUILD_ID" ]; do sleep 0.02; done; echo released',
  // a grandchild in the same process group, then waits forever
  hang: 'sleep 60 & echo "$!" > "$ARTIFACT_DIR/grandchild"; echo "$$" > "$ARTIFACT_DIR/self"; wait',
  // a grandchild that ignores SIGTERM: only the SIGKILL after the grace stops it
  stubborn: 'bash -c \'trap "" TERM; while :; do sleep 0.05; done\' & echo "$!" > "$ARTIFACT_DIR/grandchild"; echo "$$" > "$ARTIFACT_DIR/self"; wait',
  // appends its run name to a file (launch counting) and ends at once
  count: 'echo "$BUILD_ID" >> "$WORK/launches"',
  first: 'echo matched-first',
  second: 'echo matched-second',
  third: 'echo matched-third',
};

interface Env {
  dir: string;
  runDir: string;
  jobs: JobsFile;
  seen: JobStatus[];
  ex: LocalExecutor;
  /** a new executor on the same runDir (default onShutdown 'stop': done() leaves no process behind) */
  make(onShutdown?: 'detach' | 'stop'): LocalExecutor;
  gate(runId: string): void;
  done(): Promise<void>;
}

/** A temp dir with the scripts and a jobs file; `jobsYaml` may use $WORK for the dir. */
function setup(jobsYaml: string, killGraceMs = 300, architecture?: string): Env {
  const dir = tempDir('rc-executor-');
  mkdirSync(join(dir, 'scripts'));
  for (const [name, body] of Object.entries(SCRIPTS)) writeFileSync(join(dir, 'scripts', `${name}.sh`), `#!/usr/bin/env bash\nset -u\n${body}\n`, { mode: 0o755 });
  const jobsPath = join(dir, 'jobs.yaml');
  writeFileSync(jobsPath, jobsYaml.replaceAll('$WORK', dir));
  const jobs = loadJobsFile(jobsPath);
  const runDir = join(dir, 'runs');
  const made: LocalExecutor[] = [];
  const seen: JobStatus[] = [];
  const make = (onShutdown: 'detach' | 'stop' = 'stop') => {
    const ex = new LocalExecutor({ jobs, runDir, killGraceMs, pollMs: 50, onShutdown, ...(architecture ? { architecture } : {}) });
    made.push(ex);
    return ex;
  };
  const ex = make();
  ex.onStatus((s) => seen.push(s));
  return {
    dir,
    runDir,
    jobs,
    seen,
    ex,
    make,
    gate: (runId) => writeFileSync(join(dir, `gate-${runId}`), ''),
    async done() {
      for (const e of made) await e.shutdown();
      cleanup(dir);
    },
  };
}

function spec(runId: string, jobName = 'job', extra: Partial<JobSpec> = {}): JobSpec {
  return {
    runId,
    jobName,
    stream: '4.17.0-0.nightly',
    tag: '4.17.0-0.nightly-2024-05-01-101010',
    verifyName: 'aws-ovn',
    pullSpec: 'registry.example/ocp/release@sha256:1111',
    initialPullSpec: '',
    env: {},
    labels: {},
    ...extra,
  };
}

/** Alive and not a zombie (orphans reparented to a non-reaping init stay zombies). */
function alive(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = s.slice(s.lastIndexOf(')') + 2)[0];
      return state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const finalOf = (seen: JobStatus[], runId: string) => () => seen.find((s) => s.runId === runId && s.state !== 'Pending');
const readPid = async (path: string) => Number(await waitFor(`pid file ${path}`, () => (existsSync(path) ? readFileSync(path, 'utf8').trim() : '')));
const runPath = (e: Env, runId: string, ...p: string[]) => join(e.runDir, runId, ...p);
/** the number at the end of a run name */
const seq = (id: string) => Number(id.slice(id.lastIndexOf('-') + 1));

const SIMPLE = `
concurrency: 4
defaults: { timeout: 30s, env: { FROM_DEFAULTS: d } }
jobs:
  ok: { command: [bash, scripts/ok.sh] }
  fail: { command: [bash, scripts/fail.sh] }
  env: { command: [bash, scripts/env.sh], env: { FROM_ENTRY: e } }
  gate*: { command: [bash, scripts/gate.sh], env: { WORK: $WORK } }
  hang: { command: [bash, scripts/hang.sh], timeout: 400ms }
  hang-long: { command: [bash, scripts/hang.sh] }
  stubborn: { command: [bash, scripts/stubborn.sh], timeout: 300ms }
  count: { command: [bash, scripts/count.sh], env: { WORK: $WORK } }
  printenv: { command: [env], env: { FROM_JOBS_FILE: j }, passEnv: [RC_TEST_PASSED_ON] }
  printenv-declared: { command: [env], env: { RELEASE_IMAGE_LATEST: stale, RELEASE_IMAGE_INITIAL: stale, RELEASE_IMAGE_ARM64_INITIAL: stale } }
`;

test('success: Pending-start then Succeeded, log, url, logPath and status.json', async () => {
  const e = setup(SIMPLE);
  try {
    const st = await e.ex.launch(spec('run-ok', 'ok'));
    assert.equal(st.state, 'Pending');
    assert.ok(st.startedAt, 'started at once (a free slot)');
    assert.equal(st.url, '/logs/run-ok');
    assert.ok(isAbsolute(st.logPath));
    assert.equal(st.logPath, runPath(e, 'run-ok', 'log'));
    const fin = await waitFor('run-ok final', finalOf(e.seen, 'run-ok'));
    assert.equal(fin.state, 'Succeeded');
    assert.equal(fin.reason, '');
    assert.ok(fin.finishedAt && fin.startedAt && fin.finishedAt >= fin.startedAt);
    assert.deepEqual(e.seen.filter((s) => s.runId === 'run-ok').map((s) => s.state), ['Pending', 'Succeeded']);
    assert.match(readFileSync(fin.logPath, 'utf8'), /hello from run-ok/);
    assert.deepEqual(JSON.parse(readFileSync(runPath(e, 'run-ok', 'status.json'), 'utf8')), fin);
    assert.equal(readFileSync(runPath(e, 'run-ok', 'rc'), 'utf8').trim(), '0');
    assert.deepEqual(await e.ex.launch(spec('run-ok', 'ok')), fin, 'a finished run is reported, not relaunched');
  } finally {
    await e.done();
  }
});

test('failure: non-zero exit → Failed "exit code N"; no job entry → NoJobDefinition', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('run-fail', 'fail'));
    const fin = await waitFor('run-fail final', finalOf(e.seen, 'run-fail'));
    assert.equal(fin.state, 'Failed');
    assert.equal(fin.reason, 'exit code 3');
    assert.match(readFileSync(fin.logPath, 'utf8'), /failing/);

    const none = await e.ex.launch(spec('run-none', 'no-such-job'));
    assert.equal(none.state, 'Failed');
    assert.equal(none.reason, 'NoJobDefinition: no entry in the jobs file matches no-such-job');
    assert.equal(none.startedAt, null);
    assert.ok(none.finishedAt);
  } finally {
    await e.done();
  }
});

test('environment: Prow-style variables, jobs-file env, spec env, cwd = jobs file folder', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('run-env', 'env', { env: { FROM_SPEC: 's' } }));
    const fin = await waitFor('run-env final', finalOf(e.seen, 'run-env'));
    assert.equal(fin.state, 'Succeeded', readFileSync(fin.logPath, 'utf8'));
    const log = readFileSync(fin.logPath, 'utf8');
    assert.match(log, /^RELEASE_IMAGE_LATEST=registry\.example\/ocp\/release@sha256:1111$/m);
    assert.match(log, /^RELEASE_IMAGE_INITIAL=unset$/m, 'only set for upgrades');
    assert.match(log, /^JOB_NAME=env$/m);
    assert.match(log, /^BUILD_ID=run-env$/m);
    assert.match(log, /^PAYLOAD_TAG=4\.17\.0-0\.nightly-2024-05-01-101010$/m);
    assert.match(log, /^RELEASE_STREAM=4\.17\.0-0\.nightly$/m);
    assert.match(log, /^VERIFICATION_JOB_NAME=aws-ovn$/m);
    assert.ok(log.includes(`ARTIFACT_DIR=${runPath(e, 'run-env', 'artifacts')}\n`));
    assert.match(log, /^FROM_DEFAULTS=d FROM_ENTRY=e FROM_SPEC=s$/m);
    assert.ok(log.includes(`PWD=${e.dir}\n`));

    await e.ex.launch(spec('run-upgrade', 'env', { initialPullSpec: 'registry.example/ocp/release@sha256:0000' }));
    const up = await waitFor('run-upgrade final', finalOf(e.seen, 'run-upgrade'));
    assert.match(readFileSync(up.logPath, 'utf8'), /^RELEASE_IMAGE_INITIAL=registry\.example\/ocp\/release@sha256:0000$/m);
  } finally {
    await e.done();
  }
});

test('environment: --release-architecture arm64 names the release images RELEASE_IMAGE_ARM64_LATEST / _INITIAL (upstream)', async () => {
  const e = setup(SIMPLE, 300, 'arm64');
  const envOf = (path: string) => new Map(readFileSync(path, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  try {
    await e.ex.launch(spec('run-arm', 'printenv'));
    const fin = await waitFor('run-arm final', finalOf(e.seen, 'run-arm'));
    assert.equal(fin.state, 'Succeeded', readFileSync(fin.logPath, 'utf8'));
    const env = envOf(fin.logPath);
    assert.equal(env.get('RELEASE_IMAGE_ARM64_LATEST'), 'registry.example/ocp/release@sha256:1111');
    assert.equal(env.has('RELEASE_IMAGE_LATEST'), false, 'the amd64 name is not set for arm64');
    assert.equal(env.has('RELEASE_IMAGE_ARM64_INITIAL'), false, 'only set for upgrades');

    await e.ex.launch(spec('run-arm-up', 'printenv', { initialPullSpec: 'registry.example/ocp/release@sha256:0000' }));
    const up = await waitFor('run-arm-up final', finalOf(e.seen, 'run-arm-up'));
    const upEnv = envOf(up.logPath);
    assert.equal(upEnv.get('RELEASE_IMAGE_ARM64_LATEST'), 'registry.example/ocp/release@sha256:1111');
    assert.equal(upEnv.get('RELEASE_IMAGE_ARM64_INITIAL'), 'registry.example/ocp/release@sha256:0000');
    assert.equal(upEnv.has('RELEASE_IMAGE_INITIAL'), false);

    // names the jobs file declares are filled in (never a stale value), INITIAL ones only for upgrades
    await e.ex.launch(spec('run-arm-declared', 'printenv-declared'));
    const dec = envOf((await waitFor('run-arm-declared final', finalOf(e.seen, 'run-arm-declared'))).logPath);
    assert.equal(dec.get('RELEASE_IMAGE_LATEST'), 'registry.example/ocp/release@sha256:1111');
    assert.equal(dec.get('RELEASE_IMAGE_ARM64_LATEST'), 'registry.example/ocp/release@sha256:1111');
    assert.equal(dec.has('RELEASE_IMAGE_INITIAL'), false);
    assert.equal(dec.has('RELEASE_IMAGE_ARM64_INITIAL'), false);
    await e.ex.launch(spec('run-arm-declared-up', 'printenv-declared', { initialPullSpec: 'registry.example/ocp/release@sha256:0000' }));
    const decUp = envOf((await waitFor('run-arm-declared-up final', finalOf(e.seen, 'run-arm-declared-up'))).logPath);
    assert.equal(decUp.get('RELEASE_IMAGE_INITIAL'), 'registry.example/ocp/release@sha256:0000');
    assert.equal(decUp.get('RELEASE_IMAGE_ARM64_INITIAL'), 'registry.example/ocp/release@sha256:0000');
  } finally {
    await e.done();
  }
});

test('environment: nothing of the controller\'s own variables, only PATH, HOME, … and what the jobs file passes on', async () => {
  const e = setup(SIMPLE);
  const set = { RC_DB: 'postgres://rc:pg-secret@db.example/rc', RC_TOKENS: '/etc/rc/tokens.yaml', RELEASE_CONTROLLER_TOKEN: 'tok-0123456789abcdef', RC_TEST_PASSED_ON: 'kept', RC_TEST_OTHER: 'dropped' };
  const saved = Object.fromEntries(Object.keys(set).map((k) => [k, process.env[k]]));
  Object.assign(process.env, set);
  try {
    await e.ex.launch(spec('run-printenv', 'printenv', { env: { FROM_SPEC: 's' } }));
    const fin = await waitFor('run-printenv final', finalOf(e.seen, 'run-printenv'));
    assert.equal(fin.state, 'Succeeded', readFileSync(fin.logPath, 'utf8'));
    const env = new Map(readFileSync(fin.logPath, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const allowed = new Set([
      ...INHERITED_ENV, 'RC_TEST_PASSED_ON', 'FROM_DEFAULTS', 'FROM_JOBS_FILE', 'FROM_SPEC',
      'RELEASE_IMAGE_LATEST', 'JOB_NAME', 'BUILD_ID', 'PAYLOAD_TAG', 'RELEASE_STREAM', 'VERIFICATION_JOB_NAME', 'ARTIFACT_DIR',
      'PWD', // set by the wrapper shell
    ]);
    assert.deepEqual([...env.keys()].filter((k) => !allowed.has(k)), [], 'no other variable reaches the job');
    for (const k of ['RC_DB', 'RC_TOKENS', 'RELEASE_CONTROLLER_TOKEN', 'RC_TEST_OTHER']) assert.equal(env.has(k), false, k);
    assert.equal(env.get('RC_TEST_PASSED_ON'), 'kept', 'passEnv passes a named variable on');
    assert.equal(env.get('PATH'), process.env.PATH);
    assert.equal(env.get('HOME'), process.env.HOME);
    assert.equal(env.get('FROM_JOBS_FILE'), 'j');
    assert.equal(env.get('FROM_SPEC'), 's');
    assert.equal(env.get('BUILD_ID'), 'run-printenv');
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await e.done();
  }
});

test('bounded: settled runs leave memory; launch, adopt, cancel and status of a settled run answer from disk, never start it again', async () => {
  const e = setup(SIMPLE);
  try {
    const ids = Array.from({ length: 40 }, (_, i) => `bound-${i}`);
    for (const id of ids) await e.ex.launch(spec(id, seq(id) % 4 === 0 ? 'fail' : 'count'));
    await waitFor('all final', () => ids.every((id) => finalOf(e.seen, id)()), 20_000);
    assert.equal(e.ex.trackedRuns(), 0, 'no settled run is held in memory');
    const finals = ids.map((id) => finalOf(e.seen, id)()!);
    const reported = e.seen.length;
    for (const [k, id] of ids.entries()) {
      assert.deepEqual(await e.ex.launch(spec(id, 'count')), finals[k], 'launch of a settled run: its final status');
      assert.deepEqual(await e.ex.adopt(id), finals[k]);
      await e.ex.cancel(id, 'late');
      assert.deepEqual(e.ex.status(id), finals[k]);
    }
    assert.equal(e.seen.length, reported, 'nothing reported again');
    assert.equal(e.ex.trackedRuns(), 0);
    assert.equal(readFileSync(join(e.dir, 'launches'), 'utf8').trim().split('\n').length, ids.filter((id) => seq(id) % 4 !== 0).length, 'each run ran once');
    // a run without a job entry is settled the same way
    const none = await e.ex.launch(spec('bound-none', 'no-such-job'));
    assert.equal(none.state, 'Failed');
    assert.deepEqual(await e.ex.launch(spec('bound-none', 'no-such-job')), none);
    assert.equal(e.seen.filter((s) => s.runId === 'bound-none').length, 1);
  } finally {
    await e.done();
  }
});

test('forget: removes the directories of finished, queued and running runs; stops a running one first; lists run ids', async () => {
  const e = setup(`
concurrency: 1
jobs:
  count: { command: [bash, scripts/count.sh], env: { WORK: $WORK } }
  hang-long: { command: [bash, scripts/hang.sh] }
  gate: { command: [bash, scripts/gate.sh], env: { WORK: $WORK } }
`);
  try {
    await e.ex.launch(spec('f-done', 'count'));
    await waitFor('f-done final', finalOf(e.seen, 'f-done'));
    await e.ex.launch(spec('f-running', 'hang-long'));
    const self = await readPid(runPath(e, 'f-running', 'artifacts', 'self'));
    const grandchild = await readPid(runPath(e, 'f-running', 'artifacts', 'grandchild'));
    await e.ex.launch(spec('f-queued', 'gate'));
    assert.deepEqual(e.ex.listRunIds(), ['f-done', 'f-running'], 'a queued run has no directory yet');
    writeFileSync(join(e.dir, 'outside'), 'keep');
    await e.ex.forget(['f-done', 'f-running', 'f-queued', 'f-unknown', '..', '../outside', 'a/b']);
    // the group was killed before forget() returned; the kernel may take a moment to finish the exits
    await waitFor('the running job (and its grandchild) stopped', () => !alive(self) && !alive(grandchild), 2000);
    for (const id of ['f-done', 'f-running', 'f-queued']) assert.equal(existsSync(runPath(e, id)), false, id);
    assert.deepEqual(e.ex.listRunIds(), []);
    assert.equal(e.ex.trackedRuns(), 0);
    assert.equal(readFileSync(join(e.dir, 'outside'), 'utf8'), 'keep', 'nothing outside runDir is touched');
    assert.deepEqual(readFileSync(join(e.dir, 'launches'), 'utf8').trim().split('\n'), ['f-done'], 'the queued run never started');

    // a run left running by an earlier controller (never adopted here) is stopped too
    const ex1 = e.make();
    await ex1.launch(spec('f-left', 'hang-long'));
    const leftSelf = await readPid(runPath(e, 'f-left', 'artifacts', 'self'));
    ex1.detach();
    const ex2 = e.make();
    assert.deepEqual(ex2.listRunIds(), ['f-left']);
    await ex2.forget(['f-left']);
    assert.equal(alive(leftSelf), false);
    assert.equal(existsSync(runPath(e, 'f-left')), false);
  } finally {
    await e.done();
  }
});

test('globs: first match wins in file order; * and ? ', async () => {
  const e = setup(`
jobs:
  e2e-aws-*: { command: [bash, scripts/first.sh] }
  e2e-*: { command: [bash, scripts/second.sh] }
  e2e-aws-ovn: { command: [bash, scripts/third.sh] }
  upgrade-?: { command: [bash, scripts/third.sh] }
`);
  try {
    assert.equal(matchJob(e.jobs, 'e2e-aws-ovn')?.pattern, 'e2e-aws-*', 'the exact key comes later: the earlier glob wins');
    assert.equal(matchJob(e.jobs, 'e2e-gcp')?.pattern, 'e2e-*');
    assert.equal(matchJob(e.jobs, 'e2e-')?.pattern, 'e2e-*', '* matches an empty run');
    assert.equal(matchJob(e.jobs, 'upgrade-x')?.pattern, 'upgrade-?');
    assert.equal(matchJob(e.jobs, 'upgrade-xy'), null, '? is exactly one character');
    assert.equal(matchJob(e.jobs, 'xe2e-gcp'), null, 'the whole name must match');
    const tricky = parseJobsFile('jobs: { "a.b+(c)": { command: [x] } }', 'j.yaml');
    assert.ok(matchJob(tricky, 'a.b+(c)'));
    assert.equal(matchJob(tricky, 'aXb+(c)'), null, 'regex characters are literal');

    await e.ex.launch(spec('g1', 'e2e-aws-ovn'));
    await e.ex.launch(spec('g2', 'e2e-gcp'));
    const g1 = await waitFor('g1', finalOf(e.seen, 'g1'));
    const g2 = await waitFor('g2', finalOf(e.seen, 'g2'));
    assert.match(readFileSync(g1.logPath, 'utf8'), /matched-first/);
    assert.match(readFileSync(g2.logPath, 'utf8'), /matched-second/);
  } finally {
    await e.done();
  }
});

test('timeout kills the whole process group (grandchild too) → Failed "Timeout"', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('run-hang', 'hang'));
    const self = await readPid(runPath(e, 'run-hang', 'artifacts', 'self'));
    const grandchild = await readPid(runPath(e, 'run-hang', 'artifacts', 'grandchild'));
    const wrapper = await readPid(runPath(e, 'run-hang', 'pid'));
    assert.ok(alive(self) && alive(grandchild) && alive(wrapper));
    const fin = await waitFor('timeout', finalOf(e.seen, 'run-hang'), 10_000);
    assert.equal(fin.state, 'Failed');
    assert.equal(fin.reason, 'Timeout');
    await waitFor('all processes gone', () => !alive(self) && !alive(grandchild) && !alive(wrapper), 5000);
    assert.equal(JSON.parse(readFileSync(runPath(e, 'run-hang', 'status.json'), 'utf8')).reason, 'Timeout');
  } finally {
    await e.done();
  }
});

test('timeout: a process ignoring SIGTERM gets SIGKILL after the grace', async () => {
  const e = setup(SIMPLE, 1000);
  try {
    await e.ex.launch(spec('run-stubborn', 'stubborn'));
    const grandchild = await readPid(runPath(e, 'run-stubborn', 'artifacts', 'grandchild'));
    const fin = await waitFor('timeout', finalOf(e.seen, 'run-stubborn'), 10_000);
    assert.equal(fin.reason, 'Timeout');
    assert.ok(alive(grandchild), 'survives the SIGTERM');
    await waitFor('grandchild killed', () => !alive(grandchild), 5000);
  } finally {
    await e.done();
  }
});

test('cancel → Aborted with the reason, process group gone', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('run-cancel', 'hang-long'));
    const self = await readPid(runPath(e, 'run-cancel', 'artifacts', 'self'));
    const grandchild = await readPid(runPath(e, 'run-cancel', 'artifacts', 'grandchild'));
    await e.ex.cancel('run-cancel', 'Superseded');
    const fin = await waitFor('cancelled', finalOf(e.seen, 'run-cancel'), 5000);
    assert.equal(fin.state, 'Aborted');
    assert.equal(fin.reason, 'Superseded');
    await waitFor('processes gone', () => !alive(self) && !alive(grandchild), 5000);
    await e.ex.cancel('run-cancel', 'again'); // no-op on a finished run
    assert.equal(e.ex.status('run-cancel')?.reason, 'Superseded');
  } finally {
    await e.done();
  }
});

test('concurrency 1: FIFO queue, queued runs Pending with startedAt null; cancelling a queued run never starts it', async () => {
  const e = setup(`
concurrency: 1
jobs:
  "*": { command: [bash, scripts/gate.sh], env: { WORK: $WORK } }
`);
  try {
    const a = await e.ex.launch(spec('q-a'));
    const b = await e.ex.launch(spec('q-b'));
    const c = await e.ex.launch(spec('q-c'));
    const d = await e.ex.launch(spec('q-d'));
    assert.ok(a.startedAt);
    for (const s of [b, c, d]) {
      assert.equal(s.state, 'Pending');
      assert.equal(s.startedAt, null);
    }
    await e.ex.cancel('q-c', 'NotNeeded');
    const cFin = await waitFor('q-c aborted', finalOf(e.seen, 'q-c'));
    assert.equal(cFin.state, 'Aborted');
    assert.equal(cFin.startedAt, null);
    await waitFor('q-a running', () => existsSync(join(e.dir, 'launches')));
    assert.equal(e.ex.status('q-b')?.startedAt, null, 'still queued while q-a runs');

    e.gate('q-a');
    await waitFor('q-a done', finalOf(e.seen, 'q-a'));
    const bStart = await waitFor('q-b started', () => e.seen.find((s) => s.runId === 'q-b' && s.state === 'Pending' && s.startedAt));
    assert.ok(bStart.startedAt);
    assert.equal(e.ex.status('q-d')?.startedAt, null);
    e.gate('q-b');
    await waitFor('q-b done', finalOf(e.seen, 'q-b'));
    e.gate('q-d');
    await waitFor('q-d done', finalOf(e.seen, 'q-d'));
    assert.deepEqual(readFileSync(join(e.dir, 'launches'), 'utf8').trim().split('\n'), ['q-a', 'q-b', 'q-d'], 'FIFO, q-c never ran');
    assert.equal(existsSync(runPath(e, 'q-c', 'launching')), false);
    const cLater = await e.make().adopt('q-c');
    assert.ok(cLater !== 'unknown' && cLater.state === 'Aborted' && cLater.startedAt === null, 'a later controller reads its final status; it never started');
  } finally {
    await e.done();
  }
});

test('launching the same runId twice starts one process (also from a second executor)', async () => {
  const e = setup(SIMPLE);
  try {
    const [s1, s2] = await Promise.all([e.ex.launch(spec('twice', 'gate')), e.ex.launch(spec('twice', 'gate'))]);
    assert.equal(s1.startedAt, s2.startedAt);
    const again = await e.ex.launch(spec('twice', 'gate'));
    assert.equal(again.state, 'Pending');
    await readPid(runPath(e, 'twice', 'artifacts', 'self'));
    // a restarted controller launching it again adopts it instead
    const other = e.make();
    const st = await other.launch(spec('twice', 'gate'));
    assert.equal(st.state, 'Pending');
    assert.equal(st.startedAt, s1.startedAt);
    e.gate('twice');
    await waitFor('twice done', finalOf(e.seen, 'twice'));
    assert.deepEqual(readFileSync(join(e.dir, 'launches'), 'utf8').trim().split('\n'), ['twice']);
  } finally {
    await e.done();
  }
});

test('adoption by a restarted controller: Pending while running, final status emitted later', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('adopt-live', 'gate'));
    await readPid(runPath(e, 'adopt-live', 'artifacts', 'self'));
    e.ex.detach(); // the first controller "crashes": the process keeps running
    const ex2 = e.make();
    const seen2: JobStatus[] = [];
    ex2.onStatus((s) => seen2.push(s));
    const st = await ex2.adopt('adopt-live', 'gate');
    assert.ok(st !== 'unknown');
    assert.equal(st.state, 'Pending');
    assert.ok(st.startedAt);
    assert.equal(st.url, '/logs/adopt-live');
    assert.deepEqual(await ex2.launch(spec('adopt-live', 'gate')), st, 'launch of an adopted run returns it');
    e.gate('adopt-live');
    const fin = await waitFor('adopted run final', finalOf(seen2, 'adopt-live'));
    assert.equal(fin.state, 'Succeeded');
    assert.equal(fin.startedAt, st.startedAt);
    assert.equal(JSON.parse(readFileSync(runPath(e, 'adopt-live', 'status.json'), 'utf8')).state, 'Succeeded');
    assert.equal(readFileSync(join(e.dir, 'launches'), 'utf8').trim(), 'adopt-live');

    // a third controller reads the final status
    assert.deepEqual(await e.make().adopt('adopt-live'), fin);
  } finally {
    await e.done();
  }
});

test('adoption keeps enforcing the timeout from the start (process group killed)', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('adopt-timeout', 'hang'));
    const grandchild = await readPid(runPath(e, 'adopt-timeout', 'artifacts', 'grandchild'));
    e.ex.detach();
    const ex2 = e.make();
    const seen2: JobStatus[] = [];
    ex2.onStatus((s) => seen2.push(s));
    const st = await ex2.adopt('adopt-timeout');
    assert.ok(st !== 'unknown' && st.state === 'Pending');
    const fin = await waitFor('adopted timeout', finalOf(seen2, 'adopt-timeout'), 10_000);
    assert.equal(fin.state, 'Failed');
    assert.equal(fin.reason, 'Timeout');
    await waitFor('grandchild gone', () => !alive(grandchild), 5000);
  } finally {
    await e.done();
  }
});

test('adopt: finished run → its status (from status.json or rc); unknown; marker with dead or no pid → Interrupted "Lost"', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('fin', 'fail'));
    const fin = await waitFor('fin final', finalOf(e.seen, 'fin'));
    assert.deepEqual(await e.make().adopt('fin'), fin);

    // crashed after the command ended but before status.json was written: the rc file decides
    const d = runPath(e, 'rc-only');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'launching'), JSON.stringify({ startedAt: '2024-05-01T10:00:00.000Z', jobName: 'ok', timeoutMs: 1000 }));
    writeFileSync(join(d, 'rc'), '0\n');
    const rcOnly = await e.make().adopt('rc-only');
    assert.ok(rcOnly !== 'unknown');
    assert.equal(rcOnly.state, 'Succeeded');
    assert.equal(rcOnly.startedAt, '2024-05-01T10:00:00.000Z');
    assert.equal(JSON.parse(readFileSync(join(d, 'status.json'), 'utf8')).state, 'Succeeded');

    assert.equal(await e.make().adopt('never-launched'), 'unknown');
    mkdirSync(runPath(e, 'dir-no-marker'), { recursive: true });
    assert.equal(await e.make().adopt('dir-no-marker'), 'unknown');

    // marker and a pid that is dead, no rc
    const dead = spawnSync('bash', ['-c', 'echo $$']).stdout.toString().trim();
    const dl = runPath(e, 'dead-pid');
    mkdirSync(dl, { recursive: true });
    writeFileSync(join(dl, 'launching'), JSON.stringify({ startedAt: '2024-05-01T10:00:00.000Z' }));
    writeFileSync(join(dl, 'pid'), `${dead}\n`);
    const lost = await e.make().adopt('dead-pid');
    assert.ok(lost !== 'unknown');
    assert.equal(lost.state, 'Interrupted', 'not a failure: the controller relaunches the attempt');
    assert.equal(lost.reason, 'Lost');
    assert.equal(lost.startedAt, '2024-05-01T10:00:00.000Z');
    assert.ok(lost.finishedAt);
    assert.deepEqual(
      (({ state, reason }) => ({ state, reason }))(JSON.parse(readFileSync(join(dl, 'status.json'), 'utf8')) as JobStatus),
      { state: 'Interrupted', reason: 'Lost' },
    );
    assert.deepEqual(await e.make().adopt('dead-pid'), lost, 'a later controller reads the Interrupted status as is');

    // marker, no pid (crash between the marker and the spawn): Interrupted "Lost", and never relaunched under this run id
    const np = runPath(e, 'no-pid');
    mkdirSync(np, { recursive: true });
    writeFileSync(join(np, 'launching'), '2024-05-01T10:00:00.000Z\n');
    const ex3 = e.make();
    const noPid = await ex3.launch(spec('no-pid', 'gate'));
    assert.equal(noPid.state, 'Interrupted');
    assert.equal(noPid.reason, 'Lost');
    assert.equal(existsSync(join(e.dir, 'launches')), false, 'not relaunched');

    // a live pid that is not this run's wrapper (pid reuse) is not adopted
    const foreign = runPath(e, 'foreign-pid');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'launching'), JSON.stringify({ startedAt: '2024-05-01T10:00:00.000Z' }));
    writeFileSync(join(foreign, 'pid'), `${process.pid}\n`);
    const notOurs = await e.make().adopt('foreign-pid');
    assert.ok(notOurs !== 'unknown' && notOurs.state === 'Interrupted' && notOurs.reason === 'Lost');
  } finally {
    await e.done();
  }
});

test('shutdown (stop): running runs end Interrupted "Shutdown" and their processes are gone; the queue is dropped', async () => {
  const e = setup(`
concurrency: 1
jobs:
  "*": { command: [bash, scripts/hang.sh] }
`);
  try {
    await e.ex.launch(spec('sd-run'));
    await e.ex.launch(spec('sd-queued'));
    const self = await readPid(runPath(e, 'sd-run', 'artifacts', 'self'));
    const grandchild = await readPid(runPath(e, 'sd-run', 'artifacts', 'grandchild'));
    await e.ex.shutdown();
    const fin = e.seen.find((s) => s.runId === 'sd-run' && s.state !== 'Pending');
    assert.equal(fin?.state, 'Interrupted', 'our own shutdown is not a failure');
    assert.equal(fin?.reason, 'Shutdown');
    await waitFor('processes gone', () => !alive(self) && !alive(grandchild), 5000);
    assert.deepEqual(JSON.parse(readFileSync(runPath(e, 'sd-run', 'status.json'), 'utf8')), fin);
    assert.deepEqual(await e.make().adopt('sd-run'), fin, 'a restarted controller reads Interrupted as is');
    assert.equal(e.seen.some((s) => s.runId === 'sd-queued'), false, 'a queued run gets no status');
    assert.equal(await e.make().adopt('sd-queued'), 'unknown', 'so a restarted controller launches it');
  } finally {
    await e.done();
  }
});

test('shutdown (detach, the default): returns at once, the job keeps running unreported; a new executor adopts it and reports Succeeded once', async () => {
  const e = setup(`
concurrency: 1
jobs:
  "*": { command: [bash, scripts/gate.sh], env: { WORK: $WORK } }
`);
  try {
    const ex1 = new LocalExecutor({ jobs: e.jobs, runDir: e.runDir, killGraceMs: 300, pollMs: 50 });
    const seen1: JobStatus[] = [];
    ex1.onStatus((s) => seen1.push(s));
    await ex1.launch(spec('dt-run'));
    await ex1.launch(spec('dt-queued'));
    const self = await readPid(runPath(e, 'dt-run', 'artifacts', 'self'));
    const wrapper = await readPid(runPath(e, 'dt-run', 'pid'));
    const t0 = Date.now();
    await ex1.shutdown();
    assert.ok(Date.now() - t0 < 1000, `shutdown took ${Date.now() - t0} ms`);
    assert.ok(alive(self) && alive(wrapper), 'the job is left running');
    assert.equal(existsSync(runPath(e, 'dt-run', 'status.json')), false);
    assert.equal(ex1.status('dt-run')?.state, 'Pending');
    assert.deepEqual(seen1.map((s) => [s.runId, s.state]), [['dt-run', 'Pending']], 'nothing reported for the shutdown, queued run dropped');

    // the next controller's executor adopts it; the job finishes and is reported once, by it
    const ex2 = e.make();
    const seen2: JobStatus[] = [];
    ex2.onStatus((s) => seen2.push(s));
    const st = await ex2.adopt('dt-run', 'job');
    assert.ok(st !== 'unknown' && st.state === 'Pending');
    assert.equal(await ex2.adopt('dt-queued'), 'unknown', 'a dropped queued run was never started');
    e.gate('dt-run');
    const fin = await waitFor('adopted run final', finalOf(seen2, 'dt-run'));
    assert.equal(fin.state, 'Succeeded');
    assert.equal(fin.startedAt, st.startedAt);
    assert.match(readFileSync(fin.logPath, 'utf8'), /released/);
    assert.deepEqual(readFileSync(join(e.dir, 'launches'), 'utf8').trim().split('\n'), ['dt-run'], 'the job ran once');
    assert.equal(seen1.length, 1, 'the detached executor stays silent');
    assert.deepEqual(JSON.parse(readFileSync(runPath(e, 'dt-run', 'status.json'), 'utf8')), fin);
  } finally {
    await e.done();
  }
});

test('detach mode: a stop already under way (timeout) is completed before shutdown returns (SIGKILL escalation not lost)', async () => {
  const e = setup(SIMPLE);
  try {
    const ex1 = new LocalExecutor({ jobs: e.jobs, runDir: e.runDir, killGraceMs: 1000, pollMs: 50 });
    const seen1: JobStatus[] = [];
    ex1.onStatus((s) => seen1.push(s));
    await ex1.launch(spec('dt-stubborn', 'stubborn'));
    const grandchild = await readPid(runPath(e, 'dt-stubborn', 'artifacts', 'grandchild'));
    // the 300 ms timeout fires; the grandchild ignores SIGTERM, so the SIGKILL is still due
    const fin = await waitFor('timeout', finalOf(seen1, 'dt-stubborn'), 5000);
    assert.equal(fin.reason, 'Timeout');
    assert.ok(alive(grandchild));
    await ex1.shutdown();
    await waitFor('grandchild killed', () => !alive(grandchild), 300);
  } finally {
    await e.done();
  }
});

test('a wrapper killed from outside → Interrupted "Lost: killed by SIGKILL" (own or adopted run); leftovers of its group are stopped', async () => {
  const e = setup(SIMPLE);
  try {
    await e.ex.launch(spec('kill-own', 'hang-long'));
    const grandchild = await readPid(runPath(e, 'kill-own', 'artifacts', 'grandchild'));
    const wrapper = await readPid(runPath(e, 'kill-own', 'pid'));
    process.kill(wrapper, 'SIGKILL');
    const fin = await waitFor('killed run final', finalOf(e.seen, 'kill-own'), 5000);
    assert.equal(fin.state, 'Interrupted');
    assert.equal(fin.reason, 'Lost: killed by SIGKILL');
    assert.equal(JSON.parse(readFileSync(runPath(e, 'kill-own', 'status.json'), 'utf8')).state, 'Interrupted');
    await waitFor('orphaned grandchild stopped', () => !alive(grandchild), 5000);

    // the same for a run adopted after a crash: its pid disappears without an rc
    await e.ex.launch(spec('kill-adopted', 'hang-long'));
    const grandchild2 = await readPid(runPath(e, 'kill-adopted', 'artifacts', 'grandchild'));
    const wrapper2 = await readPid(runPath(e, 'kill-adopted', 'pid'));
    e.ex.detach();
    const ex2 = e.make();
    const seen2: JobStatus[] = [];
    ex2.onStatus((s) => seen2.push(s));
    const st = await ex2.adopt('kill-adopted');
    assert.ok(st !== 'unknown' && st.state === 'Pending');
    process.kill(wrapper2, 'SIGKILL');
    const fin2 = await waitFor('adopted killed run final', finalOf(seen2, 'kill-adopted'), 5000);
    assert.equal(fin2.state, 'Interrupted');
    assert.equal(fin2.reason, 'Lost');
    await waitFor('orphaned grandchild stopped', () => !alive(grandchild2), 5000);
  } finally {
    await e.done();
  }
});

test('jobs file: defaults, relative paths, and errors naming file, field and reason', () => {
  const f = parseJobsFile(
    `
defaults: { timeout: 2h, env: { A: "1" } }
jobs:
  a: { command: [./bin/run.sh, x], cwd: work, env: { B: "2" } }
  b: { command: [bash, -c, "exit 0"], timeout: 90s, cwd: /abs }
`,
    '/etc/rc/jobs.yaml',
  );
  assert.equal(f.concurrency, 8);
  assert.deepEqual(f.entries[0], { pattern: 'a', command: ['/etc/rc/bin/run.sh', 'x'], env: { A: '1', B: '2' }, timeoutMs: 7_200_000, cwd: '/etc/rc/work' });
  assert.deepEqual(f.entries[1], { pattern: 'b', command: ['bash', '-c', 'exit 0'], env: { A: '1' }, timeoutMs: 90_000, cwd: '/abs' });
  assert.equal(parseJobsFile('jobs: { x: { command: [y] } }', 'j.yaml').entries[0].timeoutMs, 4 * 3_600_000);
  const pass = parseJobsFile('defaults: { passEnv: [KUBECONFIG] }\njobs: { x: { command: [y], passEnv: [AWS_PROFILE, KUBECONFIG] }, z: { command: [y] } }', 'j.yaml');
  assert.deepEqual(pass.entries.map((x) => x.passEnv), [['KUBECONFIG', 'AWS_PROFILE'], ['KUBECONFIG']]);

  const bad: [string, RegExp][] = [
    ['jobs: { e2e: { command: "bash run.sh" } }', /^jobs\.yaml: jobs\.e2e\.command: must be a non-empty array of strings$/],
    ['jobs: { e2e: { command: [] } }', /^jobs\.yaml: jobs\.e2e\.command: must be a non-empty array of strings$/],
    ['jobs: { e2e: { env: {} } }', /^jobs\.yaml: jobs\.e2e\.command: is required/],
    ['jobs: { e2e: { command: [bash, 3] } }', /^jobs\.yaml: jobs\.e2e\.command\.1: must be a string/],
    ['jobs: { e2e: { command: [x], timeout: 2d } }', /^jobs\.yaml: jobs\.e2e\.timeout: must be a positive Go duration/],
    ['jobs: { e2e: { command: [x], env: { N: 3 } } }', /^jobs\.yaml: jobs\.e2e\.env\.N: must be a string/],
    ['jobs: { e2e: { command: [x], comand: [y] } }', /^jobs\.yaml: jobs\.e2e: unknown field "comand"$/],
    ['jobs: { e2e: { command: [x], passEnv: [A-B] } }', /^jobs\.yaml: jobs\.e2e\.passEnv\.0: must be a variable name/],
    ['jobs: { e2e: { command: [x], passEnv: KUBECONFIG } }', /^jobs\.yaml: jobs\.e2e\.passEnv: must be a list of variable names$/],
    ['concurrency: 0\njobs: {}', /^jobs\.yaml: concurrency: must be a positive integer$/],
    ['concurrency: many\njobs: {}', /^jobs\.yaml: concurrency: must be a positive integer$/],
    ['defaults: { timeout: soon }\njobs: {}', /^jobs\.yaml: defaults\.timeout: must be a positive Go duration/],
    ['concurrency: 2', /^jobs\.yaml: jobs: is required$/],
    ['jobs: [a, b]', /^jobs\.yaml: jobs: must be a mapping, not array$/],
    ['jobs: {\n', /^jobs\.yaml: \(root\): invalid YAML/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseJobsFile(text, 'jobs.yaml'), { message: re }, text);
  assert.throws(() => loadJobsFile('/nonexistent/jobs.yaml'), { message: /^\/nonexistent\/jobs\.yaml: \(root\): cannot read the jobs file: ENOENT$/ });
});
