// Local job executor (DESIGN.md §7): one child process per run, in its own process group.
//
// Files, per run, in <runDir>/<runId>/:
//   launching    written BEFORE the spawn (fsynced, and so are the run directory and runDir):
//                "this run may have started"; JSON { startedAt, jobName, timeoutMs }
//   pid          the wrapper's pid (= its process group id), created by the wrapper itself with
//                O_CREAT|O_EXCL before it runs the command; or "lost", created the same way by an
//                adopter that found no pid (see below): whoever creates it first decides
//   log          the command's stdout and stderr (appended)
//   rc           the command's exit code, written by the wrapper when the command ends
//   status.json  the final status as reported (temp file fsynced, renamed, directory fsynced)
//   artifacts/   ARTIFACT_DIR of the run
//
// Crash safety, spawn → pid. The wrapper is `/bin/sh -c` in a detached process group (setsid), so a
// run outlives a controller crash and its result can still be read later. Before running anything
// it records its own pid: `set -C; echo $$ > "$d/pid" || exit` (noclobber: an exclusive create).
// A controller can die anywhere between writing `launching` and the wrapper's pid record (before
// the spawn, inside it, right after it). An adopter that finds `launching` but no pid cannot tell
// "never spawned" from "spawned, pid not written yet", so it does not guess and does not wait: it
// creates `pid` itself, exclusively, containing "lost". Exactly one of the two creates succeeds:
//   - the adopter's → a wrapper that starts late fails its create and exits without running the
//     command (and without an rc): the run is Interrupted "Lost" and never ran; its relaunch (under
//     a new run id) is the only process;
//   - the wrapper's → the adopter reads its pid (an empty file: the wrapper is between its create
//     and its write; the adopter then finds it in /proc: the group leader whose environment carries
//     this run's ARTIFACT_DIR and whose command line is the wrapper's; else it waits up to
//     EMPTY_PID_WAIT_MS for the pid) and adopts the live process.
// So a live job is never reported Lost, and none runs beside its relaunch. When the wrapper itself
// is gone without an rc (killed from outside) while processes of its group remain, those are stopped
// BEFORE the run is reported Lost (after a restart only processes whose environment carries the
// run's ARTIFACT_DIR count as the run's: a process group id can be reused after a reboot).
//
// After a restart, adopt() reads these files: status.json → the final status; no marker → never
// started ('unknown'); rc → finished; a live wrapper → re-adopted and watched (polling rc and pid
// liveness), its timeout still enforced from its start; otherwise ("lost", a dead pid) → Interrupted
// "Lost". A run with a marker is never launched again under that run id (the controller relaunches an
// interrupted attempt under a new one).
//
// Bounded memory: a run is held in memory only while it is queued or running; once its final status
// is reported (and saved in status.json) it is dropped, and launch/adopt/cancel/status of it answer
// from status.json. forget() removes the directories of runs the controller deleted (garbage
// collection); listRunIds() lists the run directories on disk (so orphans can be swept).
//
// Environment: a job never inherits the controller's environment (a RC_DB URL with its password,
// RC_TOKENS, RELEASE_CONTROLLER_TOKEN, cloud credentials …). It gets, in this order (later wins):
//   1. from the controller's environment only INHERITED_ENV (PATH, HOME, USER, LOGNAME, LANG,
//      LC_ALL, TZ, TMPDIR) and the variables the jobs file names in `passEnv`;
//   2. the jobs file's env (defaults.env, then the entry's env);
//   3. the run's own env from the controller (aggregator runs: VERIFICATION_JOB_NAME,
//      JOB_START_TIME, ANALYSIS_JOB_COUNT, ANALYSIS_JOBS_SUCCEEDED; multi-job analysis runs:
//      PAYLOAD_TAG, VERIFICATION_JOB_NAME, JOB_START_TIME);
//   4. set by the executor, as Prow sets them: RELEASE_IMAGE_LATEST, RELEASE_IMAGE_INITIAL (upgrades
//      only; never set otherwise) under the names of `architecture` (RELEASE_IMAGE_ARM64_LATEST …,
//      domain/architecture.ts; a name of another architecture the jobs file declares gets the same
//      value, as upstream fills a declared RELEASE_IMAGE_LATEST), JOB_NAME, BUILD_ID (the run id), PAYLOAD_TAG, RELEASE_STREAM,
//      VERIFICATION_JOB_NAME (unless the run's env names it), ARTIFACT_DIR, and IMAGE_FORMAT =
//      `<mirror>:${component}` (the literal text `${component}`) when the payload has a mirror
//      repository (the registry builder writes one; the local builder none: no IMAGE_FORMAT then).
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
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { allReleaseImageNames, DEFAULT_ARCHITECTURE, releaseImageNames } from '../../../domain/architecture.ts';
import { imageEnvValue } from '../../../domain/mirror.ts';
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
  /** --release-architecture: which RELEASE_IMAGE_* names a job gets (default amd64) */
  architecture?: string;
  now?: () => Date;
  /**
   * Fault injection for crash tests only: called synchronously at the steps of a launch where a
   * crash of the controller matters — once the marker is durable (before the spawn), and right
   * after the spawn returned (before anything else is recorded).
   */
  crashPoints?: { afterMarker?: (runId: string) => void; afterSpawn?: (runId: string, pid: number | undefined) => void };
}

