// "Why" at a glance (issue 21): why a stream creates no payload right now, and why a payload is not
// Accepted yet, in one line each, derived from the same functions the reconcile pass decides with.
// Pure.
import { isStable, type ReleaseConfig } from './config/schema.ts';
import { formatDuration } from './duration.ts';
import { entryConditions, judgingConfig } from './judging.ts';
import { decideCreation } from './lifecycle.ts';
import { own } from './own.ts';
import { creationInput } from './plan.ts';
import type { Payload, StreamRecord } from './types.ts';
import { ciStatuses, effectiveState, entryGroup } from './verification.ts';
import type { WorldView } from './world.ts';

/**
 * Why the stream would create no payload if a pass ran now ('' when it would create one): the
 * plan's creationBlockedBy (locked, no new images, a payload pending, too many unready, interval).
 */
export function creationBlockedBy(view: WorldView, rec: StreamRecord, now: Date): string {
  if (rec.errors.length) return 'the stream config has errors: the stream is not reconciled';
  if (rec.config.endOfLife) return 'the stream is end of life';
  if (isStable(rec.config)) return 'Stable stream: its payloads are promoted, not created from an input stream';
  const { hash } = creationInput(view, rec.config);
  return decideCreation(rec.config, view.payloads(rec.name), hash, now, { lock: rec }).blockedBy;
}

const names = (l: string[]) => l.sort().join(', ');

/**
 * Why a payload is not Accepted yet ('' when it is decided, or overridden): which blocking jobs are
 * running or not started, which failed with retries left (and when the next attempt is due), which
 * wait for an upgrade source or were removed from the config. `config`: the stream's current config.
 */
export function notAcceptedBecause(view: WorldView, config: ReleaseConfig, p: Payload, now: Date): string {
  if (p.override || p.phase === 'Accepted' || p.phase === 'Rejected' || p.phase === 'Failed') return '';
  if (p.phase === 'Pending') return 'the payload is being built; its jobs start once it is Ready';
  const judged = judgingConfig(config, p);
  const runs = view.runs(p.stream, p.tag);
  const statuses = ciStatuses(judged, runs);
  const conditions = entryConditions(view, config, p, runs);
  const running: string[] = [];
  const notStarted: string[] = [];
  const retrying: string[] = [];
  const held: string[] = [];
  const informing: string[] = [];
  let blocking = 0;
  for (const [name, st] of statuses) {
    const v = own(judged.verify, name)!;
    const cond = conditions.get(name);
    const state = effectiveState(st, cond);
    if (state === null) continue;
    const group = entryGroup(v);
    if (group === 'async') continue;
    if (group === 'informing') {
      if (state !== 'Success' && state !== 'Failure') informing.push(name);
      continue;
    }
    blocking++;
    if (state === 'Success' || state === 'Failure') continue;
    if (cond?.kind === 'waiting') held.push(cond.why);
    else if (cond?.kind === 'removed') held.push(`${name} was removed from the stream config (waive it to accept without it)`);
    else if (st.nextAttempt !== null && st.runs.length > 0) {
      const wait = st.notBefore - now.getTime();
      retrying.push(`${name} (attempt ${st.nextAttempt + 1} of ${1 + Math.max(0, v.maxRetries ?? 0)} ${wait > 0 ? `in ${formatDuration(Math.ceil(wait / 1000) * 1000)}` : 'due now'})`);
    } else if (st.runs.some((r) => r.state === 'Pending')) running.push(name);
    else notStarted.push(name);
  }
  const parts: string[] = [];
  if (running.length) parts.push(`blocking ${running.length === 1 ? 'job' : 'jobs'} running: ${names(running)}`);
  if (notStarted.length) parts.push(`blocking ${notStarted.length === 1 ? 'job' : 'jobs'} not started yet: ${names(notStarted)}`);
  if (retrying.length) parts.push(`failed with retries left: ${retrying.sort().join(', ')}`);
  parts.push(...held);
  if (blocking === 0 && informing.length) parts.push(`no blocking jobs: waiting for informing ${informing.length === 1 ? 'job' : 'jobs'} ${names(informing)} to finish`);
  return parts.join('; ');
}
