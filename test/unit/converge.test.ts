// Every pass converges (issue 12, item 4): a second pass with no external change produces no
// change at all — no payloads, runs, events, launches, cancels, published refs, input updates or
// stream conditions. An invariant test over every valid release config in demo/releases and
// test/fixtures (test/fixtures/invalid-configs is skipped; so is any file that fails validation):
// each stream alone and every stream of a directory together in one State, driven through a
// seeded scenario over a simulated clock (input changes, builds, job results — pass, fail,
// interrupted, still running —, retries, QE timeouts, periodics, garbage collection). After every
// fixpoint the next pass must be empty, and planning the same state at the same instant again too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { planChanges } from '../../src/controller/controller.ts';
import { State } from '../../src/controller/state.ts';
import { loadConfigDir, type LoadedConfig } from '../../src/domain/config/load.ts';
import { inputStreamOf, isStable } from '../../src/domain/config/schema.ts';
import { applyBuild, planStream, type Plan } from '../../src/domain/plan.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import { rfc3339 } from '../../src/domain/tagname.ts';
import type { Change } from '../../src/ports/store.ts';
import type { EventRecord, JobRun, JobRunState, Payload, StreamRecord } from '../../src/domain/types.ts';
import { mulberry32 } from '../../src/domain/random.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const T0 = new Date('2024-05-01T12:00:00Z');
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const MAX_PASSES = 50;

// ---------------------------------------------------------------- the configs

interface ConfigDir {
  /** relative to the repository root */
  dir: string;
  streams: LoadedConfig[];
  /** files that failed validation (skipped) */
  skipped: string[];
}

/** Directories under test/fixtures holding *.json files directly (invalid-configs excluded). */
function fixtureDirs(dir: string, out: string[] = []): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && e.name.endsWith('.json'))) out.push(dir);
  for (const e of entries) if (e.isDirectory() && e.name !== 'invalid-configs' && !e.name.startsWith('.')) fixtureDirs(join(dir, e.name), out);
  return out;
}

function loadDir(abs: string): ConfigDir {
  const r = loadConfigDir(abs);
  // loadConfigDir walks recursively: keep only this directory's own files (subdirectories are listed on their own)
  const own = (file: string) => !file.includes('/');
  return {
    dir: relative(ROOT, abs),
    streams: r.streams.filter((s) => own(s.file)),
    skipped: [...new Set(r.errors.map((e) => e.file).filter(own))].sort(),
  };
}

const DIRS: ConfigDir[] = [join(ROOT, 'demo/releases'), ...fixtureDirs(join(ROOT, 'test/fixtures')).sort()].map(loadDir);

// ---------------------------------------------------------------- a seeded world

function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const PLAN_KEYS = ['payloads', 'deletes', 'runs', 'events', 'published', 'inputUpdates', 'launches', 'cancels'] as const;

function isEmptyPlan(p: Plan): boolean {
  return PLAN_KEYS.every((k) => p[k].length === 0) && !p.streamUpdate;
}

function streamRecord(s: LoadedConfig): StreamRecord {
  return { name: s.name, config: s.config, sourceFile: s.file, input: s.input, errors: [], warnings: s.warnings, locked: false };
}

/** the fields of a payload that a plan changed (against the view), for failure messages */
function payloadDiff(view: State, p: Payload): string {
  const old = view.payload(p.stream, p.tag);
  if (!old) return `${p.tag}: new (${p.phase}/${p.qe.state || '-'})`;
  const keys = [...new Set([...Object.keys(old), ...Object.keys(p)])] as (keyof Payload)[];
  const diff = keys.filter((k) => JSON.stringify(old[k]) !== JSON.stringify(p[k])).map((k) => `${k}: ${JSON.stringify(old[k])} → ${JSON.stringify(p[k])}`);
  return `${p.tag}: ${diff.join('; ')}`;
}

