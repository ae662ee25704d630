// Operations people ask for (DESIGN.md §14): phase overrides, QE verdicts, QE re-runs, job
// retries, waivers and input updates, as pure functions of state + request + now → the changes to
// apply, or a refusal with the HTTP status and a message. The controller applies them inside the
// same serialised section as reconcile passes.
import { mirrorTarget, waitsForMirror } from './mirror.ts';
import { approvalAnnotation, teamApprovalState, teamNameProblem } from './approvals.ts';
import { isStable, qeEntries } from './config/schema.ts';
import { AnnotationFromTag } from './candidate.ts';
import { AnnotationPrevious } from './graph.ts';
import { entryConditions, isQEAccepted, judgingConfig } from './judging.ts';
import { compareTagsDescending, parseStrict } from './version.ts';
import { own } from './own.ts';
import { emptyQEStatus, qeRunsOf, runningQERuns } from './qe.ts';
import { aggregatorRunName, rfc3339, runName, safeJobName } from './tagname.ts';
import { decideCreation, isKept, lockText } from './lifecycle.ts';
import { AnnotationKeep, type EventRecord, type InputTag, type JobRun, type Payload, type Pin, type QEStatus, type StreamRecord } from './types.ts';
import { resolveUpgradeSource } from './upgrade.ts';
import { decidingRuns, entryStatus } from './verification.ts';
import type { WorldView } from './world.ts';
import { creationInput, newPayload, runKind, withAnnotations } from './plan.ts';

export type RefusalCode = 'bad_request' | 'not_found' | 'conflict';

export interface Refusal {
  code: RefusalCode;
  status: 400 | 404 | 409;
  message: string;
}

export interface OpChanges {
  payload: Payload | null;
  inputTags: { input: string; tags: InputTag[] } | null;
  runs: JobRun[];
  events: EventRecord[];
  cancels: { runId: string; reason: string }[];
  /** ids of runs in `runs` to hand to the executor once recorded */
  launches: string[];
  /** streams to wake */
  wake: string[];
  /** the stream record after the operation (lock) */
  stream: StreamRecord | null;
  /** the whole new set of pinned components of an input stream */
  pins: { input: string; pins: Pin[] } | null;
  /** payloads to remove with everything garbage collection removes (prune) */
  deletes: { stream: string; tag: string }[];
}

export type OpResult = { ok: true; changes: OpChanges } | { ok: false; refusal: Refusal };

const STATUS: Record<RefusalCode, 400 | 404 | 409> = { bad_request: 400, not_found: 404, conflict: 409 };

function refuse(code: RefusalCode, message: string): OpResult {
  return { ok: false, refusal: { code, status: STATUS[code], message } };
}

function ok(c: Partial<OpChanges>): OpResult {
  return { ok: true, changes: { payload: null, inputTags: null, runs: [], events: [], cancels: [], launches: [], wake: [], stream: null, pins: null, deletes: [], ...c } };
}

export interface PayloadRequest {
  stream: string;
  tag: string;
  reason: string;
  user: string;
}

function event(now: Date, stream: string, tag: string, type: string, actor: string, message: string, data: Record<string, unknown>): EventRecord {
  return { at: rfc3339(now), stream, tag, type, actor, message, data };
}

/** stream + payload of a request, or the refusal (names never resolve to prototype members: Maps) */
function target(view: WorldView, req: PayloadRequest): { rec: StreamRecord; p: Payload } | OpResult {
  if (!req.reason.trim()) return refuse('bad_request', 'reason is required');
  const rec = view.stream(req.stream);
  if (!rec) return refuse('not_found', `unknown release stream ${req.stream}`);
  const p = view.payload(req.stream, req.tag);
  if (!p) return refuse('not_found', `unknown release tag ${req.tag} in stream ${req.stream}`);
  return { rec, p };
}

function isResult(x: unknown): x is OpResult {
  return typeof x === 'object' && x !== null && 'ok' in x;
}

/** Pending QE runs of the payload's current generation, as cancellations. */
function qeCancels(view: WorldView, p: Payload, reason: string): { runId: string; reason: string }[] {
  return runningQERuns(view.runs(p.stream, p.tag), p.qe.generation).map((r) => ({ runId: r.id, reason }));
}

/** QE reopened after the payload became eligible again (override to Accepted, a retry): a fresh generation if QE had started. */
function reopenedQE(qe: QEStatus, why: string): QEStatus {
  if (qe.state !== 'QESkipped') return qe;
  return { ...emptyQEStatus(), state: 'QEPending', generation: qe.startedAt ? qe.generation + 1 : qe.generation, message: why };
}

