// What a payload is judged by (DESIGN.md §14): the job set frozen when it was created (QE entries:
// when QE started), the entries that cannot run (no upgrade source), waivers and removals. Pure.
import { ciEntries, qeEntries, type ReleaseConfig, type ReleaseVerification } from './config/schema.ts';
import { own } from './own.ts';
import type { JobRun, Payload, PayloadJobs } from './types.ts';
import { resolveUpgradeSource } from './upgrade.ts';
import type { EntryCondition } from './verification.ts';
import type { WorldView } from './world.ts';

/** The CI job set a new payload is judged by: the stream's CI verify entries now. */
export function freezeJobs(config: ReleaseConfig): PayloadJobs {
  return { verify: Object.fromEntries(ciEntries(config)), removed: {}, waivers: {}, ciDone: false };
}

const cache = new WeakMap<Payload, { config: ReleaseConfig; judged: ReleaseConfig }>();

/**
 * The config a payload is judged with: the stream config with `verify` replaced by the payload's
 * frozen CI entries plus its QE entries (frozen at QE start; before that, the stream's current
 * ones). A payload from before freezing uses the stream's current entries.
 */
export function judgingConfig(config: ReleaseConfig, p: Payload): ReleaseConfig {
  const hit = cache.get(p);
  if (hit && hit.config === config) return hit.judged;
  const ci: Record<string, ReleaseVerification> = p.jobs ? p.jobs.verify : Object.fromEntries(ciEntries(config));
  // QE entries: frozen at QE start (definitions as they were then), minus those removed or
  // disabled in the stream config since (their running jobs are cancelled); before: the current ones
  const qe: Record<string, ReleaseVerification> = {};
  if (p.qe.startedAt) {
    for (const n of p.qe.jobs) {
      const cur = own(config.verify, n);
      const frozen = own(p.qe.verify, n) ?? cur;
      if (cur && cur.qe && !cur.disabled && frozen) qe[n] = frozen;
    }
  } else for (const [n, v] of qeEntries(config)) qe[n] = v;
  const judged: ReleaseConfig = { ...config, verify: { ...ci, ...qe } };
  cache.set(p, { config, judged });
  return judged;
}

/** Frozen entries no longer in the stream's config (removed, disabled, or turned into another kind). */
export function removedEntries(config: ReleaseConfig, jobs: PayloadJobs): string[] {
  const out: string[] = [];
  for (const name of Object.keys(jobs.verify)) {
    const cur = own(config.verify, name);
    if (!cur || cur.disabled || cur.qe) out.push(name);
  }
  return out.sort();
}

/** QE-accepted for every consumer only while the CI phase is Accepted (DESIGN §14). */
export function isQEAccepted(p: Payload): boolean {
  return p.phase === 'Accepted' && p.qe.state === 'QEAccepted';
}

/** Does the stream have an Accepted payload created before `p` (any upgrade source at all)? */
function hasEarlierAccepted(view: WorldView, p: Payload): boolean {
  return view.payloads(p.stream).some((x) => x.tag !== p.tag && x.phase === 'Accepted' && x.createdAt <= p.createdAt);
}

/**
 * The condition of an upgrade entry that has no run with a source yet (null: it has a source or
 * is no upgrade job). No source because the stream has no earlier accepted payload at all → not
 * run; any other reason → waiting (informing and optional QE entries: not run).
 */
export function upgradeCondition(view: WorldView, judged: ReleaseConfig, p: Payload, name: string, v: ReleaseVerification, runs: readonly JobRun[]): EntryCondition | null {
  if (!v.upgrade) return null;
  const wantQE = Boolean(v.qe);
  if (runs.some((r) => r.verifyName === name && (r.kind === 'qe') === wantQE && r.kind !== 'periodic' && r.upgradeFromPullSpec)) return null;
  const r = resolveUpgradeSource(view, judged, p, v, 'verify');
  if (r.ok && r.source) return null;
  const why = r.ok ? r.why : r.error;
  if (v.optional || (!hasEarlierAccepted(view, p) && !v.upgradeFromRelease && r.ok)) return { kind: 'notRun', why: `no upgrade source: ${why}` };
  return { kind: 'waiting', why: `waiting for an upgrade source for ${name}: ${why}` };
}

/** Conditions of a payload's started QE entries: upgrade QE jobs without a source (not run, or waiting). */
export function qeConditions(view: WorldView, config: ReleaseConfig, p: Payload, runs: readonly JobRun[]): Map<string, EntryCondition> {
  const out = new Map<string, EntryCondition>();
  const judged = judgingConfig(config, p);
  const qeRuns = runs.filter((r) => r.kind === 'qe' && r.generation === p.qe.generation);
  for (const [name, v] of Object.entries(judged.verify ?? {})) {
    if (!v.qe) continue;
    const cond = upgradeCondition(view, judged, p, name, v, qeRuns);
    if (cond) out.set(name, cond);
  }
  return out;
}

/**
 * Conditions of a payload's CI entries that have no run to decide them: waivers, removals, and
 * upgrade entries without a source. For an upgrade entry that has not launched yet, the source is
 * resolved now: none because the stream has no earlier accepted payload at all (its first payloads)
 * → not run, non-gating; none for any other reason (another stream not loaded, no release of the
 * previous minor yet, a failed lookup) → waiting, with the reason. Informing entries without a
 * source are not run. `runs` are the payload's runs.
 */
export function entryConditions(view: WorldView, config: ReleaseConfig, p: Payload, runs: readonly JobRun[]): Map<string, EntryCondition> {
  const out = new Map<string, EntryCondition>();
  const judged = judgingConfig(config, p);
  const jobs = p.jobs;
  for (const [name, v] of Object.entries(judged.verify ?? {})) {
    if (v.qe || v.disabled) continue;
    const waiver = jobs ? own(jobs.waivers, name) : undefined;
    if (waiver) {
      out.set(name, { kind: 'waived', why: `waived by ${waiver.user}: ${waiver.reason}` });
      continue;
    }
    const removedAt = jobs ? own(jobs.removed, name) : undefined;
    if (removedAt) {
      out.set(name, { kind: 'removed', why: `removed from the stream config (${removedAt})` });
      continue;
    }
    const cond = upgradeCondition(view, judged, p, name, v, runs);
    if (cond) out.set(name, cond);
  }
  return out;
}