function describePlan(view: State, p: Plan): string {
  const parts: Record<string, unknown> = {};
  if (p.payloads.length) parts.payloads = p.payloads.map((x) => payloadDiff(view, x));
  if (p.deletes.length) parts.deletes = p.deletes.map((x) => x.tag);
  if (p.runs.length) parts.runs = p.runs.map((r) => `${r.id} (${r.state})`);
  if (p.events.length) parts.events = p.events.map((e) => `${e.type} ${e.tag}: ${e.message}`);
  if (p.published.length) parts.published = p.published.map((r) => `${r.name} → ${r.tag}`);
  if (p.inputUpdates.length) parts.inputUpdates = p.inputUpdates.map((u) => u.input);
  if (p.launches.length) parts.launches = p.launches.map((l) => l.runId);
  if (p.cancels.length) parts.cancels = p.cancels.map((c) => `${c.runId} (${c.reason})`);
  if (p.streamUpdate) parts.streamUpdate = { conditions: p.streamUpdate.conditions ?? {} };
  return JSON.stringify(parts, null, 1);
}

const COMPONENTS = ['cli', 'installer', 'machine-config-operator', 'tests'];

/** An in-memory world of one or more streams, driven pass by pass as the controller would (without its timers). */
class World {
  readonly state: State;
  now = T0;
  readonly since = T0;
  readonly events: EventRecord[] = [];
  passes = 0;
  readonly names: string[];
  private readonly rand: () => number;
  /** inputs the scenario sets: those not fed by another stream's imageStreamRef publish step in this world */
  private readonly inputs: string[];
  /** builds the last fixpoint asked for, per stream */
  private builds = new Map<string, string[]>();

  constructor(
    readonly label: string,
    streams: LoadedConfig[],
    /** CONVERGE_SEED=n varies every scenario's job results (the failure messages name the seed) */
    readonly seed = (hashSeed(label) ^ Number(process.env.CONVERGE_SEED ?? 0)) >>> 0,
  ) {
    this.rand = mulberry32(seed);
    this.names = streams.map((s) => s.name).sort();
    this.state = State.fromSnapshot({ streams: streams.map(streamRecord), inputTags: [], payloads: [], jobRuns: [], upgrades: [], published: [] });
    // the input streams other streams' imageStreamRef publish steps write (as stagePublish does)
    const fed = new Set<string>();
    for (const s of streams) {
      const own = inputStreamOf(s.config);
      for (const step of Object.values(s.config.publish ?? {})) {
        const ref = step.imageStreamRef;
        if (!ref || step.disabled) continue;
        const dest = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
        if (dest !== own && ref.name !== own) fed.add(dest);
      }
    }
    this.inputs = [...new Set(streams.filter((s) => !isStable(s.config)).map((s) => inputStreamOf(s.config)))].filter((i) => !fed.has(i)).sort();
    this.stable = streams.filter((s) => isStable(s.config)).map((s) => s.name).sort();
  }

  /** Stable streams of this world (no creation: their payloads are promoted) */
  readonly stable: string[];

  /** a release promoted into every Stable stream: an Accepted payload with a semantic-version tag (upgrade sources for PreviousPatch/PreviousMinor) */
  promote(n: number): void {
    for (const s of this.stable) {
      const m = /^(\d+)(?:\.(\d+))?/.exec(s);
      const rest = s.slice(m?.[0].length ?? 0).replace(/[^a-z0-9]+/gi, '-').replace(/^-+|-+$/g, '');
      const tag = `${m?.[1] ?? 4}.${m?.[2] ?? 0}.${n}${rest ? `-${rest}` : ''}`;
      const p: Payload = {
        stream: s, tag, phase: 'Accepted', createdAt: this.at, inputHash: '', pullSpec: `quay.io/openshift-release-dev/ocp-release:${tag}`, digest: `sha256:${hashSeed(tag).toString(16).padStart(64, '0')}`,
        components: {}, reason: '', message: '', annotations: {}, override: null, qe: { ...emptyQEStatus() }, phaseChangedAt: this.at, jobs: null,
      };
      this.commit([{ kind: 'putPayload', payload: p }]);
    }
  }

