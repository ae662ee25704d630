// The reconcile loop (DESIGN.md §3, STYLE.md): a keyed work queue with one key per release stream,
// woken by input changes, job status changes, builds and timers. Each pass asks the domain for a
// plan and applies it: store first (one transaction), then the in-memory view, then the executor.
import { inputStreamOf, isStable, targetRepositoryName, type ReleaseConfig } from '../domain/config/schema.ts';
import { previousVersions } from '../domain/graph.ts';
import { AnnotationAdoptedFrom, applyAdoption, applyBuild, planStream, withAnnotations, type Plan } from '../domain/plan.ts';
import { applyMirror, mirrorsInUse, mirrorStreamName, mirrorTarget } from '../domain/mirror.ts';
import { rfc3339 } from '../domain/tagname.ts';
import type { EventRecord, JobRun, Payload, StreamRecord, UpgradeResult } from '../domain/types.ts';
import { overridePhase, pinComponent, pokeStream, promoteRelease, prunePayload, rerunQE, retryJob, setKeep, setLock, setQEVerdict, setTeamApproval, unpinComponent, updateInputTags, waiveJob, type OpChanges, type OpResult, type PinRequest, type PromoteRequest } from '../domain/operations.ts';
import type { InspectResult, PayloadBuilder } from '../ports/builder.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import type { JobExecutor, JobSpec, JobStatus } from '../ports/executor.ts';
import { FencedError, NotLeaderError } from '../ports/replication.ts';
import type { Change, EventQuery, Store } from '../ports/store.ts';
import { describeError, isTransientStoreError } from './faults.ts';
import { OperationError, type Operations } from './operations.ts';
import { State } from './state.ts';

export interface LoadedStream {
  name: string;
  config: ReleaseConfig;
  file: string;
  input?: string;
  warnings?: string[];
  errors?: string[];
}

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug?(obj: object | string, msg?: string): void;
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export interface ControllerOptions {
  store: Store;
  executor: JobExecutor;
  builder: PayloadBuilder;
  streams: LoadedStream[];
  clock?: Clock;
  log?: Logger;
  /** host of payload pull specs (default registry.local) */
  registry?: string;
  /** observes each reconcile pass duration in seconds */
  onReconcile?: (stream: string, seconds: number) => void;
  /** full resync period (ms); 0 disables (default 60 s) */
  resyncMs?: number;
  /** config files that failed validation (their streams' last good versions keep running) */
  failedFiles?: FailedConfigFile[];
  /**
   * Several replicas on one store (issue 17): the controller starts as a follower. It reconciles,
   * launches, builds and writes nothing (configs included) until lead(); its view follows the
   * store through applyReplicated(). Needs a store with `replication`.
   */
  standby?: boolean;
}

/** What a follower's controller asks the replica it belongs to (controller/replica.ts). */
export interface ReplicaLink {
  /** the follower's view has caught up with the store (its /readyz) */
  ready(): boolean;
  /** why the follower's view cannot follow the store right now; null while it can */
  unavailable(): string | null;
  /** the lease is still held by the local clock: launching is allowed */
  leaseValid(): boolean;
  /** the leader, for the refusal of writes sent to a follower (e.g. `replica-b at http://…`) */
  leader(): string;
  /** a commit was refused because the lease is gone: step down now */
  lost(reason: string): void;
}

export interface FailedConfigFile {
  file: string;
  /** `path: reason` lines */
  errors: string[];
}

export interface ConfigProblem {
  file: string;
  /** the stream the file defined at its last good load, when known */
  stream?: string;
  errors: string[];
  /** the stream's last good config is still running */
  keptRunning: boolean;
}

const SYSTEM = 'controller';
const MAX_BUSY_PASSES = 50;
/** backoff of a store commit that failed with a transient fault: 100 ms, doubling, at most 5 s */
const COMMIT_RETRY_FIRST_MS = 100;
const COMMIT_RETRY_MAX_MS = 5000;
/** a job status that failed to record with a non-transient error is tried again after this long */
const STATUS_RETRY_MS = 5000;
/** runs handed to the executor at once (launch calls in flight) */
const LAUNCH_CONCURRENCY = 8;
/** at most this many job statuses are recorded in one transaction */
const STATUS_BATCH = 500;

interface QueuedStatus {
  st: JobStatus;
  done: () => void;
}
/** runs and payloads changed by earlier statuses of the batch being recorded */
interface StatusOverlay {
  runs: Map<string, JobRun>;
  payloads: Map<string, Payload>;
}

/** the store is failing: commits are being retried */
interface Outage {
  since: Date;
  /** failed attempts so far */
  attempts: number;
  message: string;
  /** the wait before the next attempt */
  delayMs: number;
}

export class Controller implements Operations {
  readonly state: State;
  private readonly store: Store;
  private readonly executor: JobExecutor;
  private readonly builder: PayloadBuilder;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly registry: string;
  private readonly onReconcile?: (stream: string, seconds: number) => void;
  private readonly resyncMs: number;
  private readonly since = new Map<string, Date>();
  private readonly queue = new Set<string>();
  private readonly timers = new Map<string, { at: number; handle: NodeJS.Timeout }>();
  private readonly building = new Set<string>();
  /** payload tags whose copy to alternateImageRepository is under way */
  private readonly mirroring = new Set<string>();
  /** streams already warned that their alternateImageRepository cannot be acted on */
  private readonly mirrorWarned = new Set<string>();
  /** consecutive passes of a stream that changed something */
  private readonly busyPasses = new Map<string, number>();
  private firstPass: { pending: Set<string>; resolve: () => void } | null = null;
  private readonly listeners = new Set<(e: EventRecord) => void>();
  private readonly idleWaiters: (() => void)[] = [];
  private draining: Promise<void> | null = null;
  private resyncHandle: NodeJS.Timeout | null = null;
  private started = false;
  private adopting = false;
  private problems: ConfigProblem[] = [];
  private stopped = false;
  private isReady = false;
  /** serialises every store write + state apply so the view always matches the store */
  private writeChain: Promise<unknown> = Promise.resolve();
  /**
   * the serialised section: every reconcile pass, operation, job status and build result reads the
   * state, decides and commits inside it, so no update is lost with an asynchronous store
   */
  private section: Promise<unknown> = Promise.resolve();
  /** job statuses waiting to be recorded (onJobStatus), and whether a section to record them is queued */
  private readonly statusQueue: QueuedStatus[] = [];
  private statusScheduled = false;
  /** set while a commit keeps failing with a transient store fault (unavailable()) */
  private outage: Outage | null = null;
  /** ends the backoff wait of a retried commit (stop() calls it) */
  private retryWake: (() => void) | null = null;
  /** operations waiting for the section: told when the store becomes unavailable, so they fail fast */
  private readonly outageListeners = new Set<() => void>();
  /** this replica leads (always, without replication): it may reconcile, launch and write */
  private leading: boolean;
  private replica: ReplicaLink | null = null;
  /** a follower's latest loaded configs, applied when it takes the lead */
  private pendingConfigs: { streams: LoadedStream[]; failedFiles: FailedConfigFile[] } | null = null;

