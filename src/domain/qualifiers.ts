// Release qualifiers (upstream `release-qualifiers.yaml`, issue 16 item 7): the qualifiers file,
// per-job overrides merged into it, and each payload's qualifiers summary as upstream's
// `status.qualifiersSummary` (GET /api/v1/releasetag/{tag}/qualifiers). Pure.
//
// - The file is `qualifiers: {<id>: {enabled, approval, badgeName, summary, description,
//   payloadBadgeStatus, failureLabels, notifications}}`; unknown fields are errors.
// - A verify entry's `qualifiers: {<id>: {...}}` names the qualifiers its job counts for; an id
//   that the file does not define is ignored. When several jobs override one id, the last job
//   (blocking, then informing, each in name order) wins.
// - A job-based qualifier's state aggregates its jobs' states (Pending > Unknown > Failure >
//   Success); its badge is earned when enabled and Success. An approval qualifier has no jobs: the
//   payload's `release.openshift.io/<id>_state` (Accepted / Rejected) decides it.
// Jira escalations (`notifications`) are parsed and merged but not sent.
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { qualifierSchema, type ReleaseConfig, type ReleaseQualifier } from './config/schema.ts';
import { own } from './own.ts';
import { DEFAULT_AGGREGATOR_JOB } from './plan.ts';
import { approvalAnnotation, teamApprovalState } from './approvals.ts';
import { qeStatuses } from './qe.ts';
import type { JobRun, Payload } from './types.ts';
import { aggregateStates, ciStatuses, isInterrupted, type EntryStatus, type JobState } from './verification.ts';

export type ReleaseQualifiers = Record<string, ReleaseQualifier>;

/** Share of an aggregated entry's analysis runs that must pass (upstream's threshold). */
export const ANALYSIS_SUCCESS_THRESHOLD = 0.6;

const QualifiersFileSchema = z
  .object({ qualifiers: z.record(qualifierSchema(true), { invalid_type_error: 'must be a mapping of qualifier id to qualifier' }).optional().nullable() }, { invalid_type_error: 'must be a mapping with qualifiers' })
  .strict();