  get at(): string {
    return rfc3339(this.now);
  }

  advance(ms: number): void {
    this.now = new Date(this.now.getTime() + ms);
  }

  private commit(changes: Change[]): void {
    this.state.apply(changes);
    for (const c of changes) if (c.kind === 'appendEvent') this.events.push(c.event);
  }

  /** one atomic input change of every input the scenario owns: each component gets a new digest derived from `n` */
  setInputs(n: number): void {
    for (const input of this.inputs) {
      const tags = COMPONENTS.map((component, i) => ({
        input,
        component,
        pullSpec: `quay.io/example/${input.replace(/[^a-z0-9.-]/gi, '-')}@sha256:${String(n).padStart(4, '0')}${i}${'0'.repeat(58)}`,
        labels: { 'io.openshift.build.commit.id': `c${n}-${i}` },
        updatedAt: this.at,
      }));
      this.commit([{ kind: 'setInputTags', input, tags }]);
    }
  }

  /** what the executor reports for a run, recorded as the controller's recordJobStatus does */
  report(run: JobRun, state: JobRunState, reason = ''): void {
    const cur = this.state.run(run.id);
    if (!cur || cur.state !== 'Pending') return;
    const next: JobRun = {
      ...cur,
      state,
      url: cur.url || `https://prow.example/view/${cur.id}`,
      startedAt: cur.startedAt ?? this.at,
      finishedAt: state === 'Pending' ? cur.finishedAt : this.at,
      reason: reason || cur.reason,
    };
    if (JSON.stringify(next) === JSON.stringify(cur)) return;
    const changes: Change[] = [{ kind: 'putJobRun', run: next }];
    if (state !== 'Pending') {
      changes.push({ kind: 'appendEvent', event: { at: this.at, stream: cur.stream, tag: cur.tag, type: 'JobStateChanged', actor: 'controller', message: `${cur.verifyName}: ${state}`, data: { runId: cur.id, state } } });
      if (cur.upgradeFrom && state !== 'Interrupted') {
        changes.push({ kind: 'putUpgrade', result: { from: cur.upgradeFrom, to: cur.tag, url: next.url, runId: cur.id, state: state === 'Succeeded' ? 'Succeeded' : 'Failed' } });
      }
    }
    this.commit(changes);
  }

  /** one pass of one stream, applied like the controller: store changes, then launches (the executor reports them running) and cancels (Aborted) */
  pass(stream: string, onPlan?: (p: Plan) => void): Plan {
    const before = this.state.stream(stream)?.conditions ?? {};
    const plan = planStream(this.state, stream, this.now, { since: this.since });
    this.passes++;
    onPlan?.(plan);
    this.checkConditionEvents(stream, before, plan);
    this.commit(planChanges(plan));
    for (const l of plan.launches) {
      const r = this.state.run(l.runId);
      if (r) this.report(r, 'Pending');
    }
    for (const c of plan.cancels) {
      const r = this.state.run(c.runId);
      if (r) this.report(r, 'Aborted', c.reason);
    }
    return plan;
  }

  /** a JobError condition event is recorded exactly when that condition is new or its message changed */
  private checkConditionEvents(stream: string, before: Record<string, string>, plan: Plan): void {
    const after = plan.streamUpdate ? (plan.streamUpdate.conditions ?? {}) : before;
    const changed = Object.keys(after).filter((k) => before[k] !== after[k]).sort();
    const recorded = plan.events.filter((e) => e.type === 'JobError' && typeof e.data.condition === 'string').map((e) => e.data.condition as string).sort();
    assert.deepEqual(recorded, changed, `${this.label} (seed ${this.seed}): ${stream} at ${this.at}: condition events must match the changed conditions (${JSON.stringify({ before, after })})`);
  }

