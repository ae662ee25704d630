// QE jobs (DESIGN.md §6): the gate, the QE job set, and the QE verdict. Pure.
import { QE_GATES, qeEntries, type QEGate, type ReleaseConfig } from './config/schema.ts';
import { parseDuration } from './duration.ts';
import { own } from './own.ts';
import type { JobRun, Payload, QEState, QEStatus } from './types.ts';
import { effectiveState, entryGroup, entryStatus, type EntryConditions, type EntryStatus, type JobState } from './verification.ts';

export const DEFAULT_QE_TIMEOUT_MS = 24 * 3_600_000;

export function qeGate(config: ReleaseConfig): QEGate {
  const g = config.qe?.gate;
  return (QE_GATES as readonly string[]).includes(g ?? '') ? (g as QEGate) : 'InformingPassed';
}

export function qeTimeoutMs(config: ReleaseConfig): number {
  const t = config.qe?.timeout;
  if (!t) return DEFAULT_QE_TIMEOUT_MS;
  try {
    const ms = parseDuration(t);
    return ms > 0 ? ms : DEFAULT_QE_TIMEOUT_MS;
  } catch {
    return DEFAULT_QE_TIMEOUT_MS;
  }
}

export function emptyQEStatus(): QEStatus {
  return { state: '', reason: '', message: '', startedAt: null, deadline: null, generation: 0, jobs: [], override: null };
}

/**
 * The QE verify names that apply to a payload: before QE starts, the stream's current QE entries;
 * once started, the set frozen at start minus entries removed or disabled in the config since
 * (their running jobs are cancelled; the others keep the definitions frozen at start).
 */
export function qeJobNames(config: ReleaseConfig, qe: QEStatus): string[] {
  const current = qeEntries(config).map(([n]) => n);
  if (!qe.startedAt) return current;
  const cur = new Set(current);
  return qe.jobs.filter((n) => cur.has(n));
}

export interface GateResult {
  open: boolean;
  /** gate can never open for this payload: QESkipped with this reason/message */
  skipped: { reason: string; message: string } | null;
  /** human-readable state of the gate, shown on the release page */
  description: string;
}

/**
 * Whether QE jobs may start. `statuses` are the CI entry statuses of the payload.
 * Async and disabled informing jobs are ignored; a Rejected/Failed payload never opens the gate.
 */
export function evaluateGate(config: ReleaseConfig, payload: Payload, statuses: Map<string, EntryStatus>, conditions: EntryConditions = new Map()): GateResult {
  const gate = qeGate(config);
  if (payload.phase === 'Rejected' || payload.phase === 'Failed') {
    return {
      open: false,
      skipped: { reason: `Payload${payload.phase}`, message: `payload is ${payload.phase}; QE jobs do not run` },
      description: `closed: payload ${payload.phase}`,
    };
  }
  if (payload.phase !== 'Accepted') return { open: false, skipped: null, description: `waiting for the payload to be Accepted (gate ${gate})` };
  if (gate === 'Accepted') return { open: true, skipped: null, description: 'open: payload Accepted (gate Accepted)' };
  const informing: { name: string; state: JobState }[] = [];
  for (const [name, v] of Object.entries(config.verify ?? {})) {
    if (v.disabled || v.qe || entryGroup(v) !== 'informing') continue;
    const st = statuses.get(name) ?? { name, state: 'Unknown', runs: [], nextAttempt: 0, notBefore: 0, interruptions: 0 };
    // an informing job that cannot run (no upgrade source) does not hold the gate
    const state = effectiveState(st, conditions.get(name));
    if (state !== null) informing.push({ name, state });
  }
  const waiting = informing.filter((s) => s.state === 'Pending' || s.state === 'Unknown').map((s) => s.name).sort();
  const failed = informing.filter((s) => s.state === 'Failure').map((s) => s.name).sort();
  if (gate === 'InformingPassed' && failed.length > 0) {
    return {
      open: false,
      skipped: { reason: 'InformingJobsFailed', message: `informing jobs failed: ${failed.join(', ')}` },
      description: `closed: informing jobs failed: ${failed.join(', ')}`,
    };
  }
  if (waiting.length > 0) return { open: false, skipped: null, description: `waiting for informing jobs: ${waiting.join(', ')} (gate ${gate})` };
  return { open: true, skipped: null, description: `open: payload Accepted and informing jobs ${gate === 'InformingPassed' ? 'passed' : 'completed'} (gate ${gate})` };
}

