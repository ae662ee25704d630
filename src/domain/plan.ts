// One reconcile pass of a release stream as a pure function: state + config + now → actions.
// Stages, in upstream's order: remove garbage → create → pending → ready (verify) → QE →
// publish → periodics. The controller applies the returned actions through its ports.
import { stableUpgradeLaunches } from './stable-upgrades.ts';
import { mirrorTarget, needsMirror, waitsForMirror } from './mirror.ts';
import { ciEntries, inputStreamOf, isStable, qeEntries, type ReleaseConfig, type ReleaseVerification } from './config/schema.ts';
import { entryConditions, freezeJobs, isQEAccepted, judgingConfig, qeConditions, removedEntries } from './judging.ts';
import { own } from './own.ts';
import { componentsOf, decideCreation, effectiveInputTags, inputHash, isKept, nextExpiryMs, pendingToAbort, selectGarbage } from './lifecycle.ts';
import { periodicDue } from './periodic.ts';
import { emptyQEStatus, evaluateGate, qeDecision, qeJobNames, qeStatuses, qeTimeoutMs, runningQERuns } from './qe.ts';
import { aggregatorRunName, releaseTagName, rfc3339, runName, safeJobName } from './tagname.ts';
import {
  AnnotationCreationTimestamp,
  AnnotationHash,
  AnnotationMessage,
  AnnotationName,
  AnnotationPhase,
  AnnotationQEPhase,
  AnnotationQEVerify,
  AnnotationReason,
  AnnotationSource,
  type EventRecord,
  type InputTag,
  type JobKind,
  type JobRun,
  type Payload,
  type Phase,
  type PublishedRef,
  type QEStatus,
  type StreamRecord,
} from './types.ts';
import { resolveUpgradeSource } from './upgrade.ts';
import { AnnotationPrevious } from './graph.ts';
import { compareTagsDescending, parseStrict } from './version.ts';
import { ciStatuses, ciVerdict, entryGroup, relaunchSuffix, REMOVED_FROM_CONFIG, type EntryConditions, type EntryStatus } from './verification.ts';
import { qeVerifyAnnotation } from './views.ts';
import type { WorldView } from './world.ts';

export const DEFAULT_AGGREGATOR_JOB = 'release-openshift-release-analysis-aggregator';

export interface LaunchSpec {
  runId: string;
  jobName: string;
  stream: string;
  tag: string;
  verifyName: string;
  pullSpec: string;
  initialPullSpec: string;
  env: Record<string, string>;
}

export interface Plan {
  payloads: Payload[];
  deletes: Payload[];
  /** new run records (state Pending unless synthetic); written before their launch */
  runs: JobRun[];
  events: EventRecord[];
  published: PublishedRef[];
  inputUpdates: { input: string; tags: InputTag[] }[];
  launches: LaunchSpec[];
  cancels: { runId: string; reason: string }[];
  /** Pending payloads the builder should build */
  builds: string[];
  /** Ready payloads to copy to the stream's alternateImageRepository */
  mirrors: string[];
  requeueAfterMs: number | null;
  /** why no payload was created, for the console */
  creationBlockedBy: string;
  /** the stream record with its new conditions, when they changed (each distinct condition is recorded once) */
  streamUpdate: StreamRecord | null;
}

export interface PlanOptions {
  /** repository payload pull specs are built in, e.g. registry.local/ocp/release (per stream) */
  repositoryFor?: (config: ReleaseConfig) => string;
  /** when the controller first saw this stream; cron periodics without a previous run count from here */
  since?: Date;
  /** Ready payloads are copied to alternateImageRepository (the builder makes images); default false */
  mirroring?: boolean;
}

/** The methods of a view bound to it, so they can be spread into an overlay. */
function bindAll(v: WorldView): WorldView {
  return {
    streams: () => v.streams(), stream: (n) => v.stream(n), payloads: (s) => v.payloads(s), payload: (s, t) => v.payload(s, t), findTag: (t) => v.findTag(t),
    runs: (s, t) => v.runs(s, t), periodicRuns: (s) => v.periodicRuns(s), inputTags: (i) => v.inputTags(i), upgradesInto: (t) => v.upgradesInto(t),
    upgradesOutOf: (t) => v.upgradesOutOf(t), published: (s) => v.published(s), pins: (i) => v.pins?.(i) ?? [],
    recentlyDeleted: (s, t) => v.recentlyDeleted?.(s, t) ?? false,
  };
}

function emptyPlan(): Plan {
  return { payloads: [], deletes: [], runs: [], events: [], published: [], inputUpdates: [], launches: [], cancels: [], builds: [], mirrors: [], requeueAfterMs: null, creationBlockedBy: '', streamUpdate: null };
}

