// Local job executor (DESIGN.md §7): one child process per run, in its own process group.
//
// Crash safety on disk, per run, in <runDir>/<runId>/:
//   launching  written before the spawn: "this run may have started"
//   pid        written by the wrapper shell itself (the process group leader)
//   log        the command's stdout and stderr
//   rc         the command's exit code, written by the wrapper when the command ends
//   status.json the final status as reported (so a restarted controller can still read it)
// After a restart, adopt() reads these: no marker → never started; rc/status → finished;
// a live pid → re-adopted and watched; a marker without a live pid or rc → Lost. A run is never
// launched twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../../ports/executor.ts';
import { matchJob, type JobsFile } from './jobsfile.ts';

export interface LocalExecutorOptions {
  jobs: JobsFile;
  runDir: string;
  /** prefix of run URLs (default /logs/) */
  urlBase?: string;
  /** grace between SIGTERM and SIGKILL when stopping a run (default 5000 ms) */
  killGraceMs?: number;
  /** poll period for adopted runs (default 200 ms) */
  pollMs?: number;
  now?: () => Date;
}

const WRAPPER = 'echo $$ > "$RC_DIR/pid.tmp" && mv "$RC_DIR/pid.tmp" "$RC_DIR/pid"; "$@" >> "$RC_DIR/log" 2>&1 < /dev/null; echo $? > "$RC_DIR/rc.tmp" && mv "$RC_DIR/rc.tmp" "$RC_DIR/rc"';

interface Active {
  spec: JobSpec;
  status: JobStatus;
  child: ChildProcess | null;
  pid: number | null;
  timeoutMs: number;
  timer: NodeJS.Timeout | null;
  poll: NodeJS.Timeout | null;
  /** set when we stop the run ourselves: final state and reason */
  stopping: { state: 'Failed' | 'Aborted'; reason: string } | null;
  killTimer: NodeJS.Timeout | null;
  done: Promise<void>;
  resolveDone: () => void;
}

export class LocalExecutor implements JobExecutor {
  private readonly jobs: JobsFile;
  private readonly runDir: string;
  private readonly urlBase: string;
  private readonly killGraceMs: number;
  private readonly pollMs: number;
  private readonly now: () => Date;
  private readonly listeners: JobStatusListener[] = [];
  private readonly runs = new Map<string, Active>();
  private readonly queue: string[] = [];
  private running = 0;
  private closed = false;

  constructor(o: LocalExecutorOptions) {
    this.jobs = o.jobs;
    this.runDir = resolve(o.runDir);
    this.urlBase = o.urlBase ?? '/logs/';
    this.killGraceMs = o.killGraceMs ?? 5000;
    this.pollMs = o.pollMs ?? 100;
    this.now = o.now ?? (() => new Date());
    mkdirSync(this.runDir, { recursive: true });
  }

  onStatus(listener: JobStatusListener): void {
    this.listeners.push(listener);
  }