/** `mirroring`: Ready payloads are copied to alternateImageRepository here; a gating stream's override waits for the copy (upstream §4.15). */
export function overridePhase(view: WorldView, req: PayloadRequest & { phase: string; mirroring?: boolean }, now: Date): OpResult {
  if (req.phase !== 'Accepted' && req.phase !== 'Rejected') return refuse('bad_request', 'phase must be Accepted or Rejected');
  const t = target(view, req);
  if (isResult(t)) return t;
  const { rec, p } = t;
  const phase = req.phase;
  if (p.phase === 'Pending') return refuse('conflict', `${req.tag} is still Pending: it can be overridden once its payload is built`);
  if (p.phase === 'Failed') return refuse('conflict', `${req.tag} is Failed: a payload that could not be built cannot be overridden`);
  if (p.phase === 'Ready' && waitsForMirror(rec.config, p, req.mirroring ?? false)) return refuse('conflict', `${req.tag} is waiting for its mirror to ${mirrorTarget(rec.config, p.tag)}: it can be overridden once the copy finished`);
  const at = rfc3339(now);
  let qe = p.qe;
  let cancels: { runId: string; reason: string }[] = [];
  if (phase === 'Rejected' && qe.state && qe.state !== 'QESkipped') {
    // a payload CI does not accept is not QE accepted either: QE stops, whatever it had reached
    cancels = qeCancels(view, p, 'ReleasePayloadManuallyRejected');
    qe = { ...qe, state: 'QESkipped', reason: 'ReleasePayloadManuallyRejected', message: `phase overridden to Rejected by ${req.user}: ${req.reason}`, override: null };
  } else if (phase === 'Accepted') qe = reopenedQE(qe, `phase overridden to Accepted by ${req.user}`);
  const next: Payload = {
    ...p, phase, override: { phase, reason: req.reason, user: req.user, at }, reason: `ReleasePayloadManually${phase}`, message: req.reason, qe,
    phaseChangedAt: p.phase === phase ? p.phaseChangedAt : at,
  };
  const events = [event(now, req.stream, req.tag, 'PhaseOverridden', req.user, `manually ${phase} (was ${p.phase}): ${req.reason}`, { phase, previous: p.phase, reason: req.reason })];
  if (qe.state !== p.qe.state) {
    events.push(event(now, req.stream, req.tag, 'QEStateChanged', req.user, `QE ${p.qe.state || '(none)'} → ${qe.state} (${qe.reason || qe.message})`, { qePhase: qe.state, previous: p.qe.state, reason: qe.reason }));
  }
  return ok({ payload: withAnnotations(next, rec.config, view.runs(req.stream, req.tag)), events, cancels, wake: [req.stream] });
}

export function setQEVerdict(view: WorldView, req: PayloadRequest & { verdict: string }, now: Date): OpResult {
  if (req.verdict !== 'QEAccepted' && req.verdict !== 'QERejected') return refuse('bad_request', 'verdict must be QEAccepted or QERejected');
  const t = target(view, req);
  if (isResult(t)) return t;
  const { rec, p } = t;
  if (!p.qe.state && qeEntries(rec.config).length === 0) return refuse('conflict', `stream ${req.stream} has no QE jobs`);
  if (p.phase !== 'Accepted') {
    return refuse('conflict', `${req.tag} is ${p.phase}: a QE verdict can only be set on an Accepted payload (CI decides first; QE accepted means CI accepted too)`);
  }
  const at = rfc3339(now);
  const verdict = req.verdict;
  const qe: QEStatus = { ...(p.qe.state ? p.qe : emptyQEStatus()), state: verdict, reason: 'ManualOverride', message: req.reason, override: { phase: verdict, reason: req.reason, user: req.user, at } };
  return ok({
    payload: withAnnotations({ ...p, qe }, rec.config, view.runs(req.stream, req.tag)),
    events: [event(now, req.stream, req.tag, 'QEVerdictOverridden', req.user, `QE verdict set to ${verdict} (was ${p.qe.state || 'none'}): ${req.reason}`, { qePhase: verdict, previous: p.qe.state, reason: req.reason })],
    cancels: qeCancels(view, p, 'QEVerdict'),
    wake: [req.stream],
  });
}

export function rerunQE(view: WorldView, req: PayloadRequest, now: Date): OpResult {
  const t = target(view, req);
  if (isResult(t)) return t;
  const { rec, p } = t;
  if (qeEntries(rec.config).length === 0) return refuse('conflict', `stream ${req.stream} has no QE jobs`);
  if (p.phase !== 'Accepted') return refuse('conflict', `${req.tag} is ${p.phase}: QE jobs run only on Accepted payloads`);
  const qe: QEStatus = { ...emptyQEStatus(), state: 'QEPending', generation: p.qe.generation + 1, message: `re-run requested by ${req.user}` };
  return ok({
    payload: withAnnotations({ ...p, qe }, rec.config, view.runs(req.stream, req.tag)),
    events: [event(now, req.stream, req.tag, 'QERerun', req.user, `QE jobs re-run (generation ${qe.generation}): ${req.reason}`, { generation: qe.generation, previous: p.qe.state, reason: req.reason })],
    cancels: qeCancels(view, p, 'Rerun'),
    wake: [req.stream],
  });
}

