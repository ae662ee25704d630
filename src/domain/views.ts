// Read models derived from state for the API and the console (pure).
import type { ReleaseConfig } from './config/schema.ts';
import { own } from './own.ts';
import { qeStatuses } from './qe.ts';
import type { JobRun, Payload } from './types.ts';
import { ciStatuses, entryGroup, verificationStatus, type EntryStatus, type VerificationStatus } from './verification.ts';

export interface PayloadResults {
  blockingJobs: Record<string, VerificationStatus>;
  informingJobs: Record<string, VerificationStatus>;
  asyncJobs: Record<string, VerificationStatus>;
  qeJobs: Record<string, VerificationStatus>;
}

function sortedRecord(m: Map<string, VerificationStatus>): Record<string, VerificationStatus> {
  // fromEntries defines own properties: a key such as `__proto__` stays a plain entry
  return Object.fromEntries([...m.keys()].sort().map((k) => [k, m.get(k)!]));
}

/**
 * Upstream's grouping of verification statuses (by config: async → asyncJobs, optional →
 * informingJobs, else blockingJobs) plus ours: qeJobs. Only entries that have at least one run
 * appear, as upstream only lists entries that have a status.
 */
export function payloadResults(config: ReleaseConfig, payload: Payload, runs: readonly JobRun[]): PayloadResults {
  const groups = {
    blocking: new Map<string, VerificationStatus>(),
    informing: new Map<string, VerificationStatus>(),
    async: new Map<string, VerificationStatus>(),
    qe: new Map<string, VerificationStatus>(),
  };
  const add = (statuses: Map<string, EntryStatus>) => {
    for (const [name, st] of statuses) {
      if (st.runs.length === 0) continue;
      const v = own(config.verify, name);
      if (!v) continue;
      groups[entryGroup(v)].set(name, verificationStatus(st, v.maxRetries ?? 0));
    }
  };
  add(ciStatuses(config, runs));
  add(qeStatuses(config, payload, runs));
  return {
    blockingJobs: sortedRecord(groups.blocking),
    informingJobs: sortedRecord(groups.informing),
    asyncJobs: sortedRecord(groups.async),
    qeJobs: sortedRecord(groups.qe),
  };
}

/** The `release.openshift.io/qe-verify` annotation value: verify name → {state,url,retries,transitionTime}. */
export function qeVerifyAnnotation(config: ReleaseConfig, payload: Payload, runs: readonly JobRun[]): string {
  const statuses = qeStatuses(config, payload, runs);
  const out = [...statuses.keys()].sort().map((name) => {
    const v = verificationStatus(statuses.get(name)!, own(config.verify, name)?.maxRetries ?? 0);
    return [name, { state: v.state, url: v.url, retries: v.retries ?? 0, ...(v.transitionTime ? { transitionTime: v.transitionTime } : {}) }] as const;
  });
  return JSON.stringify(Object.fromEntries(out));
}