/** QE runs of a generation that are still running (what a verdict, re-run or override stops). */
export function runningQERuns(runs: readonly JobRun[], generation: number): JobRun[] {
  return runs.filter((r) => r.kind === 'qe' && r.generation === generation && r.state === 'Pending');
}

/** Runs of one QE entry in the payload's current QE generation. */
export function qeRunsOf(runs: readonly JobRun[], name: string, generation: number): JobRun[] {
  return runs.filter((r) => r.kind === 'qe' && r.verifyName === name && r.generation === generation);
}

export interface QEVerdict {
  state: QEState;
  reason: string;
  message: string;
}

/** The QE verdict of a started payload from its QE entry statuses (optional entries don't decide). */
export function qeVerdict(config: ReleaseConfig, names: string[], statuses: Map<string, EntryStatus>): QEVerdict {
  const required: EntryStatus[] = [];
  const all: EntryStatus[] = [];
  for (const name of names) {
    const v = own(config.verify, name);
    const st = statuses.get(name);
    if (!v || !st) continue;
    all.push(st);
    if (!v.optional) required.push(st);
  }
  const failed = required.filter((s) => s.state === 'Failure').map((s) => s.name).sort();
  if (failed.length) return { state: 'QERejected', reason: 'QEJobsFailed', message: `QE jobs failed: ${failed.join(', ')}` };
  const decided = required.length > 0 ? required.every((s) => s.state === 'Success') : all.every((s) => s.state === 'Success' || s.state === 'Failure');
  if (decided) return { state: 'QEAccepted', reason: 'QEJobsPassed', message: required.length ? `QE jobs passed: ${required.map((s) => s.name).sort().join(', ')}` : 'no required QE jobs' };
  return { state: 'QERunning', reason: '', message: '' };
}

/** Runs as they stood at `at`: a run that finished later counts as still running then. */
export function runsAsOf(runs: readonly JobRun[], at: number): JobRun[] {
  return runs.map((r) => {
    if (r.state === 'Pending' || !r.finishedAt) return r;
    const f = Date.parse(r.finishedAt);
    return Number.isFinite(f) && f > at ? { ...r, state: 'Pending', finishedAt: null } : r;
  });
}

/**
 * Status of every QE entry of a payload for its current generation. `config` is the payload's
 * judging config (frozen QE definitions); with `asOf`, runs that finished after it count as running.
 */
export function qeStatuses(config: ReleaseConfig, payload: Payload, runs: readonly JobRun[], asOf?: number): Map<string, EntryStatus> {
  const out = new Map<string, EntryStatus>();
  for (const name of qeJobNames(config, payload.qe)) {
    const v = own(config.verify, name);
    if (!v) continue;
    const mine = qeRunsOf(runs, name, payload.qe.generation);
    out.set(name, entryStatus(name, v, asOf === undefined ? mine : runsAsOf(mine, asOf)));
  }
  return out;
}

export interface QEDecision extends QEVerdict {
  /** the time limit passed with the verdict still open */
  timedOut: boolean;
}

/**
 * The QE verdict of a started payload at `now`. The verdict from runs that finished before the
 * deadline comes first: a run that finished in time counts even when the controller looks late;
 * only an open verdict at the deadline is a timeout. Entries in `notRun` (upgrade QE jobs of a
 * stream's first payloads, which have no source) do not decide.
 */
export function qeDecision(config: ReleaseConfig, payload: Payload, runs: readonly JobRun[], now: number, notRun: ReadonlySet<string> = new Set()): QEDecision {
  const names = qeJobNames(config, payload.qe).filter((n) => !notRun.has(n));
  const deadline = payload.qe.deadline ? Date.parse(payload.qe.deadline) : NaN;
  const late = Number.isFinite(deadline) && now >= deadline;
  const v = qeVerdict(config, names, qeStatuses(config, payload, runs, late ? deadline : undefined));
  if (late && v.state === 'QERunning') {
    return { state: 'QERejected', reason: 'QETimeout', message: `QE jobs did not finish within ${config.qe?.timeout ?? '24h'}`, timedOut: true };
  }
  return { ...v, timedOut: false };
}