  private constructor(opts: ControllerOptions, state: State) {
    this.store = opts.store;
    this.executor = opts.executor;
    this.builder = opts.builder;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? silentLogger;
    this.registry = opts.registry ?? 'registry.local';
    this.onReconcile = opts.onReconcile;
    this.resyncMs = opts.resyncMs ?? 60_000;
    this.state = state;
    this.leading = !opts.standby;
  }

  /** Migrates the store, records the loaded stream configs and loads the durable state. */
  static async create(opts: ControllerOptions): Promise<Controller> {
    await opts.store.migrate();
    if (opts.standby) return Controller.createStandby(opts);
    // settled payloads' runs stay in the store until someone looks at them
    const lazy = lazyRuns(opts.store);
    const snapshot = await opts.store.load({ activeRunsOnly: lazy.loader !== undefined || lazy.asyncLoader !== undefined });
    const state = State.fromSnapshot(snapshot, lazy);
    const c = new Controller(opts, state);
    await c.applyConfigs(opts.streams, opts.failedFiles ?? []);
    c.executor.onStatus((st) => void c.onJobStatus(st));
    return c;
  }

  /** A follower: the whole state with its change-log position (changeSeq), configs kept for lead(). */
  private static async createStandby(opts: ControllerOptions): Promise<Controller> {
    const replication = opts.store.replication;
    if (!replication) throw new Error('a standby controller needs a store with replication (PostgreSQL)');
    const lazy = lazyRuns(opts.store);
    const snapshot = await replication.snapshot({ activeRunsOnly: lazy.loader !== undefined || lazy.asyncLoader !== undefined });
    const c = new Controller(opts, State.fromSnapshot(snapshot, lazy));
    c.changeSeq = snapshot.changeSeq;
    await c.applyConfigs(opts.streams, opts.failedFiles ?? []);
    c.executor.onStatus((st) => void c.onJobStatus(st));
    return c;
  }

  /** the change-log position of the state a standby controller was created with */
  changeSeq = 0;

  // ---------------------------------------------------------------- replicas (issue 17)

  /** the replica this follower belongs to (its readiness, lease and leader) */
  attachReplica(link: ReplicaLink): void {
    this.replica = link;
  }

  /** this replica leads: it reconciles, launches and accepts writes */
  isLeading(): boolean {
    return this.leading && !this.stopped;
  }

  /**
   * The lease was taken and the view caught up with the store: record the configs loaded last,
   * re-adopt the runs in flight and reconcile every stream (start()).
   */
  async lead(): Promise<void> {
    if (this.leading || this.stopped) return;
    this.leading = true;
    this.log.info('this replica leads now: adopting runs in flight and reconciling');
    const cfg = this.pendingConfigs;
    this.pendingConfigs = null;
    if (cfg) await this.applyConfigs(cfg.streams, cfg.failedFiles);
    await this.start();
  }