export function retryJob(view: WorldView, req: PayloadRequest & { verifyName: string }, now: Date): OpResult {
  const t = target(view, req);
  if (isResult(t)) return t;
  const { rec, p } = t;
  const name = req.verifyName;
  const judged = judgingConfig(rec.config, p);
  const v = own(judged.verify, name);
  if (!v || v.disabled) return refuse('not_found', `stream ${req.stream} has no verification job ${name}`);
  if (p.phase === 'Pending' || p.phase === 'Failed') return refuse('conflict', `${req.tag} is ${p.phase}: its jobs cannot be retried`);
  if (!v.qe && p.jobs && own(p.jobs.removed, name)) return refuse('conflict', `${name} was removed from the stream config: waive it instead of retrying`);
  const all = view.runs(req.stream, req.tag);
  let runs: JobRun[];
  let generation = 0;
  if (v.qe) {
    if (!p.qe.startedAt) return refuse('conflict', `QE jobs of ${req.tag} have not started`);
    if (p.phase !== 'Accepted') return refuse('conflict', `${req.tag} is ${p.phase}: QE jobs run only on Accepted payloads`);
    generation = p.qe.generation;
    if (p.qe.deadline && Date.parse(p.qe.deadline) <= now.getTime()) return refuse('conflict', `the QE time limit of ${req.tag} has passed; re-run the QE jobs instead`);
    runs = qeRunsOf(all, name, generation);
  } else {
    runs = decidingRuns(v, name, all);
  }
  const st = entryStatus(name, v, runs);
  if (runs.some((r) => r.state === 'Pending')) return refuse('conflict', `${name} is still running on ${req.tag}`);
  const aggregated = !v.qe && (v.aggregatedProwJob?.analysisJobCount ?? 0) > 0;
  if (aggregated && st.runs.length === 0) {
    // the aggregator decides; before it ran there is nothing to retry (its analysis runs are still going)
    return refuse('conflict', `${name} has not been decided yet on ${req.tag}: its analysis runs have not all finished`);
  }
  if (st.interruptions > 0) return refuse('conflict', `${name} was interrupted on ${req.tag} and is being relaunched`);
  // runs of older versions recorded a missing upgrade source as a success: those may be retried
  if (st.runs.some((r) => r.state === 'Succeeded' && !r.reason.startsWith('NoUpgradeSource'))) return refuse('conflict', `${name} already succeeded on ${req.tag}`);
  const counted = st.runs;
  const attempt = counted.reduce((m, r) => Math.max(m, r.attempt + 1), 0);
  const template = counted[counted.length - 1];
  const kind = template?.kind ?? runKind(v);
  const extra = v.qe && generation > 0 ? `rerun${generation}` : '';
  let upgradeFrom = template?.upgradeFrom ?? '';
  let upgradeFromPullSpec = template?.upgradeFromPullSpec ?? '';
  if (v.upgrade && !upgradeFromPullSpec) {
    const src = resolveUpgradeSource(view, judged, p, v, 'verify');
    if (!src.ok || !src.source) return refuse('conflict', `${name} has no upgrade source for ${req.tag} (${src.ok ? src.why : src.error}); waive it instead`);
    upgradeFrom = src.source.tag;
    upgradeFromPullSpec = src.source.pullSpec;
  }
  const id = kind === 'aggregator' ? aggregatorRunName(req.tag, name, attempt) : runName(req.tag, name, attempt, extra);
  const at = rfc3339(now);
  const run: JobRun = {
    id, stream: req.stream, tag: req.tag, verifyName: name, jobName: template?.jobName ?? (v.prowJob?.name || name), kind, attempt, generation, state: 'Pending', url: '',
    upgradeFrom, upgradeFromPullSpec, createdAt: at, startedAt: null, finishedAt: null, reason: '', logPath: '',
  };
  // the retried run is launched exactly as the attempt before it (aggregators: the analysis counts)
  if (template?.env) run.env = template.env;
  if (view.runs(req.stream, req.tag).some((r) => r.id === run.id)) {
    const alt = safeJobName(run.id, `r${all.filter((r) => r.id.startsWith(run.id)).length}`);
    if (all.some((r) => r.id === alt)) return refuse('conflict', `run ${run.id} already exists`);
    run.id = alt;
  }
  const events = [event(now, req.stream, req.tag, 'JobRetryRequested', req.user, `${name} retried (attempt ${attempt + 1}): ${req.reason}`, { verifyName: name, runId: run.id, attempt, reason: req.reason })];
  let next: Payload | null = null;
  // a retried blocking job may still accept a payload it rejected; a retried QE job reopens the verdict
  if (!v.qe && p.phase === 'Rejected' && !p.override) {
    next = { ...p, phase: 'Ready', reason: '', message: '', phaseChangedAt: at, qe: reopenedQE(p.qe, `job ${name} retried`), ...(p.jobs ? { jobs: { ...p.jobs, ciDone: false } } : {}) };
    events.push(event(now, req.stream, req.tag, 'PhaseChanged', req.user, `Rejected → Ready (job ${name} retried)`, { phase: 'Ready', previous: 'Rejected' }));
  } else if (!v.qe && p.phase === 'Accepted' && p.jobs) {
    next = { ...p, jobs: { ...p.jobs, ciDone: false }, qe: reopenedQE(p.qe, `job ${name} retried`) };
  }
  if (v.qe && p.qe.state === 'QERejected' && !p.qe.override) {
    next = { ...(next ?? p), qe: { ...p.qe, state: 'QERunning', reason: '', message: '' } };
  }
  if (next && next.qe.state !== p.qe.state) {
    events.push(event(now, req.stream, req.tag, 'QEStateChanged', req.user, `QE ${p.qe.state || '(none)'} → ${next.qe.state} (job ${name} retried)`, { qePhase: next.qe.state, previous: p.qe.state, reason: '' }));
  }
  return ok({
    payload: next ? withAnnotations(next, rec.config, [...all, run]) : null,
    runs: [run], events, launches: [run.id], wake: [req.stream],
  });
}

