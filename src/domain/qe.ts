// QE jobs (DESIGN.md §6): the gate, the QE job set, and the QE verdict. Pure.
import { QE_GATES, qeEntries, type QEGate, type ReleaseConfig } from './config/schema.ts';
import { parseDuration } from './duration.ts';
import type { JobRun, Payload, QEState, QEStatus } from './types.ts';
import { entryGroup, entryStatus, type EntryStatus } from './verification.ts';

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
 * once started, the set frozen at start minus entries removed from the config since.
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
export function evaluateGate(config: ReleaseConfig, payload: Payload, statuses: Map<string, EntryStatus>): GateResult {
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
  const informing: EntryStatus[] = [];
  for (const [name, v] of Object.entries(config.verify ?? {})) {
    if (v.disabled || v.qe || entryGroup(v) !== 'informing') continue;
    informing.push(statuses.get(name) ?? { name, state: 'Unknown', runs: [], nextAttempt: 0, notBefore: 0 });
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
    const v = config.verify?.[name];
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

/** Status of every QE entry of a payload for its current generation. */
export function qeStatuses(config: ReleaseConfig, payload: Payload, runs: readonly JobRun[]): Map<string, EntryStatus> {
  const out = new Map<string, EntryStatus>();
  for (const name of qeJobNames(config, payload.qe)) {
    const v = config.verify?.[name];
    if (!v) continue;
    out.set(name, entryStatus(name, v, qeRunsOf(runs, name, payload.qe.generation)));
  }
  return out;
}