class PlanBuilder {
  readonly plan = emptyPlan();
  /** payloads changed in this pass (latest version), by tag */
  private changed = new Map<string, Payload>();
  private newRuns = new Map<string, JobRun[]>();
  /** stream conditions seen in this pass: key → message */
  readonly conditions = new Map<string, { tag: string; message: string; data: Record<string, unknown> }>();
  constructor(
    readonly view: WorldView,
    readonly stream: string,
    readonly config: ReleaseConfig,
    readonly now: Date,
    /** Ready payloads are copied to alternateImageRepository (PlanOptions.mirroring) */
    readonly mirroring = false,
  ) {}

  get at(): string {
    return rfc3339(this.now);
  }

  current(p: Payload): Payload {
    return this.changed.get(p.tag) ?? p;
  }

  /**
   * The world as this pass has changed it so far (this stream's payloads in their current
   * versions, created ones included): upgrade sources see a payload accepted earlier in the pass.
   */
  passView(): WorldView {
    const base = this.view;
    return {
      ...bindAll(base),
      payloads: (stream: string) => {
        if (stream !== this.stream || this.changed.size === 0) return base.payloads(stream);
        return [...this.createdPayloads(), ...base.payloads(stream).map((p) => this.current(p))];
      },
      payload: (stream: string, tag: string) => {
        const p = base.payload(stream, tag);
        return stream === this.stream ? (this.changed.get(tag) ?? p) : p;
      },
    };
  }

  runsOf(p: Payload): JobRun[] {
    const extra = this.newRuns.get(p.tag);
    const base = this.view.runs(p.stream, p.tag);
    return extra ? [...base, ...extra] : (base as JobRun[]);
  }

  put(p: Payload): void {
    this.changed.set(p.tag, p);
  }

  /** payloads created in this pass (not yet in the view) */
  createdPayloads(): Payload[] {
    return [...this.changed.values()].filter((p) => !this.view.payload(p.stream, p.tag));
  }

  event(tag: string, type: string, message: string, data: Record<string, unknown> = {}): void {
    this.plan.events.push({ at: this.at, stream: this.stream, tag, type, actor: 'controller', message, data });
  }

  requeue(ms: number | null): void {
    if (ms === null || !Number.isFinite(ms)) return;
    const v = Math.max(0, ms);
    if (this.plan.requeueAfterMs === null || v < this.plan.requeueAfterMs) this.plan.requeueAfterMs = v;
  }

  setPhase(p: Payload, phase: Phase, reason: string, message: string): Payload {
    const cur = this.current(p);
    if (cur.phase === phase && cur.reason === reason && cur.message === message) return cur;
    const next = { ...cur, phase, reason, message, phaseChangedAt: cur.phase === phase ? cur.phaseChangedAt : this.at };
    this.put(next);
    if (cur.phase !== phase) this.event(p.tag, 'PhaseChanged', `${cur.phase} → ${phase}${reason ? ` (${reason}${message ? `: ${message}` : ''})` : ''}`, { phase, previous: cur.phase, reason, message });
    return next;
  }

  setQE(p: Payload, qe: QEStatus): Payload {
    const cur = this.current(p);
    const a = cur.qe;
    if (a.state === qe.state && a.reason === qe.reason && a.message === qe.message && a.startedAt === qe.startedAt && a.deadline === qe.deadline && a.generation === qe.generation && a.jobs.join() === qe.jobs.join() && a.override === qe.override) return cur;
    const next = { ...cur, qe };
    this.put(next);
    if (a.state !== qe.state) this.event(p.tag, 'QEStateChanged', `QE ${a.state || '(none)'} → ${qe.state || '(none)'}${qe.reason ? ` (${qe.reason}${qe.message ? `: ${qe.message}` : ''})` : ''}`, { qePhase: qe.state, previous: a.state, reason: qe.reason, message: qe.message });
    return next;
  }

  addRun(p: Payload, run: JobRun): void {
    this.plan.runs.push(run);
    let arr = this.newRuns.get(p.tag);
    if (!arr) this.newRuns.set(p.tag, (arr = []));
    arr.push(run);
  }

  /** a condition of the stream that holds in this pass (recorded, with an event, only when new or changed) */
  condition(key: string, tag: string, message: string, data: Record<string, unknown> = {}): void {
    this.conditions.set(key, { tag, message, data });
  }

  cancelRun(runId: string, reason: string): void {
    if (!this.plan.cancels.some((c) => c.runId === runId)) this.plan.cancels.push({ runId, reason });
  }

