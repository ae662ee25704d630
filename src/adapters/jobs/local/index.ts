// Local job executor (DESIGN.md §7): one child process per run, in its own process group.
//
// Crash safety on disk, per run, in <runDir>/<runId>/:
//   launching    written (and fsynced) BEFORE the spawn: "this run may have started";
//                JSON { startedAt, jobName, timeoutMs }
//   pid          written by the wrapper shell itself ($$, also the process group id)
//   log          the command's stdout and stderr (appended)
//   rc           the command's exit code, written by the wrapper when the command ends
//   status.json  the final status as reported (so a restarted controller can still read it)
//   artifacts/   ARTIFACT_DIR of the run
// The wrapper is `sh -c` in a detached process group, so a run outlives a controller crash and
// its result can still be read later. After a restart, adopt() reads these files: no marker →
// never started ('unknown'); status.json / rc → finished; a live pid → re-adopted and watched
// (polling rc and pid liveness), its timeout still enforced from its start; a marker without a
// live pid or an rc → Interrupted "Lost". A run with a marker is never launched again (under
// that run id: the controller relaunches an interrupted attempt under a new one).
//
// Interruptions are not failures (DESIGN.md §14): a run whose process vanished without an rc
// (killed from outside, the machine went down) ends `Interrupted` "Lost"; a run stopped by our own
// shutdown (onShutdown 'stop') ends `Interrupted` "Shutdown". Timeouts stay Failed "Timeout",
// cancel() stays Aborted.
//
// shutdown(): by default ('detach') running process groups are left running and let go of, so the
// next controller re-adopts them and a job's work is done once; with onShutdown 'stop' they are
// stopped and reported Interrupted "Shutdown". Either way, runs that are queued (beyond
// `concurrency`) have no marker yet: they are Pending with startedAt null; shutdown() drops them
// without a status, so a restarted controller launches them.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../../ports/executor.ts';
import { DEFAULT_TIMEOUT_MS, matchJob, type JobEntry, type JobsFile } from './jobsfile.ts';

export interface LocalExecutorOptions {
  jobs: JobsFile;
  /** one directory per run is created under it */
  runDir: string;
  /** prefix of run URLs (default /logs/): url = urlBase + runId */
  urlBase?: string;
  /** grace between SIGTERM and SIGKILL when stopping a process group (default 5000 ms) */
  killGraceMs?: number;
  /** poll period for adopted runs (default 200 ms) */
  pollMs?: number;
  /**
   * What shutdown() does with running process groups: 'detach' (default) leaves them running for
   * the next controller to adopt; 'stop' stops them and reports them Interrupted "Shutdown".
   */
  onShutdown?: 'detach' | 'stop';
  now?: () => Date;
}

const MARKER = 'launching';
/** $1 = the run directory, then the command. Only shell built-ins, so a job's PATH cannot break it. */
const WRAPPER = 'd="$1"; shift; echo $$ > "$d/pid"; "$@" >> "$d/log" 2>&1 < /dev/null; echo $? > "$d/rc"';
const WRAPPER_ARGV0 = 'sh';
const HAS_PROCFS = existsSync('/proc/self/stat');
const DEFAULT_POLL_MS = 200;
const SHUTDOWN_SLACK_MS = 2000;

type StopState = 'Failed' | 'Aborted' | 'Interrupted';

interface Marker {
  startedAt: string | null;
  jobName?: string;
  timeoutMs?: number;
}

