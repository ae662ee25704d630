// Read models derived from state for the API and the console (pure).
import type { ReleaseConfig } from './config/schema.ts';
import { judgingConfig } from './judging.ts';
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
 * informingJobs, else blockingJobs) plus ours: qeJobs. The entries are those of the job set the
 * payload is judged by (frozen at creation, DESIGN §14), not the stream's current config. Only
 * entries that have at least one run appear, as upstream only lists entries that have a status —
 * and waived ones: they read `Succeeded` (the verdict counts them so), with our `waived` field
 * after upstream's.
 */
export function payloadResults(config: ReleaseConfig, payload: Payload, runs: readonly JobRun[]): PayloadResults {
  const judged = judgingConfig(config, payload);
  const waivers = payload.jobs?.waivers;
  const groups = {
    blocking: new Map<string, VerificationStatus>(),
    informing: new Map<string, VerificationStatus>(),
    async: new Map<string, VerificationStatus>(),
    qe: new Map<string, VerificationStatus>(),
  };
  const add = (statuses: Map<string, EntryStatus>, waivable: boolean) => {
    for (const [name, st] of statuses) {
      const v = own(judged.verify, name);
      if (!v) continue;
      const w = waivable ? own(waivers, name) : undefined;
      if (st.runs.length === 0 && !w) continue;
      const vs: VerificationStatus = st.runs.length ? verificationStatus(st, v.maxRetries ?? 0) : { state: 'Succeeded', url: '' };
      if (w) {
        vs.state = 'Succeeded';
        vs.waived = { user: w.user, reason: w.reason, at: w.at };
      }
      groups[entryGroup(v)].set(name, vs);
    }
  };
  add(ciStatuses(judged, runs), true);
  add(qeStatuses(judged, payload, runs), false);
  return {
    blockingJobs: sortedRecord(groups.blocking),
    informingJobs: sortedRecord(groups.informing),
    asyncJobs: sortedRecord(groups.async),
    qeJobs: sortedRecord(groups.qe),
  };
}

/**
 * The `release.openshift.io/qe-verify` annotation value: verify name → {state,url,retries,transitionTime},
 * over the QE entries the payload is judged by.
 */
export function qeVerifyAnnotation(config: ReleaseConfig, payload: Payload, runs: readonly JobRun[]): string {
  const judged = judgingConfig(config, payload);
  const statuses = qeStatuses(judged, payload, runs);
  const out = [...statuses.keys()].sort().map((name) => {
    const v = verificationStatus(statuses.get(name)!, own(judged.verify, name)?.maxRetries ?? 0);
    return [name, { state: v.state, url: v.url, retries: v.retries ?? 0, ...(v.transitionTime ? { transitionTime: v.transitionTime } : {}) }] as const;
  });
  return JSON.stringify(Object.fromEntries(out));
}