/** The only variables a job takes from the controller's environment (besides the jobs file's `passEnv`). */
export const INHERITED_ENV: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

const MARKER = 'launching';
/** content of a pid file created by an adopter: the wrapper never ran and never will */
const LOST = 'lost';
const RUN_NAME = /^[A-Za-z0-9._-]+$/;
/**
 * $1 = the run directory, then the command. Only shell built-ins, so a job's PATH cannot break it.
 * `set -C` makes `>` an exclusive create: when the pid file exists already (an adopter declared the
 * run lost, or the run directory is gone) the wrapper exits without running the command.
 */
const WRAPPER = 'd="$1"; shift; set -C; { echo $$ > "$d/pid"; } 2>/dev/null || exit 0; set +C; "$@" >> "$d/log" 2>&1 < /dev/null; echo $? > "$d/rc"';
const WRAPPER_ARGV0 = 'sh';
const HAS_PROCFS = existsSync('/proc/self/stat');
const DEFAULT_POLL_MS = 200;
const SHUTDOWN_SLACK_MS = 2000;
/** how long adopt() waits for a wrapper to write the pid file it created before calling the run lost */
const EMPTY_PID_WAIT_MS = 1000;

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

/**
 * Live (non-zombie) processes of process group `pgid` whose environment carries `ARTIFACT_DIR=` the
 * given directory: the run's own processes (a group id alone can be reused after a reboot). Needs
 * procfs; without it nothing can be attributed and [] is returned.
 */
function runProcesses(pgid: number, artifactDir: string): number[] {
  if (!HAS_PROCFS) return [];
  const out: number[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of names) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const st = procStat(name);
    if (!st || Number(st[2]) !== pgid || st[0] === 'Z' || st[0] === 'X') continue;
    if (carriesArtifactDir(name, artifactDir)) out.push(Number(name));
  }
  return out;
}

/** Whether the process's environment has `ARTIFACT_DIR=<artifactDir>` (the mark of a run's processes). */
function carriesArtifactDir(pid: number | string, artifactDir: string): boolean {
  return readText(`/proc/${pid}/environ`)?.split('\0').includes(`ARTIFACT_DIR=${artifactDir}`) ?? false;
}