  private dir(runId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === '.' || runId === '..') throw new Error(`invalid run name ${JSON.stringify(runId)}`);
    return join(this.runDir, runId);
  }

  private emit(st: JobStatus): void {
    for (const l of this.listeners) l({ ...st });
  }

  private base(runId: string): JobStatus {
    return { runId, state: 'Pending', reason: '', url: this.urlBase + runId, logPath: join(this.dir(runId), 'log'), startedAt: null, finishedAt: null };
  }

  async launch(spec: JobSpec): Promise<JobStatus> {
    const known = this.runs.get(spec.runId);
    if (known) return { ...known.status };
    const dir = this.dir(spec.runId);
    // already on disk (launched by an earlier process): adopt, never start again
    if (existsSync(join(dir, 'launching'))) {
      const st = await this.adopt(spec.runId, spec.jobName);
      if (st !== 'unknown') return st;
    }
    const entry = matchJob(this.jobs, spec.jobName);
    if (!entry) {
      const st: JobStatus = { ...this.base(spec.runId), state: 'Failed', reason: `NoJobDefinition: no entry in the jobs file matches ${spec.jobName}`, finishedAt: this.now().toISOString() };
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'log'), `${st.reason}\n`);
      this.writeStatus(st);
      return st;
    }
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const a: Active = { spec, status: this.base(spec.runId), child: null, pid: null, timeoutMs: entry.timeoutMs, timer: null, poll: null, stopping: null, killTimer: null, done, resolveDone };
    this.runs.set(spec.runId, a);
    this.queue.push(spec.runId);
    this.pump();
    return { ...a.status };
  }

  private pump(): void {
    while (!this.closed && this.running < this.jobs.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const a = this.runs.get(id);
      if (!a || a.status.state !== 'Pending') continue;
      this.start(a);
    }
  }

  private start(a: Active): void {
    const entry = matchJob(this.jobs, a.spec.jobName)!;
    const dir = this.dir(a.spec.runId);
    mkdirSync(join(dir, 'artifacts'), { recursive: true });
    writeFileSync(join(dir, 'launching'), this.now().toISOString() + '\n');
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...entry.env,
      ...a.spec.env,
      RELEASE_IMAGE_LATEST: a.spec.pullSpec,
      JOB_NAME: a.spec.jobName,
      BUILD_ID: a.spec.runId,
      PAYLOAD_TAG: a.spec.tag,
      RELEASE_STREAM: a.spec.stream,
      VERIFICATION_JOB_NAME: a.spec.env.VERIFICATION_JOB_NAME ?? a.spec.verifyName,
      ARTIFACT_DIR: join(dir, 'artifacts'),
      RC_DIR: dir,
    };
    if (a.spec.initialPullSpec) env.RELEASE_IMAGE_INITIAL = a.spec.initialPullSpec;
    this.running++;
    a.status = { ...a.status, startedAt: this.now().toISOString() };
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', WRAPPER, 'sh', ...entry.command], { cwd: entry.cwd, env, detached: true, stdio: 'ignore' });
    } catch (e) {
      this.running--;
      this.finish(a, 'Failed', `LaunchError: ${(e as Error).message}`);
      return;
    }
    a.child = child;
    a.pid = child.pid ?? null;
    child.unref();
    child.on('error', (e) => {
      if (a.status.state === 'Pending') this.finish(a, 'Failed', `LaunchError: ${e.message}`);
    });
    child.on('exit', () => this.onExit(a));
    // the rc file is the source of truth: also watch it, in case the exit event is late or lost
    const pid = a.pid;
    a.poll = setInterval(() => {
      if (this.readRc(a.spec.runId) !== null || (pid !== null && !this.alive(pid))) this.onExit(a);
    }, this.pollMs);
    a.poll.unref();
    this.armTimeout(a, 0);
    this.emit(a.status);
  }

  private armTimeout(a: Active, elapsedMs: number): void {
    const left = Math.max(0, a.timeoutMs - elapsedMs);
    a.timer = setTimeout(() => this.stop(a, 'Failed', 'Timeout'), Math.min(left, 2 ** 31 - 1));
    a.timer.unref();
  }

  private readRc(runId: string): number | null {
    try {
      const t = readFileSync(join(this.dir(runId), 'rc'), 'utf8').trim();
      return t === '' ? null : Number(t);
    } catch {
      return null;
    }
  }

  private onExit(a: Active): void {
    if (a.status.state !== 'Pending') return;
    const rc = this.readRc(a.spec.runId);
    // a zombie wrapper (exited, not yet reaped) is "alive" to kill(0) but has written its rc
    if (rc === null && a.pid !== null && this.alive(a.pid) && a.child && a.child.exitCode === null && a.child.signalCode === null) return;
    if (a.stopping) this.finish(a, a.stopping.state, a.stopping.reason);
    else if (rc === 0) this.finish(a, 'Succeeded', '');
    else if (rc !== null) this.finish(a, 'Failed', `exit code ${rc}`);
    else this.finish(a, 'Failed', 'Lost');
  }

  private finish(a: Active, state: JobStatus['state'], reason: string): void {
    if (a.status.state !== 'Pending') return;
    if (a.timer) clearTimeout(a.timer);
    if (a.poll) clearInterval(a.poll);
    if (a.killTimer) clearTimeout(a.killTimer);
    if (a.child !== null) this.running--;
    a.status = { ...a.status, state, reason, finishedAt: this.now().toISOString() };
    try {
      this.writeStatus(a.status);
    } catch {
      // the directory may be gone (tests cleaning up); the status is still reported
    }
    a.resolveDone();
    this.emit(a.status);
    this.pump();
  }

  private writeStatus(st: JobStatus): void {
    const dir = this.dir(st.runId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'status.json.tmp'), JSON.stringify(st));
    renameSync(join(dir, 'status.json.tmp'), join(dir, 'status.json'));
  }

  private kill(pid: number, signal: NodeJS.Signals): void {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** Stops a running run: SIGTERM to its process group, SIGKILL after the grace period. */
  private stop(a: Active, state: 'Failed' | 'Aborted', reason: string): void {
    if (a.status.state !== 'Pending') return;
    if (a.pid === null) {
      // queued, never started
      const i = this.queue.indexOf(a.spec.runId);
      if (i >= 0) this.queue.splice(i, 1);
      this.finish(a, state, reason);
      return;
    }
    if (a.stopping) return;
    a.stopping = { state, reason };
    const pid = a.pid;
    this.kill(pid, 'SIGTERM');
    a.killTimer = setTimeout(() => this.kill(pid, 'SIGKILL'), this.killGraceMs);
    a.killTimer.unref();
  }

  async cancel(runId: string, reason: string): Promise<void> {
    const a = this.runs.get(runId);
    if (!a || a.status.state !== 'Pending') return;
    this.stop(a, 'Aborted', reason || 'Aborted');
  }

  async adopt(runId: string, jobName?: string): Promise<JobStatus | 'unknown'> {
    const known = this.runs.get(runId);
    if (known) return { ...known.status };
    const dir = this.dir(runId);
    if (!existsSync(join(dir, 'launching'))) return 'unknown';
    const base = this.base(runId);
    try {
      const st = JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')) as JobStatus;
      return st;
    } catch {
      // no final status yet
    }
    let startedAt: string | null = null;
    try {
      startedAt = readFileSync(join(dir, 'launching'), 'utf8').trim() || null;
    } catch {
      startedAt = null;
    }
    const rc = this.readRc(runId);
    const done = (state: JobStatus['state'], reason: string): JobStatus => {
      const st = { ...base, state, reason, startedAt, finishedAt: this.now().toISOString() };
      this.writeStatus(st);
      return st;
    };
    if (rc !== null) return done(rc === 0 ? 'Succeeded' : 'Failed', rc === 0 ? '' : `exit code ${rc}`);
    let pid: number | null = null;
    try {
      pid = Number(readFileSync(join(dir, 'pid'), 'utf8').trim()) || null;
    } catch {
      pid = null;
    }
    if (pid === null || !this.alive(pid)) return done('Failed', 'Lost');
    // still running: watch it until it ends, enforcing its job's timeout from its start
    const entry = jobName ? matchJob(this.jobs, jobName) : null;
    let resolveDone!: () => void;
    const donePromise = new Promise<void>((r) => (resolveDone = r));
    const a: Active = {
      spec: { runId, jobName: jobName ?? '', stream: '', tag: '', verifyName: '', pullSpec: '', initialPullSpec: '', env: {}, labels: {} },
      status: { ...base, startedAt },
      child: null,
      pid,
      timeoutMs: entry ? entry.timeoutMs : this.jobs.entries.length ? Math.max(...this.jobs.entries.map((e) => e.timeoutMs)) : 4 * 3_600_000,
      timer: null,
      poll: null,
      stopping: null,
      killTimer: null,
      done: donePromise,
      resolveDone,
    };
    this.runs.set(runId, a);
    const started = startedAt ? Date.parse(startedAt) : NaN;
    this.armTimeout(a, Number.isFinite(started) ? this.now().getTime() - started : 0);
    a.poll = setInterval(() => {
      const code = this.readRc(runId);
      if (code !== null) {
        if (a.stopping) this.finish(a, a.stopping.state, a.stopping.reason);
        else this.finish(a, code === 0 ? 'Succeeded' : 'Failed', code === 0 ? '' : `exit code ${code}`);
      } else if (!this.alive(pid!)) {
        if (a.stopping) this.finish(a, a.stopping.state, a.stopping.reason);
        else this.finish(a, 'Failed', 'Lost');
      }
    }, this.pollMs);
    a.poll.unref();
    return { ...a.status };
  }

  private alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    const waits: Promise<void>[] = [];
    for (const a of this.runs.values()) {
      if (a.status.state !== 'Pending') continue;
      this.stop(a, 'Aborted', 'Shutdown');
      waits.push(a.done);
    }
    // a ref'd timer keeps the process alive until the stopped jobs have exited (children are unref'd)
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, this.killGraceMs + 2000)))]);
    clearTimeout(timer);
  }
}
