// Model-based test of the verdict rules (issue 12, DESIGN.md §14): random sequences of input
// changes, job results, overrides, QE verdicts, QE re-runs, retries, waivers, config edits and
// controller crashes, outages (every job ends while the controller is down past QE deadlines) and
// clean restarts, over a simulated clock, against the REAL Controller on a REAL SQLite file
// (test/helpers/model.ts: the in-process job system and executor, a deterministic builder). After every step the invariants below are checked against controller.state
// and the store's audit trail; at the end of each run against the store re-loaded from disk.
//
// Seeded and reproducible: a failure prints `seed=<n> step=<k>`, the violations and the action
// log; `MODEL_SEED=<n> node scripts/run-tests.mjs model` runs that seed alone (MODEL_STEPS=<k>
// changes the number of steps, MODEL_SEEDS=<n> the number of seeds; default 16 × 100, ~7 s).
//
// Invariants (numbers used in the messages):
//  1. a payload Accepted by CI (no phase override) had, for every blocking entry of its frozen
//     job set, before the event that accepted it: a deciding run that Succeeded, or a waiver, or
//     the entry was `notRun` (see checkAccepted for the exact exception);
//  2. QE state QEAccepted ⇒ phase Accepted (overrides included); a Rejected or Failed payload
//     has QE state '' or QESkipped and no QE run still running; a QE verdict made by the jobs
//     agrees with the runs that finished before the QE deadline;
//  3. the job system never receives the same runId twice; no two non-Interrupted runs of one
//     entry + kind + attempt + QE generation; every launch was recorded first, with the recorded
//     launch environment; every Pending run is running in the job system and vice versa;
//  4. interrupted runs never count: the non-Interrupted runs of an entry have attempts 0..k-1
//     with k ≤ 1 + maxRetries (+ manual retries); a payload Rejected (or QERejected) because of
//     an entry ran 1 + maxRetries real attempts of it; every recorded result is the one the job
//     system reported; an aggregated entry has only analysis and aggregator runs;
//  5. after the controller is idle, one more pass (controller.reconcile) plans nothing;
//  6. events are recorded once per real transition (per-type rules and a total bound, see
//     checkEvents);
//  7. a restart (crash or clean) loses nothing: the new controller loads exactly the state the
//     old one had; the store re-loaded at the end matches controller.state.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller, type LoadedStream } from '../../src/controller/controller.ts';
import { OperationError } from '../../src/controller/operations.ts';
import { State } from '../../src/controller/state.ts';
import { qeEntries, ReleaseConfigSchema, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import { entryConditions, judgingConfig } from '../../src/domain/judging.ts';
import type { Plan } from '../../src/domain/plan.ts';
import { qeRunsOf } from '../../src/domain/qe.ts';
import type { EventRecord, JobRun, JobRunState, Payload, Phase } from '../../src/domain/types.ts';
import { decidingRuns, isInterrupted } from '../../src/domain/verification.ts';
import type { WorldView } from '../../src/domain/world.ts';
import type { Store } from '../../src/ports/store.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { FakeBuilder, FakeExecutor, JobWorld, rng, type Rng } from '../helpers/model.ts';

const SEED_COUNT = Number(process.env.MODEL_SEEDS ?? 16);
const SEEDS = process.env.MODEL_SEED ? [Number(process.env.MODEL_SEED)] : Array.from({ length: SEED_COUNT }, (_, i) => 1 + i);
const STEPS = Number(process.env.MODEL_STEPS ?? 100);

const A = '4.20.0-0.nightly';
const B = '4.21.0-0.ci';
const T0 = Date.parse('2024-05-01T12:00:00Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

// ------------------------------------------------------------------------------------ configs

interface RawEntry {
  optional?: boolean;
  upgrade?: boolean;
  upgradeFrom?: string;
  disabled?: boolean;
  qe?: boolean;
  maxRetries?: number;
  prowJob?: { name: string };
  aggregatedProwJob?: { analysisJobCount: number };
}

interface RawStream {
  name: string;
  to: string;
  source: string;
  verify: Record<string, RawEntry>;
  qe?: { timeout: string; gate?: string };
}

/** 1–2 streams: blocking, informing, blocking upgrade (Previous), QE (one optional), maybe an aggregated entry. */
function initialStreams(r: Rng): RawStream[] {
  const shared = r.chance(0.4);
  const mr = () => r.int(3);
  const a: RawStream = {
    name: A,
    to: 'release',
    source: shared ? 'ocp' : 'ocp-4.20',
    verify: {
      e2e: { maxRetries: mr(), prowJob: { name: 'e2e-aws' } },
      upg: { upgrade: true, maxRetries: mr(), prowJob: { name: 'e2e-aws-upgrade' } },
      inf: { optional: true, maxRetries: mr(), prowJob: { name: 'e2e-gcp' } },
      'qe-a': { qe: true, maxRetries: mr(), prowJob: { name: 'qe-e2e' } },
      'qe-b': { qe: true, optional: true, prowJob: { name: 'qe-serial' } },
    },
    qe: { timeout: '2h', gate: r.pick(['InformingPassed', 'InformingCompleted', 'Accepted']) },
  };
  if (r.chance(0.6)) a.verify.agg = { aggregatedProwJob: { analysisJobCount: 3 }, maxRetries: mr(), prowJob: { name: 'e2e-agg' } };
  const out = [a];
  if (r.chance(0.7)) {
    const b: RawStream = {
      name: B,
      to: 'release',
      source: shared ? 'ocp' : 'ocp-4.21',
      verify: {
        'b-e2e': { maxRetries: mr(), prowJob: { name: 'b-e2e' } },
        'b-inf': { optional: true, maxRetries: mr(), prowJob: { name: 'b-inf' } },
        'b-upg': { upgrade: true, optional: true, prowJob: { name: 'b-upg' } },
      },
    };
    // a blocking upgrade job whose source (a 4.20 stable release) never exists: it waits, and only a waiver helps
    if (r.chance(0.7)) b.verify['b-minor'] = { upgrade: true, upgradeFrom: 'PreviousMinor', prowJob: { name: 'b-minor' } };
    out.push(b);
  }
  return out;
}

function loaded(raw: RawStream[]): LoadedStream[] {
  return raw.map((s) => ({ name: s.name, config: ReleaseConfigSchema.parse(structuredClone(s)), file: `${s.name}.json`, input: s.source }));
}

// ------------------------------------------------------------------------------------ helpers

type Events = Map<string, EventRecord[]>;

function byTag(events: EventRecord[]): Events {
  const m: Events = new Map();
  for (const e of events) {
    let arr = m.get(e.tag);
    if (!arr) m.set(e.tag, (arr = []));
    arr.push(e);
  }
  for (const arr of m.values()) arr.sort((x, y) => (x.id ?? 0) - (y.id ?? 0));
  return m;
}

const str = (x: unknown) => (typeof x === 'string' ? x : '');

function isEmptyPlan(p: Plan): boolean {
  return (
    p.payloads.length + p.deletes.length + p.runs.length + p.events.length + p.published.length + p.inputUpdates.length + p.launches.length + p.cancels.length + p.builds.length === 0 &&
    p.streamUpdate === null
  );
}

function describePlan(p: Plan): string {
  return JSON.stringify({
    payloads: p.payloads.map((x) => `${x.tag}:${x.phase}/${x.qe.state}`),
    runs: p.runs.map((r) => r.id),
    events: p.events.map((e) => `${e.tag} ${e.type}: ${e.message}`),
    launches: p.launches.map((l) => l.runId),
    cancels: p.cancels,
    builds: p.builds,
    deletes: p.deletes.map((d) => d.tag),
    streamUpdate: p.streamUpdate ? Object.keys(p.streamUpdate.conditions ?? {}) : null,
  });
}

/** The controller's real-time timers (unref'd setTimeouts); meaningless under a simulated clock. */
function clearTimers(c: Controller): void {
  const timers = (c as unknown as { timers: Map<string, { handle: NodeJS.Timeout }> }).timers;
  for (const t of timers.values()) clearTimeout(t.handle);
  timers.clear();
}

/** JSON with sorted keys (the store returns fields in its column order) */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

interface Durable {
  payloads: string[];
  runs: string[];
}

/** The durable part of the state, for comparing two controllers (or a controller and the store). */
function snapshotOf(v: WorldView, streams: string[]): Durable {
  const payloads: string[] = [];
  const runs: string[] = [];
  for (const s of streams) {
    for (const p of v.payloads(s)) {
      payloads.push(canonical(p));
      for (const r of v.runs(s, p.tag)) runs.push(canonical(r));
    }
  }
  return { payloads: payloads.sort(), runs: runs.sort() };
}

/** a payload's phase as its events gave it before event `at` (null: it did not exist yet) */
function phaseAt(events: Events, tag: string, at: number): Phase | null {
  let ph: Phase | null = null;
  for (const e of events.get(tag) ?? []) {
    if ((e.id ?? Infinity) >= at) break;
    if (e.type === 'PayloadCreated') ph = 'Pending';
    else if ((e.type === 'PhaseChanged' || e.type === 'PhaseOverridden') && str(e.data.phase)) ph = str(e.data.phase) as Phase;
  }
  return ph;
}

/** the stream's events in order, for a violation message */
function trail(events: Events, limit = 60): string {
  const all = [...events.values()].flat().sort((x, y) => (x.id ?? 0) - (y.id ?? 0));
  return '\n      ' + all.slice(-limit).map((e) => `#${e.id} ${e.tag.slice(-6) || '-'} ${e.type}: ${e.message}`).join('\n      ');
}

/** what differs between two durable snapshots ('' when nothing) */
function diffDurable(want: Durable, got: Durable): string {
  const out: string[] = [];
  for (const k of ['payloads', 'runs'] as const) {
    const a = new Set(want[k]);
    const b = new Set(got[k]);
    for (const x of a) if (!b.has(x)) out.push(`missing ${k.slice(0, -1)} ${x}`);
    for (const x of b) if (!a.has(x)) out.push(`unexpected ${k.slice(0, -1)} ${x}`);
  }
  return out.slice(0, 6).join('\n    ');
}

function blocking(v: { optional?: boolean; qe?: boolean; disabled?: boolean }): boolean {
  return !v.optional && !v.qe && !v.disabled;
}

/** `analysis-<i>` runs and their relaunches `analysis-<i>-i<k>` share one slot */
function analysisSlot(r: JobRun): string {
  return r.id.replace(/-i\d+$/, '');
}

// ------------------------------------------------------------------------------------ the model

class ModelRun {
  readonly r: Rng;
  readonly dir = tempDir('rc-model-');
  readonly dbFile: string;
  simNow = T0;
  readonly clock = { now: () => new Date(this.simNow) };
  readonly world = new JobWorld(() => new Date(this.simNow));
  readonly builder = new FakeBuilder();
  readonly raw: RawStream[];
  /** entries removed by config edits, to be added back later */
  readonly stash = new Map<string, Map<string, RawEntry>>();
  store!: Store;
  exec!: FakeExecutor;
  controller!: Controller;
  step = 0;
  readonly log: string[] = [];
  readonly violations: string[] = [];
  /** successful manual retries: stream|tag|verify|generation → count */
  readonly manualRetries = new Map<string, number>();
  /** successful operations per payload: stream|tag → count */
  readonly opsOn = new Map<string, number>();
  /** config edits per stream, and when edits of QE entries happened (simulated time) */
  readonly edits = new Map<string, number>();
  readonly qeEditTimes = new Map<string, number[]>();
  readonly stats: Record<string, number> = {};
  private inputCounter = 0;
  private newEntryCounter = 0;
  /** the component sets each input has had (restoring one re-creates an old input hash) */
  private readonly inputHistory = new Map<string, Record<string, string>[]>();

  constructor(readonly seed: number) {
    this.r = rng(seed);
    this.dbFile = join(this.dir, 'rc.db');
    this.raw = initialStreams(this.r);
  }

  get streams(): string[] {
    return this.raw.map((s) => s.name);
  }

  count(k: string): void {
    this.stats[k] = (this.stats[k] ?? 0) + 1;
  }

  note(msg: string): void {
    this.log.push(`step ${this.step}: ${msg}`);
  }

  violation(msg: string): void {
    this.violations.push(`step ${this.step}: ${msg}`);
  }

  // -------------------------------------------------------------------------------- lifecycle

  /** opens a store handle and a controller with a new executor instance on the shared job world */
  async boot(): Promise<void> {
    this.store = openSqliteStore(this.dbFile);
    const mode = this.r.chance(0.5) ? 'detach' : 'stop';
    this.exec = new FakeExecutor(this.world, mode, (id) => this.controller.state.run(id));
    this.controller = await Controller.create({
      store: this.store,
      executor: this.exec,
      builder: this.builder,
      streams: loaded(this.raw),
      clock: this.clock,
      resyncMs: 0,
    });
  }

  async start(): Promise<void> {
    await this.boot();
    await this.controller.start();
    await this.settle();
  }

  /**
   * Waits until the controller has nothing outstanding: no pass, queued wake or build, and no
   * status report still on its way (the fake executor reports synchronously; recording it takes
   * a few microtasks). Its real-time timers are cleared: time only moves by advance().
   */
  async settle(): Promise<void> {
    let version = -1;
    for (let i = 0; i < 500; i++) {
      await this.idleOrTimeout();
      await new Promise((r) => setImmediate(r));
      if (this.controller.state.version === version) {
        clearTimers(this.controller);
        return;
      }
      version = this.controller.state.version;
    }
    throw new Error('the controller did not become idle');
  }

  /** controller.idle(), but a controller that keeps itself busy (a livelock) fails the run instead of hanging it */
  private async idleOrTimeout(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 5000)));
    const r = await Promise.race([this.controller.idle().then(() => 'idle' as const), timeout]);
    clearTimeout(timer);
    if (r === 'idle') return;
    const c = this.controller;
    await Promise.race([c.stop(), new Promise((res) => setTimeout(res, 1000))]);
    for (const v of this.world.violations.splice(0)) this.violation(`3: ${v}`);
    throw new Error(`the controller was still busy after 5 s of real time (a loop that never converges?); ${this.world.launches.size} runs launched`);
  }

  async advance(ms: number): Promise<void> {
    this.simNow += ms;
    this.controller.resyncAll();
    await this.settle();
  }

  /**
   * A crash: the controller object is abandoned without stop(). Its executor stops reporting
   * (detached), its timers are cleared, and its store handle is closed once the next controller
   * has opened its own. While it is down, running jobs may finish or be lost, and runs launched
   * in the step before may never have reached the job system (crash between record and launch).
   */
  async crash(outage = false): Promise<void> {
    const old = this.controller;
    const oldStore = this.store;
    const oldExec = this.exec;
    oldExec.detach();
    clearTimers(old);
    const before = snapshotOf(old.state, this.streams);
    const w = this.world;
    const lost: string[] = [];
    for (const id of [...w.running.keys()]) {
      // an outage: every job ends while the controller is down for a long time (past QE deadlines)
      const x = outage ? this.r.next() * 0.3 : this.r.next();
      if (x < 0.2) {
        const st: JobRunState = this.r.chance(0.7) ? 'Succeeded' : 'Failed';
        w.endUnwatched(id, st, st === 'Failed' ? 'exit code 1' : '');
        lost.push(`${id}→${st}`);
      } else if (x < 0.3) {
        w.endUnwatched(id, 'Interrupted', 'Lost');
        lost.push(`${id}→Lost`);
      } else if (x < 0.5 && w.launches.get(id)?.[0].step === this.step - 1 && w.launches.get(id)?.[0].instance === oldExec.instance) {
        w.undeliver(id);
        lost.push(`${id}→never launched`);
      }
    }
    const down = outage ? this.r.pick([90 * MIN, 150 * MIN, 4 * HOUR]) : this.r.chance(0.5) ? this.r.pick([10 * SEC, 5 * MIN, 30 * MIN, 3 * HOUR]) : 0;
    this.simNow += down;
    this.note(`${outage ? 'outage' : 'crash'} (down ${down / SEC}s; ${lost.join(', ') || 'no job changes'})`);
    await this.boot();
    await oldStore.close();
    this.compareLoaded(before, 'after a crash');
    await this.controller.start();
    await this.settle();
  }

  /** A clean stop (stop(): the executor lets its jobs go or stops them as Interrupted "Shutdown"), then a new controller. */
  async restart(): Promise<void> {
    const mode = this.exec.onShutdown;
    await this.controller.stop();
    const before = snapshotOf(this.controller.state, this.streams);
    await this.store.close();
    this.note(`clean restart (executor on shutdown: ${mode})`);
    await this.boot();
    this.compareLoaded(before, 'after a clean stop');
    await this.controller.start();
    await this.settle();
  }

  /** invariant 7: what the new controller loaded is what the old one had */
  private compareLoaded(before: Durable, when: string): void {
    const d = diffDurable(before, snapshotOf(this.controller.state, this.streams));
    if (d) this.violation(`7: the state loaded ${when} differs from the state before it: ${d}`);
  }

  // -------------------------------------------------------------------------------- actions

  private payloads(): Payload[] {
    return this.streams.flatMap((s) => [...this.controller.state.payloads(s)]);
  }

  /** a payload, preferring those matching `prefer` */
  private pickPayload(prefer: (p: Payload) => boolean = () => true): Payload | undefined {
    const all = this.payloads();
    const good = all.filter(prefer);
    if (good.length && this.r.chance(0.85)) return this.r.pick(good);
    return all.length ? this.r.pick(all) : undefined;
  }

  private async op(what: string, p: Payload, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      this.count('ops applied');
      const k = `${p.stream}|${p.tag}`;
      this.opsOn.set(k, (this.opsOn.get(k) ?? 0) + 1);
      this.note(`${what}: applied`);
      return true;
    } catch (e) {
      if (!(e instanceof OperationError)) throw e;
      this.count('ops refused');
      this.note(`${what}: refused (${e.code}: ${e.message})`);
      return false;
    }
  }

  async act(): Promise<void> {
    const kind = this.r.weighted({
      input: 11, finish: 26, finishAll: 4, time: 14, override: 4, qeVerdict: 4, qeRerun: 3, retry: 8, waive: 6, edit: 6, crash: 4, outage: 2, restart: 3,
    });
    this.count(kind);
    switch (kind) {
      case 'input':
        return this.inputChange();
      case 'finish':
        return this.finishOne();
      case 'finishAll':
        for (const id of [...this.world.running.keys()]) this.finish(id);
        return this.settle();
      case 'time':
        return this.timeStep();
      case 'override':
        return this.override();
      case 'qeVerdict':
        return this.qeVerdict();
      case 'qeRerun':
        return this.qeRerun();
      case 'retry':
        return this.retry();
      case 'waive':
        return this.waive();
      case 'edit':
        return this.edit();
      case 'crash':
        return this.crash();
      case 'outage':
        return this.crash(true);
      case 'restart':
        return this.restart();
    }
  }

  private async inputChange(): Promise<void> {
    // a new tag needs a new second of the clock (tags are named after the creation time)
    await this.advance(SEC + this.r.int(30 * SEC));
    const s = this.r.pick(this.raw);
    const input = s.source;
    const history = this.inputHistory.get(input) ?? [];
    this.inputHistory.set(input, history);
    let tags: Record<string, string>;
    if (history.length > 1 && this.r.chance(0.1)) {
      tags = this.r.pick(history.slice(0, -1)); // back to an old set: no new images
    } else {
      tags = { ...(history[history.length - 1] ?? {}) };
      for (const c of ['cli', 'installer', 'machine-config-operator']) {
        if (tags[c] && !this.r.chance(0.5)) continue;
        const n = ++this.inputCounter;
        const hex = createHash('sha256').update(`${this.seed}-${n}`).digest('hex');
        tags[c] = this.r.chance(0.04) ? `quay.io/invalid/${c}:bad tag ${n}` : `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${hex}`;
      }
    }
    history.push(tags);
    this.note(`input ${input}: ${Object.entries(tags).map(([c, v]) => `${c}=${v.includes('invalid') ? 'INVALID' : v.slice(-6)}`).join(' ')}`);
    await this.controller.setInputTags(input, tags, 'model');
    await this.settle();
  }

  private finish(id: string): void {
    const st = this.r.weighted({ Succeeded: 5, Failed: 4, Interrupted: 1 }) as JobRunState;
    this.exec.finish(id, st, st === 'Failed' ? 'exit code 1' : st === 'Interrupted' ? 'Lost' : '');
    this.note(`job ${id} → ${st}`);
  }

  private async finishOne(): Promise<void> {
    const running = [...this.world.running.keys()];
    if (running.length === 0) return this.timeStep();
    this.finish(this.r.pick(running));
    await this.settle();
  }

  private async timeStep(): Promise<void> {
    const ms = this.r.pick([5 * SEC, 45 * SEC, 2 * MIN, 5 * MIN, 16 * MIN, 45 * MIN, 150 * MIN]);
    this.note(`time +${ms / SEC}s`);
    await this.advance(ms);
  }

  private async override(): Promise<void> {
    const p = this.pickPayload((x) => x.phase !== 'Pending');
    if (!p) return this.timeStep();
    const phase = this.r.pick(['Accepted', 'Rejected'] as const);
    await this.op(`override ${p.tag} (${p.phase}/${p.qe.state || '-'}) → ${phase}`, p, () => this.controller.overridePhase(p.stream, p.tag, phase, 'model override', 'admin'));
    await this.settle();
  }

  private async qeVerdict(): Promise<void> {
    const p = this.pickPayload((x) => x.phase === 'Accepted' || x.qe.state === 'QERunning');
    if (!p) return this.timeStep();
    const verdict = this.r.pick(['QEAccepted', 'QERejected'] as const);
    await this.op(`qe verdict ${p.tag} (${p.phase}/${p.qe.state || '-'}) → ${verdict}`, p, () => this.controller.qeVerdict(p.stream, p.tag, verdict, 'model verdict', 'qe'));
    await this.settle();
  }

  private async qeRerun(): Promise<void> {
    const p = this.pickPayload((x) => x.phase === 'Accepted' && x.qe.state !== '');
    if (!p) return this.timeStep();
    await this.op(`qe rerun ${p.tag} (${p.phase}/${p.qe.state || '-'})`, p, () => this.controller.qeRerun(p.stream, p.tag, 'model rerun', 'qe'));
    await this.settle();
  }

  /** entries of a payload that have failed attempts and no success */
  private failedEntries(p: Payload): string[] {
    const runs = this.controller.state.runs(p.stream, p.tag);
    const names = new Set<string>();
    for (const r of runs) if ((r.state === 'Failed' || r.state === 'Aborted') && r.kind !== 'analysis') names.add(r.verifyName);
    for (const r of runs) if (r.state === 'Succeeded' || r.state === 'Pending') names.delete(r.verifyName);
    return [...names].sort();
  }

  private async retry(): Promise<void> {
    const p = this.pickPayload((x) => this.failedEntries(x).length > 0);
    if (!p) return this.timeStep();
    const rec = this.controller.state.stream(p.stream);
    if (!rec) return;
    const judged = judgingConfig(rec.config, p);
    const failed = this.failedEntries(p);
    const any = [...Object.keys(judged.verify ?? {}), '__proto__', 'no-such-job'];
    const name = failed.length && this.r.chance(0.8) ? this.r.pick(failed) : this.r.pick(any);
    const v = Object.hasOwn(judged.verify ?? {}, name) ? judged.verify![name] : undefined;
    const generation = v?.qe ? p.qe.generation : 0;
    const ok = await this.op(`retry ${p.tag} ${name} (${p.phase}/${p.qe.state || '-'})`, p, () => this.controller.retryJob(p.stream, p.tag, name, 'model retry', 'ci'));
    if (ok) {
      const k = `${p.stream}|${p.tag}|${name}|${generation}`;
      this.manualRetries.set(k, (this.manualRetries.get(k) ?? 0) + 1);
    }
    await this.settle();
  }

  private conditionsOf(p: Payload): string[] {
    const rec = this.controller.state.stream(p.stream);
    if (!rec) return [];
    const c = entryConditions(this.controller.state, rec.config, p, this.controller.state.runs(p.stream, p.tag));
    return [...c].filter(([, x]) => x.kind !== 'waived').map(([n]) => n).sort();
  }

  private async waive(): Promise<void> {
    const p = this.pickPayload((x) => (x.phase === 'Ready' || x.phase === 'Accepted') && this.conditionsOf(x).length > 0);
    if (!p) return this.timeStep();
    const conds = this.conditionsOf(p);
    const all = Object.keys(p.jobs?.verify ?? {});
    const name = conds.length && this.r.chance(0.85) ? this.r.pick(conds) : all.length ? this.r.pick(all) : 'no-such-job';
    await this.op(`waive ${p.tag} ${name} (${p.phase})`, p, () => this.controller.waiveJob(p.stream, p.tag, name, 'model waiver', 'ci'));
    await this.settle();
  }

  /** add / remove / disable / re-enable an entry (blocking, informing, QE), or change its maxRetries */
  private async edit(): Promise<void> {
    const s = this.r.pick(this.raw);
    const names = Object.keys(s.verify).sort();
    const stash = this.stash.get(s.name) ?? new Map<string, RawEntry>();
    this.stash.set(s.name, stash);
    let what = this.r.weighted({ toggle: 3, remove: 2, add: 3, retries: 3 });
    if (what === 'remove' && names.length <= 1) what = 'add';
    let desc = '';
    if (what === 'toggle') {
      const n = this.r.pick(names);
      const v = s.verify[n];
      if (v.disabled) delete v.disabled;
      else v.disabled = true;
      desc = `${v.disabled ? 'disable' : 'enable'} ${n}`;
    } else if (what === 'remove') {
      const n = this.r.pick(names);
      stash.set(n, s.verify[n]);
      delete s.verify[n];
      desc = `remove ${n}`;
    } else if (what === 'add') {
      if (stash.size && this.r.chance(0.5)) {
        const n = this.r.pick([...stash.keys()].sort());
        s.verify[n] = stash.get(n)!;
        stash.delete(n);
        desc = `add back ${n}`;
      } else {
        const k = ++this.newEntryCounter;
        const type = this.r.pick(['blocking', 'informing', 'qe'] as const);
        const n = `new-${type}-${k}`;
        s.verify[n] = { maxRetries: this.r.int(3), prowJob: { name: n }, ...(type === 'informing' ? { optional: true } : {}), ...(type === 'qe' ? { qe: true } : {}) };
        desc = `add ${n}`;
      }
    } else {
      const n = this.r.pick(names);
      s.verify[n].maxRetries = this.r.int(3);
      desc = `maxRetries of ${n} = ${s.verify[n].maxRetries}`;
    }
    this.edits.set(s.name, (this.edits.get(s.name) ?? 0) + 1);
    const entry = desc.split(' ').find((w) => Object.hasOwn(s.verify, w) || stash.has(w));
    const qeEdit = entry !== undefined && Boolean((Object.hasOwn(s.verify, entry) ? s.verify[entry] : stash.get(entry))?.qe);
    if (qeEdit) this.qeEditTimes.set(s.name, [...(this.qeEditTimes.get(s.name) ?? []), this.simNow]);
    this.note(`config edit ${s.name}: ${desc}`);
    await this.controller.applyConfigs(loaded(this.raw));
    await this.settle();
  }

  // -------------------------------------------------------------------------------- invariants

  /** every invariant, after a step: the view is controller.state, events come from the store */
  async check(): Promise<void> {
    const w = this.world;
    for (const v of w.violations.splice(0)) this.violation(`3: ${v}`);
    const view = this.controller.state;
    for (const s of this.streams) {
      const events = byTag(await this.controller.listEvents({ stream: s, limit: 10_000 }));
      for (const p of view.payloads(s)) this.checkPayload(view, p, events);
    }
    // 3: the job system and the record agree (nothing stuck Pending, no orphan jobs)
    for (const r of view.allRuns()) {
      if (r.state === 'Pending' && !w.running.has(r.id)) this.violation(`3: run ${r.id} is Pending but not running in the job system`);
    }
    for (const id of w.running.keys()) {
      const r = view.run(id);
      if (!r || r.state !== 'Pending') this.violation(`3: job ${id} is running but recorded as ${r?.state ?? 'nothing'}`);
    }
    // 4: every recorded result is the one the job system reported (an interruption stays an interruption)
    for (const s of this.streams) {
      for (const p of view.payloads(s)) {
        for (const r of view.runs(s, p.tag)) {
          const ended = w.ended.get(r.id);
          if (ended && r.state !== 'Pending' && r.state !== ended.state) this.violation(`4: run ${r.id} ended ${ended.state} (${ended.reason}) but is recorded as ${r.state} (${r.reason})`);
          if (ended && r.state === 'Pending') this.violation(`4: run ${r.id} ended ${ended.state} but is still recorded as Pending`);
        }
      }
    }
    // 5: a pass after the fixpoint is empty
    for (const s of this.streams) {
      const plan = await this.controller.reconcile(s);
      if (plan && !isEmptyPlan(plan)) this.violation(`5: a pass of ${s} after the fixpoint planned ${describePlan(plan)}`);
    }
    await this.settle();
  }

  /** invariants 1, 2, 4 and 6 for one payload */
  checkPayload(view: WorldView, p: Payload, events: Events): void {
    const runs = view.runs(p.stream, p.tag);
    const rec = view.stream(p.stream);
    const mine = events.get(p.tag) ?? [];
    // 2
    if (p.qe.state === 'QEAccepted' && p.phase !== 'Accepted') this.violation(`2: ${p.tag} is QEAccepted but ${p.phase}`);
    // 2 (the other half of DESIGN §14): QE does not go on for a payload CI did not accept
    if (p.phase === 'Rejected' || p.phase === 'Failed') {
      if (p.qe.state !== '' && p.qe.state !== 'QESkipped') this.violation(`2: ${p.tag} is ${p.phase} with QE state ${p.qe.state} (want QESkipped)`);
      const qeRunning = runs.filter((r) => r.kind === 'qe' && r.state === 'Pending');
      if (qeRunning.length) this.violation(`2: ${p.tag} is ${p.phase} but QE runs still run: ${qeRunning.map((r) => r.id).join(', ')}`);
    }
    // 3 (record side): one non-Interrupted run per entry + kind + attempt + generation (analysis: per slot)
    const seen = new Map<string, string>();
    for (const r of runs) {
      if (isInterrupted(r)) continue;
      const k = r.kind === 'analysis' ? `analysis ${analysisSlot(r)}` : `${r.verifyName}/${r.kind}/attempt ${r.attempt}/gen ${r.generation}`;
      const other = seen.get(k);
      if (other) this.violation(`3: ${p.tag}: runs ${other} and ${r.id} are both ${k} and neither was interrupted`);
      seen.set(k, r.id);
    }
    this.checkAttempts(p, runs);
    if (rec) this.checkQEDeadline(rec.config, p, runs);
    if (p.phase === 'Accepted' && !p.override && rec) this.checkAccepted(view, rec.config, p, runs, events);
    this.checkEvents(view, p, runs, mine, events);
  }

  /**
   * Invariant 2, the QE time limit: the verdict from runs that finished before the deadline comes
   * first. A job-made QEAccepted ("QE jobs passed: a, b") needs a success of each job it names
   * finished by the deadline; a QETimeout is wrong when every required QE job of the payload had
   * one (checked only when no QE entry of the stream was edited since QE started: an edit can
   * change which jobs decide).
   */
  private checkQEDeadline(config: ReleaseConfig, p: Payload, runs: readonly JobRun[]): void {
    const qe = p.qe;
    if (!qe.startedAt || !qe.deadline || qe.override) return;
    const deadline = Date.parse(qe.deadline);
    const passedInTime = (n: string) => qeRunsOf(runs, n, qe.generation).some((r) => r.state === 'Succeeded' && r.finishedAt !== null && Date.parse(r.finishedAt) <= deadline);
    if (qe.state === 'QEAccepted' && qe.reason === 'QEJobsPassed' && qe.message.startsWith('QE jobs passed: ')) {
      const missing = qe.message.slice('QE jobs passed: '.length).split(', ').filter((n) => !passedInTime(n));
      if (missing.length) this.violation(`2: ${p.tag} QEAccepted by its jobs but ${missing.join(', ')} did not pass before the deadline ${qe.deadline}`);
    }
    if (qe.state === 'QERejected' && qe.reason === 'QETimeout') {
      const started = Date.parse(qe.startedAt);
      if ((this.qeEditTimes.get(p.stream) ?? []).some((t) => t >= started)) return;
      const active = new Set(qeEntries(config).map(([n]) => n));
      const required = qe.jobs.filter((n) => active.has(n) && qe.verify && Object.hasOwn(qe.verify, n) && !qe.verify[n].optional);
      if (required.length && required.every(passedInTime)) this.violation(`2: ${p.tag} QERejected (QETimeout) although every required QE job passed before the deadline ${qe.deadline}`);
    }
  }

  /** invariant 4: interrupted attempts never consume retries and never reject */
  private checkAttempts(p: Payload, runs: readonly JobRun[]): void {
    const check = (name: string, maxRetries: number | undefined, real: JobRun[], generation: number, what: string) => {
      const manual = this.manualRetries.get(`${p.stream}|${p.tag}|${name}|${generation}`) ?? 0;
      const allowed = 1 + Math.max(0, maxRetries ?? 0) + manual;
      if (real.length > allowed) this.violation(`4: ${p.tag} ${what} ${name} has ${real.length} real attempts (allowed ${allowed}: maxRetries ${maxRetries ?? 0}, manual retries ${manual}): ${real.map((r) => r.id).join(', ')}`);
      const attempts = real.map((r) => r.attempt).sort((a, b) => a - b);
      if (attempts.some((a, i) => a !== i)) this.violation(`4: ${p.tag} ${what} ${name}: real attempts are numbered ${attempts.join(',')} (an interrupted run used an attempt?)`);
    };
    const jobs = p.jobs;
    if (jobs) {
      for (const [name, v] of Object.entries(jobs.verify)) {
        if (v.disabled || v.qe) continue;
        check(name, v.maxRetries, decidingRuns(v, name, runs).filter((r) => !isInterrupted(r)), 0, 'entry');
        const n = v.aggregatedProwJob?.analysisJobCount ?? 0;
        // an aggregated entry runs analysis jobs and aggregators only; any other run never decides it
        const stray = n > 0 ? runs.filter((r) => r.verifyName === name && r.kind !== 'analysis' && r.kind !== 'aggregator' && r.kind !== 'qe' && r.kind !== 'periodic') : [];
        if (stray.length) this.violation(`4: ${p.tag} aggregated entry ${name} has runs that can never decide it: ${stray.map((r) => `${r.id} (${r.kind})`).join(', ')}`);
        const analysis = runs.filter((r) => r.verifyName === name && r.kind === 'analysis' && !isInterrupted(r));
        if (n > 0 && analysis.length > n) this.violation(`4: ${p.tag} ${name} has ${analysis.length} real analysis runs for ${n} analysis jobs`);
      }
      // a CI rejection names entries that used every attempt for real
      if (p.phase === 'Rejected' && !p.override && p.reason === 'VerificationFailed') {
        for (const name of p.message.replace(/^release verification failed: /, '').split(', ')) {
          const v = Object.hasOwn(jobs.verify, name) ? jobs.verify[name] : undefined;
          if (!v) {
            this.violation(`4: ${p.tag} Rejected for ${name}, which is not in its frozen job set`);
            continue;
          }
          const real = decidingRuns(v, name, runs).filter((r) => !isInterrupted(r));
          if (real.length < 1 + Math.max(0, v.maxRetries ?? 0) || real.some((r) => r.state === 'Succeeded' || r.state === 'Pending')) {
            this.violation(`4: ${p.tag} Rejected for ${name} after real attempts ${real.map((r) => `${r.id}:${r.state}`).join(', ') || '(none)'} (maxRetries ${v.maxRetries ?? 0})`);
          }
        }
      }
    }
    if (p.qe.startedAt) {
      for (const name of p.qe.jobs) {
        const v = p.qe.verify && Object.hasOwn(p.qe.verify, name) ? p.qe.verify[name] : undefined;
        if (!v) continue;
        const real = qeRunsOf(runs, name, p.qe.generation).filter((r) => !isInterrupted(r));
        check(name, v.maxRetries, real, p.qe.generation, 'QE entry');
      }
      if (p.qe.state === 'QERejected' && p.qe.reason === 'QEJobsFailed' && !p.qe.override) {
        for (const name of p.qe.message.replace(/^QE jobs failed: /, '').split(', ')) {
          const v = p.qe.verify && Object.hasOwn(p.qe.verify, name) ? p.qe.verify[name] : undefined;
          const real = qeRunsOf(runs, name, p.qe.generation).filter((r) => !isInterrupted(r));
          if (!v || real.length < 1 + Math.max(0, v.maxRetries ?? 0) || real.some((r) => r.state === 'Succeeded' || r.state === 'Pending')) {
            this.violation(`4: ${p.tag} QERejected for ${name} after real attempts ${real.map((r) => `${r.id}:${r.state}`).join(', ') || '(none)'} (maxRetries ${v?.maxRetries ?? '?'})`);
          }
        }
      }
    }
  }

  /**
   * Invariant 1. Let A be the id of the event that accepted `p` (its last PhaseChanged → Accepted;
   * phase overrides are exempt). Every blocking entry of the frozen job set (not optional, not QE,
   * not disabled) must, before A, have:
   *  (a) a deciding run (decidingRuns: the aggregator runs of an aggregated entry) whose
   *      JobStateChanged → Succeeded event precedes A, or
   *  (b) a waiver whose JobWaived event precedes A, or
   *  (c) been "not run" — the one allowed exception, DESIGN §14: an upgrade entry of one of the
   *      stream's first payloads, i.e. an upgrade entry (not upgradeFromRelease) that had no run
   *      with an upgrade source launched before A, while no other payload of the stream created
   *      no later than `p` was Accepted as of A (firstPayloadUpgrade). This is entryConditions'
   *      `notRun` rule for blocking entries restated independently, so that a bug in
   *      entryConditions cannot excuse itself; entryConditions evaluated as the controller saw
   *      things at A (conditionsAt) is only quoted in the message.
   * Evaluating (c) "as of A" matters: a payload accepted through (c) must not be flagged because
   * an older payload was accepted (or overridden to Accepted) after it.
   */
  private checkAccepted(view: WorldView, config: ReleaseConfig, p: Payload, runs: readonly JobRun[], events: Events): void {
    const jobs = p.jobs;
    if (!jobs) {
      this.violation(`1: ${p.tag} is Accepted without a frozen job set`);
      return;
    }
    const mine = events.get(p.tag) ?? [];
    const acc = [...mine].reverse().find((e) => e.type === 'PhaseChanged' && e.data.phase === 'Accepted');
    if (!acc || acc.id === undefined) {
      this.violation(`1: ${p.tag} is Accepted (no override) but no event accepted it`);
      return;
    }
    const at = acc.id;
    const before = (pred: (e: EventRecord) => boolean) => mine.some((e) => (e.id ?? Infinity) < at && pred(e));
    let conditions: ReturnType<typeof entryConditions> | null = null;
    for (const [name, v] of Object.entries(jobs.verify)) {
      if (!blocking(v)) continue;
      const deciding = decidingRuns(v, name, runs);
      if (deciding.some((r) => r.state === 'Succeeded' && before((e) => e.type === 'JobStateChanged' && e.data.runId === r.id && e.data.state === 'Succeeded'))) continue;
      if (Object.hasOwn(jobs.waivers, name) && before((e) => e.type === 'JobWaived' && e.data.verifyName === name)) continue;
      conditions ??= this.conditionsAt(view, config, p, runs, events, at);
      const cond = conditions.get(name);
      if (this.firstPayloadUpgrade(view, p, name, v, runs, events, at)) continue;
      this.violation(
        `1: ${p.tag} was Accepted (event ${at}) but blocking ${name} had not succeeded, was not waived and could run (condition then: ${cond ? `${cond.kind}: ${cond.why}` : 'none'}; runs: ${deciding.map((r) => `${r.id}:${r.state}`).join(', ') || 'none'}); events of the stream: ${trail(events)}`,
      );
    }
  }

  /**
   * The "first payloads" rule of (c), stated directly: an upgrade entry (no upgradeFromRelease)
   * with no run carrying an upgrade source launched before A, and no other payload of the stream
   * created no later than `p` Accepted as of A. entryConditions says the same for blocking entries
   * (`notRun` needs !hasEarlierAccepted), except that it also looks for a source among payloads
   * created after `p`: one pass judges every payload against the state before the pass, so an
   * older first payload may be accepted in the same pass as, and right after, a newer one whose
   * acceptance it could not see yet. Both are first payloads; the rule allows both.
   */
  private firstPayloadUpgrade(view: WorldView, p: Payload, name: string, v: { upgrade?: boolean; upgradeFromRelease?: unknown }, runs: readonly JobRun[], events: Events, at: number): boolean {
    if (!v.upgrade || v.upgradeFromRelease) return false;
    const mine = events.get(p.tag) ?? [];
    const launched = (r: JobRun) => mine.some((e) => (e.id ?? Infinity) < at && (e.type === 'JobLaunched' || e.type === 'JobRetryRequested') && e.data.runId === r.id);
    if (runs.some((r) => r.verifyName === name && r.upgradeFromPullSpec && r.kind !== 'qe' && r.kind !== 'periodic' && launched(r))) return false;
    return !view.payloads(p.stream).some((x) => x.tag !== p.tag && x.createdAt <= p.createdAt && phaseAt(events, x.tag, at) === 'Accepted');
  }

  /** entryConditions of `p` as the controller saw them when event `at` was recorded */
  private conditionsAt(view: WorldView, config: ReleaseConfig, p: Payload, runs: readonly JobRun[], events: Events, at: number) {
    const list = view
      .payloads(p.stream)
      .map((x) => {
        const ph = phaseAt(events, x.tag, at);
        return ph === null ? null : ph === x.phase ? x : { ...x, phase: ph };
      })
      .filter((x): x is Payload => x !== null);
    const past: WorldView = {
      streams: () => view.streams(),
      stream: (n) => view.stream(n),
      payloads: (s) => (s === p.stream ? list : view.payloads(s)),
      payload: (s, t) => (s === p.stream ? list.find((x) => x.tag === t) : view.payload(s, t)),
      findTag: (t) => list.find((x) => x.tag === t) ?? view.findTag(t),
      runs: (s, t) => view.runs(s, t),
      periodicRuns: (s) => view.periodicRuns(s),
      inputTags: (i) => view.inputTags(i),
      upgradesInto: (t) => view.upgradesInto(t),
      upgradesOutOf: (t) => view.upgradesOutOf(t),
      published: (s) => view.published(s),
    };
    const mine = events.get(p.tag) ?? [];
    const idOf = (pred: (e: EventRecord) => boolean) => mine.find(pred)?.id ?? Infinity;
    const launchedBefore = runs.filter((r) => idOf((e) => (e.type === 'JobLaunched' || e.type === 'JobRetryRequested') && e.data.runId === r.id) < at);
    const jobs = p.jobs!;
    const waivers = Object.fromEntries(Object.entries(jobs.waivers).filter(([n]) => idOf((e) => e.type === 'JobWaived' && e.data.verifyName === n) < at));
    const removed = Object.fromEntries(Object.entries(jobs.removed).filter(([n]) => idOf((e) => e.type === 'JobRemoved' && e.data.verifyName === n) < at));
    return entryConditions(past, config, { ...p, jobs: { ...jobs, waivers, removed } }, launchedBefore);
  }

  /**
   * Invariant 6: each event records one real transition.
   * Per type: PayloadCreated once; per run, at most one JobLaunched and one JobStateChanged (a
   * run leaves Pending once and never changes again); PhaseChanged / QEStateChanged never from a
   * state to itself; JobRemoved and JobWaived at most once per entry; consecutive
   * VerificationWaiting events differ. Total bound, where R = runs of the payload, O = operations
   * applied to it, E = config edits of its stream, N = entries of its frozen job set (+ QE jobs),
   * X = phase events of the stream's other payloads (each can give it an upgrade source or take
   * one away, changing what it waits for):
   *   2R (launch + result per run) + 1 (created) + 2 + 2O (build result, one verdict per Ready
   *   period — a retry starts a new one) + 3 + 3O + 2E (QE: pending, running, verdict per QE cycle;
   *   an operation re-opens at most one cycle; an edit can drop QE to '' and bring it back) + N
   *   (removals) + 1 + O + E + X (waiting messages) + 2O (the operations' own events) + 1 (deleted).
   * A per-pass leak (an event on every pass) outgrows this after a few resyncs.
   */
  private checkEvents(view: WorldView, p: Payload, runs: readonly JobRun[], mine: EventRecord[], events: Events): void {
    const bad = (m: string) => this.violation(`6: ${p.tag}: ${m}`);
    const perRun = new Map<string, number>();
    const perEntry = new Map<string, number>();
    let created = 0;
    let lastWaiting: string | null = null;
    for (const e of mine) {
      switch (e.type) {
        case 'PayloadCreated':
          created++;
          break;
        case 'JobLaunched':
        case 'JobStateChanged': {
          const k = `${e.type} ${str(e.data.runId)}`;
          perRun.set(k, (perRun.get(k) ?? 0) + 1);
          if (perRun.get(k) === 2) bad(`${k} recorded twice`);
          break;
        }
        case 'PhaseChanged':
          if (e.data.previous === e.data.phase) bad(`PhaseChanged from ${str(e.data.phase)} to itself (event ${e.id}: ${e.message})`);
          break;
        case 'QEStateChanged':
          if (e.data.previous === e.data.qePhase) bad(`QEStateChanged from ${str(e.data.qePhase)} to itself (event ${e.id}: ${e.message})`);
          break;
        case 'JobRemoved':
        case 'JobWaived': {
          const k = `${e.type} ${str(e.data.verifyName)}`;
          perEntry.set(k, (perEntry.get(k) ?? 0) + 1);
          if (perEntry.get(k) === 2) bad(`${k} recorded twice`);
          break;
        }
        case 'VerificationWaiting':
          if (e.message === lastWaiting) bad(`VerificationWaiting "${e.message}" recorded twice in a row`);
          lastWaiting = e.message;
          break;
      }
      if (e.type === 'PhaseChanged' || e.type === 'PhaseOverridden' || e.type === 'JobRetryRequested') lastWaiting = null;
    }
    if (created !== 1) bad(`${created} PayloadCreated events`);
    const R = runs.length;
    const O = this.opsOn.get(`${p.stream}|${p.tag}`) ?? 0;
    const E = this.edits.get(p.stream) ?? 0;
    const N = Object.keys(p.jobs?.verify ?? {}).length + p.qe.jobs.length;
    let X = 0;
    for (const [tag, evs] of events) if (tag !== p.tag && tag !== '') X += evs.filter((e) => e.type === 'PhaseChanged' || e.type === 'PhaseOverridden' || e.type === 'PayloadDeleted').length;
    const bound = 2 * R + 1 + (2 + 2 * O) + (3 + 3 * O + 2 * E) + N + (1 + O + E + X) + 2 * O + 1;
    if (mine.length > bound) {
      const types = new Map<string, number>();
      for (const e of mine) types.set(e.type, (types.get(e.type) ?? 0) + 1);
      bad(`${mine.length} events > bound ${bound} (R=${R} O=${O} E=${E} N=${N} X=${X}): ${JSON.stringify(Object.fromEntries(types))}`);
    }
    void view;
  }

  /** the end of a run: clean stop, then the store re-loaded from disk must match and satisfy the invariants */
  async finalCheck(): Promise<void> {
    await this.controller.stop();
    const mem = snapshotOf(this.controller.state, this.streams);
    await this.store.close();
    const fresh = openSqliteStore(this.dbFile);
    try {
      const st = State.fromSnapshot(await fresh.load());
      const d = diffDurable(mem, snapshotOf(st, this.streams));
      if (d) this.violation(`7: the store re-loaded at the end differs from controller.state: ${d}`);
      for (const s of this.streams) {
        const list = await fresh.listEvents({ stream: s, limit: 10_000 });
        const events = byTag(list);
        for (const p of st.payloads(s)) this.checkPayload(st, p, events);
        // what the run went through, for the coverage summary
        for (const e of list) {
          const what = e.type === 'PhaseChanged' || e.type === 'PhaseOverridden' ? `${e.type}→${str(e.data.phase)}` : e.type === 'QEStateChanged' ? `QE→${str(e.data.qePhase)}${e.data.reason === 'QETimeout' ? ' (timeout)' : ''}` : e.type === 'JobStateChanged' ? `run ${str(e.data.kind)} ${str(e.data.state)}` : e.type;
          this.count(`event ${what}`);
        }
      }
    } finally {
      await fresh.close();
    }
  }

  /** MODEL_TRACE=<tag suffix>: prints the payload and its runs after every step (debugging aid) */
  trace(suffix: string): void {
    for (const p of this.payloads().filter((x) => x.tag.endsWith(suffix))) {
      const runs = this.controller.state.runs(p.stream, p.tag).map((r) => `${r.id.slice(p.tag.length + 1)}:${r.state}`);
      console.log(`[trace step ${this.step} t=${new Date(this.simNow).toISOString()}] ${p.tag} ${p.phase} qe=${p.qe.state} ciDone=${p.jobs?.ciDone} runs=${runs.join(' ')}`);
    }
  }

  report(): string {
    return [
      `seed=${this.seed} step=${this.step}`,
      ...this.violations.slice(0, 20),
      this.violations.length > 20 ? `… ${this.violations.length - 20} more` : '',
      `reproduce: MODEL_SEED=${this.seed}${STEPS !== 100 ? ` MODEL_STEPS=${STEPS}` : ''} node scripts/run-tests.mjs model`,
      `streams: ${JSON.stringify(initialStreams(rng(this.seed)))}`,
      'action log:',
      ...this.log,
    ]
      .filter(Boolean)
      .join('\n');
  }
}

