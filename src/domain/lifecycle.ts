// Payload lifecycle rules (upstream-behavior.md §3.4, §3.6, §3.7, §3.12): input hash, creation
// gates, pending handling and garbage selection. Pure.
import { createHash } from 'node:crypto';
import type { ReleaseConfig } from './config/schema.ts';
import { parseDuration } from './duration.ts';
import type { Component, InputTag, Payload, Pin, StreamRecord } from './types.ts';
import { AnnotationKeep } from './types.ts';

export function isKept(p: Payload): boolean {
  return Object.prototype.hasOwnProperty.call(p.annotations, AnnotationKeep);
}

/** SHA-256 over the input's components sorted by name: `sha256:<hex>`; "" for an empty input. */
export function inputHash(tags: readonly InputTag[]): string {
  if (tags.length === 0) return '';
  const h = createHash('sha256');
  for (const t of [...tags].sort((a, b) => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0))) {
    h.update(t.component).update('\u0000').update(t.pullSpec).update('\n');
  }
  return 'sha256:' + h.digest('hex');
}

export function componentsOf(tags: readonly InputTag[]): Record<string, Component> {
  const out: Record<string, Component> = {};
  for (const t of [...tags].sort((a, b) => (a.component < b.component ? -1 : 1))) {
    out[t.component] = Object.keys(t.labels).length ? { pullSpec: t.pullSpec, labels: t.labels } : { pullSpec: t.pullSpec };
  }
  return out;
}

/**
 * The input a payload is made of: the input stream's components with pinned ones replaced by their
 * pinned pull spec (a pinned component missing from the input is added). Updates of a pinned
 * component are recorded in the input stream but change nothing here, so they create no payload.
 */
export function effectiveInputTags(tags: readonly InputTag[], pins: readonly Pin[]): InputTag[] {
  if (pins.length === 0) return [...tags];
  const byName = new Map(tags.map((t) => [t.component, t]));
  for (const p of pins) byName.set(p.component, { input: p.input, component: p.component, pullSpec: p.pullSpec, labels: p.labels, updatedAt: p.at });
  return [...byName.values()];
}

/** "locked by alice: reason" — what the console and the creation gate say of a locked stream. */
export function lockText(rec: Pick<StreamRecord, 'locked' | 'lock'>): string {
  if (!rec.locked) return '';
  return rec.lock ? `locked by ${rec.lock.user}: ${rec.lock.reason}` : 'locked';
}

export interface CreationDecision {
  create: boolean;
  /** why not, for logs and the console's "Next release may not start" row */
  blockedBy: string;
  /** when to look again (ms), when a timer gate applies */
  retryAfterMs: number | null;
}

/**
 * Whether a new payload should be created now (integration streams). `payloads` newest first. A
 * locked stream creates nothing (`blockedBy` "locked: <reason>"); `poke` skips the gates a poke
 * overrides (unchanged input, creation interval), never the lock, a pending payload or
 * maxUnreadyReleases.
 */
export function decideCreation(
  config: ReleaseConfig,
  payloads: readonly Payload[],
  hash: string,
  now: Date,
  opts: { lock?: Pick<StreamRecord, 'locked' | 'lock'>; poke?: boolean } = {},
): CreationDecision {
  if (opts.lock?.locked) return { create: false, blockedBy: `locked: ${opts.lock.lock?.reason ?? 'no reason recorded'}`, retryAfterMs: null };
  if (!hash) return { create: false, blockedBy: 'input stream has no components', retryAfterMs: null };
  let newest: Payload | undefined;
  let unready = 0;
  let pending = 0;
  let sameImages = false;
  for (const p of payloads) {
    if (isKept(p)) continue;
    if (!newest) newest = p;
    if (p.inputHash === hash) sameImages = true;
    if (p.phase === 'Pending') pending++;
    if (p.phase === 'Pending' || p.phase === 'Ready') unready++;
  }
  if (sameImages && !opts.poke) return { create: false, blockedBy: 'no new images', retryAfterMs: null };
  if (pending > 0) return { create: false, blockedBy: 'a payload is pending', retryAfterMs: null };
  const max = config.maxUnreadyReleases ?? 0;
  if (max > 0 && unready >= max) return { create: false, blockedBy: `no more than ${max} pending`, retryAfterMs: null };
  const interval = (config.minCreationIntervalSeconds ?? 0) * 1000;
  if (interval > 0 && newest && !opts.poke) {
    const created = Date.parse(newest.createdAt);
    if (Number.isFinite(created)) {
      const wait = created + interval - now.getTime();
      if (wait > 0) return { create: false, blockedBy: `waiting for ${Math.ceil(wait / 1000)}s`, retryAfterMs: wait };
    }
  }
  return { create: true, blockedBy: '', retryAfterMs: null };
}