  /**
   * The lease is gone (expired, taken over, or a commit was refused): stop at once. Nothing more is
   * launched, cancelled, built or written; queued passes and timers are dropped; running jobs are
   * left to the executor for the next leader to adopt; writes are refused naming the leader.
   */
  stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.log.warn({ reason }, `this replica no longer leads: ${reason}`);
    if (this.resyncHandle) clearInterval(this.resyncHandle);
    this.resyncHandle = null;
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
    this.queue.clear();
    this.started = false;
    this.isReady = false;
    // a commit waiting out a store outage gives up (the loop above refuses once not leading); the
    // outage is the next leader's to see (this replica's readiness is the follower's now)
    this.outage = null;
    this.retryWake?.();
    // a start() waiting for its first passes gives up (they will not run)
    this.firstPass?.resolve();
  }

  /** A follower applies a change committed by the leader (in commit order): the view, caches and feeds follow. */
  applyReplicated(changes: Change[]): void {
    this.state.apply(changes);
    for (const c of changes) if (c.kind === 'appendEvent') this.emit(c.event);
  }

  /** A follower too far behind the change log reloads the whole state. */
  resetState(snapshot: Parameters<typeof State.fromSnapshot>[0]): void {
    this.state.reset(snapshot);
  }

  private emit(e: EventRecord): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err }, 'event listener failed');
      }
    }
  }

  /** launching is allowed: this replica leads and, with replication, its lease has not run out by the local clock */
  private mayLaunch(): boolean {
    return this.leading && !this.stopped && (this.replica?.leaseValid() ?? true);
  }

  private notLeaderError(): OperationError {
    const leader = this.replica?.leader() || 'no replica (an election is under way)';
    return new OperationError('unavailable', `this replica is a follower: it serves reads only and does not accept writes; the leader is ${leader}; send the request there`, 2);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Re-adopts runs that were in flight, then reconciles every stream. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const pending = [...this.state.allRuns()].filter((r) => r.state === 'Pending');
    // no pass starts before every adopted result is recorded: a pass that saw only some of them
    // could decide too early (e.g. a QE time limit that passed while the controller was down)
    this.adopting = true;
    // adopted statuses are recorded together (in batches), not one commit each; all before a pass
    const recorded: Promise<void>[] = [];
    try {
      for (const run of pending) {
        const st = await this.executor.adopt(run.id, run.jobName).catch((e: Error) => {
          this.log.warn({ err: e, run: run.id }, 'adopting a run failed; it stays Pending until the executor answers');
          return null;
        });
        if (st === null) continue;
        if (st === 'unknown') {
          // recorded but never handed to the executor (crash between record and launch): launch it now
          const p = this.state.payload(run.stream, run.tag);
          if (!p) continue;
          await this.launchOne(this.specFor(run, p));
        } else {
          recorded.push(this.onJobStatus(st));
        }
      }
      await Promise.all(recorded);
    } finally {
      this.adopting = false;
    }
    const now = this.clock.now();
    for (const s of this.state.streams()) {
      this.since.set(s.name, now);
      this.wake(s.name);
    }
    // ready once every stream has had its first pass (job completions may keep the queue busy)
    await new Promise<void>((resolve) => {
      this.firstPass = { pending: new Set(this.state.streams().map((s) => s.name)), resolve };
      if (this.firstPass.pending.size === 0) resolve();
    });
    this.firstPass = null;
    if (!this.leading) return; // stepped down while starting
    this.isReady = true;
    if (this.resyncMs > 0) {
      this.resyncHandle = setInterval(() => this.resyncAll(), this.resyncMs);
      this.resyncHandle.unref();
    }
  }

  ready(): boolean {
    if (this.stopped) return false;
    // a follower is ready once its view has caught up with the store
    if (!this.leading) return this.replica?.ready() ?? false;
    return this.isReady;
  }

  /** Why the controller cannot work right now (/readyz): the store failing, else the executor (e.g. its Kubernetes API); null while healthy. */
  unavailable(): string | null {
    if (!this.leading) return this.replica?.unavailable() ?? null;
    return this.storeUnavailable() ?? this.executor.unavailable?.() ?? null;
  }

  /** Why the store is failing right now (its commits are being retried); null while it is healthy. */
  private storeUnavailable(): string | null {
    const o = this.outage;
    if (!o) return null;
    return `store unavailable: ${o.message} (since ${rfc3339(o.since)}, ${o.attempts} attempt${o.attempts === 1 ? '' : 's'})`;
  }

  /**
   * Records the stream configs of a (re)load. Valid configs replace the stored ones (payloads keep
   * the job set they were created with, so an edit applies to new payloads only). A file that
   * failed validation keeps the last good version of its stream running, with the error kept for
   * the console and /metrics; a stream whose file is gone stops being reconciled. Returns the
   * names of the streams whose config changed (they are woken).
   */
  async applyConfigs(streams: LoadedStream[], failedFiles: FailedConfigFile[] = []): Promise<string[]> {
    // a follower writes nothing: it keeps them for when it leads (the leader records its own)
    const dryRun = !this.leading;
    if (dryRun) this.pendingConfigs = { streams, failedFiles };
    const changes: Change[] = [];
    const changed: string[] = [];
    const loaded = new Set<string>();
    const problems: ConfigProblem[] = [];
    const failedByFile = new Map(failedFiles.map((f) => [f.file, f.errors]));
    for (const s of streams) {
      loaded.add(s.name);
      const old = this.state.stream(s.name);
      const rec: StreamRecord = {
        name: s.name,
        config: s.config,
        sourceFile: s.file,
        input: s.input ?? inputStreamOf(s.config),
        errors: s.errors ?? [],
        warnings: s.warnings ?? [],
        locked: old?.locked ?? false,
        ...(old?.conditions ? { conditions: old.conditions } : {}),
        // a lock (and who set it, why) survives config reloads: it is an operator's decision, not config
        ...(old?.lock ? { lock: old.lock } : {}),
      };
      if (!old || JSON.stringify(old) !== JSON.stringify(rec)) {
        changes.push({ kind: 'putStream', stream: rec });
        changed.push(s.name);
      }
    }
    for (const old of this.state.streams()) {
      if (loaded.has(old.name)) continue;
      const errors = failedByFile.get(old.sourceFile);
      if (errors && old.errors.length === 0) {
        // the file is there but invalid now: the last good version keeps running
        problems.push({ file: old.sourceFile, stream: old.name, errors, keptRunning: true });
        failedByFile.delete(old.sourceFile);
        continue;
      }
      const msg = 'config no longer loaded';
      if (!old.errors.includes(msg)) {
        changes.push({ kind: 'putStream', stream: { ...old, errors: [...old.errors, msg] } });
        changed.push(old.name);
      }
    }
    for (const [file, errors] of failedByFile) problems.push({ file, errors, keptRunning: false });
    this.problems = problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    if (dryRun) return [];
    if (changes.length) await this.commit(changes);
    for (const name of changed) {
      if (!this.since.has(name)) this.since.set(name, this.clock.now());
      if (this.started) this.wake(name);
    }
    return changed;
  }

  /** Config files that failed validation at the last (re)load, and whether an older version still runs. */
  configProblems(): ConfigProblem[] {
    return this.problems;
  }

  /** Stops timers and the executor (which leaves jobs running to be re-adopted, or stops them as Interrupted); every status it reports is recorded before this resolves. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // a commit waiting out a store outage gives up: what it would have recorded is adopted from the executor on the next start
    this.retryWake?.();
    if (this.resyncHandle) clearInterval(this.resyncHandle);
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
    this.queue.clear();
    await this.draining;
    await this.executor.shutdown();
    // statuses reported by the shutdown (interrupted runs) are recorded before the store closes
    await new Promise((r) => setImmediate(r));
    await this.section.catch(() => undefined);
    await this.writeChain.catch(() => undefined);
  }

  resyncAll(): void {
    for (const s of this.state.streams()) this.wake(s.name);
  }

  /** Resolves when no reconcile, build or queued wake is outstanding (used by tests and benchmarks). */
  idle(): Promise<void> {
    if (!this.draining && this.queue.size === 0 && this.building.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.draining || this.queue.size > 0 || this.building.size > 0 || this.mirroring.size > 0) return;
    const w = this.idleWaiters.splice(0);
    for (const f of w) f();
  }

  // ---------------------------------------------------------------- work queue

  wake(stream: string): void {
    if (this.stopped || !this.leading) return;
    this.queue.add(stream);
    if (this.adopting) return; // start() drains once adoption is done
    if (!this.draining) this.draining = this.drain();
  }

  private wakeAfter(stream: string, ms: number): void {
    if (this.stopped || !this.leading) return;
    const at = Date.now() + ms;
    const cur = this.timers.get(stream);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.handle);
    const handle = setTimeout(() => {
      this.timers.delete(stream);
      this.wake(stream);
    }, Math.min(ms + 5, 2 ** 31 - 1));
    handle.unref();
    this.timers.set(stream, { at, handle });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.size > 0 && !this.stopped && this.leading) {
        const stream = this.queue.values().next().value as string;
        this.queue.delete(stream);
        try {
          await this.reconcile(stream);
          // let timers and I/O (job exits, HTTP) in between passes
          await new Promise((r) => setImmediate(r));
        } catch (e) {
          this.log.error({ err: e, stream }, 'reconcile failed');
          this.wakeAfter(stream, 5000);
        }
        if (this.firstPass?.pending.delete(stream) && this.firstPass.pending.size === 0) this.firstPass.resolve();
      }
    } finally {
      this.draining = null;
      this.checkIdle();
    }
  }

  /** One pass over one stream. Public for tests and benchmarks; normally driven by wake(). */
  async reconcile(stream: string): Promise<Plan | null> {
    const t0 = process.hrtime.bigint();
    const decided = await this.exclusive(async () => {
      const rec = this.state.stream(stream);
      if (!rec) return null;
      if (!this.builder.mirror && rec.config.alternateImageRepository && !this.mirrorWarned.has(stream)) {
        this.mirrorWarned.add(stream);
        this.log.warn({ stream }, `stream ${stream} sets alternateImageRepository, but this payload builder makes no images: nothing is mirrored and acceptance does not wait for a mirror (serve --builder registry mirrors)`);
      }
      // the planner reads the runs of deciding payloads only: a settled one made to decide again
      // (by an operation, or on a follower by the leader's changes) has them read first
      await this.state.ensureDeciding();
      const now = this.clock.now();
      if (!this.since.has(stream)) this.since.set(stream, now);
      const plan = planStream(this.state, stream, now, {
        repositoryFor: (c) => this.repositoryFor(c),
        since: this.since.get(stream),
        mirroring: Boolean(this.builder.mirror),
      });
      const changes = planChanges(plan);
      // what garbage collection deletes, read before the commit drops it from the view
      await this.state.ensureRunsOf(plan.deletes);
      const deleted = plan.deletes.map((p) => ({ stream: p.stream, tag: p.tag, mirrorRepository: this.mirrorToRemove(p), runIds: this.state.runs(p.stream, p.tag).map((r) => r.id) }));
      if (changes.length) {
        this.log.debug?.({ stream, changes: changes.map((c) => c.kind + ('payload' in c ? `:${c.payload.tag}` : 'run' in c ? `:${c.run.id}` : '')) }, 'reconcile changes');
        await this.commit(changes);
      }
      return { plan, changed: changes.length > 0, deleted };
    });
    if (!decided) return null;
    const { plan, changed, deleted } = decided;
    // executor calls outside the section: their status reports take it themselves
    await this.launchAll(plan.launches.map((spec) => spec.runId));
    for (const c of plan.cancels) await this.executor.cancel(c.runId, c.reason).catch((e) => this.log.warn({ err: e, run: c.runId }, 'cancel failed'));
    if (deleted.length) await this.removeDeleted(deleted);
    for (const tag of plan.builds) this.startBuild(stream, tag);
    for (const tag of plan.mirrors) this.startMirror(stream, tag);
    for (const u of plan.inputUpdates) this.wakeInput(u.input);
    // level-triggered: a pass that changed something is followed by another until nothing changes
    // (e.g. garbage collection after a verdict reached in this pass)
    if (changed) {
      const n = (this.busyPasses.get(stream) ?? 0) + 1;
      this.busyPasses.set(stream, n);
      if (n <= MAX_BUSY_PASSES) this.wake(stream);
      else {
        // a plan that never converges is a bug; back off instead of spinning
        this.log.error({ stream, passes: n }, 'stream does not converge; backing off');
        this.wakeAfter(stream, 5000);
      }
    } else if (plan.requeueAfterMs !== null) {
      if (plan.requeueAfterMs === 0) this.wake(stream);
      else this.wakeAfter(stream, plan.requeueAfterMs);
    }
    if (!changed) this.busyPasses.delete(stream);
    this.onReconcile?.(stream, Number(process.hrtime.bigint() - t0) / 1e9);
    return plan;
  }

  /**
   * After garbage collection committed: the executor forgets the deleted runs (run directories,
   * logs) and the builder removes the payloads' manifests (and their mirror repositories' tags).
   * Best effort, outside the section; what a crash leaves behind here is swept later
   * (controller/housekeeping.ts: the builder's sweep, which also removes the mirror repository of
   * each release image it removes). A mirror is named after its payload's tag, so it goes with the
   * payload even when no record names it (mirrorToRemove).
   */
  private async removeDeleted(deleted: { stream: string; tag: string; runIds: string[]; mirrorRepository?: string }[]): Promise<void> {
    const runIds = deleted.flatMap((d) => d.runIds);
    if (runIds.length && this.executor.forget) {
      await this.executor.forget(runIds).catch((e) => this.log.warn({ err: e, runs: runIds.length }, 'removing the run directories of deleted payloads failed; the next sweep retries'));
    }
    if (!this.builder.remove) return;
    // a mirror a live payload uses stays (mirrorsInUse)
    const inUse = deleted.some((d) => d.mirrorRepository) ? mirrorsInUse(this.state) : new Set<string>();
    for (const d of deleted) {
      if (this.state.findTag(d.tag)) continue; // the same tag lives on in another stream (manifests are per tag)
      const mirror = d.mirrorRepository && !inUse.has(d.mirrorRepository) ? d.mirrorRepository : undefined;
      await this.builder.remove(d.stream, d.tag, mirror).catch((e) => this.log.warn({ err: e, tag: d.tag }, 'removing the manifests of a deleted payload failed; the next sweep retries'));
    }
  }

  private repositoryFor(c: ReleaseConfig): string {
    return `${this.registry}/${targetRepositoryName(c)}`;
  }

  /**
   * The mirror repository whose tags go with a deleted payload: the one it recorded, else, when
   * the builder makes images, the one its build writes (a crash between the push and the record,
   * then an abort or a prune, left a mirror that no record names)
   */
  private mirrorToRemove(p: Payload): string | undefined {
    if (p.mirrorRepository) return p.mirrorRepository;
    return this.builder.mirror ? this.mirrorRepositoryFor(this.state.stream(p.stream)?.config, p.tag) : undefined;
  }

  /** `<registry>/<mirror stream name>` (upstream-behavior.md §3.8), the repository a payload's components are mirrored to */
  private mirrorRepositoryFor(c: ReleaseConfig | undefined, tag: string): string | undefined {
    return c ? `${this.registry}/${mirrorStreamName(c, tag)}` : undefined;
  }

  private wakeInput(input: string): void {
    for (const s of this.state.streams()) if (s.input === input) this.wake(s.name);
  }

  // ---------------------------------------------------------------- writes

  /** Runs `fn` alone: after every earlier section has finished (executor calls stay outside). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.section.then(fn);
    this.section = next.catch(() => undefined);
    return next;
  }

  /**
   * Store first, then the view, then listeners. Serialised so the view matches the store.
   * `once` (operations): a transient store fault refuses the operation as 'unavailable' instead of
   * retrying; `abandoned` says its caller gave up while it waited (nothing is written then).
   */
  private commit(changes: Change[], opts: { once?: boolean; abandoned?: () => boolean } = {}): Promise<void> {
    const next = this.writeChain.then(async () => {
      if (opts.abandoned?.()) throw this.unavailableError();
      const ids = await this.storeCommit(changes, opts.once ?? false);
      this.state.apply(changes);
      let i = 0;
      const events: EventRecord[] = [];
      for (const c of changes) if (c.kind === 'appendEvent') events.push({ ...c.event, id: ids[i++] });
      for (const e of events) this.emit(e);
    });
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  /**
   * One store transaction. A transient fault (connection lost, server restarting, database busy,
   * disk full) is retried with backoff — the same changes, and every later write waits behind them
   * on the write chain, so statuses are recorded in the order they arrived — until it succeeds or
   * the controller stops. Other errors (a constraint violation, a bug) are not retried here: the
   * caller fails and tries again later.
   */
  private async storeCommit(changes: Change[], once: boolean): Promise<number[]> {
    for (;;) {
      // stopping in an outage: nothing after the unrecorded changes may be recorded before them
      if (this.stopped && this.outage) throw this.stoppedInOutage();
      // stepped down while this commit waited out an outage: the next leader decides afresh
      if (!this.leading) throw once ? this.notLeaderError() : new NotLeaderError('this replica no longer leads: the changes were not recorded');
      try {
        const ids = await this.store.commit(changes);
        if (this.outage) this.recovered();
        return ids;
      } catch (err) {
        if (err instanceof FencedError || err instanceof NotLeaderError) {
          // the database refused a stale leader's write: step down before anything else happens
          this.replica?.lost(err.message);
          this.stepDown(err.message);
          throw once ? this.notLeaderError() : err;
        }
        if (!isTransientStoreError(err)) {
          this.log.error({ err, changes: changes.length }, `store commit failed (not retried: not a connection, lock or disk fault): ${describeError(err)}`);
          throw err;
        }
        if (once) {
          this.log.warn({ err }, `store commit of an operation failed, refused as unavailable: ${describeError(err)}`);
          // the store is down for everyone: /readyz says so until a probe commit gets through
          if (!this.stopped) this.probeStore(err);
          throw new OperationError('unavailable', `store unavailable: ${describeError(err)}; nothing was changed, try again later`, this.retryAfterSeconds());
        }
        if (this.stopped) throw this.stoppedInOutage(err);
        const delay = this.failedAttempt(err);
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.retryWake = null;
            resolve();
          };
          const timer = setTimeout(done, delay);
          this.retryWake = done;
        });
      }
    }
  }

  /**
   * An operation's commit failed with a transient fault and nothing else is retrying: enter the
   * outage and retry an empty transaction (a connection and a commit) with the same backoff; its
   * success ends the outage. Without it an idle controller would report ready on a dead store.
   */
  private probeStore(err: unknown): void {
    if (this.outage) return; // a retrying commit (or probe) already ends the outage when it gets through
    this.failedAttempt(err);
    void this.commit([]).catch(() => undefined);
  }

  /** records a failed attempt (entering the outage on the first); returns the wait before the next */
  private failedAttempt(err: unknown): number {
    const first = !this.outage;
    const o = (this.outage ??= { since: new Date(), attempts: 0, message: '', delayMs: COMMIT_RETRY_FIRST_MS });
    if (!first) o.delayMs = Math.min(o.delayMs * 2, COMMIT_RETRY_MAX_MS);
    o.attempts++;
    o.message = describeError(err);
    this.log.warn({ err, attempt: o.attempts, retryInMs: o.delayMs }, `store commit failed (attempt ${o.attempts}), retrying in ${o.delayMs} ms: ${o.message}`);
    if (first) for (const f of [...this.outageListeners]) f();
    return o.delayMs;
  }

  private recovered(): void {
    const o = this.outage!;
    this.outage = null;
    this.log.info({ attempts: o.attempts, outageMs: Date.now() - o.since.getTime() }, `store available again after ${o.attempts} failed attempt${o.attempts === 1 ? '' : 's'} (${((Date.now() - o.since.getTime()) / 1000).toFixed(1)} s)`);
  }

  private stoppedInOutage(err?: unknown): Error {
    const why = err !== undefined ? describeError(err) : (this.outage?.message ?? 'unknown');
    return new Error(`store unavailable (${why}): the controller stopped before these changes were recorded; the executor's results are adopted on the next start`);
  }

  /** Retry-After for a refused write: the current backoff, in whole seconds (1…5) */
  private retryAfterSeconds(): number {
    return Math.max(1, Math.ceil((this.outage?.delayMs ?? COMMIT_RETRY_FIRST_MS) / 1000));
  }

  private unavailableError(): OperationError {
    return new OperationError('unavailable', `${this.storeUnavailable() ?? 'store unavailable'}; nothing was changed, try again later`, this.retryAfterSeconds());
  }

  /** The executor's spec of a recorded run: everything from the run itself, so a relaunch is identical. */
  private specFor(run: JobRun, p: Payload): JobSpec {
    return {
      runId: run.id,
      jobName: run.jobName,
      stream: run.stream,
      tag: run.tag,
      verifyName: run.verifyName,
      pullSpec: p.pullSpec,
      initialPullSpec: run.upgradeFromPullSpec,
      // the payload's mirror (IMAGE_FORMAT); none when the builder makes no images (the local builder)
      ...(p.mirrorRepository ? { imageFormatRepository: p.mirrorRepository } : {}),
      env: run.env ?? {},
      labels: {
        'release.openshift.io/verify': 'true',
        'release.openshift.io/payload': p.tag,
        'release.openshift.io/kind': run.kind,
      },
    };
  }

  /**
   * Hands recorded runs to the executor, LAUNCH_CONCURRENCY at a time in plan order (a nightly's
   * 90 jobs, or 2,000, are created in parallel; their Pending statuses are recorded in batches).
   */
  private async launchAll(runIds: readonly string[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < runIds.length) {
        const run = this.state.run(runIds[next++]!);
        const p = run && this.state.payload(run.stream, run.tag);
        if (run && p) await this.launchOne(this.specFor(run, p));
      }
    };
    await Promise.all(Array.from({ length: Math.min(LAUNCH_CONCURRENCY, runIds.length) }, worker));
  }

  private async launchOne(spec: JobSpec): Promise<void> {
    if (!this.mayLaunch()) {
      this.log.warn({ run: spec.runId }, 'not launched: this replica no longer holds the leader lease (the next leader adopts the run)');
      return;
    }
    try {
      const st = await this.executor.launch(spec);
      await this.onJobStatus(st);
    } catch (e) {
      this.log.error({ err: e, run: spec.runId }, 'launch failed');
      const run = this.state.run(spec.runId);
      if (run) {
        await this.onJobStatus({
          runId: run.id, state: 'Failed', reason: `LaunchError: ${(e as Error).message}`, url: '', logPath: '',
          startedAt: null, finishedAt: rfc3339(this.clock.now()),
        });
      }
    }
  }

  private startBuild(stream: string, tag: string): void {
    if (this.building.has(tag) || !this.mayLaunch()) return;
    const p = this.state.payload(stream, tag);
    const rec = this.state.stream(stream);
    if (!p || !rec || p.phase !== 'Pending') return;
    this.building.add(tag);
    const adoptedFrom = p.annotations[AnnotationAdoptedFrom];
    if (adoptedFrom !== undefined) return this.startAdoption(stream, tag, adoptedFrom, this.repositoryFor(rec.config));
    // a promoted release declares the versions it upgrades from; a nightly its newest Accepted predecessors
    const previous = isStable(rec.config) ? previousVersions(p) : this.state.payloads(stream).filter((x) => x.phase === 'Accepted').slice(0, 5).map((x) => x.tag);
    const work = this.builder
      .build({ stream, tag, repository: this.repositoryFor(rec.config), components: p.components, previous, createdAt: p.createdAt, mirrorRepository: this.mirrorRepositoryFor(rec.config, tag) })
      .catch((e: Error) => ({ ok: false as const, reason: 'CreateReleaseFailed', message: e.message }));
    this.settle(stream, tag, this.building, work, (cur, result) => applyBuild(this.state, cur, result, this.clock.now()), 'build result');
  }

  /**
   * Reads an adopted release image back (the builder's inspect; a builder that cannot read images
   * takes the pull spec as it is). An image that names another version is built again under the
   * release's name, as upstream rewrites it.
   */
  private startAdoption(stream: string, tag: string, pullSpec: string, repository: string): void {
    const inspect = this.builder.inspect
      ? this.builder.inspect(pullSpec)
      : Promise.resolve<InspectResult>({ ok: true, pullSpec, digest: /@(sha256:[0-9a-f]{64})$/.exec(pullSpec)?.[1] ?? '', version: tag, previous: [], components: {} });
    const work = inspect
      .catch((e: Error): InspectResult => ({ ok: false, reason: 'AdoptReleaseFailed', message: e.message }))
      .then(async (image) => {
        if (!image.ok) return { image: { components: {}, previous: [], version: tag }, result: image };
        if (image.version === tag) return { image, result: { ok: true as const, pullSpec: image.pullSpec, digest: image.digest } };
        const rebuilt = await this.builder
          .build({
            stream, tag, repository, components: image.components, previous: image.previous, createdAt: this.state.payload(stream, tag)?.createdAt ?? rfc3339(this.clock.now()),
            mirrorRepository: this.mirrorRepositoryFor(this.state.stream(stream)?.config, tag),
          })
          .catch((e: Error) => ({ ok: false as const, reason: 'CreateReleaseFailed', message: e.message }));
        return { image, result: rebuilt };
      });
    this.settle(stream, tag, this.building, work, (cur, { image, result }) => applyAdoption(this.state, cur, image, result, this.clock.now()), 'an adopted release');
  }

  /** Copies a Ready payload to its stream's alternateImageRepository and records how it ended (the verdict may wait for it). */
  private startMirror(stream: string, tag: string): void {
    if (this.mirroring.has(tag)) return;
    const p = this.state.payload(stream, tag);
    const rec = this.state.stream(stream);
    const to = rec && mirrorTarget(rec.config, tag);
    if (!p || !rec || !to || !this.builder.mirror) return;
    this.mirroring.add(tag);
    const secretName = rec.config.alternateImageRepositorySecretName?.trim() || undefined;
    const work = this.builder.mirror({ pullSpec: p.pullSpec, to, secretName }).catch((e: Error) => ({ ok: false as const, to, message: e.message }));
    this.settle(stream, tag, this.mirroring, work, (cur, result) => applyMirror(cur, result, this.clock.now()), 'mirror result');
  }

  /**
   * Records the result of builder work done outside the serialised section: `apply` turns the
   * payload as it is by then and the result into the changed payload and its event (null: nothing
   * to record). `busy` holds the tag until then; the stream is woken at the end.
   */
  private settle<R>(stream: string, tag: string, busy: Set<string>, work: Promise<R>, apply: (cur: Payload, result: R) => { payload: Payload; event: EventRecord } | null, what: string): void {
    void work
      .then((result) =>
        this.exclusive(async () => {
          const cur = this.state.payload(stream, tag);
          if (!cur || this.stopped) return;
          const applied = apply(cur, result);
          if (applied) await this.commit([{ kind: 'putPayload', payload: applied.payload }, { kind: 'appendEvent', event: applied.event }]);
        }),
      )
      .catch((e) => this.log.error({ err: e, tag }, `recording ${what} failed`))
      .finally(() => {
        busy.delete(tag);
        this.wake(stream);
      });
  }

  /**
   * Records a status reported by the executor and wakes the run's stream. Statuses that arrive
   * while the serialised section is busy wait in a queue and are recorded together, in arrival
   * order, in one transaction (at most STATUS_BATCH): 2,000 ProwJobs finishing at once cost a few
   * commits and one pass over their stream, not 2,000 of each. Resolves once this status is
   * recorded (or given up on, see recordStatuses).
   */
  private onJobStatus(st: JobStatus): Promise<void> {
    // a follower records nothing: the leader adopts the run from the executor
    if (!this.leading) return Promise.resolve();
    return new Promise<void>((done) => {
      this.statusQueue.push({ st, done });
      this.scheduleStatuses();
    });
  }

  private scheduleStatuses(): void {
    if (this.statusScheduled || this.statusQueue.length === 0) return;
    this.statusScheduled = true;
    void this.exclusive(() => this.recordStatuses());
  }

  /** Inside the section: takes the queued statuses, records them in one commit, wakes their streams. */
  private async recordStatuses(): Promise<void> {
    this.statusScheduled = false;
    const batch = this.statusQueue.splice(0, STATUS_BATCH);
    this.scheduleStatuses();
    const failed = await this.recordBatch(batch);
    if (!failed) return;
    const { err } = failed;
    if (batch.length > 1 && !this.stopped && !isTransientStoreError(err) && !(err instanceof FencedError || err instanceof NotLeaderError)) {
      // one bad status must not hold back the others: record them one by one
      for (const item of batch) {
        const alone = await this.recordBatch([item]);
        if (alone) this.statusFailed(item, alone.err);
      }
      return;
    }
    for (const item of batch) this.statusFailed(item, err);
  }

  /**
   * Records `batch` in one commit, reading the view through an overlay of the runs and payloads
   * its earlier statuses changed; then lets its callers go. On failure nothing is recorded and
   * nobody is let go: returns the error.
   */
  private async recordBatch(batch: QueuedStatus[]): Promise<{ err: unknown } | null> {
    const overlay: StatusOverlay = { runs: new Map(), payloads: new Map() };
    const changes: Change[] = [];
    const streams = new Set<string>();
    try {
      await this.ensureStatusRuns(batch);
      for (const { st } of batch) {
        const s = this.statusChanges(st, overlay, changes);
        if (s) streams.add(s);
      }
      if (changes.length) await this.commit(changes);
    } catch (err) {
      return { err };
    }
    this.statusesRecorded(batch, streams);
    return null;
  }

  /** a QE status updates its payload's annotations from all its runs: read a settled payload's first */
  private async ensureStatusRuns(batch: QueuedStatus[]): Promise<void> {
    const payloads = [];
    for (const { st } of batch) {
      const run = this.state.run(st.runId);
      if (run?.kind === 'qe') payloads.push(run);
    }
    if (payloads.length) await this.state.ensureRunsOf(payloads);
  }

  private statusesRecorded(batch: QueuedStatus[], streams: Set<string>): void {
    if (!this.stopped) for (const s of streams) this.wake(s);
    for (const { st, done } of batch) {
      // the final state is in the store (or the run is gone): the executor may let go of the result
      if (st.state !== 'Pending' && this.state.run(st.runId)?.state !== 'Pending') this.executor.resultRecorded?.(st.runId);
      done();
    }
  }

  private statusFailed({ st, done }: QueuedStatus, err: unknown): void {
    // transient store faults were retried inside commit(); this is a stop in an outage or a non-transient error
    if (this.stopped) {
      this.log.warn({ err, run: st.runId, state: st.state }, 'job status not recorded before stop; the next start adopts it from the executor');
    } else {
      this.log.error({ err, run: st.runId, state: st.state }, `recording a job status failed; trying again in ${STATUS_RETRY_MS / 1000} s`);
      setTimeout(() => {
        if (!this.stopped) void this.onJobStatus(st);
      }, STATUS_RETRY_MS).unref();
    }
    done();
  }

  /**
   * The changes recording one status: the run's new state, its event and upgrade result, and the
   * payload's derived annotations. Reads the view through `overlay`, the runs and payloads changed
   * earlier in the same batch (and adds its own). Returns the stream to wake, or null.
   */
  private statusChanges(st: JobStatus, overlay: StatusOverlay, out: Change[]): string | null {
    const run = overlay.runs.get(st.runId) ?? this.state.run(st.runId);
    if (!run) return null;
    if (this.stopped && st.state === 'Pending') return null;
    const next: JobRun = {
      ...run,
      state: st.state,
      url: st.url || run.url,
      logPath: st.logPath || run.logPath,
      startedAt: st.startedAt ?? run.startedAt,
      finishedAt: st.finishedAt ?? run.finishedAt,
      reason: st.reason || run.reason,
    };
    if (run.state !== 'Pending') return null; // a finished (or interrupted) run never changes again
    if (JSON.stringify(next) === JSON.stringify(run)) return null;
    overlay.runs.set(run.id, next);
    out.push({ kind: 'putJobRun', run: next });
    if (next.state !== run.state) {
      const what = next.state === 'Interrupted' ? 'Interrupted, will be relaunched' : next.state;
      out.push({
        kind: 'appendEvent',
        event: {
          at: rfc3339(this.clock.now()), stream: run.stream, tag: run.tag, type: 'JobStateChanged', actor: SYSTEM,
          message: `${run.kind} job ${run.verifyName} attempt ${run.attempt + 1}: ${what}${next.reason ? ` (${next.reason})` : ''}`,
          data: { verifyName: run.verifyName, runId: run.id, state: next.state, kind: run.kind, reason: next.reason },
        },
      });
      // an interrupted upgrade did not test anything: no upgrade result
      if (run.upgradeFrom && next.state !== 'Interrupted') {
        const result: UpgradeResult = { from: run.upgradeFrom, to: run.tag, url: next.url, runId: run.id, state: next.state === 'Succeeded' ? 'Succeeded' : 'Failed' };
        out.push({ kind: 'putUpgrade', result });
      }
    }
    // keep the payload's derived annotations (qe-verify) in step with its runs
    const pk = `${run.stream}\u0000${run.tag}`;
    const p = overlay.payloads.get(pk) ?? this.state.payload(run.stream, run.tag);
    const rec = this.state.stream(run.stream);
    if (p && rec && run.kind === 'qe' && next.state !== run.state) {
      const runs = this.state.runs(run.stream, run.tag).map((r) => overlay.runs.get(r.id) ?? r);
      const payload = withAnnotations(p, rec.config, runs);
      overlay.payloads.set(pk, payload);
      out.push({ kind: 'putPayload', payload });
    }
    return run.stream;
  }

  // ---------------------------------------------------------------- Operations

  subscribe(listener: (e: EventRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async listEvents(q: EventQuery): Promise<EventRecord[]> {
    try {
      return await this.store.listEvents(q);
    } catch (err) {
      if (!isTransientStoreError(err)) throw err;
      throw new OperationError('unavailable', `store unavailable: ${describeError(err)}; the event history cannot be read right now`, this.retryAfterSeconds());
    }
  }

  /**
   * Runs a domain operation inside the serialised section (against the state as it is then),
   * records its changes, then hands its cancellations and launches to the executor outside it.
   */
  private async operate(decide: (now: Date) => OpResult, target?: { stream: string; tag: string }): Promise<OpChanges | null> {
    if (!this.leading) throw this.notLeaderError();
    // writes fail fast while the store is failing, rather than wait out the outage
    if (this.outage) throw this.unavailableError();
    let abandoned = false;
    let giveUp: (e: Error) => void = () => {};
    const gaveUp = new Promise<never>((_, reject) => (giveUp = reject));
    const onOutage = () => {
      abandoned = true;
      giveUp(this.unavailableError());
    };
    this.outageListeners.add(onOutage);
    const work = this.exclusive(async () => {
      if (abandoned) return null;
      // an operation on a payload reads all its runs (a settled payload's may still be in the store)
      if (target) await this.state.ensureRuns(target.stream, target.tag);
      if (abandoned) return null;
      const r = decide(this.clock.now());
      if (!r.ok) throw new OperationError(r.refusal.code, r.refusal.message);
      const ch = r.changes;
      const changes: Change[] = [];
      if (ch.stream) changes.push({ kind: 'putStream', stream: ch.stream });
      if (ch.pins) changes.push({ kind: 'setPins', input: ch.pins.input, pins: ch.pins.pins });
      // what a prune deletes, read before the commit drops it from the view (as garbage collection does)
      await this.state.ensureRunsOf(ch.deletes);
      const deleted = ch.deletes.map((d) => {
        const p = this.state.payload(d.stream, d.tag);
        return { ...d, mirrorRepository: p ? this.mirrorToRemove(p) : undefined, runIds: this.state.runs(d.stream, d.tag).map((x) => x.id) };
      });
      for (const d of ch.deletes) changes.push({ kind: 'deletePayload', stream: d.stream, tag: d.tag });
      if (ch.inputTags) changes.push({ kind: 'setInputTags', input: ch.inputTags.input, tags: ch.inputTags.tags });
      if (ch.payload) changes.push({ kind: 'putPayload', payload: ch.payload });
      for (const run of ch.runs) changes.push({ kind: 'putJobRun', run });
      for (const e of ch.events) changes.push({ kind: 'appendEvent', event: e });
      if (changes.length) await this.commit(changes, { once: true, abandoned: () => abandoned });
      return { ch, deleted };
    });
    // an operation queued behind a commit that starts failing gives up (and writes nothing)
    let done: Awaited<typeof work>;
    try {
      done = await Promise.race([work, gaveUp]);
    } finally {
      this.outageListeners.delete(onOutage);
      work.catch(() => undefined);
      gaveUp.catch(() => undefined);
    }
    if (!done) return null;
    const c = done.ch;
    for (const x of c.cancels) await this.executor.cancel(x.runId, x.reason).catch((e) => this.log.warn({ err: e, run: x.runId }, 'cancel failed'));
    await this.launchAll(c.launches);
    if (done.deleted.length) await this.removeDeleted(done.deleted);
    for (const s of c.wake) this.wake(s);
    return c;
  }

  async setInputTags(input: string, tags: Record<string, string>, user: string, labels: Record<string, Record<string, string>> = {}, opts: { replace?: boolean } = {}): Promise<void> {
    await this.operate((now) => updateInputTags(this.state, { input, tags, labels, user, replace: opts.replace }, now));
  }

  async overridePhase(stream: string, tag: string, phase: 'Accepted' | 'Rejected', reason: string, user: string): Promise<void> {
    await this.operate((now) => overridePhase(this.state, { stream, tag, phase, reason, user, mirroring: Boolean(this.builder.mirror) }, now), { stream, tag });
  }

  async qeVerdict(stream: string, tag: string, verdict: 'QEAccepted' | 'QERejected', reason: string, user: string): Promise<void> {
    await this.operate((now) => setQEVerdict(this.state, { stream, tag, verdict, reason, user }, now), { stream, tag });
  }

  async qeRerun(stream: string, tag: string, reason: string, user: string): Promise<void> {
    await this.operate((now) => rerunQE(this.state, { stream, tag, reason, user }, now), { stream, tag });
  }

  async retryJob(stream: string, tag: string, verifyName: string, reason: string, user: string): Promise<void> {
    await this.operate((now) => retryJob(this.state, { stream, tag, verifyName, reason, user }, now), { stream, tag });
  }

  async waiveJob(stream: string, tag: string, verifyName: string, reason: string, user: string): Promise<void> {
    await this.operate((now) => waiveJob(this.state, { stream, tag, verifyName, reason, user }, now), { stream, tag });
  }

  async teamApproval(stream: string, tag: string, team: string, state: 'Accepted' | 'Rejected', reason: string, user: string): Promise<void> {
    await this.operate((now) => setTeamApproval(this.state, { stream, tag, team, state, reason, user }, now), { stream, tag });
  }

  // operator levers (issue 21)

  async keep(stream: string, tag: string, keep: boolean, reason: string, user: string): Promise<void> {
    await this.operate((now) => setKeep(this.state, { stream, tag, keep, reason, user }, now), { stream, tag });
  }

  async lock(stream: string, locked: boolean, reason: string, user: string): Promise<void> {
    await this.operate((now) => setLock(this.state, { stream, locked, reason, user }, now));
  }

  async pin(req: Omit<PinRequest, 'user'>, user: string): Promise<void> {
    await this.operate((now) => pinComponent(this.state, { ...req, user }, now));
  }

  async unpin(input: string, component: string, reason: string, user: string): Promise<void> {
    await this.operate((now) => unpinComponent(this.state, { input, component, reason, user }, now));
  }

  /** creates a payload now; returns its tag */
  async poke(stream: string, reason: string, user: string): Promise<string> {
    const c = await this.operate((now) => {
      const rec = this.state.stream(stream);
      return pokeStream(this.state, { stream, reason, user, repository: rec ? this.repositoryFor(rec.config) : '' }, now);
    });
    return c?.payload?.tag ?? '';
  }

  /** promotes `req.from` into the Stable stream `req.stream` as `req.version` */
  async promote(req: Omit<PromoteRequest, 'user' | 'repository'>, user: string): Promise<void> {
    await this.operate((now) => {
      const rec = this.state.stream(req.stream);
      return promoteRelease(this.state, { ...req, user, repository: rec ? this.repositoryFor(rec.config) : '' }, now);
    });
  }

  async prune(stream: string, tag: string, reason: string, user: string): Promise<void> {
    await this.operate((now) => prunePayload(this.state, { stream, tag, reason, user }, now), { stream, tag });
  }
}

/** The store changes of a plan, in an order that satisfies foreign keys. */
export function planChanges(plan: Plan): Change[] {
  const out: Change[] = [];
  if (plan.streamUpdate) out.push({ kind: 'putStream', stream: plan.streamUpdate });
  for (const p of plan.deletes) out.push({ kind: 'deletePayload', stream: p.stream, tag: p.tag });
  for (const p of plan.payloads) out.push({ kind: 'putPayload', payload: p });
  for (const r of plan.runs) out.push({ kind: 'putJobRun', run: r });
  for (const u of plan.inputUpdates) out.push({ kind: 'setInputTags', input: u.input, tags: u.tags });
  for (const r of plan.published) out.push({ kind: 'putPublished', ref: r });
  for (const e of plan.events) out.push({ kind: 'appendEvent', event: e });
  return out;
}

/**
 * How a store lets the state leave settled payloads' runs in it: read synchronously (an embedded
 * store) or asynchronously (a database server); neither: every run is loaded at start.
 */
function lazyRuns(store: Store): { loader?: (stream: string, tag: string) => JobRun[]; asyncLoader?: (stream: string, tag: string) => Promise<JobRun[]> } {
  if (store.runsOfSync) return { loader: store.runsOfSync.bind(store) };
  if (store.runsOf) return { asyncLoader: store.runsOf.bind(store) };
  return {};
}
