// The reconcile loop (DESIGN.md §3, STYLE.md): a keyed work queue with one key per release stream,
// woken by input changes, job status changes, builds and timers. Each pass asks the domain for a
// plan and applies it: store first (one transaction), then the in-memory view, then the executor.
import { inputStreamOf, qeEntries, type ReleaseConfig } from '../domain/config/schema.ts';
import { applyBuild, planStream, runKind, withAnnotations, type Plan } from '../domain/plan.ts';
import { aggregatorRunName, rfc3339, runName } from '../domain/tagname.ts';
import type { EventRecord, InputTag, JobRun, Payload, StreamRecord, UpgradeResult } from '../domain/types.ts';
import { decidingRuns } from '../domain/verification.ts';
import { emptyQEStatus, qeRunsOf } from '../domain/qe.ts';
import type { PayloadBuilder } from '../ports/builder.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import type { JobExecutor, JobSpec, JobStatus } from '../ports/executor.ts';
import type { Change, EventQuery, Store } from '../ports/store.ts';
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
}

const SYSTEM = 'controller';
const MAX_BUSY_PASSES = 50;

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
  /** consecutive passes of a stream that changed something */
  private readonly busyPasses = new Map<string, number>();
  private firstPass: { pending: Set<string>; resolve: () => void } | null = null;
  private readonly listeners = new Set<(e: EventRecord) => void>();
  private readonly idleWaiters: (() => void)[] = [];
  private draining: Promise<void> | null = null;
  private resyncHandle: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private isReady = false;
  /** serialises every store write + state apply so the view always matches the store */
  private writeChain: Promise<unknown> = Promise.resolve();

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
  }

  /** Migrates the store, records the loaded stream configs and loads the durable state. */
  static async create(opts: ControllerOptions): Promise<Controller> {
    await opts.store.migrate();
    // with an embedded store, settled payloads' runs stay on disk until someone looks at them
    const loader = opts.store.runsOfSync?.bind(opts.store);
    const snapshot = await opts.store.load({ activeRunsOnly: Boolean(loader) });
    const state = State.fromSnapshot(snapshot, { loader });
    const c = new Controller(opts, state);
    const changes: Change[] = [];
    const loaded = new Set<string>();
    for (const s of opts.streams) {
      loaded.add(s.name);
      const rec: StreamRecord = {
        name: s.name,
        config: s.config,
        sourceFile: s.file,
        input: s.input ?? inputStreamOf(s.config),
        errors: s.errors ?? [],
        warnings: s.warnings ?? [],
        locked: false,
      };
      const old = state.stream(s.name);
      if (!old || JSON.stringify(old) !== JSON.stringify(rec)) changes.push({ kind: 'putStream', stream: rec });
    }
    // streams whose config file went away keep their payloads but are no longer reconciled
    for (const old of state.streams()) {
      if (loaded.has(old.name)) continue;
      const msg = 'config no longer loaded';
      if (!old.errors.includes(msg)) changes.push({ kind: 'putStream', stream: { ...old, errors: [...old.errors, msg] } });
    }
    if (changes.length) await c.commit(changes);
    c.executor.onStatus((st) => void c.onJobStatus(st));
    return c;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Re-adopts runs that were in flight, then reconciles every stream. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const pending = [...this.state.allRuns()].filter((r) => r.state === 'Pending');
    for (const run of pending) {
      const st = await this.executor.adopt(run.id, run.jobName);
      if (st === 'unknown') {
        // recorded but never handed to the executor (crash between record and launch): launch it now
        const p = this.state.payload(run.stream, run.tag);
        if (!p) continue;
        await this.launchOne(this.specFor(run, p, {}));
      } else {
        await this.onJobStatus(st);
      }
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
    this.isReady = true;
    if (this.resyncMs > 0) {
      this.resyncHandle = setInterval(() => this.resyncAll(), this.resyncMs);
      this.resyncHandle.unref();
    }
  }

  ready(): boolean {
    return this.isReady && !this.stopped;
  }

  /** Stops timers and running jobs; the store stays consistent (runs end as Aborted). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resyncHandle) clearInterval(this.resyncHandle);
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
    this.queue.clear();
    await this.draining;
    await this.executor.shutdown();
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
    if (this.draining || this.queue.size > 0 || this.building.size > 0) return;
    const w = this.idleWaiters.splice(0);
    for (const f of w) f();
  }

  // ---------------------------------------------------------------- work queue

  wake(stream: string): void {
    if (this.stopped) return;
    this.queue.add(stream);
    if (!this.draining) this.draining = this.drain();
  }

  private wakeAfter(stream: string, ms: number): void {
    if (this.stopped) return;
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
      while (this.queue.size > 0 && !this.stopped) {
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
    const rec = this.state.stream(stream);
    if (!rec) return null;
    const now = this.clock.now();
    if (!this.since.has(stream)) this.since.set(stream, now);
    const plan = planStream(this.state, stream, now, {
      repositoryFor: (c) => this.repositoryFor(c),
      since: this.since.get(stream),
    });
    const changes = planChanges(plan);
    if (changes.length) {
      this.log.debug?.({ stream, changes: changes.map((c) => c.kind + ('payload' in c ? `:${c.payload.tag}` : 'run' in c ? `:${c.run.id}` : '')) }, 'reconcile changes');
      await this.commit(changes);
    }
    for (const spec of plan.launches) {
      const run = this.state.run(spec.runId);
      const p = this.state.payload(spec.stream, spec.tag);
      if (run && p) await this.launchOne(this.specFor(run, p, spec.env));
    }
    for (const c of plan.cancels) await this.executor.cancel(c.runId, c.reason).catch((e) => this.log.warn({ err: e, run: c.runId }, 'cancel failed'));
    for (const tag of plan.builds) this.startBuild(stream, tag);
    for (const u of plan.inputUpdates) this.wakeInput(u.input);
    // level-triggered: a pass that changed something is followed by another until nothing changes
    // (e.g. garbage collection after a verdict reached in this pass)
    if (changes.length > 0) {
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
    if (changes.length === 0) this.busyPasses.delete(stream);
    this.onReconcile?.(stream, Number(process.hrtime.bigint() - t0) / 1e9);
    return plan;
  }

  private repositoryFor(c: ReleaseConfig): string {
    return `${this.registry}/${c.to || 'release'}`;
  }

  private wakeInput(input: string): void {
    for (const s of this.state.streams()) if (s.input === input) this.wake(s.name);
  }

  // ---------------------------------------------------------------- writes

  /** Store first, then the view, then listeners. Serialised so the view matches the store. */
  private commit(changes: Change[]): Promise<void> {
    const next = this.writeChain.then(async () => {
      const ids = await this.store.commit(changes);
      this.state.apply(changes);
      let i = 0;
      const events: EventRecord[] = [];
      for (const c of changes) if (c.kind === 'appendEvent') events.push({ ...c.event, id: ids[i++] });
      for (const e of events) for (const l of this.listeners) {
        try {
          l(e);
        } catch (err) {
          this.log.warn({ err }, 'event listener failed');
        }
      }
    });
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  private specFor(run: JobRun, p: Payload, env: Record<string, string>): JobSpec {
    return {
      runId: run.id,
      jobName: run.jobName,
      stream: run.stream,
      tag: run.tag,
      verifyName: run.verifyName,
      pullSpec: p.pullSpec,
      initialPullSpec: run.upgradeFromPullSpec,
      env,
      labels: {
        'release.openshift.io/verify': 'true',
        'release.openshift.io/payload': p.tag,
        'release.openshift.io/kind': run.kind,
      },
    };
  }

  private async launchOne(spec: JobSpec): Promise<void> {
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
    if (this.building.has(tag)) return;
    const p = this.state.payload(stream, tag);
    const rec = this.state.stream(stream);
    if (!p || !rec || p.phase !== 'Pending') return;
    this.building.add(tag);
    const previous = this.state.payloads(stream).filter((x) => x.phase === 'Accepted').slice(0, 5).map((x) => x.tag);
    void this.builder
      .build({ stream, tag, repository: this.repositoryFor(rec.config), components: p.components, previous, createdAt: p.createdAt })
      .catch((e: Error) => ({ ok: false as const, reason: 'CreateReleaseFailed', message: e.message }))
      .then(async (result) => {
        const cur = this.state.payload(stream, tag);
        if (!cur || this.stopped) return;
        const applied = applyBuild(this.state, cur, result, this.clock.now());
        if (applied) await this.commit([{ kind: 'putPayload', payload: applied.payload }, { kind: 'appendEvent', event: applied.event }]);
      })
      .catch((e) => this.log.error({ err: e, tag }, 'recording build result failed'))
      .finally(() => {
        this.building.delete(tag);
        this.wake(stream);
      });
  }

  /** Records a status reported by the executor and wakes the run's stream. */
  private async onJobStatus(st: JobStatus): Promise<void> {
    const run = this.state.run(st.runId);
    if (!run) return;
    if (this.stopped && st.reason !== 'Shutdown' && st.state === 'Pending') return;
    const next: JobRun = {
      ...run,
      state: st.state,
      url: st.url || run.url,
      logPath: st.logPath || run.logPath,
      startedAt: st.startedAt ?? run.startedAt,
      finishedAt: st.finishedAt ?? run.finishedAt,
      reason: st.reason || run.reason,
    };
    if (run.state !== 'Pending' && next.state !== run.state) return; // a finished run never changes again
    if (JSON.stringify(next) === JSON.stringify(run)) return;
    const changes: Change[] = [{ kind: 'putJobRun', run: next }];
    if (next.state !== run.state) {
      changes.push({
        kind: 'appendEvent',
        event: {
          at: rfc3339(this.clock.now()), stream: run.stream, tag: run.tag, type: 'JobStateChanged', actor: SYSTEM,
          message: `${run.kind} job ${run.verifyName} attempt ${run.attempt + 1}: ${next.state}${next.reason ? ` (${next.reason})` : ''}`,
          data: { verifyName: run.verifyName, runId: run.id, state: next.state, kind: run.kind, reason: next.reason },
        },
      });
      if (run.upgradeFrom) {
        const result: UpgradeResult = { from: run.upgradeFrom, to: run.tag, url: next.url, runId: run.id, state: next.state === 'Succeeded' ? 'Succeeded' : 'Failed' };
        changes.push({ kind: 'putUpgrade', result });
      }
    }
    // keep the payload's derived annotations (qe-verify) in step with its runs
    const p = this.state.payload(run.stream, run.tag);
    const rec = this.state.stream(run.stream);
    if (p && rec && run.kind === 'qe' && next.state !== run.state) {
      const runs = this.state.runs(run.stream, run.tag).map((r) => (r.id === run.id ? next : r));
      changes.push({ kind: 'putPayload', payload: withAnnotations(p, rec.config, runs) });
    }
    await this.commit(changes);
    if (!this.stopped) this.wake(run.stream);
  }

  // ---------------------------------------------------------------- Operations

  subscribe(listener: (e: EventRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  listEvents(q: EventQuery): Promise<EventRecord[]> {
    return this.store.listEvents(q);
  }

  private userEvent(stream: string, tag: string, type: string, user: string, message: string, data: Record<string, unknown>): Change {
    return { kind: 'appendEvent', event: { at: rfc3339(this.clock.now()), stream, tag, type, actor: user, message, data } };
  }

  private requirePayload(stream: string, tag: string): { rec: StreamRecord; p: Payload } {
    const rec = this.state.stream(stream);
    if (!rec) throw new OperationError('not_found', `unknown release stream ${stream}`);
    const p = this.state.payload(stream, tag);
    if (!p) throw new OperationError('not_found', `unknown release tag ${tag} in stream ${stream}`);
    return { rec, p };
  }

  async setInputTags(input: string, tags: Record<string, string>, user: string, labels: Record<string, Record<string, string>> = {}): Promise<void> {
    const names = Object.keys(tags);
    if (!input.trim()) throw new OperationError('bad_request', 'input stream name must not be empty');
    if (names.length === 0) throw new OperationError('bad_request', 'tags: at least one component is required');
    for (const n of names) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(n)) throw new OperationError('bad_request', `tags: invalid component name ${JSON.stringify(n)}`);
      if (typeof tags[n] !== 'string' || !tags[n].trim()) throw new OperationError('bad_request', `tags.${n}: pull spec must be a non-empty string`);
    }
    const at = rfc3339(this.clock.now());
    const merged = new Map(this.state.inputTags(input).map((t) => [t.component, t]));
    const changed: string[] = [];
    for (const n of names) {
      const old = merged.get(n);
      const l = labels[n] ?? old?.labels ?? {};
      if (old && old.pullSpec === tags[n] && JSON.stringify(old.labels) === JSON.stringify(l)) continue;
      merged.set(n, { input, component: n, pullSpec: tags[n], labels: l, updatedAt: at } satisfies InputTag);
      changed.push(n);
    }
    if (changed.length === 0) return;
    const changes: Change[] = [{ kind: 'setInputTags', input, tags: [...merged.values()] }];
    const bound = this.state.streams().filter((s) => s.input === input);
    const msg = `input stream ${input} updated: ${changed.sort().join(', ')}`;
    if (bound.length === 0) changes.push(this.userEvent('', '', 'InputUpdated', user, msg, { input, components: changed }));
    for (const s of bound) changes.push(this.userEvent(s.name, '', 'InputUpdated', user, msg, { input, components: changed }));
    await this.commit(changes);
    this.wakeInput(input);
  }

  async overridePhase(stream: string, tag: string, phase: 'Accepted' | 'Rejected', reason: string, user: string): Promise<void> {
    if (phase !== 'Accepted' && phase !== 'Rejected') throw new OperationError('bad_request', 'phase must be Accepted or Rejected');
    if (!reason.trim()) throw new OperationError('bad_request', 'reason is required');
    const { rec, p } = this.requirePayload(stream, tag);
    if (p.phase === 'Pending') throw new OperationError('conflict', `${tag} is still Pending: it can be overridden once its payload is built`);
    if (p.phase === 'Failed') throw new OperationError('conflict', `${tag} is Failed: a payload that could not be built cannot be overridden`);
    const at = rfc3339(this.clock.now());
    const next: Payload = {
      ...p, phase, override: { phase, reason, user, at }, reason: `ReleasePayloadManually${phase}`, message: reason,
      phaseChangedAt: p.phase === phase ? p.phaseChangedAt : at,
    };
    await this.commit([
      { kind: 'putPayload', payload: withAnnotations(next, rec.config, this.state.runs(stream, tag)) },
      this.userEvent(stream, tag, 'PhaseOverridden', user, `manually ${phase} (was ${p.phase}): ${reason}`, { phase, previous: p.phase, reason }),
    ]);
    this.wake(stream);
  }

  async qeVerdict(stream: string, tag: string, verdict: 'QEAccepted' | 'QERejected', reason: string, user: string): Promise<void> {
    if (verdict !== 'QEAccepted' && verdict !== 'QERejected') throw new OperationError('bad_request', 'verdict must be QEAccepted or QERejected');
    if (!reason.trim()) throw new OperationError('bad_request', 'reason is required');
    const { rec, p } = this.requirePayload(stream, tag);
    if (!p.qe.state && qeEntries(rec.config).length === 0) throw new OperationError('conflict', `stream ${stream} has no QE jobs`);
    if (p.phase !== 'Accepted' && p.phase !== 'Ready') throw new OperationError('conflict', `${tag} is ${p.phase}: a QE verdict needs a Ready or Accepted payload`);
    const at = rfc3339(this.clock.now());
    const qe = { ...(p.qe.state ? p.qe : emptyQEStatus()), state: verdict, reason: 'ManualOverride', message: reason, override: { phase: verdict, reason, user, at } };
    await this.commit([
      { kind: 'putPayload', payload: withAnnotations({ ...p, qe }, rec.config, this.state.runs(stream, tag)) },
      this.userEvent(stream, tag, 'QEVerdictOverridden', user, `QE verdict set to ${verdict} (was ${p.qe.state || 'none'}): ${reason}`, { qePhase: verdict, previous: p.qe.state, reason }),
    ]);
    this.wake(stream);
  }

  async qeRerun(stream: string, tag: string, reason: string, user: string): Promise<void> {
    if (!reason.trim()) throw new OperationError('bad_request', 'reason is required');
    const { rec, p } = this.requirePayload(stream, tag);
    if (qeEntries(rec.config).length === 0) throw new OperationError('conflict', `stream ${stream} has no QE jobs`);
    if (p.phase !== 'Accepted') throw new OperationError('conflict', `${tag} is ${p.phase}: QE jobs run only on Accepted payloads`);
    const running = this.state.runs(stream, tag).filter((r) => r.kind === 'qe' && r.state === 'Pending');
    const qe = { ...emptyQEStatus(), state: 'QEPending' as const, generation: p.qe.generation + 1, message: `re-run requested by ${user}` };
    await this.commit([
      { kind: 'putPayload', payload: withAnnotations({ ...p, qe }, rec.config, this.state.runs(stream, tag)) },
      this.userEvent(stream, tag, 'QERerun', user, `QE jobs re-run (generation ${qe.generation}): ${reason}`, { generation: qe.generation, previous: p.qe.state, reason }),
    ]);
    for (const r of running) await this.executor.cancel(r.id, 'Rerun').catch(() => undefined);
    this.wake(stream);
  }

  async retryJob(stream: string, tag: string, verifyName: string, reason: string, user: string): Promise<void> {
    if (!reason.trim()) throw new OperationError('bad_request', 'reason is required');
    const { rec, p } = this.requirePayload(stream, tag);
    const v = rec.config.verify?.[verifyName];
    if (!v || v.disabled) throw new OperationError('not_found', `stream ${stream} has no verification job ${verifyName}`);
    if (p.phase === 'Pending' || p.phase === 'Failed') throw new OperationError('conflict', `${tag} is ${p.phase}: its jobs cannot be retried`);
    const all = this.state.runs(stream, tag);
    let runs: JobRun[];
    let generation = 0;
    if (v.qe) {
      if (!p.qe.startedAt) throw new OperationError('conflict', `QE jobs of ${tag} have not started`);
      generation = p.qe.generation;
      if (p.qe.deadline && Date.parse(p.qe.deadline) <= this.clock.now().getTime()) {
        throw new OperationError('conflict', `the QE time limit of ${tag} has passed; re-run the QE jobs instead`);
      }
      runs = qeRunsOf(all, verifyName, generation);
    } else {
      runs = decidingRuns(v, verifyName, all);
    }
    if (runs.some((r) => r.state === 'Pending')) throw new OperationError('conflict', `${verifyName} is still running on ${tag}`);
    if (runs.some((r) => r.state === 'Succeeded' && !r.reason.startsWith('NoUpgradeSource'))) throw new OperationError('conflict', `${verifyName} already succeeded on ${tag}`);
    const attempt = runs.reduce((m, r) => Math.max(m, r.attempt + 1), 0);
    const template = runs[runs.length - 1];
    const kind = template?.kind ?? runKind(v);
    const extra = v.qe && generation > 0 ? `rerun${generation}` : '';
    const at = rfc3339(this.clock.now());
    const run: JobRun = {
      id: kind === 'aggregator' ? aggregatorRunName(tag, verifyName, attempt) : runName(tag, verifyName, attempt, extra),
      stream, tag, verifyName, jobName: template?.jobName ?? (v.prowJob?.name || verifyName), kind, attempt, generation, state: 'Pending', url: '',
      upgradeFrom: template?.upgradeFrom ?? '', upgradeFromPullSpec: template?.upgradeFromPullSpec ?? '', createdAt: at, startedAt: null, finishedAt: null,
      reason: '', logPath: '',
    };
    if (this.state.run(run.id)) throw new OperationError('conflict', `run ${run.id} already exists`);
    if (v.upgrade && !run.upgradeFromPullSpec) throw new OperationError('conflict', `${verifyName} has no upgrade source for ${tag}`);
    const changes: Change[] = [
      { kind: 'putJobRun', run },
      this.userEvent(stream, tag, 'JobRetryRequested', user, `${verifyName} retried (attempt ${attempt + 1}): ${reason}`, { verifyName, runId: run.id, attempt, reason }),
    ];
    // a retried blocking job may still accept a payload it rejected; a retried QE job reopens the verdict
    if (!v.qe && p.phase === 'Rejected' && !p.override) {
      changes.push({ kind: 'putPayload', payload: withAnnotations({ ...p, phase: 'Ready', reason: '', message: '', phaseChangedAt: at }, rec.config, all) });
      changes.push(this.userEvent(stream, tag, 'PhaseChanged', user, `Rejected → Ready (job ${verifyName} retried)`, { phase: 'Ready', previous: 'Rejected' }));
    }
    if (v.qe && p.qe.state === 'QERejected' && !p.qe.override) {
      changes.push({ kind: 'putPayload', payload: withAnnotations({ ...p, qe: { ...p.qe, state: 'QERunning', reason: '', message: '' } }, rec.config, all) });
    }
    await this.commit(changes);
    await this.launchOne(this.specFor(run, this.state.payload(stream, tag)!, {}));
    this.wake(stream);
  }
}

/** The store changes of a plan, in an order that satisfies foreign keys. */
export function planChanges(plan: Plan): Change[] {
  const out: Change[] = [];
  for (const p of plan.deletes) out.push({ kind: 'deletePayload', stream: p.stream, tag: p.tag });
  for (const p of plan.payloads) out.push({ kind: 'putPayload', payload: p });
  for (const r of plan.runs) out.push({ kind: 'putJobRun', run: r });
  for (const u of plan.inputUpdates) out.push({ kind: 'setInputTags', input: u.input, tags: u.tags });
  for (const r of plan.published) out.push({ kind: 'putPublished', ref: r });
  for (const e of plan.events) out.push({ kind: 'appendEvent', event: e });
  return out;
}