/** All Pending payloads but the newest are aborted (upstream §3.7). `payloads` newest first. */
export function pendingToAbort(payloads: readonly Payload[]): Payload[] {
  const pending = payloads.filter((p) => p.phase === 'Pending' && !isKept(p));
  return pending.slice(1);
}

export const KEEP_FAILED = 5;
export const KEEP_REJECTED = 5;
export const KEEP_ACCEPTED = 5;

/**
 * Payloads garbage collection removes (upstream §3.4, kept on purpose: DESIGN §13 item 3):
 * Failed/Rejected older than the oldest Accepted, then all but the newest 5 of each; Accepted
 * beyond the newest 5 once past `expires`. Pending, Ready and kept payloads never go.
 */
export function selectGarbage(config: ReleaseConfig, payloads: readonly Payload[], now: Date): Payload[] {
  const failed: Payload[] = [];
  const rejected: Payload[] = [];
  const accepted: Payload[] = [];
  let failedBeforeOldestAccepted = -1;
  let rejectedBeforeOldestAccepted = -1;
  for (const p of payloads) {
    if (isKept(p)) continue;
    if (p.phase === 'Failed') failed.push(p);
    else if (p.phase === 'Rejected') rejected.push(p);
    else if (p.phase === 'Accepted') {
      accepted.push(p);
      failedBeforeOldestAccepted = failed.length;
      rejectedBeforeOldestAccepted = rejected.length;
    }
  }
  const remove: Payload[] = [];
  const trim = (list: Payload[], cut: number, keep: number) => {
    let rest = list;
    if (cut >= 0) {
      remove.push(...list.slice(cut));
      rest = list.slice(0, cut);
    }
    remove.push(...rest.slice(keep));
  };
  trim(failed, failedBeforeOldestAccepted, KEEP_FAILED);
  trim(rejected, rejectedBeforeOldestAccepted, KEEP_REJECTED);
  if (config.expires) {
    let expiresMs = 0;
    try {
      expiresMs = parseDuration(config.expires);
    } catch {
      expiresMs = 0;
    }
    if (expiresMs > 0 && accepted.length > KEEP_ACCEPTED) {
      for (const p of accepted.slice(KEEP_ACCEPTED)) {
        const created = Date.parse(p.createdAt);
        if (Number.isFinite(created) && created + expiresMs < now.getTime()) remove.push(p);
      }
    }
  }
  return remove;
}

/**
 * Milliseconds until the next Accepted payload beyond the newest 5 passes `expires` (when garbage
 * collection will remove it), or null when none will.
 */
export function nextExpiryMs(config: ReleaseConfig, payloads: readonly Payload[], now: Date): number | null {
  if (!config.expires) return null;
  let expiresMs = 0;
  try {
    expiresMs = parseDuration(config.expires);
  } catch {
    return null;
  }
  if (expiresMs <= 0) return null;
  const accepted = payloads.filter((p) => p.phase === 'Accepted' && !isKept(p)).slice(KEEP_ACCEPTED);
  let next: number | null = null;
  for (const p of accepted) {
    const created = Date.parse(p.createdAt);
    if (!Number.isFinite(created)) continue;
    const wait = created + expiresMs - now.getTime();
    if (wait >= 0 && (next === null || wait < next)) next = wait + 1000;
  }
  return next;
}