function writeDurable(path: string, text: string, flag: 'w' | 'wx' = 'w'): void {
  const fd = openSync(path, flag);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a directory's entries (files created, renamed or removed in it) durable. */
function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
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

/** Resolves when `p` does or after `ms`, whichever comes first. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

export class LocalExecutor implements JobExecutor {
  private jobs: JobsFile;
  private readonly runDir: string;
  private readonly urlBase: string;
  private readonly killGraceMs: number;
  private readonly pollMs: number;
  private readonly onShutdown: 'detach' | 'stop';
  private readonly architecture: string;
  private readonly now: () => Date;
  private readonly crashPoints: NonNullable<LocalExecutorOptions['crashPoints']>;
  private readonly listeners: JobStatusListener[] = [];
  /** runs queued or running (and adopted running ones); a settled run is answered from status.json */
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
    this.architecture = o.architecture ?? DEFAULT_ARCHITECTURE;
    this.now = o.now ?? (() => new Date());
    this.crashPoints = o.crashPoints ?? {};
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

  /**
   * The current status of a run: from memory while it is queued or running, else its final status
   * from status.json; null when unknown. Not part of the port.
   */
  status(runId: string): JobStatus | null {
    const r = this.runs.get(runId);
    if (r) return { ...r.status };
    try {
      return this.readFinal(runId);
    } catch {
      return null; // not a run name
    }
  }

  /** How many runs are held in memory (queued or running). Not part of the port (tests, metrics). */
  trackedRuns(): number {
    return this.runs.size;
  }

  // ------------------------------------------------------------------ launch

  async launch(spec: JobSpec): Promise<JobStatus> {
    const dir = this.dir(spec.runId);
    const known = this.runs.get(spec.runId);
    if (known) return { ...known.status };
    // settled already (by this or an earlier controller process): its final status, never a new start
    const final = this.readFinal(spec.runId);
    if (final) return final;
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
        writeDurable(join(dir, 'log'), `${reason} (${this.jobs.file})\n`);
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
      status: this.baseStatus(runId),
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

  private baseStatus(runId: string): JobStatus {
    return { runId, state: 'Pending', reason: '', url: this.urlBase + runId, logPath: join(this.dir(runId), 'log'), startedAt: null, finishedAt: null };
  }

  private pump(): void {
    while (!this.closed && this.running < this.jobs.concurrency && this.queue.length > 0) {
      const run = this.queue.shift()!;
      if (run.status.state === 'Pending' && run.pid === null && run.child === null) this.start(run);
    }
  }

  /** The job's whole environment (see the top of this file): never the controller's own variables. */
  private envFor(spec: JobSpec, entry: JobEntry, dir: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of [...INHERITED_ENV, ...(entry.passEnv ?? [])]) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    env.PATH ??= FALLBACK_PATH;
    Object.assign(env, entry.env, spec.env, {
      JOB_NAME: spec.jobName,
      BUILD_ID: spec.runId,
      PAYLOAD_TAG: spec.tag,
      RELEASE_STREAM: spec.stream,
      // aggregator runs name the analysed job in spec.env
      VERIFICATION_JOB_NAME: spec.env.VERIFICATION_JOB_NAME ?? spec.verifyName,
      ARTIFACT_DIR: join(dir, 'artifacts'),
    });
    const imageFormat = imageEnvValue('IMAGE_FORMAT', spec.imageFormatRepository);
    if (imageFormat !== null) env.IMAGE_FORMAT = imageFormat;
    for (const n of allReleaseImageNames('LATEST')) if (n in env) env[n] = spec.pullSpec;
    for (const n of releaseImageNames(this.architecture, 'LATEST')) env[n] = spec.pullSpec;
    // only upgrades get RELEASE_IMAGE_INITIAL
    for (const n of allReleaseImageNames('INITIAL')) {
      if (spec.initialPullSpec && n in env) env[n] = spec.initialPullSpec;
      else delete env[n];
    }
    if (spec.initialPullSpec) for (const n of releaseImageNames(this.architecture, 'INITIAL')) env[n] = spec.initialPullSpec;
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
      // the marker's entry in the run directory, and the run directory's entry in runDir
      fsyncDir(dir);
      fsyncDir(this.runDir);
    } catch (e) {
      this.finish(run, 'Failed', `LaunchError: ${(e as Error).message}`);
      return;
    }
    this.crashPoints.afterMarker?.(run.runId);
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
    this.crashPoints.afterSpawn?.(run.runId, child.pid);
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
    // the wrapper itself went away (killed from outside, or it never ran: an adopter took its pid file)
    else this.lost(run, signal ? `Lost: killed by ${signal}` : 'Lost');
  }

  /**
   * The wrapper of one of our runs is gone without an rc. What is left of its process group is an
   * orphan whose result nobody reads: it is stopped BEFORE the run is reported Interrupted, so the
   * relaunched attempt never runs beside it. (The group id stays reserved while a member lives.)
   */
  private lost(run: Run, reason: string): void {
    const pgid = run.pid;
    if (pgid === null || !groupAlive(pgid)) {
      this.finish(run, 'Interrupted', reason);
      return;
    }
    if (run.poll) clearInterval(run.poll);
    run.poll = null;
    run.stopping = { state: 'Interrupted', reason };
    run.reaped = this.killGroup(pgid).then(() => this.finish(run, 'Interrupted', reason));
  }

  private finish(run: Run, state: JobStatus['state'], reason: string): void {
    if (run.status.state !== 'Pending' || this.detached || run.released) return;
    this.unwatch(run);
    run.status = { ...run.status, state, reason, finishedAt: this.now().toISOString() };
    let saved = true;
    try {
      this.writeStatus(run.status);
    } catch {
      // the directory may be gone; the status is still reported (and kept in memory)
      saved = false;
    }
    run.resolveDone();
    // settled: from now on answered from status.json (the map only holds runs in flight)
    if (saved && this.runs.get(run.runId) === run) this.runs.delete(run.runId);
    this.emit(run.status);
    this.pump();
  }

  private writeStatus(st: JobStatus): void {
    const dir = this.dir(st.runId);
    mkdirSync(dir, { recursive: true });
    writeDurable(join(dir, 'status.json.tmp'), JSON.stringify(st) + '\n');
    renameSync(join(dir, 'status.json.tmp'), join(dir, 'status.json'));
    fsyncDir(dir);
  }

  /** The final status saved in status.json, or null (none, torn, or not final). */
  private readFinal(runId: string): JobStatus | null {
    const saved = readText(join(this.dir(runId), 'status.json'));
    if (saved === null) return null;
    try {
      const st = JSON.parse(saved) as JobStatus;
      if (st && typeof st === 'object' && typeof st.state === 'string' && st.state !== 'Pending') return { ...this.baseStatus(runId), ...st, runId };
    } catch {
      // torn or foreign: decided from the other files
    }
    return null;
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
    if (!RUN_NAME.test(runId) || runId === '.' || runId === '..') throw new Error(`invalid run name ${JSON.stringify(runId)}`);
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

  /** A run found settled on disk (by its rc, or lost): its status is saved and returned, not kept in memory. */
  private settle(st: JobStatus): JobStatus {
    try {
      this.writeStatus(st);
    } catch {
      // reported anyway
    }
    return { ...st };
  }

  async adopt(runId: string, jobName?: string): Promise<JobStatus | 'unknown'> {
    const dir = this.dir(runId);
    const known = this.runs.get(runId);
    if (known) return { ...known.status };
    const final = this.readFinal(runId);
    if (final) return final;
    const marker = this.readMarker(dir);
    if (!marker) return 'unknown';
    const base = this.baseStatus(runId);
    // a run that ended while nobody watched ended when it wrote its rc (a QE deadline depends on it)
    const ended = (state: JobStatus['state'], reason: string) =>
      this.settle({ ...base, state, reason, startedAt: marker.startedAt, finishedAt: this.rcTime(runId) ?? this.now().toISOString() });
    const byRc = (rc: number) => (rc === 0 ? ended('Succeeded', '') : ended('Failed', `exit code ${rc}`));
    const rc = this.readRc(runId);
    if (rc !== null) return byRc(rc);
    let found = this.wrapperOf(runId);
    // an empty pid file nobody could be found for (no procfs, or a slow write): give the wrapper a moment to write it
    for (const until = Date.now() + EMPTY_PID_WAIT_MS; found.empty && found.pid === null && Date.now() < until; ) {
      await delay(20);
      found = this.wrapperOf(runId);
    }
    if (found.pid === null) {
      // it may have written its rc while we looked
      const late = this.readRc(runId);
      if (late !== null) return byRc(late);
      // the wrapper is gone; leftovers of its group (marked as this run's) are stopped before the run is reported lost
      if (found.pgid !== null && runProcesses(found.pgid, join(dir, 'artifacts')).length > 0) await this.killGroup(found.pgid);
      const known2 = this.runs.get(runId);
      if (known2) return { ...known2.status };
      return ended('Interrupted', 'Lost');
    }
    // still running: watch it until it ends, enforcing its timeout from its start
    const timeoutMs = marker.timeoutMs ?? (jobName ? matchJob(this.jobs, jobName)?.timeoutMs : undefined) ?? DEFAULT_TIMEOUT_MS;
    const run = this.newRun(runId, null, null, timeoutMs);
    run.pid = found.pid;
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

  /**
   * The live wrapper of a run that has a marker and no rc (pid), else pid null and the process
   * group it had, if it recorded one (pgid). With no pid file at all, the pid file is taken first
   * (exclusive create of "lost", see the top of this file): from then on no wrapper of this run
   * can start, so "no live wrapper" is final. Synchronous: nothing else runs in between.
   */
  private wrapperOf(runId: string): { pid: number | null; pgid: number | null; empty?: boolean } {
    const dir = this.dir(runId);
    const path = join(dir, 'pid');
    let text = readText(path);
    if (text === null) {
      try {
        writeDurable(path, LOST + '\n', 'wx');
        fsyncDir(dir);
        return { pid: null, pgid: null };
      } catch (e) {
        // EEXIST: the wrapper created it just now; anything else (the directory is gone): nothing can run
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return { pid: null, pgid: null };
      }
      text = readText(path) ?? '';
    }
    const t = text.trim();
    if (t === LOST) return { pid: null, pgid: null };
    const pid = Number(t);
    if (t !== '' && Number.isInteger(pid) && pid > 1) return this.owned(pid, runId) ? { pid, pgid: pid } : { pid: null, pgid: pid };
    // an empty (or torn) pid file: the wrapper is between its create and its write, or died there
    return { pid: this.findWrapper(runId), pgid: null, empty: true };
  }

  /** The pid of a live wrapper of this run found in /proc (a group leader carrying its ARTIFACT_DIR), or null. */
  private findWrapper(runId: string): number | null {
    if (!HAS_PROCFS) return null;
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return null;
    }
    const artifacts = join(this.dir(runId), 'artifacts');
    for (const name of names) {
      if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
      const pid = Number(name);
      const st = procStat(pid);
      if (!st || Number(st[2]) !== pid) continue;
      if (this.owned(pid, runId) && carriesArtifactDir(pid, artifacts)) return pid;
    }
    return null;
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
    else this.lost(run, 'Lost');
  }

  // ------------------------------------------------------------------ garbage collection

  /**
   * The controller deleted these runs: their run directories (log, artifacts, status) go, and any
   * in-memory record. A run never has its directory removed under a live process: a queued run is
   * dropped; a running one (ours, or left running by an earlier controller) is stopped first —
   * SIGTERM, SIGKILL after the kill grace — and removed once its process group is gone; one that
   * could not be stopped within the grace is kept (a later forget() or sweep retries it). A run
   * with a marker but no pid file gets its pid file taken first, so a late wrapper never starts.
   * Names that are not run names are ignored (nothing outside runDir is ever touched). Runs are
   * forgotten in parallel; this resolves within about the kill grace.
   */
  async forget(runIds: string[]): Promise<void> {
    await Promise.all([...new Set(runIds)].map((id) => this.forgetOne(id)));
    try {
      fsyncDir(this.runDir);
    } catch {
      // best effort: the removals happened
    }
  }

  private async forgetOne(runId: string): Promise<void> {
    let dir: string;
    try {
      dir = this.dir(runId);
    } catch {
      return;
    }
    const run = this.runs.get(runId);
    if (run && run.status.state === 'Pending' && !run.released && !this.detached) {
      this.stop(run, 'Aborted', 'Forgotten');
      await within(run.done, this.killGraceMs + SHUTDOWN_SLACK_MS);
      if (run.status.state === 'Pending') return;
    } else if (existsSync(join(dir, MARKER)) && this.readRc(runId) === null && !this.readFinal(runId)) {
      // not watched here (left running by an earlier controller, or released): stop its process group
      const { pid, pgid } = this.wrapperOf(runId);
      const group = pid ?? (pgid !== null && runProcesses(pgid, join(dir, 'artifacts')).length > 0 ? pgid : null);
      if (group !== null) {
        await this.killGroup(group);
        if (groupAlive(group)) return;
      }
    }
    if (this.runs.get(runId) === run) this.runs.delete(runId);
    rmSync(dir, { recursive: true, force: true });
  }

  /** The run ids that have a directory under runDir (run names only), sorted. */
  listRunIds(): string[] {
    try {
      return readdirSync(this.runDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && RUN_NAME.test(d.name))
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
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