interface Run {
  runId: string;
  status: JobStatus;
  spec: JobSpec | null;
  entry: JobEntry | null;
  timeoutMs: number;
  child: ChildProcess | null;
  /** wrapper pid = process group id; null until spawned (or for queued runs) */
  pid: number | null;
  /** occupies a concurrency slot */
  counted: boolean;
  timer: NodeJS.Timeout | null;
  poll: NodeJS.Timeout | null;
  /** set when we stop the run ourselves: its final state and reason */
  stopping: { state: StopState; reason: string } | null;
  /** let go of by a detaching shutdown: still running, no more timeouts, polling or reports */
  released: boolean;
  /** resolves once the process group is gone (or was SIGKILLed) after a stop */
  reaped: Promise<void> | null;
  done: Promise<void>;
  resolveDone: () => void;
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, pgrp, …]; null when gone. */
function procStat(pid: number | string): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Alive and not a zombie (an orphan nobody reaps is not a running job). */
function alive(pid: number): boolean {
  if (HAS_PROCFS) {
    const st = procStat(pid);
    return st !== null && st[0] !== 'Z' && st[0] !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether any live (non-zombie) process is left in the process group. */
function groupAlive(pgid: number): boolean {
  if (HAS_PROCFS) {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      names = [];
    }
    for (const name of names) {
      if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
      const st = procStat(name);
      if (st && Number(st[2]) === pgid && st[0] !== 'Z' && st[0] !== 'X') return true;
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  // never -1 (every process) or our own group
  if (!Number.isInteger(pgid) || pgid <= 1 || pgid === process.pid) return;
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function writeDurable(path: string, text: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class LocalExecutor implements JobExecutor {
  private jobs: JobsFile;
  private readonly runDir: string;
  private readonly urlBase: string;
  private readonly killGraceMs: number;
  private readonly pollMs: number;
  private readonly onShutdown: 'detach' | 'stop';
  private readonly now: () => Date;
  private readonly listeners: JobStatusListener[] = [];
  private readonly runs = new Map<string, Run>();
  private readonly queue: Run[] = [];
  /** process-group stops under way (SIGTERM sent, SIGKILL maybe due): shutdown() waits for them */
  private readonly killing = new Set<Promise<void>>();
  private running = 0;
  private closed = false;
  private detached = false;

  constructor(o: LocalExecutorOptions) {
    this.jobs = o.jobs;
    this.runDir = resolve(o.runDir);
    this.urlBase = o.urlBase ?? '/logs/';
    this.killGraceMs = o.killGraceMs ?? 5000;
    this.pollMs = o.pollMs ?? DEFAULT_POLL_MS;
    this.onShutdown = o.onShutdown ?? 'detach';
    this.now = o.now ?? (() => new Date());
    mkdirSync(this.runDir, { recursive: true });
  }

  onStatus(listener: JobStatusListener): void {
    this.listeners.push(listener);
  }

  /**
   * Replaces the jobs file (a reload). Runs launched from now on use the new entries; runs already
   * started or queued keep the entry they were launched with. A new `concurrency` applies at once
   * to the queue (a higher limit starts queued runs now; a lower one lets running jobs finish).
   */
  setJobs(jobs: JobsFile): void {
    this.jobs = jobs;
    this.pump();
  }

  /** The current status of a run this executor knows (launched or adopted), or null. Not part of the port. */
  status(runId: string): JobStatus | null {
    const r = this.runs.get(runId);
    return r ? { ...r.status } : null;
  }

  // ------------------------------------------------------------------ launch

  async launch(spec: JobSpec): Promise<JobStatus> {
    const dir = this.dir(spec.runId);
    const known = this.runs.get(spec.runId);
    if (known) return { ...known.status };
    // already on disk (launched by an earlier controller process): adopt, never start again
    if (existsSync(join(dir, MARKER))) {
      const st = await this.adopt(spec.runId, spec.jobName);
      if (st !== 'unknown') return st;
    }
    const entry = matchJob(this.jobs, spec.jobName);
    const run = this.newRun(spec.runId, spec, entry, entry?.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.runs.set(spec.runId, run);
    if (!entry) {
      const reason = `NoJobDefinition: no entry in the jobs file matches ${spec.jobName}`;
      try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'log'), `${reason} (${this.jobs.file})\n`);
      } catch {
        // the status still says why
      }
      this.finish(run, 'Failed', reason);
      return { ...run.status };
    }
    // after shutdown(): stays Pending and never starts (a restarted controller launches it)
    if (!this.closed) {
      this.queue.push(run);
      this.pump();
    }
    return { ...run.status };
  }

  private newRun(runId: string, spec: JobSpec | null, entry: JobEntry | null, timeoutMs: number): Run {
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    return {
      runId,
      status: { runId, state: 'Pending', reason: '', url: this.urlBase + runId, logPath: join(this.dir(runId), 'log'), startedAt: null, finishedAt: null },
      spec,
      entry,
      timeoutMs,
      child: null,
      pid: null,
      counted: false,
      timer: null,
      poll: null,
      stopping: null,
      released: false,
      reaped: null,
      done,
      resolveDone,
    };
  }

  private pump(): void {
    while (!this.closed && this.running < this.jobs.concurrency && this.queue.length > 0) {
      const run = this.queue.shift()!;
      if (run.status.state === 'Pending' && run.pid === null && run.child === null) this.start(run);
    }
  }

  private envFor(spec: JobSpec, entry: JobEntry, dir: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    // only upgrades get RELEASE_IMAGE_INITIAL; never leak the controller's own
    delete env.RELEASE_IMAGE_INITIAL;
    Object.assign(env, entry.env, spec.env, {
      RELEASE_IMAGE_LATEST: spec.pullSpec,
      JOB_NAME: spec.jobName,
      BUILD_ID: spec.runId,
      PAYLOAD_TAG: spec.tag,
      RELEASE_STREAM: spec.stream,
      // aggregator runs name the analysed job in spec.env
      VERIFICATION_JOB_NAME: spec.env.VERIFICATION_JOB_NAME ?? spec.verifyName,
      ARTIFACT_DIR: join(dir, 'artifacts'),
    });
    if (spec.initialPullSpec) env.RELEASE_IMAGE_INITIAL = spec.initialPullSpec;
    return env;
  }

  private start(run: Run): void {
    const spec = run.spec!;
    const entry = run.entry!;
    const dir = this.dir(run.runId);
    const startedAt = this.now().toISOString();
    try {
      mkdirSync(join(dir, 'artifacts'), { recursive: true });
      for (const f of ['rc', 'pid', 'status.json']) rmSync(join(dir, f), { force: true });
      const marker: Marker = { startedAt, jobName: spec.jobName, timeoutMs: run.timeoutMs };
      writeDurable(join(dir, MARKER), JSON.stringify(marker) + '\n');
    } catch (e) {
      this.finish(run, 'Failed', `LaunchError: ${(e as Error).message}`);
      return;
    }
    this.running++;
    run.counted = true;
    run.status = { ...run.status, startedAt };
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', WRAPPER, WRAPPER_ARGV0, dir, ...entry.command], {
        cwd: entry.cwd,
        env: this.envFor(spec, entry, dir),
        detached: true,
        stdio: 'ignore',
      });
    } catch (e) {
      this.finish(run, 'Failed', `LaunchError: ${(e as Error).message}`);
      return;
    }
    run.child = child;
    run.pid = child.pid ?? null;
    child.unref();
    child.on('error', (e) => this.finish(run, 'Failed', `LaunchError: ${e.message}`));
    child.on('exit', (_code, signal) => this.onChildExit(run, signal));
    this.armTimeout(run, 0);
    this.emit(run.status);
  }

  private armTimeout(run: Run, elapsedMs: number): void {
    const left = Math.max(0, run.timeoutMs - elapsedMs);
    run.timer = setTimeout(() => this.stop(run, 'Failed', 'Timeout'), Math.min(left, 2 ** 31 - 1));
    run.timer.unref();
  }

  /** When the wrapper wrote the run's rc file (its end), or null. */
  private rcTime(runId: string): string | null {
    try {
      return statSync(join(this.dir(runId), 'rc')).mtime.toISOString();
    } catch {
      return null;
    }
  }

  private readRc(runId: string): number | null {
    const t = readText(join(this.dir(runId), 'rc'))?.trim();
    if (!t || !/^\d+$/.test(t)) return null;
    return Number(t);
  }

  private onChildExit(run: Run, signal: NodeJS.Signals | null): void {
    // let go of (detach): the next controller reads its result from the run directory
    if (run.status.state !== 'Pending' || run.released || this.detached) return;
    const rc = this.readRc(run.runId);
    if (run.stopping) this.finish(run, run.stopping.state, run.stopping.reason);
    else if (rc === 0) this.finish(run, 'Succeeded', '');
    else if (rc !== null) this.finish(run, 'Failed', `exit code ${rc}`);
    else {
      // the wrapper itself went away (killed from outside): not the job's verdict
      this.stopOrphans(run.pid);
      this.finish(run, 'Interrupted', signal ? `Lost: killed by ${signal}` : 'Lost');
    }
  }

  /**
   * The wrapper of one of our runs is gone without an rc: what is left of its process group is an
   * orphan whose result nobody reads. Stop it, so the relaunched attempt does not run beside it.
   */
  private stopOrphans(pgid: number | null): void {
    if (pgid !== null && groupAlive(pgid)) void this.killGroup(pgid);
  }

  private finish(run: Run, state: JobStatus['state'], reason: string): void {
    if (run.status.state !== 'Pending' || this.detached || run.released) return;
    this.unwatch(run);
    run.status = { ...run.status, state, reason, finishedAt: this.now().toISOString() };
    try {
      this.writeStatus(run.status);
    } catch {
      // the directory may be gone; the status is still reported
    }
    run.resolveDone();
    this.emit(run.status);
    this.pump();
  }

  private writeStatus(st: JobStatus): void {
    const dir = this.dir(st.runId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'status.json.tmp'), JSON.stringify(st) + '\n');
    renameSync(join(dir, 'status.json.tmp'), join(dir, 'status.json'));
  }

  private emit(st: JobStatus): void {
    for (const l of this.listeners) {
      try {
        l({ ...st });
      } catch {
        // a failing listener must not break the executor's bookkeeping
      }
    }
  }

  private dir(runId: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(runId) || runId === '.' || runId === '..') throw new Error(`invalid run name ${JSON.stringify(runId)}`);
    return join(this.runDir, runId);
  }

  // ------------------------------------------------------------------ stopping

  /** Stops a run: a queued one ends at once; a running one gets SIGTERM, SIGKILL after the grace. */
  private stop(run: Run, state: StopState, reason: string): void {
    if (run.status.state !== 'Pending' || this.detached || run.released) return;
    if (run.pid === null) {
      if (run.child !== null) return; // spawning failed; its 'error' event ends it
      const i = this.queue.indexOf(run);
      if (i >= 0) this.queue.splice(i, 1);
      this.finish(run, state, reason);
      return;
    }
    if (run.stopping) return;
    run.stopping = { state, reason };
    run.reaped = this.killGroup(run.pid);
    if (run.child === null) run.reaped.then(() => this.pollAdopted(run), () => undefined);
  }

  /** SIGTERM to the group, then SIGKILL once the grace has passed if anything in it still lives. */
  private killGroup(pgid: number): Promise<void> {
    const p = this.termThenKill(pgid).finally(() => this.killing.delete(p));
    this.killing.add(p);
    return p;
  }

  private async termThenKill(pgid: number): Promise<void> {
    signalGroup(pgid, 'SIGTERM');
    const deadline = Date.now() + this.killGraceMs;
    while (groupAlive(pgid) && Date.now() < deadline) await delay(Math.min(50, Math.max(1, deadline - Date.now())));
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
  }

  async cancel(runId: string, reason: string): Promise<void> {
    let run = this.runs.get(runId);
    if (!run) {
      // maybe still running from before a restart
      const st = await this.adopt(runId).catch(() => 'unknown' as const);
      if (st === 'unknown' || st.state !== 'Pending') return;
      run = this.runs.get(runId);
    }
    if (!run || run.status.state !== 'Pending') return;
    this.stop(run, 'Aborted', reason || 'Aborted');
  }

  // ------------------------------------------------------------------ adoption

  private readMarker(dir: string): Marker | null {
    const text = readText(join(dir, MARKER));
    if (text === null) return null;
    try {
      const m = JSON.parse(text) as Partial<Marker>;
      if (m && typeof m === 'object') {
        return {
          startedAt: typeof m.startedAt === 'string' ? m.startedAt : null,
          ...(typeof m.jobName === 'string' ? { jobName: m.jobName } : {}),
          ...(typeof m.timeoutMs === 'number' ? { timeoutMs: m.timeoutMs } : {}),
        };
      }
    } catch {
      // an older plain-text marker: the start time
    }
    return { startedAt: text.trim() || null };
  }

  private settled(runId: string, st: JobStatus, write: boolean): JobStatus {
    const run = this.newRun(runId, null, null, 0);
    run.status = st;
    run.resolveDone();
    this.runs.set(runId, run);
    if (write) {
      try {
        this.writeStatus(st);
      } catch {
        // reported anyway
      }
    }
    return { ...st };
  }

  async adopt(runId: string, jobName?: string): Promise<JobStatus | 'unknown'> {
    const dir = this.dir(runId);
    const known = this.runs.get(runId);
    if (known) return { ...known.status };
    const marker = this.readMarker(dir);
    if (!marker) return 'unknown';
    const base = this.newRun(runId, null, null, 0).status;
    const saved = readText(join(dir, 'status.json'));
    if (saved !== null) {
      try {
        const st = JSON.parse(saved) as JobStatus;
        if (st.state !== 'Pending') return this.settled(runId, { ...base, ...st, runId }, false);
      } catch {
        // torn or foreign: decide from the other files
      }
    }
    // a run that ended while nobody watched ended when it wrote its rc (a QE deadline depends on it)
    const ended = (state: JobStatus['state'], reason: string) =>
      this.settled(runId, { ...base, state, reason, startedAt: marker.startedAt, finishedAt: this.rcTime(runId) ?? this.now().toISOString() }, true);
    const rc = this.readRc(runId);
    if (rc !== null) return rc === 0 ? ended('Succeeded', '') : ended('Failed', `exit code ${rc}`);
    const pid = Number(readText(join(dir, 'pid'))?.trim());
    if (!Number.isInteger(pid) || pid <= 1 || !this.owned(pid, runId)) {
      // it may have written its rc while we looked
      const late = this.readRc(runId);
      if (late !== null) return late === 0 ? ended('Succeeded', '') : ended('Failed', `exit code ${late}`);
      return ended('Interrupted', 'Lost');
    }
    // still running: watch it until it ends, enforcing its timeout from its start
    const timeoutMs = marker.timeoutMs ?? (jobName ? matchJob(this.jobs, jobName)?.timeoutMs : undefined) ?? DEFAULT_TIMEOUT_MS;
    const run = this.newRun(runId, null, null, timeoutMs);
    run.pid = pid;
    run.status = { ...run.status, startedAt: marker.startedAt };
    this.runs.set(runId, run);
    // adopted after shutdown(): reported as running, but not watched (the next controller adopts it)
    if (this.closed) {
      run.released = true;
      return { ...run.status };
    }
    run.counted = true;
    this.running++;
    const started = marker.startedAt ? Date.parse(marker.startedAt) : NaN;
    this.armTimeout(run, Number.isFinite(started) ? this.now().getTime() - started : 0);
    run.poll = setInterval(() => this.pollAdopted(run), this.pollMs);
    run.poll.unref();
    return { ...run.status };
  }

  /** The pid is alive and is the wrapper of this run (pids get reused after a reboot). */
  private owned(pid: number, runId: string): boolean {
    if (pid === process.pid || !alive(pid)) return false;
    if (!HAS_PROCFS) return true;
    const cmdline = readText(`/proc/${pid}/cmdline`);
    if (cmdline === null) return false;
    const argv = cmdline.split('\0');
    return argv[1] === '-c' && basename(argv[4] ?? '') === runId;
  }

  private pollAdopted(run: Run): void {
    if (run.status.state !== 'Pending' || run.pid === null || run.released || this.detached) return;
    let rc = this.readRc(run.runId);
    if (rc === null && alive(run.pid)) return;
    rc ??= this.readRc(run.runId);
    if (run.stopping) this.finish(run, run.stopping.state, run.stopping.reason);
    else if (rc === 0) this.finish(run, 'Succeeded', '');
    else if (rc !== null) this.finish(run, 'Failed', `exit code ${rc}`);
    else {
      this.stopOrphans(run.pid);
      this.finish(run, 'Interrupted', 'Lost');
    }
  }

  // ------------------------------------------------------------------ shutdown

  /**
   * Lets go of every run WITHOUT stopping it, as a crashed controller would: no more timeouts,
   * polling or status reports; the processes keep running and another executor on the same
   * runDir can adopt() them. Queued runs are dropped. Not part of the port (tests, hand-over).
   */
  detach(): void {
    this.detached = true;
    this.closed = true;
    this.queue.length = 0;
    for (const run of this.runs.values()) {
      if (run.timer) clearTimeout(run.timer);
      if (run.poll) clearInterval(run.poll);
      run.timer = run.poll = null;
    }
  }

  /** Lets go of one running run: it keeps running, unwatched, for the next controller to adopt. */
  private release(run: Run): void {
    run.released = true;
    this.unwatch(run);
  }

  /** No more timeout or polling for a run, and its concurrency slot is free. */
  private unwatch(run: Run): void {
    if (run.timer) clearTimeout(run.timer);
    if (run.poll) clearInterval(run.poll);
    run.timer = run.poll = null;
    if (run.counted) {
      this.running--;
      run.counted = false;
    }
  }

  /**
   * Drops the queue (queued runs get no status: a restarted controller launches them), then
   * - 'detach' (default): lets go of every running process group without stopping it and returns
   *   at once; their runs stay Pending and the next controller adopt()s them (timeouts still
   *   enforced from their start). Stops already under way (timeout, cancel) are finished first,
   *   so their SIGKILL escalation and final status are not lost.
   * - 'stop': stops every running process group; the runs end Interrupted "Shutdown" (also in
   *   status.json, so adopt() reports them so later) and it waits for them, at most the kill grace.
   */
  async shutdown(): Promise<void> {
    if (this.detached) return;
    this.closed = true;
    this.queue.length = 0;
    const waits: Promise<void>[] = [];
    for (const run of this.runs.values()) {
      if (run.status.state !== 'Pending' || run.pid === null || run.released) continue;
      if (this.onShutdown === 'detach' && !run.stopping) {
        this.release(run);
        continue;
      }
      this.stop(run, 'Interrupted', 'Shutdown');
      waits.push(run.done);
    }
    waits.push(...this.killing);
    if (waits.length === 0) return;
    // a ref'd timer keeps the process alive until the stopped jobs have exited (children are unref'd)
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, this.killGraceMs + SHUTDOWN_SLACK_MS)))]);
    clearTimeout(timer);
  }
}