/** Marks an entry that cannot run (no upgrade source, removed from the config) as passed, audited. */
export function waiveJob(view: WorldView, req: PayloadRequest & { verifyName: string }, now: Date): OpResult {
  const t = target(view, req);
  if (isResult(t)) return t;
  const { rec, p } = t;
  const name = req.verifyName;
  const judged = judgingConfig(rec.config, p);
  const v = own(judged.verify, name);
  if (!v || v.disabled || v.qe) return refuse('not_found', `stream ${req.stream} has no verification job ${name} (QE jobs cannot be waived)`);
  if (p.phase !== 'Ready' && p.phase !== 'Accepted') return refuse('conflict', `${req.tag} is ${p.phase}: only a Ready or Accepted payload's jobs can be waived`);
  const jobs = p.jobs;
  if (!jobs) return refuse('conflict', `${req.tag} has not been verified yet; try again in a moment`);
  if (own(jobs.waivers, name)) return refuse('conflict', `${name} is already waived on ${req.tag}`);
  const runs = view.runs(req.stream, req.tag);
  const cond = entryConditions(view, rec.config, p, runs).get(name);
  if (!cond || cond.kind === 'waived') {
    return refuse('conflict', `${name} can run on ${req.tag}: only a job that cannot run (no upgrade source, removed from the config) can be waived; retry it or override the phase`);
  }
  const at = rfc3339(now);
  const next: Payload = { ...p, jobs: { ...jobs, waivers: { ...jobs.waivers, [name]: { reason: req.reason, user: req.user, at } }, ciDone: false } };
  return ok({
    payload: withAnnotations(next, rec.config, runs),
    events: [event(now, req.stream, req.tag, 'JobWaived', req.user, `${name} waived (${cond.why}): ${req.reason}`, { verifyName: name, reason: req.reason, condition: cond.kind })],
    wake: [req.stream],
  });
}

/**
 * A team accepts or rejects a payload (upstream's `release.openshift.io/<team>_state` label): the
 * annotation, and an audited event. The phase never changes; the qe team's state is the QE verdict.
 */
export function setTeamApproval(view: WorldView, req: PayloadRequest & { team: string; state: string }, now: Date): OpResult {
  const problem = teamNameProblem(req.team);
  if (problem) return refuse('bad_request', problem);
  if (req.state !== 'Accepted' && req.state !== 'Rejected') return refuse('bad_request', 'state must be Accepted or Rejected');
  const t = target(view, req);
  if (isResult(t)) return t;
  const { p } = t;
  const previous = teamApprovalState(p, req.team);
  if (previous === req.state) return refuse('conflict', `${req.tag} is already ${req.state} by team ${req.team}`);
  const reason = req.reason.trim();
  const next: Payload = { ...p, annotations: { ...p.annotations, [approvalAnnotation(req.team)]: req.state } };
  return ok({
    payload: next,
    events: [
      event(now, req.stream, req.tag, 'TeamApprovalSet', req.user, `team ${req.team}: ${req.state}${previous ? ` (was ${previous})` : ''}: ${reason}`, {
        team: req.team, state: req.state, previous, reason,
      }),
    ],
  });
}

const COMPONENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** One atomic input change: merges components into an input stream (unchanged ones are not rewritten); with `replace` the input becomes exactly `tags`. */
export function updateInputTags(
  view: WorldView,
  req: { input: string; tags: Record<string, string>; labels?: Record<string, Record<string, string>>; user: string; replace?: boolean },
  now: Date,
): OpResult {
  const { input, tags } = req;
  const names = Object.keys(tags);
  if (!input.trim()) return refuse('bad_request', 'input stream name must not be empty');
  if (names.length === 0) return refuse('bad_request', 'tags: at least one component is required');
  for (const n of names) {
    if (!COMPONENT.test(n)) return refuse('bad_request', `tags: invalid component name ${JSON.stringify(n)}`);
    if (typeof tags[n] !== 'string' || !tags[n].trim()) return refuse('bad_request', `tags.${n}: pull spec must be a non-empty string`);
  }
  const at = rfc3339(now);
  const merged = new Map(view.inputTags(input).map((t) => [t.component, t]));
  const changed: string[] = [];
  for (const n of names) {
    const old = merged.get(n);
    const l = own(req.labels, n) ?? old?.labels ?? {};
    if (old && old.pullSpec === tags[n] && JSON.stringify(old.labels) === JSON.stringify(l)) continue;
    merged.set(n, { input, component: n, pullSpec: tags[n], labels: l, updatedAt: at });
    changed.push(n);
  }
  // replace (a registry import): the input becomes exactly `tags`; a component no longer there leaves it
  const removed = req.replace ? [...merged.keys()].filter((n) => !Object.hasOwn(tags, n)).sort() : [];
  for (const n of removed) merged.delete(n);
  if (changed.length === 0 && removed.length === 0) return ok({});
  const bound = view.streams().filter((s) => s.input === input);
  const parts = [changed.length ? `updated: ${changed.sort().join(', ')}` : '', removed.length ? `removed: ${removed.join(', ')}` : ''].filter(Boolean);
  const msg = `input stream ${input} ${parts.join('; ')}`;
  const data = removed.length ? { input, components: changed, removed } : { input, components: changed };
  const events = bound.length === 0 ? [event(now, '', '', 'InputUpdated', req.user, msg, data)] : bound.map((s) => event(now, s.name, '', 'InputUpdated', req.user, msg, data));
  return ok({ inputTags: { input, tags: [...merged.values()] }, events, wake: bound.map((s) => s.name) });
}

// ---------------------------------------------------------------- operator levers (issue 21)

/** Keep (or stop keeping) a payload: a kept payload is never garbage-collected (upstream's `keep` annotation). */
export function setKeep(view: WorldView, req: PayloadRequest & { keep: boolean }, now: Date): OpResult {
  const t = target(view, req);
  if (isResult(t)) return t;
  const { rec, p } = t;
  const kept = isKept(p);
  if (!req.keep && !kept) return refuse('conflict', `${req.tag} is not kept`);
  if (req.keep && p.phase === 'Pending') return refuse('conflict', `${req.tag} is still Pending: keep it once its payload is built`);
  const reason = req.reason.trim();
  if (req.keep && kept && p.annotations[AnnotationKeep] === reason) return refuse('conflict', `${req.tag} is already kept: ${reason}`);
  const annotations = { ...p.annotations };
  if (req.keep) annotations[AnnotationKeep] = reason;
  else delete annotations[AnnotationKeep];
  const type = req.keep ? 'PayloadKept' : 'PayloadUnkept';
  const msg = req.keep ? `${req.tag} kept (never garbage-collected)${kept ? ', reason changed' : ''}: ${reason}` : `${req.tag} no longer kept: ${reason}`;
  return ok({
    payload: withAnnotations({ ...p, annotations }, rec.config, view.runs(req.stream, req.tag)),
    events: [event(now, req.stream, req.tag, type, req.user, msg, { keep: req.keep, reason })],
    wake: [req.stream],
  });
}

export interface StreamRequest {
  stream: string;
  reason: string;
  user: string;
}

function streamTarget(view: WorldView, req: StreamRequest): StreamRecord | OpResult {
  if (!req.reason.trim()) return refuse('bad_request', 'reason is required');
  return view.stream(req.stream) ?? refuse('not_found', `unknown release stream ${req.stream}`);
}