  /** records a run and asks the executor to start it (record-then-launch); the environment is kept with the run */
  launch(p: Payload, run: Omit<JobRun, 'state' | 'url' | 'createdAt' | 'startedAt' | 'finishedAt' | 'reason' | 'logPath' | 'env'>, env: Record<string, string> = {}): void {
    const full: JobRun = { ...run, state: 'Pending', url: '', createdAt: this.at, startedAt: null, finishedAt: null, reason: '', logPath: '' };
    if (Object.keys(env).length) full.env = env;
    this.addRun(p, full);
    this.plan.launches.push({
      runId: full.id,
      jobName: full.jobName,
      stream: p.stream,
      tag: p.tag,
      verifyName: full.verifyName,
      pullSpec: p.pullSpec,
      initialPullSpec: full.upgradeFromPullSpec,
      env,
    });
    this.event(p.tag, 'JobLaunched', `${full.kind} job ${full.verifyName} attempt ${full.attempt + 1} launched (${full.id})`, { verifyName: full.verifyName, runId: full.id, kind: full.kind, attempt: full.attempt, state: 'Pending' });
  }

  /** payloads touched in this pass, with derived annotations refreshed */
  finish(complete = true): Plan {
    if (complete) this.finishConditions();
    for (const p of this.changed.values()) {
      const next = withAnnotations(p, this.config, this.runsOf(p));
      const old = this.view.payload(p.stream, p.tag);
      // nothing really changed (the view's own object put back: only its annotations can differ)
      if (old && (p === old ? sameStrings(old.annotations, next.annotations) : JSON.stringify(old) === JSON.stringify(next))) continue;
      this.plan.payloads.push(next);
    }
    return this.plan;
  }

  private finishConditions(): void {
    const rec = this.view.stream(this.stream);
    const old = rec?.conditions ?? {};
    const next: Record<string, string> = {};
    for (const k of [...this.conditions.keys()].sort()) next[k] = this.conditions.get(k)!.message;
    for (const [k, c] of this.conditions) {
      if (own(old, k) !== c.message) this.event(c.tag, 'JobError', c.message, { ...c.data, condition: k });
    }
    if (rec && JSON.stringify(old) !== JSON.stringify(next)) {
      const { conditions: _old, ...rest } = rec;
      this.plan.streamUpdate = Object.keys(next).length ? { ...rest, conditions: next } : rest;
    }
  }
}

/** Annotations derived from the payload row (one truth: DESIGN §13 item 1); user ones (keep…) kept. */
/** the same keys in the same order with the same values */
function sameStrings(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i] || a[ka[i]!] !== b[kb[i]!]) return false;
  return true;
}

export function withAnnotations(p: Payload, config: ReleaseConfig, runs: readonly JobRun[]): Payload {
  const a: Record<string, string> = { ...p.annotations };
  a[AnnotationName] = config.name;
  a[AnnotationSource] = inputStreamOf(config);
  a[AnnotationCreationTimestamp] = p.createdAt;
  a[AnnotationPhase] = p.phase;
  if (p.inputHash) a[AnnotationHash] = p.inputHash;
  const reason = p.override ? `ReleasePayloadManually${p.override.phase}` : p.reason;
  const message = p.override ? p.override.reason : p.message;
  if (reason) a[AnnotationReason] = reason;
  else delete a[AnnotationReason];
  if (message) a[AnnotationMessage] = message;
  else delete a[AnnotationMessage];
  if (p.qe.state) {
    a[AnnotationQEPhase] = p.qe.state;
    a[AnnotationQEVerify] = qeVerifyAnnotation(config, p, runs);
  } else {
    delete a[AnnotationQEPhase];
    delete a[AnnotationQEVerify];
  }
  return { ...p, annotations: a };
}

/** The kind of run a verify entry launches (aggregated entries add analysis and aggregator runs). */
export function runKind(v: ReleaseVerification): JobKind {
  if (v.qe) return 'qe';
  if (v.upgrade) return 'upgrade';
  return entryGroup(v) === 'blocking' ? 'blocking' : 'informing';
}

/**
 * Launches whatever a set of entries needs now: first attempts, due retries, relaunches of
 * interrupted attempts. Entries with a condition (waived, not run, waiting, removed) launch nothing.
 */
