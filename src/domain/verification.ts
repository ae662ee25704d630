// Verification: the state of one verify entry from its runs, retry backoff, and the CI verdict
// (upstream-behavior.md §4.3, §4.10–§4.13, with DESIGN.md §13 fixes).
import type { ReleaseConfig, ReleaseVerification } from './config/schema.ts';
import type { JobRun } from './types.ts';

export type JobState = 'Success' | 'Failure' | 'Pending' | 'Unknown';

export interface EntryStatus {
  name: string;
  state: JobState;
  /** runs of this entry that count (attempt order), excluding analysis runs */
  runs: JobRun[];
  /** attempt number the next launch would use, or null when nothing should launch */
  nextAttempt: number | null;
  /** earliest time (ms since epoch) the next attempt may launch */
  notBefore: number;
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
 * Status of one verify entry from its runs (latest generation only for QE entries — the caller
 * filters). `runs` must belong to this entry and exclude analysis runs.
 */
export function entryStatus(name: string, entry: Pick<ReleaseVerification, 'maxRetries'>, runs: JobRun[]): EntryStatus {
  const sorted = [...runs].sort((a, b) => a.attempt - b.attempt);
  const maxAttempts = 1 + Math.max(0, entry.maxRetries ?? 0);
  if (sorted.length === 0) return { name, state: 'Unknown', runs: sorted, nextAttempt: 0, notBefore: 0 };
  if (sorted.some((r) => r.state === 'Succeeded')) return { name, state: 'Success', runs: sorted, nextAttempt: null, notBefore: 0 };
  const last = sorted[sorted.length - 1];
  if (last.state === 'Pending') return { name, state: 'Pending', runs: sorted, nextAttempt: null, notBefore: 0 };
  // last attempt Failed or Aborted
  const next = last.attempt + 1;
  if (next < maxAttempts) {
    const finished = last.finishedAt ? Date.parse(last.finishedAt) : NaN;
    const notBefore = Number.isFinite(finished) ? finished + retryBackoffMs(next) : 0;
    return { name, state: 'Pending', runs: sorted, nextAttempt: next, notBefore };
  }
  return { name, state: 'Failure', runs: sorted, nextAttempt: null, notBefore: 0 };
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
 * CI verdict from entry statuses (QE entries excluded by the caller). Blocking jobs decide; with
 * no blocking jobs, accept once every non-async informing entry has finished (DESIGN §13 item 9).
 */
export function ciVerdict(config: ReleaseConfig, statuses: Map<string, EntryStatus>): CIVerdict {
  const blocking: EntryStatus[] = [];
  const informing: EntryStatus[] = [];
  for (const [name, v] of Object.entries(config.verify ?? {})) {
    if (v.disabled || v.qe) continue;
    const st = statuses.get(name);
    if (!st) continue;
    const g = entryGroup(v);
    if (g === 'blocking') blocking.push(st);
    else if (g === 'informing') informing.push(st);
  }
  if (blocking.length === 0) {
    const done = informing.every((s) => s.state === 'Success' || s.state === 'Failure');
    return done
      ? { verdict: 'Accepted', reason: 'ReleasePayloadAccepted', message: '' }
      : { verdict: null, reason: '', message: '' };
  }
  const agg = aggregateStates(blocking.map((s) => s.state));
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
  for (const [name, v] of Object.entries(config.verify ?? {})) {
    if (v.disabled || v.qe) continue;
    out.set(name, entryStatus(name, v, decidingRuns(v, name, runs)));
  }
  return out;
}
