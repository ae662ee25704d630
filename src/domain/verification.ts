// Verification: the state of one verify entry from its runs, retry backoff, and the CI verdict
// (upstream-behavior.md §4.3, §4.10–§4.13, with DESIGN.md §13 fixes).
import { ciEntriesInOrder, type ReleaseConfig, type ReleaseVerification } from './config/schema.ts';
import type { JobRun } from './types.ts';

export type JobState = 'Success' | 'Failure' | 'Pending' | 'Unknown';

export interface EntryStatus {
  name: string;
  state: JobState;
  /** runs of this entry that count (attempt order), excluding analysis and interrupted runs */
  runs: JobRun[];
  /** attempt number the next launch would use, or null when nothing should launch */
  nextAttempt: number | null;
  /** earliest time (ms since epoch) the next attempt may launch */
  notBefore: number;
  /**
   * how many runs of `nextAttempt` were interrupted (controller stop, lost executor): the relaunch
   * of an interrupted attempt keeps its attempt number and gets the run-name suffix `i<n>`
   */
  interruptions: number;
}

/** A run that was stopped by the controller's own shutdown, a lost executor or a crash: not a result. */
export function isInterrupted(run: JobRun): boolean {
  return run.state === 'Interrupted';
}

/** The run-name part that tells relaunches of an interrupted attempt apart (`''` for the first launch). */
export function relaunchSuffix(interruptions: number): string {
  return interruptions > 0 ? `i${interruptions}` : '';
}

const MINUTE = 60_000;

/** Upstream backoff for launching attempt k (k = 1 is the first retry): 0, 2, 4, 8, 15, 15… minutes. */
export function retryBackoffMs(attempt: number): number {
  if (attempt <= 1) return 0;
  return Math.min(2 ** (attempt - 1), 15) * MINUTE;
}

export function isFinished(run: JobRun): boolean {
  return run.state !== 'Pending';
}

/**
 * An object literal, not `{ ...base, state }`: Node 20's V8 takes ~4 µs for a spread plus a
 * property, and the planner builds one for every entry of every deciding payload on each pass.
 */
function statusOf(name: string, runs: JobRun[], state: JobState, nextAttempt: number | null, notBefore: number, interruptions: number): EntryStatus {
  return { name, runs, interruptions, state, nextAttempt, notBefore };
}

/**
 * Status of one verify entry from its runs (latest generation only for QE entries — the caller
 * filters). `runs` must belong to this entry and exclude analysis runs. Interrupted runs are not
 * results: they never use up an attempt; the interrupted attempt is launched again at once.
 */