function ensureEntries(b: PlanBuilder, p: Payload, entries: readonly [string, ReleaseVerification][], statuses: Map<string, EntryStatus>, generation: number, conditions: EntryConditions): void {
  const now = b.now.getTime();
  for (const [name, v] of entries) {
    const st = statuses.get(name);
    if (!st || st.nextAttempt === null || conditions.has(name)) continue;
    if (st.notBefore > now) {
      b.requeue(st.notBefore - now);
      continue;
    }
    const attempt = st.nextAttempt;
    const kind = runKind(v);
    const jobName = v.prowJob?.name || name;
    const extra = [kind === 'qe' && generation > 0 ? `rerun${generation}` : '', relaunchSuffix(st.interruptions)].filter(Boolean).join('-');
    let upgradeFrom = '';
    let upgradeFromPullSpec = '';
    if (v.upgrade) {
      // an earlier attempt keeps its source; otherwise resolve it (entryConditions vetted that one exists)
      const prev = st.runs.find((r) => r.upgradeFromPullSpec);
      const r = prev ? { ok: true as const, source: { tag: prev.upgradeFrom, pullSpec: prev.upgradeFromPullSpec }, why: '' } : resolveUpgradeSource(b.view, b.config, p, v, 'verify');
      if (!r.ok || !r.source) continue; // QE upgrade entries without a source wait (shown on the release page)
      upgradeFrom = r.source.tag;
      upgradeFromPullSpec = r.source.pullSpec;
    }
    const agg = v.aggregatedProwJob;
    const base = { stream: p.stream, tag: p.tag, verifyName: name, attempt, generation, upgradeFrom, upgradeFromPullSpec };
    if (agg && (agg.analysisJobCount ?? 0) > 0 && kind !== 'qe') {
      const n = agg.analysisJobCount ?? 0;
      const runs = b.runsOf(p).filter((r) => r.verifyName === name && r.kind === 'analysis');
      const byId = new Map(runs.map((r) => [r.id, r]));
      const deciding: JobRun[] = [];
      for (let i = 0; i < n; i++) {
        // analysis run i, or its relaunch after an interruption
        let k = 0;
        let id = runName(p.tag, name, 0, `analysis-${i}`);
        while (byId.get(id)?.state === 'Interrupted') id = runName(p.tag, name, 0, `analysis-${i}-i${++k}`);
        const have = byId.get(id);
        if (have) deciding.push(have);
        else b.launch(p, { ...base, id, jobName, kind: 'analysis', attempt: 0 });
      }
      if (deciding.length < n || deciding.some((r) => r.state === 'Pending')) continue;
      const passed = deciding.filter((r) => r.state === 'Succeeded').length;
      const aggJob = agg.prowJob?.name || DEFAULT_AGGREGATOR_JOB;
      const aggId = st.interruptions > 0 ? safeJobName(aggregatorRunName(p.tag, name, attempt), relaunchSuffix(st.interruptions)) : aggregatorRunName(p.tag, name, attempt);
      b.launch(p, { ...base, id: aggId, jobName: aggJob, kind: 'aggregator' }, {
        PAYLOAD_TAG: p.tag, VERIFICATION_JOB_NAME: jobName, JOB_START_TIME: b.at, ANALYSIS_JOB_COUNT: String(n), ANALYSIS_JOBS_SUCCEEDED: String(passed),
      });
      continue;
    }
    const env: Record<string, string> = v.multiJobAnalysis ? { PAYLOAD_TAG: p.tag, VERIFICATION_JOB_NAME: jobName, JOB_START_TIME: b.at } : {};
    b.launch(p, { ...base, id: runName(p.tag, name, attempt, extra), jobName, kind }, env);
  }
}

function stageGarbage(b: PlanBuilder): boolean {
  if (isStable(b.config)) return false;
  const remove = selectGarbage(b.config, b.view.payloads(b.stream), b.now);
  // wake again when the next Accepted payload expires, not only at the next resync
  b.requeue(nextExpiryMs(b.config, b.view.payloads(b.stream), b.now));
  for (const p of remove) {
    b.plan.deletes.push(p);
    for (const r of b.view.runs(p.stream, p.tag)) if (r.state === 'Pending') b.plan.cancels.push({ runId: r.id, reason: 'PayloadDeleted' });
    b.event(p.tag, 'PayloadDeleted', `${p.tag} (${p.phase}) removed by garbage collection`, { phase: p.phase });
  }
  return remove.length > 0;
}

/** The components a new payload of the stream is made of now: its input, pinned components replaced. */
export function creationInput(view: WorldView, config: ReleaseConfig): { input: string; tags: InputTag[]; hash: string } {
  const input = inputStreamOf(config);
  const tags = effectiveInputTags(view.inputTags(input), view.pins?.(input) ?? []);
  return { input, tags, hash: inputHash(tags) };
}

/** A new Pending payload of the stream made of `tags` now (stageCreate, and a poke). */
export function newPayload(config: ReleaseConfig, stream: string, tags: readonly InputTag[], hash: string, repository: string, now: Date): Payload {
  const at = rfc3339(now);
  const tag = releaseTagName(config.name, now);
  const qe = emptyQEStatus();
  if (qeEntries(config).length > 0) qe.state = 'QEPending';
  return {
    stream, tag, phase: 'Pending', createdAt: at, inputHash: hash, pullSpec: `${repository}:${tag}`, digest: '',
    components: componentsOf(tags), reason: '', message: '', annotations: {}, override: null, qe, phaseChangedAt: at,
    jobs: freezeJobs(config),
  };
}

/** Marks a Stable release adopted from a release image other tooling pushed; the value is that image. */
export const AnnotationAdoptedFrom = 'release.openshift.io/adopted-from';

/**
 * Stable streams adopt what they did not create (upstream §3.5): a tag of the stream's input named
 * by a semantic version that is no release of the stream yet becomes a Pending release of that
 * image; the controller then reads the image back (applyAdoption).
 */