  /** passes over every stream until a whole round plans nothing; then checks that the next pass is empty */
  fixpoint(step: string): void {
    let last: { stream: string; desc: string } | null = null;
    for (let i = 0; i < MAX_PASSES; i++) {
      let changed = false;
      for (const s of this.names) {
        let desc = '';
        // the last round's changes are described (against the state they change) for the failure message
        const plan = this.pass(s, i === MAX_PASSES - 1 ? (p) => (desc = describePlan(this.state, p)) : undefined);
        if (!isEmptyPlan(plan)) {
          changed = true;
          last = { stream: s, desc };
        }
      }
      if (!changed) {
        this.assertIdle(step);
        return;
      }
    }
    assert.fail(`${this.label} (seed ${this.seed}): ${step}: no fixpoint within ${MAX_PASSES} passes at ${this.at}; stream ${last?.stream}, last plan: ${last?.desc}`);
  }

  /** the next pass plans nothing, and planning the same state at the same instant again neither */
  assertIdle(step: string): void {
    for (const s of this.names) {
      const plans = ['next pass', 'same pass again'].map((which) => {
        const again = planStream(this.state, s, this.now, { since: this.since });
        assert.ok(isEmptyPlan(again), `${this.label} (seed ${this.seed}): ${step}: ${which} of ${s} at ${this.at} is not empty: ${describePlan(this.state, again)}`);
        return again;
      });
      assert.deepEqual(plans[1], plans[0], `${this.label} (seed ${this.seed}): ${step}: planning ${s} twice at ${this.at} decides the same (builds, requeue, creationBlockedBy)`);
      this.builds.set(s, plans[0].builds);
    }
  }

  /** the builder finishes what the last fixpoint asked for (mostly successfully) */
  build(okRate = 0.9): number {
    let n = 0;
    for (const [s, tags] of this.builds) {
      for (const tag of tags) {
        const p = this.state.payload(s, tag);
        if (!p || p.phase !== 'Pending') continue;
        const result = this.rand() < okRate
          ? { ok: true as const, pullSpec: `registry.local/release@sha256:${hashSeed(tag).toString(16).padStart(64, '0')}`, digest: `sha256:${hashSeed(tag).toString(16).padStart(64, '0')}` }
          : { ok: false as const, reason: 'CreateReleaseFailed', message: 'could not build' };
        const applied = applyBuild(this.state, p, result, this.now);
        assert.ok(applied, `${this.label}: build of ${tag} applies`);
        this.commit([{ kind: 'putPayload', payload: applied.payload }, { kind: 'appendEvent', event: applied.event }]);
        n++;
      }
    }
    this.builds.clear();
    return n;
  }

