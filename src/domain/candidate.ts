// Promotion candidate (upstream-behavior.md §6.6) with DESIGN §13 item 11 fixed: versions of another
// major *or* minor are skipped, and the > 80 % success threshold counts finished runs only. For a
// stream with QE jobs only QE-accepted payloads are candidates (DESIGN §6). Pure.
import { isStable, qeEntries } from './config/schema.ts';
import type { Payload, UpgradeResult } from './types.ts';
import { compareVersions, incrementVersion, parseTolerant, type Version } from './version.ts';
import type { WorldView } from './world.ts';

export interface Candidate {
  fromTag: string;
  name: string;
  upgradeFrom?: string[];
}

/** `From` versions whose upgrades into `tag` succeeded more than 80 % of their finished runs. */
export function goodUpgradeSources(results: readonly UpgradeResult[]): string[] {
  const by = new Map<string, { ok: number; done: number }>();
  for (const r of results) {
    const e = by.get(r.from) ?? { ok: 0, done: 0 };
    if (r.state === 'Succeeded') e.ok++;
    if (r.state !== 'Pending') e.done++;
    by.set(r.from, e);
  }
  return [...by.entries()].filter(([, e]) => e.done > 0 && (100 * e.ok) / e.done > 80).map(([f]) => f).sort();
}

export function findCandidate(view: WorldView, streamName: string): Candidate | null {
  const rec = view.stream(streamName);
  if (!rec) return null;
  const own = parseTolerant(streamName);
  if (!own) return null;
  // stable releases of the same major.minor, newest first
  const stable: { v: Version; p: Payload }[] = [];
  for (const s of view.streams()) {
    if (!isStable(s.config)) continue;
    for (const p of view.payloads(s.name)) {
      const v = parseTolerant(p.tag);
      if (v && v.major === own.major && v.minor === own.minor) stable.push({ v, p });
    }
  }
  stable.sort((a, b) => compareVersions(b.v, a.v));
  let name: string;
  let promotedAt = '';
  if (stable.length > 0) {
    const next = incrementVersion(stable[0].v);
    if (!next) return null;
    name = next;
    // the integration payload the stable release came from, when it is recorded; else the stable release itself
    const from = stable[0].p.annotations['release.openshift.io/from-tag'];
    const origin = from ? view.payload(streamName, from) : undefined;
    promotedAt = origin?.createdAt ?? stable[0].p.createdAt;
  } else {
    return null;
  }
  const wantQE = qeEntries(rec.config).length > 0;
  const candidates = view
    .payloads(streamName)
    .filter((p) => (wantQE ? p.qe.state === 'QEAccepted' && p.phase === 'Accepted' : p.phase === 'Accepted'))
    .filter((p) => p.createdAt > promotedAt);
  const best = candidates[0];
  if (!best) return null;
  const upgradeFrom = goodUpgradeSources(view.upgradesInto(best.tag));
  return { fromTag: best.tag, name, ...(upgradeFrom.length ? { upgradeFrom } : {}) };
}