function stageAdopt(b: PlanBuilder): void {
  const input = inputStreamOf(b.config);
  for (const t of b.view.inputTags(input)) {
    if (!parseStrict(t.component) || b.view.payload(b.stream, t.component)) continue;
    const base = newPayload(b.config, b.stream, [], `adopted:${t.pullSpec}`, '', b.now);
    const p: Payload = { ...base, tag: t.component, pullSpec: t.pullSpec, annotations: { [AnnotationAdoptedFrom]: t.pullSpec } };
    b.put(p);
    b.event(p.tag, 'ReleaseAdopted', `${p.tag} adopted from ${t.pullSpec} (tag ${t.component} of input stream ${input})`, { phase: 'Pending', input, pullSpec: t.pullSpec });
  }
}

function stageCreate(b: PlanBuilder, repository: string): void {
  if (isStable(b.config)) return stageAdopt(b);
  const { input, tags, hash } = creationInput(b.view, b.config);
  const d = decideCreation(b.config, b.view.payloads(b.stream), hash, b.now, { lock: b.view.stream(b.stream) });
  b.plan.creationBlockedBy = d.blockedBy;
  b.requeue(d.retryAfterMs);
  if (!d.create) return;
  const p = newPayload(b.config, b.stream, tags, hash, repository, b.now);
  // a name taken now, or by a payload deleted lately (its image, events and links would be
  // confused with this one's): the next second gives another
  if (b.view.payload(b.stream, p.tag) || b.view.recentlyDeleted?.(b.stream, p.tag)) {
    b.requeue(1000);
    return;
  }
  b.put(p);
  b.event(p.tag, 'PayloadCreated', `${p.tag} created from input stream ${input}`, { phase: 'Pending', input, hash });
}

function stagePending(b: PlanBuilder, all: readonly Payload[]): void {
  if (isStable(b.config)) {
    // promoted releases are named by people: each one is built, none aborts another
    for (const p of all) if (b.current(p).phase === 'Pending') b.plan.builds.push(p.tag);
    return;
  }
  for (const p of pendingToAbort(all)) {
    b.setPhase(p, 'Failed', 'Aborted', 'Multiple releases were found simultaneously running.');
  }
  const newest = all.find((p) => b.current(p).phase === 'Pending' && !isKept(p));
  if (newest) b.plan.builds.push(newest.tag);
}

function stageVerify(b: PlanBuilder, p0: Payload): void {
  let p = b.current(p0);
  // a payload from before job sets were frozen is judged by the entries its stream has now
  if (!p.jobs) {
    p = { ...p, jobs: freezeJobs(b.config) };
    b.put(p);
  }
  let jobs = p.jobs!;
  const judged = judgingConfig(b.config, p);
  let statuses = ciStatuses(judged, b.runsOf(p));
  // entries removed or disabled in the config since: unfinished work is cancelled, shown as removed
  for (const name of removedEntries(b.config, jobs)) {
    const st = statuses.get(name);
    if (own(jobs.removed, name) || own(jobs.waivers, name) || !st || st.state === 'Success' || st.state === 'Failure') continue;
    for (const r of b.runsOf(p)) if (r.verifyName === name && r.state === 'Pending' && r.kind !== 'qe' && r.kind !== 'periodic') b.cancelRun(r.id, REMOVED_FROM_CONFIG);
    jobs = { ...jobs, removed: { ...jobs.removed, [name]: b.at } };
    p = { ...b.current(p), jobs };
    b.put(p);
    b.event(p.tag, 'JobRemoved', `${name} was removed from the stream config; its unfinished work is cancelled (waive it to accept ${p.tag} without it)`, { verifyName: name });
  }
  // the launches below cannot change a condition (entries with one launch nothing; a launched
  // upgrade run carries the source that made it launchable), so they are computed once
  const conditions = entryConditions(b.view, b.config, p, b.runsOf(p));
  if (p.phase === 'Ready' || p.phase === 'Accepted') {
    const runsBefore = b.runsOf(p).length;
    ensureEntries(b, p, ciEntries(judged), statuses, 0, conditions);
    // statuses change only by the runs launched just now
    if (b.runsOf(p).length !== runsBefore) statuses = ciStatuses(judged, b.runsOf(p));
  }
  // Stable releases: sampled upgrade tests from their declared previous versions (never deciding)
  for (const l of stableUpgradeLaunches(b.view, b.config, b.current(p), b.runsOf(p))) {
    b.launch(b.current(p), { ...l, stream: p.stream, tag: p.tag, kind: 'upgrade', attempt: 0, generation: 0 });
  }
  if (b.mirroring && needsMirror(b.config, p)) b.plan.mirrors.push(p.tag);
  if (p.phase === 'Ready' && !p.override && waitsForMirror(b.config, p, b.mirroring)) {
    // upstream: no verdict until the release mirror job finished (success or failure)
    const message = `waiting for the mirror to ${mirrorTarget(b.config, p.tag)}`;
    if (message !== p.message) p = b.setPhase(p, 'Ready', '', message);
  } else if (p.phase === 'Ready' && !p.override) {
    const v = ciVerdict(judged, statuses, conditions);
    if (v.verdict) p = b.setPhase(p, v.verdict, v.reason, v.message);
    else {
      // a visible reason while blocking entries wait for something that may never come by itself
      const waiting = [...conditions.entries()].filter(([n, c]) => (c.kind === 'waiting' || c.kind === 'removed') && entryGroup(own(judged.verify, n)!) === 'blocking');
      const message = waiting.map(([n, c]) => (c.kind === 'waiting' ? c.why : `${n} was ${c.why}; waive it to accept without it`)).join('; ');
      if (message !== p.message) {
        p = b.setPhase(p, 'Ready', '', message);
        if (message) b.event(p.tag, 'VerificationWaiting', message, { verifyNames: waiting.map(([n]) => n) });
      }
    }
  }
  // Accepted payloads keep being planned until every CI entry is final (informing retries)
  const done = [...statuses].every(([n, st]) => st.state === 'Success' || st.state === 'Failure' || conditions.has(n));
  if (b.current(p).jobs!.ciDone !== done) {
    p = { ...b.current(p), jobs: { ...b.current(p).jobs!, ciDone: done } };
    b.put(p);
  }
  stageQE(b, p, statuses, conditions);
}