/** Parses a qualifiers file; an empty file defines none. Errors read `<file>: path: reason`. */
export function parseQualifiersFile(text: string, file: string): ReleaseQualifiers {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: (root): invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const r = QualifiersFileSchema.safeParse(doc.toJS() ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.code === 'unrecognized_keys' ? `unknown field ${i.keys.join(', ')}` : i.message}`);
  }
  // fromEntries: an id such as `__proto__` stays a plain entry
  return Object.fromEntries(Object.entries(r.data.qualifiers ?? {}));
}

type Notifications = NonNullable<ReleaseQualifier['notifications']>;
type Jira = NonNullable<Notifications['jira']>;
type Escalation = NonNullable<Jira['escalations']>[number];

const JIRA_STRINGS = ['project', 'component', 'assignee', 'summary', 'description', 'thread'] as const;

function mergeJira(base: Jira, over: Jira): Jira {
  const out: Jira = { ...base };
  for (const k of JIRA_STRINGS) if (over[k]) out[k] = over[k];
  // escalations merge by name, the override's winning; sorted by name
  const byName = new Map<string, Escalation>();
  for (const e of base.escalations ?? []) byName.set(e.name ?? '', e);
  for (const e of over.escalations ?? []) byName.set(e.name ?? '', e);
  out.escalations = [...byName.values()].sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0));
  return out;
}

/**
 * A global qualifier with a per-job override on top: non-empty strings win, `enabled` and
 * `approval` win when set, `failureLabels` when present, notifications merge field by field.
 */
export function mergeQualifier(base: ReleaseQualifier, over: ReleaseQualifier): ReleaseQualifier {
  const out: ReleaseQualifier = { ...base };
  if (over.badgeName) out.badgeName = over.badgeName;
  if (over.summary) out.summary = over.summary;
  if (over.description) out.description = over.description;
  if (over.payloadBadgeStatus) out.payloadBadgeStatus = over.payloadBadgeStatus;
  if (over.enabled !== undefined && over.enabled !== null) out.enabled = over.enabled;
  if (over.approval !== undefined && over.approval !== null) out.approval = over.approval;
  if (over.failureLabels !== undefined && over.failureLabels !== null) out.failureLabels = over.failureLabels;
  if (over.notifications) {
    const n: Notifications = { ...(out.notifications ?? {}) };
    if (over.notifications.jira) n.jira = mergeJira(n.jira ?? {}, over.notifications.jira);
    out.notifications = n;
  }
  return out;
}

/** Badge earned: enabled and every job passed. */
export function badgeEarned(q: ReleaseQualifier, state: JobState): boolean {
  return q.enabled === true && state === 'Success';
}

/** Whether the badge shows at the payload level (the stream page), per `payloadBadgeStatus`. */
export function badgePropagated(q: ReleaseQualifier, state: JobState): boolean {
  if (q.enabled !== true) return false;
  switch (q.payloadBadgeStatus) {
    case 'Yes':
      return true;
    case 'OnSuccess':
      return state === 'Success';
    case 'OnFailure':
      return state === 'Failure';
    default:
      return false;
  }
}

export interface QualifierJobRef {
  ciConfigurationName: string;
  ciConfigurationJobName: string;
}

/** One job of a payload as the summary sees it. */
export interface QualifierJob extends QualifierJobRef {
  state: JobState;
  qualifiers: Record<string, ReleaseQualifier>;
}

/** Upstream's ReleaseQualifierSummary; field order is the wire format, absent fields are omitted. */
export interface QualifierSummary {
  jobs: QualifierJobRef[] | null;
  aggregateState?: JobState;
  badgeName?: string;
  badgeEarned?: true;
  badgePropagated?: true;
  approval?: true;
  failureLabels?: string[];
}

/** Upstream's QualifiersSummary: both fields omitted when empty (`{}`). */
export interface QualifiersSummary {
  failureLabels?: string[];
  qualifiers?: Record<string, QualifierSummary>;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function entry(jobs: QualifierJobRef[] | null, state: JobState, q: ReleaseQualifier, earned: boolean, approval: boolean): QualifierSummary {
  const out: QualifierSummary = { jobs, aggregateState: state };
  if (q.badgeName) out.badgeName = q.badgeName;
  if (earned) out.badgeEarned = true;
  if (badgePropagated(q, state)) out.badgePropagated = true;
  if (approval) out.approval = true;
  if (q.failureLabels?.length) out.failureLabels = q.failureLabels;
  return out;
}

/**
 * The summary of one payload. `jobs`: blocking jobs then informing ones, each in name order.
 * `approvalState(id)`: the payload's `<id>_state` value (undefined when it has none).
 */
export function qualifiersSummary(global: ReleaseQualifiers, jobs: readonly QualifierJob[], approvalState: (id: string) => string | undefined): QualifiersSummary {
  const refs = new Map<string, QualifierJob[]>();
  const overrides = new Map<string, ReleaseQualifier>();
  for (const j of jobs) {
    for (const [id, q] of Object.entries(j.qualifiers)) {
      refs.set(id, [...(refs.get(id) ?? []), j]);
      overrides.set(id, q);
    }
  }
  const qualifiers = new Map<string, QualifierSummary>();
  const failureLabels: string[] = [];
  for (const [id, list] of refs) {
    const g = own(global, id);
    if (!g) continue;
    const merged = mergeQualifier(g, overrides.get(id)!);
    const state = aggregateStates(list.map((j) => j.state));
    if (state === 'Failure') failureLabels.push(...(merged.failureLabels ?? []));
    const refsOut = list.map((j) => ({ ciConfigurationName: j.ciConfigurationName, ciConfigurationJobName: j.ciConfigurationJobName })).sort((a, b) => byString(a.ciConfigurationName, b.ciConfigurationName));
    qualifiers.set(id, entry(refsOut, state, merged, badgeEarned(merged, state), false));
  }
  for (const [id, q] of Object.entries(global)) {
    if (q.approval !== true || qualifiers.has(id)) continue;
    const v = approvalState(id);
    if (v !== 'Accepted' && v !== 'Rejected') continue;
    const state: JobState = v === 'Accepted' ? 'Success' : 'Failure';
    if (state === 'Failure') failureLabels.push(...(q.failureLabels ?? []));
    qualifiers.set(id, entry(null, state, q, state === 'Success', true));
  }
  const out: QualifiersSummary = {};
  if (failureLabels.length) out.failureLabels = [...new Set(failureLabels)].sort(byString);
  if (qualifiers.size) out.qualifiers = Object.fromEntries([...qualifiers.keys()].sort(byString).map((id) => [id, qualifiers.get(id)!]));
  return out;
}

/**
 * Upstream's analysis state of an aggregated entry: Unknown until all `count` runs exist, Success
 * once at least 60% of `count` passed, Pending while any runs, else Failure.
 */
export function analysisState(runs: readonly JobRun[], count: number): JobState {
  const counted = runs.filter((r) => !isInterrupted(r));
  if (counted.length === 0 || counted.length < count) return 'Unknown';
  if (counted.filter((r) => r.state === 'Succeeded').length / count >= ANALYSIS_SUCCESS_THRESHOLD) return 'Success';
  if (counted.some((r) => r.state === 'Pending')) return 'Pending';
  return 'Failure';
}

/**
 * A payload's `<id>_state`: the team approval annotation (domain/approvals.ts); for `qe`, always
 * the QE verdict (the built-in QE team is the QE verdict, no second truth).
 */
export function payloadApprovalState(p: Payload, id: string): string | undefined {
  if (id.toLowerCase() === 'qe') return teamApprovalState(p, 'qe') ?? undefined;
  return own(p.annotations, approvalAnnotation(id));
}

/**
 * The jobs of a payload as upstream's payload lists them, from the entries it is judged by
 * (`judged`: judgingConfig): non-optional entries are blocking, optional (and async, and our QE
 * entries) informing; an aggregated entry is its blocking aggregator `<name>-<aggregator job>`
 * plus its informing analysis job. Each list in name order, blocking first.
 */
export function payloadQualifierJobs(judged: ReleaseConfig, payload: Payload, runs: readonly JobRun[]): QualifierJob[] {
  const statuses = new Map<string, EntryStatus>([...ciStatuses(judged, runs), ...qeStatuses(judged, payload, runs)]);
  const blocking: QualifierJob[] = [];
  const informing: QualifierJob[] = [];
  for (const name of Object.keys(judged.verify ?? {}).sort(byString)) {
    const v = own(judged.verify, name)!;
    const st = statuses.get(name);
    if (v.disabled || !st) continue;
    const qualifiers = Object.fromEntries(Object.entries(v.qualifiers ?? {}));
    const job = v.prowJob?.name ?? '';
    const agg = v.aggregatedProwJob;
    const count = agg?.analysisJobCount ?? 0;
    if (agg && count > 0 && !v.qe) {
      const aggJob = agg.prowJob?.name || DEFAULT_AGGREGATOR_JOB;
      blocking.push({ ciConfigurationName: name, ciConfigurationJobName: `${name}-${aggJob}`, state: st.state, qualifiers });
      const analysis = runs.filter((r) => r.verifyName === name && r.kind === 'analysis');
      informing.push({ ciConfigurationName: name, ciConfigurationJobName: job, state: analysisState(analysis, count), qualifiers });
    } else (v.optional || v.qe ? informing : blocking).push({ ciConfigurationName: name, ciConfigurationJobName: job, state: st.state, qualifiers });
  }
  return [...blocking, ...informing];
}

/** A payload's summary under the qualifiers file `global`. */
export function payloadQualifiers(global: ReleaseQualifiers, judged: ReleaseConfig, payload: Payload, runs: readonly JobRun[]): QualifiersSummary {
  if (Object.keys(global).length === 0) return {};
  return qualifiersSummary(global, payloadQualifierJobs(judged, payload, runs), (id) => payloadApprovalState(payload, id));
}