/** Lock or unlock a stream: a locked stream creates no payloads (running verification continues). */
export function setLock(view: WorldView, req: StreamRequest & { locked: boolean }, now: Date): OpResult {
  const rec = streamTarget(view, req);
  if (isResult(rec)) return rec;
  const reason = req.reason.trim();
  if (!req.locked && !rec.locked) return refuse('conflict', `stream ${req.stream} is not locked`);
  if (req.locked && rec.locked && rec.lock?.reason === reason) return refuse('conflict', `stream ${req.stream} is already ${lockText(rec)}`);
  const { lock: _old, ...rest } = rec;
  const next: StreamRecord = req.locked ? { ...rest, locked: true, lock: { reason, user: req.user, at: rfc3339(now) } } : { ...rest, locked: false };
  const msg = req.locked ? `stream ${req.stream} locked (no new payloads)${rec.locked ? ', reason changed' : ''}: ${reason}` : `stream ${req.stream} unlocked: ${reason}`;
  return ok({
    stream: next,
    events: [event(now, req.stream, '', req.locked ? 'StreamLocked' : 'StreamUnlocked', req.user, msg, { locked: req.locked, reason })],
    wake: [req.stream],
  });
}

/** The streams bound to an input stream, and an event for each (one stream-less event when none). */
function inputEvents(view: WorldView, input: string, now: Date, type: string, user: string, message: string, data: Record<string, unknown>): { events: EventRecord[]; wake: string[] } {
  const bound = view.streams().filter((s) => s.input === input);
  return {
    events: bound.length === 0 ? [event(now, '', '', type, user, message, data)] : bound.map((s) => event(now, s.name, '', type, user, message, data)),
    wake: bound.map((s) => s.name),
  };
}

function knownInput(view: WorldView, input: string): boolean {
  return view.inputTags(input).length > 0 || view.streams().some((s) => s.input === input) || (view.pins?.(input).length ?? 0) > 0;
}

export interface PinRequest {
  input: string;
  component: string;
  /** exactly one of pullSpec and fromTag */
  pullSpec?: string;
  /** a payload to take the component's pull spec (and labels) from */
  fromTag?: string;
  reason: string;
  user: string;
}

/**
 * Pin ("revert") a component of an input stream to a pull spec, given or taken from an earlier
 * payload: payloads are made with it until it is unpinned; input updates of the component are still
 * recorded. Pinning an already pinned component moves the pin.
 */
export function pinComponent(view: WorldView, req: PinRequest, now: Date): OpResult {
  if (!req.reason.trim()) return refuse('bad_request', 'reason is required');
  if (!COMPONENT.test(req.component)) return refuse('bad_request', `component: invalid component name ${JSON.stringify(req.component)}`);
  const given = req.pullSpec !== undefined && req.pullSpec !== '';
  const from = req.fromTag !== undefined && req.fromTag !== '';
  if (given === from) return refuse('bad_request', 'give exactly one of pullSpec and fromTag');
  if (!knownInput(view, req.input)) return refuse('not_found', `unknown input stream ${req.input}`);
  const current = view.inputTags(req.input).find((t) => t.component === req.component);
  let pullSpec = req.pullSpec ?? '';
  let labels: Record<string, string> = {};
  let fromTag = '';
  if (from) {
    const p = view.findTag(req.fromTag!);
    if (!p) return refuse('not_found', `unknown release tag ${req.fromTag}`);
    const c = own(p.components, req.component);
    if (!c) return refuse('not_found', `release tag ${req.fromTag} has no component ${req.component}`);
    pullSpec = c.pullSpec;
    labels = c.labels ?? {};
    fromTag = p.tag;
  } else {
    if (!current) return refuse('not_found', `input stream ${req.input} has no component ${req.component} (pin it from a payload with fromTag)`);
    // the labels of the image, when the input still has it
    if (current.pullSpec === pullSpec) labels = current.labels;
    else {
      for (const s of view.streams().filter((x) => x.input === req.input)) {
        const hit = view.payloads(s.name).find((x) => own(x.components, req.component)?.pullSpec === pullSpec);
        if (hit) {
          labels = own(hit.components, req.component)!.labels ?? {};
          break;
        }
      }
    }
  }
  const pins = view.pins?.(req.input) ?? [];
  const old = pins.find((x) => x.component === req.component);
  if (old && old.pullSpec === pullSpec) return refuse('conflict', `${req.component} of input stream ${req.input} is already pinned to ${pullSpec} (by ${old.user}: ${old.reason})`);
  const reason = req.reason.trim();
  const pin: Pin = { input: req.input, component: req.component, pullSpec, labels, fromTag, reason, user: req.user, at: rfc3339(now) };
  const next = [...pins.filter((x) => x.component !== req.component), pin].sort((a, b) => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0));
  const msg = `${req.component} of input stream ${req.input} pinned to ${pullSpec}${fromTag ? ` (from ${fromTag})` : ''}${old ? ` (was ${old.pullSpec})` : ''}: ${reason}`;
  const { events, wake } = inputEvents(view, req.input, now, 'ComponentPinned', req.user, msg, { input: req.input, component: req.component, pullSpec, fromTag, reason, previous: old?.pullSpec ?? null });
  return ok({ pins: { input: req.input, pins: next }, events, wake });
}