function cancelQERuns(b: PlanBuilder, p: Payload, reason: string): void {
  for (const r of runningQERuns(b.runsOf(p), p.qe.generation)) b.cancelRun(r.id, reason);
}

function stageQE(b: PlanBuilder, p0: Payload, ci: Map<string, EntryStatus>, conditions: EntryConditions): void {
  let p = b.current(p0);
  const qe = p.qe;
  if (qe.override) return; // an override wins until a re-run
  if (qe.state === 'QEAccepted' || qe.state === 'QERejected' || qe.state === 'QESkipped') return;
  if ((p.phase === 'Rejected' || p.phase === 'Failed') && qe.state) {
    // QE never decides for a payload CI did not accept
    cancelQERuns(b, p, `Payload${p.phase}`);
    b.setQE(p, { ...qe, state: 'QESkipped', reason: `Payload${p.phase}`, message: `payload is ${p.phase}; QE jobs do not run` });
    return;
  }
  const before = judgingConfig(b.config, p);
  const names = qeJobNames(before, qe);
  if (!qe.startedAt) {
    if (names.length === 0) {
      if (qe.state !== '') b.setQE(p, { ...qe, state: '', reason: '', message: '' });
      return;
    }
    if (qe.state === '' && p.phase !== 'Pending' && p.phase !== 'Ready') return; // verified before the stream had QE jobs
    const gate = evaluateGate(before, p, ci, conditions);
    if (gate.skipped) {
      b.setQE(p, { ...qe, state: 'QESkipped', reason: gate.skipped.reason, message: gate.skipped.message });
      return;
    }
    if (!gate.open) {
      b.setQE(p, { ...qe, state: 'QEPending', reason: '', message: gate.description });
      return;
    }
    // the QE job set (and each definition) is frozen now
    const deadline = new Date(b.now.getTime() + qeTimeoutMs(b.config));
    const verify = Object.fromEntries(names.map((n) => [n, own(before.verify, n)!]));
    p = b.setQE(p, { ...qe, state: 'QERunning', reason: '', message: '', startedAt: b.at, deadline: rfc3339(deadline), jobs: names, verify });
  }
  // QE running
  const cur = p.qe;
  const judged = judgingConfig(b.config, p);
  const active = qeJobNames(judged, cur);
  // jobs removed from the config while running: cancel their runs, decide without them
  for (const r of runningQERuns(b.runsOf(p), cur.generation)) if (!active.includes(r.verifyName)) b.cancelRun(r.id, REMOVED_FROM_CONFIG);
  if (active.length === 0) {
    b.setQE(p, { ...cur, state: '', reason: '', message: 'all QE jobs were removed from the stream config' });
    return;
  }
  const now = b.now.getTime();
  // upgrade QE jobs without a source: not run on a stream's first payloads (they do not decide), else waiting
  const qeConds = qeConditions(b.view, b.config, p, b.runsOf(p));
  const notRun = new Set([...qeConds].filter(([, c]) => c.kind === 'notRun').map(([n]) => n));
  let v = qeDecision(judged, p, b.runsOf(p), now, notRun);
  if (v.state === 'QERunning') {
    const entries = active.map((n) => [n, own(judged.verify, n)!] as [string, ReleaseVerification]);
    const runsBefore = b.runsOf(p).length;
    ensureEntries(b, p, entries, qeStatuses(judged, p, b.runsOf(p)), cur.generation, qeConds);
    if (b.runsOf(p).length !== runsBefore) v = qeDecision(judged, p, b.runsOf(p), now, notRun);
  }
  // a verdict (or the time limit) ends whatever QE runs are still going
  if (v.state !== 'QERunning') cancelQERuns(b, p, v.timedOut ? 'QETimeout' : 'QEVerdict');
  b.setQE(p, { ...cur, state: v.state, reason: v.reason, message: v.message });
  const deadline = cur.deadline ? Date.parse(cur.deadline) : NaN;
  if (v.state === 'QERunning' && Number.isFinite(deadline)) b.requeue(deadline - now);
  // keep qe-verify annotation current while QE runs
  if (v.state === 'QERunning') b.put(b.current(p));
}

