// Crash safety of the local executor between "this run may have started" and "its pid is recorded"
// (DESIGN.md §12: kill -9 at any point launches no job twice). The executor runs in a child process
// that is SIGKILLed at an exact step of a launch (the executor's crash points) or at a random moment;
// then a new executor on the same run directory adopts the run. Each job appends its run name to a
// file when it starts, so a job that ran twice (or ran while reported Lost) shows up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { loadJobsFile, type JobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import type { JobSpec, JobStatus } from '../../src/ports/executor.ts';
import { cleanup, pidAlive, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const EXECUTOR = new URL('../../src/adapters/jobs/local/index.ts', import.meta.url).href;
const JOBSFILE = new URL('../../src/adapters/jobs/local/jobsfile.ts', import.meta.url).href;

interface Env {
  dir: string;
  runDir: string;
  jobs: JobsFile;
  jobsPath: string;
  child: string;
  launches(): string[];
  gate(runId: string): void;
  make(o?: Partial<ConstructorParameters<typeof LocalExecutor>[0]>): LocalExecutor;
  done(): Promise<void>;
}

function setup(): Env {
  const dir = tempDir('rc-exec-crash-');
  const s = writeScripts(dir, {
    // counts its start, then waits for its gate file (or ends at once without GATE)
    job: `echo "$BUILD_ID" >> "${dir}/launches"; echo "$$" > "$ARTIFACT_DIR/self"; if [ -n "\${GATE-}" ]; then while [ ! -e "${dir}/gate-$BUILD_ID" ]; do [ -d "${dir}" ] || exit 3; sleep 0.02; done; fi; exit 0`,
    hang: `echo "$BUILD_ID" >> "${dir}/launches"; sleep 60 & echo "$!" > "$ARTIFACT_DIR/grandchild"; wait`,
  });
  const jobsPath = join(dir, 'jobs.yaml');
  writeFileSync(jobsPath, `jobs:\n  gated: { command: [bash, "${s.job}"], env: { GATE: "1" } }\n  quick: { command: [bash, "${s.job}"] }\n  hang: { command: [bash, "${s.hang}"] }\n`);
  // the child: an executor that launches one run and is killed at a crash point (or by the test)
  const child = join(dir, 'child.mts');
  writeFileSync(
    child,
    `import { LocalExecutor } from ${JSON.stringify(EXECUTOR)};
import { loadJobsFile } from ${JSON.stringify(JOBSFILE)};
const [runDir, jobsPath, runId, jobName, point] = process.argv.slice(2);
const die = () => process.kill(process.pid, 'SIGKILL');
const crashPoints = point === 'afterMarker' ? { afterMarker: die } : point === 'afterSpawn' ? { afterSpawn: die } : {};
const ex = new LocalExecutor({ jobs: loadJobsFile(jobsPath), runDir, crashPoints });
process.stdout.write('ready\\n');
await ex.launch({ runId, jobName, stream: 's', tag: 't', verifyName: 'v', pullSpec: 'p', initialPullSpec: '', env: {}, labels: {} });
process.stdout.write('launched\\n');
setInterval(() => undefined, 1000);
`,
  );
  const runDir = join(dir, 'runs');
  const jobs = loadJobsFile(jobsPath);
  const made: LocalExecutor[] = [];
  return {
    dir,
    runDir,
    jobs,
    jobsPath,
    child,
    launches: () => (existsSync(join(dir, 'launches')) ? readFileSync(join(dir, 'launches'), 'utf8').trim().split('\n') : []),
    gate: (runId) => writeFileSync(join(dir, `gate-${runId}`), ''),
    make(o = {}) {
      const ex = new LocalExecutor({ jobs, runDir, killGraceMs: 300, pollMs: 25, onShutdown: 'stop', ...o });
      made.push(ex);
      return ex;
    },
    async done() {
      for (const ex of made) await ex.shutdown();
      cleanup(dir);
    },
  };
}

function spec(runId: string, jobName: string): JobSpec {
  return { runId, jobName, stream: 's', tag: 't', verifyName: 'v', pullSpec: 'p', initialPullSpec: '', env: {}, labels: {} };
}

/**
 * Runs the child executor for one launch. With a crash point it kills itself there; with
 * `killAfterMs` the test kills it that long after it is ready; resolves with how it ended.
 */
async function crashChild(e: Env, runId: string, jobName: string, o: { point?: 'afterMarker' | 'afterSpawn'; killAfterMs?: number }): Promise<string> {
  const p = spawn(process.execPath, ['--import', 'tsx', e.child, e.runDir, e.jobsPath, runId, jobName, o.point ?? 'none'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => {
    out += d;
    if (o.killAfterMs !== undefined && out.includes('ready')) {
      setTimeout(() => p.kill('SIGKILL'), o.killAfterMs);
      o.killAfterMs = undefined;
    }
  });
  p.stderr.on('data', (d) => (out += d));
  const signal = await new Promise<NodeJS.Signals | null>((r) => p.once('exit', (_c, s) => r(s)));
  assert.equal(signal, 'SIGKILL', `the child executor was killed (output: ${out})`);
  return out;
}

/** Processes still running for a run directory (its wrapper or anything carrying its ARTIFACT_DIR). */
function processesOf(runDir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const env = readFileSync(`/proc/${name}/environ`, 'utf8');
      if (env.split('\0').includes(`ARTIFACT_DIR=${join(runDir, 'artifacts')}`) && pidAlive(Number(name))) out.push(Number(name));
    } catch {
      // gone, or not ours
    }
  }
  return out;
}