// ------------------------------------------------------------------------------------ the test

const totals: Record<string, number> = {};

for (const seed of SEEDS) {
  test(`model seed=${seed}: ${STEPS} random steps keep every verdict invariant`, async (t) => {
    const m = new ModelRun(seed);
    try {
      await m.start();
      for (m.step = 1; m.step <= STEPS; m.step++) {
        m.world.step = m.step;
        await m.act();
        if (process.env.MODEL_TRACE) m.trace(process.env.MODEL_TRACE);
        await m.check();
        if (m.violations.length) break;
      }
      if (!m.violations.length) {
        m.step = STEPS + 1;
        m.note('final: clean stop, store re-loaded');
        await m.finalCheck();
      }
    } catch (e) {
      m.violations.push(`step ${m.step}: unexpected error: ${(e as Error).stack ?? String(e)}`);
    } finally {
      cleanup(m.dir);
    }
    for (const [k, v] of Object.entries(m.stats)) totals[k] = (totals[k] ?? 0) + v;
    t.diagnostic(`seed=${seed}: ${JSON.stringify(Object.fromEntries(Object.entries(m.stats).filter(([k]) => !k.startsWith('event '))))}`);
    if (m.violations.length) assert.fail(m.report());
  });
}

test('model: the runs exercised every kind of action and the outcomes that matter', (t) => {
  t.diagnostic(`totals: ${JSON.stringify(Object.fromEntries(Object.entries(totals).sort()))}`);
  if (SEEDS.length < 6) return;
  const wanted = [
    'input', 'finish', 'time', 'override', 'qeVerdict', 'retry', 'waive', 'edit', 'crash', 'outage', 'restart', 'ops applied', 'ops refused',
    'event PhaseChanged→Accepted', 'event PhaseChanged→Rejected', 'event PhaseChanged→Failed', 'event QE→QEAccepted', 'event QE→QERejected', 'event QE→QESkipped',
    'event JobWaived', 'event JobRemoved', 'event JobRetryRequested', 'event run blocking Interrupted', 'event run aggregator Succeeded', 'event run qe Aborted',
  ];
  for (const k of wanted) assert.ok((totals[k] ?? 0) > 0, `no "${k}" in ${SEEDS.length} seeds: ${JSON.stringify(totals)}`);
});