function stagePublish(b: PlanBuilder, all: readonly Payload[]): void {
  const steps = Object.entries(b.config.publish ?? {}).filter(([, s]) => !s.disabled).sort(([a], [c]) => (a < c ? -1 : 1));
  if (steps.length === 0) return;
  const cur = all.map((p) => b.current(p));
  const newestAccepted = cur.find((p) => p.phase === 'Accepted');
  const newestQE = cur.find(isQEAccepted);
  const published = new Map(b.view.published(b.stream).map((r) => [r.name, r]));
  const input = inputStreamOf(b.config);
  for (const [name, step] of steps) {
    const target = step.on === 'QEAccepted' ? newestQE : newestAccepted;
    if (!target) continue;
    if (step.tagRef) {
      const ref = step.tagRef.name;
      if (ref === target.tag || published.get(ref)?.tag === target.tag) continue;
      b.plan.published.push({ stream: b.stream, name: ref, tag: target.tag, updatedAt: b.at });
      b.event(target.tag, 'Published', `publish ${name}: tag ${ref} → ${target.tag}`, { step: name, tagRef: ref });
    } else if (step.imageStreamRef) {
      const dest = step.imageStreamRef.namespace ? `${step.imageStreamRef.namespace}/${step.imageStreamRef.name}` : step.imageStreamRef.name;
      if (dest === input || step.imageStreamRef.name === input) continue;
      const marker = `imageStreamRef:${name}`;
      if (published.get(marker)?.tag === target.tag) continue;
      const exclude = new Set(step.imageStreamRef.excludeTags ?? []);
      const only = step.imageStreamRef.tags?.length ? new Set(step.imageStreamRef.tags) : null;
      const existing = new Map(b.view.inputTags(dest).map((t) => [t.component, t]));
      for (const [component, c] of Object.entries(target.components)) {
        if (exclude.has(component) || (only && !only.has(component))) continue;
        existing.set(component, { input: dest, component, pullSpec: c.pullSpec, labels: c.labels ?? {}, updatedAt: b.at });
      }
      b.plan.inputUpdates.push({ input: dest, tags: [...existing.values()].sort((x, y) => (x.component < y.component ? -1 : 1)) });
      b.plan.published.push({ stream: b.stream, name: marker, tag: target.tag, updatedAt: b.at });
      b.event(target.tag, 'Published', `publish ${name}: components of ${target.tag} copied to input stream ${dest}`, { step: name, imageStreamRef: dest });
    }
  }
}

function stagePeriodics(b: PlanBuilder, all: readonly Payload[], since: Date): void {
  const entries = Object.entries(b.config.periodic ?? {}).sort(([a], [c]) => (a < c ? -1 : 1));
  if (entries.length === 0) return;
  const target = all.map((p) => b.current(p)).find((p) => p.phase === 'Accepted');
  if (!target) return;
  const periodicRuns = new Map<string, JobRun>();
  for (const r of b.view.periodicRuns(b.stream)) {
    const prev = periodicRuns.get(r.verifyName);
    if (!prev || prev.createdAt < r.createdAt || (prev.createdAt === r.createdAt && prev.id < r.id)) periodicRuns.set(r.verifyName, r);
  }
  for (const [name, per] of entries) {
    let d;
    try {
      d = periodicDue(per, periodicRuns.get(name), since, b.now);
    } catch (e) {
      b.condition(`periodic/${name}`, target.tag, `periodic ${name}: ${(e as Error).message}`, { verifyName: name });
      continue;
    }
    if (!d.due) {
      b.requeue(d.retryAfterMs);
      continue;
    }
    let upgradeFrom = '';
    let upgradeFromPullSpec = '';
    if (per.upgrade) {
      const r = resolveUpgradeSource(b.passView(), b.config, target, per, 'periodic');
      if (!r.ok || !r.source) {
        // upstream: an impossible periodic is an error for that launch, not a fake success;
        // recorded once while it lasts (the next accepted payload wakes the stream)
        b.condition(`periodic/${name}`, target.tag, `periodic ${name}: ${r.ok ? `no upgrade source (${r.why})` : r.error}`, { verifyName: name });
        continue;
      }
      upgradeFrom = r.source.tag;
      upgradeFromPullSpec = r.source.pullSpec;
    }
    const stamp = b.at.replace(/[-:TZ]/g, '');
    const id = safeJobName(`${target.tag}-${name}`, `p${stamp}`);
    if (b.view.periodicRuns(b.stream).some((r) => r.id === id)) continue;
    b.launch(target, { id, stream: target.stream, tag: target.tag, verifyName: name, jobName: per.prowJob?.name || name, kind: 'periodic', attempt: 0, generation: 0, upgradeFrom, upgradeFromPullSpec });
  }
}