/** Unpin a component: payloads follow the input stream's pull spec again. */
export function unpinComponent(view: WorldView, req: { input: string; component: string; reason: string; user: string }, now: Date): OpResult {
  if (!req.reason.trim()) return refuse('bad_request', 'reason is required');
  const pins = view.pins?.(req.input) ?? [];
  const old = pins.find((x) => x.component === req.component);
  if (!old) return refuse('not_found', `${req.component} of input stream ${req.input} is not pinned`);
  const reason = req.reason.trim();
  const current = view.inputTags(req.input).find((t) => t.component === req.component);
  const msg = `${req.component} of input stream ${req.input} unpinned (was ${old.pullSpec}; input has ${current?.pullSpec ?? 'no such component'}): ${reason}`;
  const { events, wake } = inputEvents(view, req.input, now, 'ComponentUnpinned', req.user, msg, { input: req.input, component: req.component, previous: old.pullSpec, reason });
  return ok({ pins: { input: req.input, pins: pins.filter((x) => x !== old) }, events, wake });
}

/**
 * Poke: create a payload now even if the input is unchanged or the creation interval has not
 * passed (upstream's re-import trick). Refused while locked, while a payload is pending and when
 * maxUnreadyReleases would be exceeded. `repository`: where the stream's payloads are pushed.
 */
export function pokeStream(view: WorldView, req: StreamRequest & { repository: string }, now: Date): OpResult {
  const rec = streamTarget(view, req);
  if (isResult(rec)) return rec;
  if (rec.errors.length) return refuse('conflict', `stream ${req.stream} has configuration errors and is not reconciled: ${rec.errors.join('; ')}`);
  if (rec.config.endOfLife) return refuse('conflict', `stream ${req.stream} is end of life`);
  if (isStable(rec.config)) return refuse('conflict', `stream ${req.stream} is a Stable stream: its payloads are promoted, not created from an input stream`);
  const { input, tags, hash } = creationInput(view, rec.config);
  const d = decideCreation(rec.config, view.payloads(req.stream), hash, now, { lock: rec, poke: true });
  if (!d.create) {
    const why = d.blockedBy.startsWith('locked') ? `stream ${req.stream} is ${lockText(rec)}; unlock it first` : `no payload can be created now: ${d.blockedBy}`;
    return refuse('conflict', why);
  }
  const p = newPayload(rec.config, req.stream, tags, hash, req.repository, now);
  if (view.payload(req.stream, p.tag)) return refuse('conflict', `a payload named ${p.tag} already exists; poke again in a second`);
  const reason = req.reason.trim();
  return ok({
    payload: p,
    events: [event(now, req.stream, p.tag, 'PayloadCreated', req.user, `${p.tag} created from input stream ${input} (poked: ${reason})`, { phase: 'Pending', input, hash, poke: true, reason })],
    wake: [req.stream],
  });
}

/** Prune: remove a payload that is not kept, with everything garbage collection removes; its running jobs are cancelled. */
export function prunePayload(view: WorldView, req: PayloadRequest, now: Date): OpResult {
  const t = target(view, req);
  if (isResult(t)) return t;
  const { p } = t;
  if (isKept(p)) return refuse('conflict', `${req.tag} is kept (${p.annotations[AnnotationKeep] || 'no reason given'}): unkeep it before pruning it`);
  const reason = req.reason.trim();
  const cancels = view.runs(req.stream, req.tag).filter((r) => r.state === 'Pending').map((r) => ({ runId: r.id, reason: 'PayloadDeleted' }));
  return ok({
    deletes: [{ stream: req.stream, tag: req.tag }],
    cancels,
    events: [event(now, req.stream, req.tag, 'PayloadDeleted', req.user, `${req.tag} (${p.phase}) pruned: ${reason}`, { phase: p.phase, reason, pruned: true })],
    wake: [req.stream],
  });
}


export interface PromoteRequest extends StreamRequest {
  /** the new release's name in the Stable stream: a semantic version (4.16.3, 4.17.0-rc.1) */
  version: string;
  /** `<stream>/<tag>` of the payload to promote */
  from: string;
  /** promote although the source is not Accepted (and QE accepted where QE applies); audited */
  force: boolean;
  /** upgrade sources to declare beyond those the source was tested from */
  previous: string[];
  /** where the Stable stream's releases are pushed */
  repository: string;
}