const finalOf = (seen: JobStatus[], runId: string) => () => seen.find((s) => s.runId === runId && s.state !== 'Pending');

test('killed right after the spawn: the job keeps running; the next executor adopts it (never Lost) and it runs once', async () => {
  const e = setup();
  try {
    const out = await crashChild(e, 'after-spawn', 'gated', { point: 'afterSpawn' });
    assert.ok(!out.includes('launched'), 'the crash point was hit');
    await waitFor('the orphaned job started', () => e.launches().includes('after-spawn'), 10_000);
    const ex = e.make();
    const seen: JobStatus[] = [];
    ex.onStatus((s) => seen.push(s));
    const st = await ex.adopt('after-spawn', 'gated');
    assert.ok(st !== 'unknown');
    assert.equal(st.state, 'Pending', `running, not ${st.state} ${st.reason}`);
    assert.ok(st.startedAt);
    assert.deepEqual(await ex.launch(spec('after-spawn', 'gated')), st, 'launching it again adopts it');
    e.gate('after-spawn');
    const fin = await waitFor('adopted run final', finalOf(seen, 'after-spawn'), 10_000);
    assert.equal(fin.state, 'Succeeded');
    assert.deepEqual(e.launches(), ['after-spawn'], 'ran once');
  } finally {
    await e.done();
  }
});

test('killed after the marker, before the spawn: Interrupted "Lost", the job never ran and never will', async () => {
  const e = setup();
  try {
    await crashChild(e, 'after-marker', 'quick', { point: 'afterMarker' });
    const dir = join(e.runDir, 'after-marker');
    assert.ok(existsSync(join(dir, 'launching')));
    assert.equal(existsSync(join(dir, 'pid')), false);
    const st = await e.make().adopt('after-marker', 'quick');
    assert.ok(st !== 'unknown');
    assert.equal(st.state, 'Interrupted');
    assert.equal(st.reason, 'Lost');
    assert.equal(readFileSync(join(dir, 'pid'), 'utf8').trim(), 'lost', 'the adopter took the pid file: no wrapper can start now');
    assert.deepEqual(await e.make().launch(spec('after-marker', 'quick')), st, 'never launched again under this run id');
    assert.deepEqual(e.launches(), []);
  } finally {
    await e.done();
  }
});

test('an adopter between the marker and the wrapper\'s pid record wins: the late wrapper never runs the job', async () => {
  const e = setup();
  try {
    const adopter = e.make();
    let adopted: Promise<JobStatus | 'unknown'> | null = null;
    // a second executor adopts the run at the worst moment: marker written, wrapper not spawned yet
    // (adopt() takes its decision on disk synchronously, before its first await)
    const ex = e.make({ crashPoints: { afterMarker: (id) => void (adopted = adopter.adopt(id, 'quick')) } });
    const seen: JobStatus[] = [];
    ex.onStatus((s) => seen.push(s));
    await ex.launch(spec('raced', 'quick'));
    const byAdopter = await adopted!;
    assert.ok(byAdopter !== 'unknown');
    assert.equal(byAdopter.state, 'Interrupted');
    assert.equal(byAdopter.reason, 'Lost');
    const byLauncher = await waitFor('the launcher sees its wrapper refuse', finalOf(seen, 'raced'), 10_000);
    assert.equal(byLauncher.state, 'Interrupted', 'both executors agree');
    assert.equal(byLauncher.reason, 'Lost');
    assert.deepEqual(e.launches(), [], 'the job never ran');
    assert.deepEqual(processesOf(join(e.runDir, 'raced')), []);
  } finally {
    await e.done();
  }
});