/**
 * Whether a payload's verdicts can still change by themselves: Ready; QE still open on a built
 * payload; Accepted with CI entries not final yet (informing retries). Settled payloads are not
 * planned again (an operation — retry, override, re-run — reopens them explicitly).
 */
export function needsPass(p: Payload): boolean {
  if (p.phase === 'Pending') return false;
  if (p.phase === 'Ready') return true;
  if (p.qe.state === 'QEPending' || p.qe.state === 'QERunning') return true;
  return p.phase === 'Accepted' && p.jobs != null && !p.jobs.ciDone;
}

/** One reconcile pass of a stream. Returns only what must change: a second pass does nothing. */
export function planStream(view: WorldView, streamName: string, now: Date, opts: PlanOptions = {}): Plan {
  const rec = view.stream(streamName);
  if (!rec || rec.errors.length > 0 || rec.config.endOfLife) return emptyPlan();
  const b = new PlanBuilder(view, streamName, rec.config, now, opts.mirroring ?? false);
  if (stageGarbage(b)) {
    b.requeue(0);
    return b.finish(false);
  }
  const repository = opts.repositoryFor ? opts.repositoryFor(rec.config) : `registry.local/${rec.config.to || 'release'}`;
  stageCreate(b, repository);
  // payloads as this pass sees them (a payload created just now first), newest first
  const all: Payload[] = [...b.createdPayloads(), ...view.payloads(streamName)];
  stagePending(b, all);
  for (const p of all) {
    const cur = b.current(p);
    if (needsPass(cur)) stageVerify(b, cur);
  }
  stagePublish(b, all);
  stagePeriodics(b, all, opts.since ?? now);
  return b.finish();
}

/**
 * The result of reading an adopted release image back: Ready with what the image says (its
 * components and its `previous` versions), or Failed with the reason. `rebuilt`: the image named
 * another version, so the controller built it again under the release's own name (upstream's
 * rewrite) and `result` is that build.
 */
export function applyAdoption(
  view: WorldView,
  p: Payload,
  image: { components: Payload['components']; previous: string[]; version: string },
  result: { ok: true; pullSpec: string; digest: string; mirrorRepository?: string } | { ok: false; reason: string; message: string },
  now: Date,
): { payload: Payload; event: EventRecord } | null {
  const applied = applyBuild(view, p, result, now);
  if (!applied || !result.ok) return applied;
  const annotations = { ...applied.payload.annotations };
  const previous = [...new Set(image.previous.filter((v) => parseStrict(v)))].sort(compareTagsDescending);
  if (previous.length) annotations[AnnotationPrevious] = previous.join(',');
  const payload = { ...applied.payload, components: image.components, annotations };
  const rewrite = image.version !== p.tag ? `; the image named version ${image.version}, so it was rebuilt as ${p.tag}` : '';
  return { payload, event: { ...applied.event, message: `${applied.event.message}${rewrite}`, data: { ...applied.event.data, adopted: true, version: image.version, previous } } };
}

/**
 * Applies a build result to a Pending payload: Ready with its pull spec, digest and mirror
 * repository (when the builder wrote one), or Failed with the reason.
 */
export function applyBuild(
  view: WorldView,
  p: Payload,
  result: { ok: true; pullSpec: string; digest: string; mirrorRepository?: string } | { ok: false; reason: string; message: string },
  now: Date,
): { payload: Payload; event: EventRecord } | null {
  const rec = view.stream(p.stream);
  if (!rec || p.phase !== 'Pending') return null;
  const at = rfc3339(now);
  const next: Payload = result.ok
    ? { ...p, phase: 'Ready', pullSpec: result.pullSpec, digest: result.digest, ...(result.mirrorRepository ? { mirrorRepository: result.mirrorRepository } : {}), reason: '', message: '', phaseChangedAt: at }
    : { ...p, phase: 'Failed', reason: result.reason, message: result.message, phaseChangedAt: at };
  const payload = withAnnotations(next, rec.config, view.runs(p.stream, p.tag));
  const msg = result.ok ? `Pending → Ready (${result.pullSpec})` : `Pending → Failed (${result.reason}: ${result.message})`;
  return { payload, event: { at, stream: p.stream, tag: p.tag, type: 'PhaseChanged', actor: 'controller', message: msg, data: { phase: next.phase, previous: 'Pending', reason: next.reason, message: next.message } } };
}