/** Why `p` may not be promoted, or null: Accepted, and QE accepted when QE applies to it. */
export function promotionBlocker(view: WorldView, p: Payload): string | null {
  const missing: string[] = [];
  if (p.phase !== 'Accepted') missing.push(`it is ${p.phase}, not Accepted`);
  const cfg = view.stream(p.stream)?.config;
  const qeApplies = Boolean(p.qe.state) || (cfg ? qeEntries(cfg).length > 0 : false);
  if (qeApplies && !isQEAccepted(p)) missing.push(`its QE verdict is ${p.qe.state || 'not given'}, not QEAccepted`);
  return missing.length ? missing.join(' and ') : null;
}

/**
 * The Stable versions a promoted release declares it can be upgraded from: every Stable release
 * the source had a successful upgrade run from, plus the ones asked for; semver descending.
 */
export function promotedPrevious(view: WorldView, source: Payload, asked: readonly string[]): string[] {
  const stable = new Set<string>();
  for (const s of view.streams()) if (isStable(s.config)) for (const p of view.payloads(s.name)) stable.add(p.tag);
  const tested = view.upgradesInto(source.tag).filter((r) => r.state === 'Succeeded' && stable.has(r.from)).map((r) => r.from);
  const all = [...new Set([...tested, ...asked.map((v) => v.trim()).filter(Boolean)])];
  return all.sort(compareTagsDescending);
}

/**
 * Promote: a payload of an integration stream becomes a named release of a Stable stream (issue
 * 16). The new release starts Pending with the source's components, records where it came from
 * (AnnotationFromTag, the lineage the candidate logic reads) and which versions it upgrades from
 * (AnnotationPrevious), and is built, verified by the Stable stream's `verify` and phased like
 * any payload.
 */
export function promoteRelease(view: WorldView, req: PromoteRequest, now: Date): OpResult {
  const rec = streamTarget(view, req);
  if (isResult(rec)) return rec;
  if (!isStable(rec.config)) return refuse('bad_request', `stream ${req.stream} is not a Stable stream ("as": "Stable"): its payloads are created from its input stream`);
  if (rec.errors.length) return refuse('conflict', `stream ${req.stream} has configuration errors and is not reconciled: ${rec.errors.join('; ')}`);
  if (rec.config.endOfLife) return refuse('conflict', `stream ${req.stream} is end of life`);
  if (rec.locked) return refuse('conflict', `stream ${req.stream} is ${lockText(rec)}; unlock it first`);
  const version = req.version.trim();
  if (!parseStrict(version)) return refuse('bad_request', `version ${JSON.stringify(version)} is not a semantic version (e.g. 4.16.3, 4.17.0-rc.1)`);
  const bad = req.previous.filter((v) => !parseStrict(v.trim()));
  if (bad.length) return refuse('bad_request', `previous: ${bad.map((v) => JSON.stringify(v)).join(', ')} ${bad.length === 1 ? 'is not a semantic version' : 'are not semantic versions'}`);
  if (view.payload(req.stream, version)) return refuse('conflict', `${version} already exists in stream ${req.stream}`);
  const slash = req.from.indexOf('/');
  if (slash <= 0 || slash === req.from.length - 1) return refuse('bad_request', `from must be <stream>/<tag>, got ${JSON.stringify(req.from)}`);
  const fromStream = req.from.slice(0, slash);
  const fromTag = req.from.slice(slash + 1);
  if (!view.stream(fromStream)) return refuse('not_found', `unknown release stream ${fromStream}`);
  const source = view.payload(fromStream, fromTag);
  if (!source) return refuse('not_found', `unknown release tag ${fromTag} in stream ${fromStream}`);
  if (fromStream === req.stream) return refuse('bad_request', `${fromTag} is already a release of ${req.stream}`);
  const blocker = promotionBlocker(view, source);
  if (blocker && !req.force) return refuse('conflict', `${req.from} cannot be promoted: ${blocker} (force with a reason to promote it anyway)`);
  const reason = req.reason.trim();
  const previous = promotedPrevious(view, source, req.previous);
  const base = newPayload(rec.config, req.stream, [], source.inputHash, req.repository, now);
  const annotations: Record<string, string> = { [AnnotationFromTag]: source.tag };
  if (previous.length) annotations[AnnotationPrevious] = previous.join(',');
  const p: Payload = { ...base, tag: version, pullSpec: `${req.repository}:${version}`, components: { ...source.components }, annotations };
  const forced = blocker && req.force ? ` (forced: ${blocker})` : '';
  return ok({
    payload: p,
    events: [
      event(now, req.stream, version, 'ReleasePromoted', req.user, `${version} promoted from ${req.from}${forced}: ${reason}`, {
        phase: 'Pending', from: req.from, fromTag: source.tag, previous, reason, force: Boolean(blocker && req.force), ...(blocker && req.force ? { overridden: blocker } : {}),
      }),
    ],
    wake: [req.stream],
  });
}