  pendingRuns(): JobRun[] {
    return [...this.state.allRuns()].filter((r) => r.state === 'Pending').sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** reports results for pending runs: a seeded mix of pass, fail and interrupted; `keep` is the chance a run is still running */
  finishRuns(keep = 0): number {
    let n = 0;
    for (const r of this.pendingRuns()) {
      const x = this.rand();
      if (x < keep) continue;
      const y = this.rand();
      this.report(r, y < 0.62 ? 'Succeeded' : y < 0.9 ? 'Failed' : 'Interrupted', y >= 0.9 ? 'Shutdown' : '');
      n++;
    }
    return n;
  }

  /** one step of the clock: fixpoint, builds, fixpoint, some job results, fixpoint */
  step(label: string, keep: number): void {
    this.fixpoint(`${label}: after the clock moved`);
    if (this.build()) this.fixpoint(`${label}: after builds`);
    if (this.finishRuns(keep)) this.fixpoint(`${label}: after job results`);
  }

  payloads(stream: string): readonly Payload[] {
    return this.state.payloads(stream);
  }
}

/** The scenario every config goes through. */
function scenario(w: World): void {
  w.fixpoint('no input yet');
  for (let round = 1; round <= 3; round++) {
    const r = `round ${round}`;
    w.promote(round);
    w.setInputs(round);
    w.fixpoint(`${r}: input set`);
    w.advance(2 * MIN);
    w.build();
    w.fixpoint(`${r}: built`);
    w.advance(10 * MIN);
    w.finishRuns(0);
    w.fixpoint(`${r}: every run finished`);
    // past retry back-offs, QE timeouts, periodic intervals and minCreationInterval (4 h upstream)
    for (let i = 0; i < 18; i++) {
      w.advance(20 * MIN);
      w.step(`${r}, +${(i + 1) * 20} min`, 0.3);
    }
    w.advance(5 * SEC);
    w.fixpoint(`${r}: a few seconds later`);
  }
  // a new input every 12 h for 16 days: more payloads than garbage collection keeps, past every `expires` (336 h upstream)
  for (let i = 0; i < 32; i++) {
    w.advance(12 * HOUR);
    if (i % 8 === 0) w.promote(4 + i);
    w.setInputs(4 + i);
    w.step(`day ${1 + Math.floor(i / 2)}${i % 2 ? ' pm' : ' am'}`, 0.2);
  }
  w.finishRuns(0);
  w.fixpoint('the end');
}

// ---------------------------------------------------------------- the table

test('the invariant covers every valid config of demo/releases and test/fixtures', () => {
  const byDir = Object.fromEntries(DIRS.map((d) => [d.dir, { streams: d.streams.map((s) => s.file), skipped: d.skipped }]));
  assert.ok(byDir['demo/releases'], 'demo/releases is covered');
  assert.equal(byDir['demo/releases'].streams.length, 3, JSON.stringify(byDir));
  assert.ok(byDir['test/fixtures/openshift-release/releases'].streams.length >= 20, JSON.stringify(byDir));
  assert.ok(!DIRS.some((d) => d.dir.includes('invalid-configs')), 'invalid-configs are not release configs to converge');
  // files that fail validation are skipped: the upstream file with a trailing comma, a Sippy API response
  assert.deepEqual(byDir['test/fixtures/openshift-release/invalid'], { streams: [], skipped: ['release-ocp-4.8.json'] });
  assert.equal(byDir['test/fixtures/openshift-release/api-responses']?.streams.length, 0);
});

for (const d of DIRS) {
  for (const s of d.streams) {
    test(`${d.dir}/${s.file} (${s.name}) alone: every pass after a fixpoint is empty`, () => {
      const w = new World(`${d.dir}/${s.file}`, [s]);
      scenario(w);
    });
  }
  if (d.streams.length > 1) {
    test(`${d.dir}: every stream together: every pass after a fixpoint is empty`, () => {
      const w = new World(`${d.dir} (together)`, d.streams);
      scenario(w);
    });
  }
}

// ---------------------------------------------------------------- a periodic with no source

test('demo 4.16.0-0.okd-scos: a periodic upgrade with no source is recorded once, not once per pass', () => {
  const demo = DIRS.find((d) => d.dir === 'demo/releases')!;
  const s = demo.streams.find((x) => x.name === '4.16.0-0.okd-scos');
  assert.ok(s, 'the demo has the okd-scos stream');
  assert.equal(s.config.periodic?.['upgrade-aws']?.upgradeFrom, 'PreviousMinus1');
  const STREAM = s.name;
  const w = new World('okd-scos', [s]);
  const conditions = () => w.state.stream(STREAM)?.conditions ?? {};
  const conditionEvents = () => w.events.filter((e) => e.type === 'JobError');
  const acceptOne = (n: number) => {
    w.setInputs(n);
    w.fixpoint(`input ${n}`);
    w.advance(MIN);
    assert.equal(w.build(1), 1, 'one payload built');
    w.fixpoint(`payload ${n} built`);
    for (const r of w.pendingRuns()) w.report(r, 'Succeeded');
    w.fixpoint(`payload ${n} verified`);
    assert.equal(w.payloads(STREAM)[0].phase, 'Accepted');
  };

  // one Accepted payload: the periodic is due but PreviousMinus1 has no source
  acceptOne(1);
  assert.equal(w.payloads(STREAM).filter((p) => p.phase === 'Accepted').length, 1);
  assert.deepEqual(Object.keys(conditions()), ['periodic/upgrade-aws'], 'the stream holds the condition');
  assert.match(conditions()['periodic/upgrade-aws'], /upgrade-aws.*PreviousMinus1/);
  // one event, saying what the condition says (the pass that accepted the payload sees it Accepted)
  assert.deepEqual(conditionEvents().map((e) => e.message), [conditions()['periodic/upgrade-aws']], 'one JobError event for the missing source');
  const events = w.events.length;
  const runs = [...w.state.allRuns()].length;
  for (let i = 0; i < 100; i++) {
    w.advance(5 * SEC);
    const plan = w.pass(STREAM);
    assert.ok(isEmptyPlan(plan), `pass ${i + 1} (+${(i + 1) * 5} s) while the periodic has no source is not empty: ${describePlan(w.state, plan)}`);
  }
  assert.equal(w.events.length, events, 'no event per pass');
  assert.equal([...w.state.allRuns()].length, runs, 'no run per pass');
  assert.deepEqual(Object.keys(conditions()), ['periodic/upgrade-aws'], 'the condition still holds');

  // a second Accepted payload: the source exists, the periodic launches, the condition is gone
  acceptOne(2);
  assert.deepEqual(conditions(), {}, 'the condition is cleared once a source exists');
  assert.equal(conditionEvents().length, 1, `no further JobError event: ${JSON.stringify(conditionEvents().map((e) => e.message))}`);
  const periodic = [...w.state.allRuns()].filter((r) => r.kind === 'periodic');
  assert.ok(periodic.length >= 1, 'the periodic ran once a source existed');
  const accepted = w.payloads(STREAM).filter((p) => p.phase === 'Accepted');
  assert.equal(periodic[0].upgradeFrom, accepted[1].tag, 'from the previous-but-one Accepted payload');
  assert.equal(periodic[0].tag, accepted[0].tag);

  // running, then finished but within its 2 m interval: still nothing per pass
  const before = w.events.length;
  for (let i = 0; i < 10; i++) {
    w.advance(5 * SEC);
    assert.ok(isEmptyPlan(w.pass(STREAM)), `pass ${i + 1} while the periodic runs is not empty`);
  }
  assert.equal(w.events.length, before);
});

test('demo together: the okd-scos periodic without a source does not add an event per pass', () => {
  const demo = DIRS.find((d) => d.dir === 'demo/releases')!;
  const w = new World('demo (together, all green)', demo.streams);
  w.setInputs(1);
  w.fixpoint('input');
  // everything green, until the okd-scos stream (fed by the CI stream's publish step) has an Accepted payload
  for (let i = 0; i < 40 && !w.payloads('4.16.0-0.okd-scos').some((p) => p.phase === 'Accepted'); i++) {
    w.advance(MIN);
    w.build(1);
    w.fixpoint(`minute ${i + 1}: built`);
    for (const r of w.pendingRuns()) w.report(r, 'Succeeded');
    w.fixpoint(`minute ${i + 1}: verified`);
  }
  assert.ok(w.payloads('4.16.0-0.okd-scos').some((p) => p.phase === 'Accepted'), 'okd-scos has an Accepted payload');
  const jobErrors = () => w.events.filter((e) => e.type === 'JobError' && e.stream === '4.16.0-0.okd-scos').map((e) => e.message);
  const count = () => jobErrors().length;
  const errors = count();
  const events = w.events.length;
  for (let i = 0; i < 100; i++) {
    w.advance(5 * SEC);
    for (const s of w.names) {
      const plan = w.pass(s);
      // the other streams may have due work (their own periodics); okd-scos has nothing to do
      if (s === '4.16.0-0.okd-scos') assert.ok(isEmptyPlan(plan), `okd-scos pass ${i + 1} is not empty: ${describePlan(w.state, plan)}`);
    }
  }
  assert.ok(errors <= 1, `at most one JobError for okd-scos: ${JSON.stringify(jobErrors())}`);
  assert.equal(count(), errors, 'no JobError per pass');
  assert.ok(w.events.length - events < 100, `events do not grow with passes: ${w.events.length - events} in 100 passes`);
});