export function entryStatus(name: string, entry: Pick<ReleaseVerification, 'maxRetries'>, runs: readonly JobRun[]): EntryStatus {
  const all = [...runs].sort((a, b) => a.attempt - b.attempt || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  const sorted = all.filter((r) => !isInterrupted(r));
  const maxAttempts = 1 + Math.max(0, entry.maxRetries ?? 0);
  if (sorted.some((r) => r.state === 'Succeeded')) return statusOf(name, sorted, 'Success', null, 0, 0);
  const last = sorted[sorted.length - 1];
  if (last?.state === 'Pending') return statusOf(name, sorted, 'Pending', null, 0, 0);
  // the attempt after the last real result; interrupted runs of it are relaunched under a new name
  const next = last ? last.attempt + 1 : 0;
  const interrupted = all.filter((r) => isInterrupted(r) && r.attempt === next);
  const interruptions = interrupted.length;
  if (!last) return interruptions > 0 ? statusOf(name, sorted, 'Pending', 0, relaunchNotBefore(interrupted), interruptions) : statusOf(name, sorted, 'Unknown', 0, 0, 0);
  // last attempt Failed or Aborted
  if (next < maxAttempts) {
    const finished = last.finishedAt ? Date.parse(last.finishedAt) : NaN;
    const notBefore = interruptions > 0 ? relaunchNotBefore(interrupted) : !Number.isFinite(finished) ? 0 : finished + retryBackoffMs(next);
    return statusOf(name, sorted, 'Pending', next, notBefore, interruptions);
  }
  return statusOf(name, sorted, 'Failure', null, 0, 0);
}

/**
 * When an interrupted attempt may be relaunched: at once for the first two interruptions, then
 * with the retry backoff (2, 4, 8, 15 minutes) after the last one, so a job that keeps losing its
 * process (it kills its own process group, the machine keeps rebooting) does not spin. It still
 * uses up no attempt.
 */
export function relaunchNotBefore(interrupted: readonly JobRun[]): number {
  const n = interrupted.length;
  if (n < 3) return 0;
  const ends = interrupted.map((r) => Date.parse(r.finishedAt ?? r.createdAt)).filter(Number.isFinite);
  return ends.length ? Math.max(...ends) + retryBackoffMs(n - 1) : 0;
}

/** Upstream's aggregate over job states: Pending > Unknown > Failure > Success; empty → Unknown. */
export function aggregateStates(states: JobState[]): JobState {
  if (states.length === 0) return 'Unknown';
  if (states.includes('Pending')) return 'Pending';
  if (states.includes('Unknown')) return 'Unknown';
  if (states.includes('Failure')) return 'Failure';
  return 'Success';
}

export type EntryGroup = 'blocking' | 'informing' | 'async' | 'qe';

export function entryGroup(v: ReleaseVerification): EntryGroup {
  if (v.qe) return 'qe';
  if (v.optional && v.async) return 'async';
  if (v.optional) return 'informing';
  return 'blocking';
}

/** The API/annotation view of one entry (upstream VerificationStatus). */
export interface VerificationStatus {
  state: 'Succeeded' | 'Failed' | 'Pending';
  url: string;
  retries?: number;
  previousAttemptURLs?: string[];
  transitionTime?: string;
  /** ours, after upstream's fields: a person marked the entry passed (it could not run) */
  waived?: { user: string; reason: string; at: string };
}

export function verificationStatus(st: EntryStatus, maxRetries: number): VerificationStatus {
  const state = st.state === 'Success' ? 'Succeeded' : st.state === 'Failure' ? 'Failed' : 'Pending';
  const runs = st.runs;
  const success = runs.find((r) => r.state === 'Succeeded');
  const newest = runs[runs.length - 1];
  const primary = success ?? newest;
  const out: VerificationStatus = { state, url: primary?.url ?? '' };
  const retries = Math.min(Math.max(runs.length - 1, 0), Math.max(maxRetries, 0));
  if (retries > 0) out.retries = retries;
  if (runs.length > 1) {
    const prev = runs.filter((r) => r !== primary && r.url).map((r) => r.url);
    if (prev.length) out.previousAttemptURLs = prev;
  }
  if (newest?.finishedAt) out.transitionTime = newest.finishedAt.replace(/\.\d+Z$/, 'Z');
  return out;
}

export interface CIVerdict {
  verdict: 'Accepted' | 'Rejected' | null;
  reason: string;
  message: string;
}

/**
 * Why an entry is judged without (or before) a run of its own (DESIGN §14):
 * - `waived`: a person marked it passed (it could not run); counts as Succeeded;
 * - `notRun`: it cannot run and does not gate (an upgrade job of a stream's first payloads; an
 *   informing upgrade job without a source);
 * - `waiting`: it cannot run yet (no upgrade source for another reason); blocks acceptance;
 * - `removed`: removed or disabled in the config after the payload was created; its unfinished
 *   work was cancelled; blocks acceptance unless it had already finished (waive it to accept).
 */
export interface EntryCondition {
  kind: 'waived' | 'notRun' | 'waiting' | 'removed';
  why: string;
}

export type EntryConditions = ReadonlyMap<string, EntryCondition>;

/** Cancel reason of runs stopped because their entry left the stream config. */
export const REMOVED_FROM_CONFIG = 'RemovedFromConfig';

const NO_CONDITIONS: EntryConditions = new Map();

/** The state an entry counts with once its condition is taken into account (null: it does not count). */
export function effectiveState(st: EntryStatus, cond: EntryCondition | undefined): JobState | null {
  if (!cond) return st.state;
  switch (cond.kind) {
    case 'waived':
      return 'Success';
    case 'notRun':
      return st.runs.length > 0 ? st.state : null;
    case 'waiting':
      return st.state === 'Success' || st.state === 'Failure' ? st.state : 'Unknown';
    case 'removed': {
      // a failure stands only if it was a real result, not the cancellation of the removal itself
      const last = st.runs[st.runs.length - 1];
      if (st.state === 'Success') return 'Success';
      return st.state === 'Failure' && !(last?.state === 'Aborted' && last.reason === REMOVED_FROM_CONFIG) ? 'Failure' : 'Unknown';
    }
  }
}

/**
 * CI verdict from entry statuses (QE entries excluded by the caller). Blocking jobs decide; with
 * no blocking jobs, accept once every non-async informing entry has finished (DESIGN §13 item 9).
 * A waived entry counts as passed; a not-run one does not count; a waiting or removed one keeps
 * the payload undecided (no job passes without running).
 */
export function ciVerdict(config: ReleaseConfig, statuses: Map<string, EntryStatus>, conditions: EntryConditions = NO_CONDITIONS): CIVerdict {
  const blocking: { name: string; state: JobState; held: boolean }[] = [];
  const informing: { name: string; state: JobState }[] = [];
  for (const [name, v] of Object.entries(config.verify ?? {})) {
    if (v.disabled || v.qe) continue;
    const st = statuses.get(name);
    if (!st) continue;
    const cond = conditions.get(name);
    const state = effectiveState(st, cond);
    if (state === null) continue;
    const g = entryGroup(v);
    // held: undecided only because it cannot run (waiting for a source, removed)
    if (g === 'blocking') blocking.push({ name, state, held: state === 'Unknown' && (cond?.kind === 'waiting' || cond?.kind === 'removed') });
    else if (g === 'informing') informing.push({ name, state });
  }
  if (blocking.length === 0) {
    const done = informing.every((s) => s.state === 'Success' || s.state === 'Failure');
    return done
      ? { verdict: 'Accepted', reason: 'ReleasePayloadAccepted', message: '' }
      : { verdict: null, reason: '', message: '' };
  }
  // a blocking failure rejects once every other entry finished or can only wait
  const agg = aggregateStates(blocking.filter((s) => !s.held).map((s) => s.state));
  if (agg !== 'Failure' && blocking.some((s) => s.held)) return { verdict: null, reason: '', message: '' };
  if (agg === 'Success') return { verdict: 'Accepted', reason: 'ReleasePayloadAccepted', message: '' };
  if (agg === 'Failure') {
    const failed = blocking.filter((s) => s.state === 'Failure').map((s) => s.name).sort();
    return {
      verdict: 'Rejected',
      reason: 'VerificationFailed',
      message: `release verification failed: ${failed.join(', ')}`,
    };
  }
  return { verdict: null, reason: '', message: '' };
}

/** Runs that decide an entry: the aggregator runs for aggregated entries, else its own runs. */
export function decidingRuns(v: ReleaseVerification, name: string, runs: readonly JobRun[]): JobRun[] {
  const wanted = v.aggregatedProwJob && (v.aggregatedProwJob.analysisJobCount ?? 0) > 0 ? 'aggregator' : null;
  return runs.filter(
    (r) => r.verifyName === name && r.kind !== 'qe' && r.kind !== 'analysis' && r.kind !== 'periodic' && (wanted ? r.kind === 'aggregator' : r.kind !== 'aggregator'),
  );
}

/** Status of every non-QE, non-disabled verify entry of a payload. */
export function ciStatuses(config: ReleaseConfig, runs: readonly JobRun[]): Map<string, EntryStatus> {
  const out = new Map<string, EntryStatus>();
  // runs grouped by entry once: linear in entries + runs, not their product (2,000 entries of 2,000 runs)
  const byEntry = runsByEntry(runs);
  for (const [name, v] of ciEntriesInOrder(config)) out.set(name, entryStatus(name, v, decidingRuns(v, name, byEntry.get(name) ?? [])));
  return out;
}

/** a payload's runs by verify entry name, in their order */
export function runsByEntry(runs: readonly JobRun[]): Map<string, JobRun[]> {
  const m = new Map<string, JobRun[]>();
  for (const r of runs) {
    const a = m.get(r.verifyName);
    if (a) a.push(r);
    else m.set(r.verifyName, [r]);
  }
  return m;
}