test('a wrapper that created its pid file but has not written it yet is found in /proc and adopted', async () => {
  const e = setup();
  try {
    const dir = join(e.runDir, 'half-pid');
    mkdirSync(join(dir, 'artifacts'), { recursive: true });
    writeFileSync(join(dir, 'launching'), JSON.stringify({ startedAt: new Date().toISOString(), jobName: 'quick', timeoutMs: 60_000 }));
    writeFileSync(join(dir, 'pid'), '');
    // stands in for the wrapper stalled between its exclusive create and its write: a process group
    // leader with the wrapper's command line shape (sh -c SCRIPT sh RUNDIR) and the run's ARTIFACT_DIR
    const w = spawn('/bin/sh', ['-c', 'while [ ! -e "$1/go" ]; do sleep 0.02; done; echo 0 > "$1/rc"', 'sh', dir], {
      detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ARTIFACT_DIR: join(dir, 'artifacts') },
    });
    w.unref();
    await waitFor('the stand-in is running', () => readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').includes(dir));
    const ex = e.make();
    const seen: JobStatus[] = [];
    ex.onStatus((s) => seen.push(s));
    const st = await ex.adopt('half-pid', 'quick');
    assert.ok(st !== 'unknown');
    assert.equal(st.state, 'Pending', `adopted, not ${st.state} ${st.reason}`);
    writeFileSync(join(dir, 'go'), '');
    const fin = await waitFor('final', finalOf(seen, 'half-pid'), 10_000);
    assert.equal(fin.state, 'Succeeded');

    // the same file left by a wrapper that died between its create and its write: nothing runs, Lost
    const dead = join(e.runDir, 'half-pid-dead');
    mkdirSync(dead, { recursive: true });
    writeFileSync(join(dead, 'launching'), JSON.stringify({ startedAt: new Date().toISOString(), jobName: 'quick', timeoutMs: 60_000 }));
    writeFileSync(join(dead, 'pid'), '');
    const lost = await e.make().adopt('half-pid-dead', 'quick');
    assert.ok(lost !== 'unknown' && lost.state === 'Interrupted' && lost.reason === 'Lost');
  } finally {
    await e.done();
  }
});

test('a wrapper killed while no controller ran: its leftover job is stopped before the run is reported Lost', async () => {
  const e = setup();
  try {
    const ex1 = e.make();
    await ex1.launch(spec('orphan', 'hang'));
    const dir = join(e.runDir, 'orphan');
    const grandchild = Number(await waitFor('grandchild pid', () => existsSync(join(dir, 'artifacts', 'grandchild')) && readFileSync(join(dir, 'artifacts', 'grandchild'), 'utf8').trim()));
    const wrapper = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    ex1.detach(); // the controller "crashes"
    process.kill(wrapper, 'SIGKILL');
    await waitFor('wrapper gone', () => !pidAlive(wrapper));
    assert.ok(pidAlive(grandchild), 'the job itself still runs');
    const st = await e.make().adopt('orphan', 'hang');
    assert.ok(st !== 'unknown');
    assert.equal(st.state, 'Interrupted');
    assert.equal(st.reason, 'Lost');
    assert.equal(pidAlive(grandchild), false, 'stopped before it was reported: a relaunch never runs beside it');
    assert.deepEqual(processesOf(dir), []);
  } finally {
    await e.done();
  }
});

test('killed at random moments around a launch (12 times): every run is adopted or Lost, and ran exactly as often as reported', async () => {
  const e = setup();
  const figures = { adopted: 0, lost: 0, unknown: 0 };
  try {
    for (let k = 0; k < 12; k++) {
      const runId = `random-${k}`;
      await crashChild(e, runId, 'quick', { killAfterMs: Math.floor(Math.random() * 12) });
      const ex = e.make();
      const seen: JobStatus[] = [];
      ex.onStatus((s) => seen.push(s));
      const st = await ex.adopt(runId, 'quick');
      let fin: JobStatus | null = null;
      if (st === 'unknown') figures.unknown++;
      else fin = st.state === 'Pending' ? await waitFor(`${runId} final`, finalOf(seen, runId), 10_000) : st;
      // nothing of the run may still be running once its outcome is known
      await waitFor(`${runId}: no process left`, () => processesOf(join(e.runDir, runId)).length === 0, 10_000);
      const ran = e.launches().filter((l) => l === runId).length;
      if (fin?.state === 'Succeeded') {
        figures.adopted++;
        assert.equal(ran, 1, `${runId} succeeded: ran once`);
      } else {
        if (fin) {
          assert.equal(fin.state, 'Interrupted', `${runId}: ${fin.state} ${fin.reason}`);
          figures.lost++;
        }
        assert.equal(ran, 0, `${runId} reported ${fin ? 'Lost' : 'unknown'} but its job ran`);
      }
    }
    process.stdout.write(`# executor kill at random moments: ${JSON.stringify(figures)}\n`);
  } finally {
    await e.done();
  }
});
