// Promotion candidate (upstream-behavior.md §6.6) with DESIGN §13 item 11 fixed: stable versions
// of another major *or* minor are skipped, and the > 80 % success threshold counts finished runs
// only. For a stream with QE jobs only QE-accepted payloads are candidates (DESIGN §6) — QE accepted
// only while CI Accepted (DESIGN §14). Pure.
//
// Promotion lineage. Upstream reads the stable release image to find the integration tag it was
// promoted from. We have no image to read, so the lineage is the stable payload's
// `release.openshift.io/from-tag` annotation (set by whoever promotes, e.g. ART tooling that seeds
// the stable stream). Walking stable versions newest first:
//   - from-tag names a tag of another stream → that version was not promoted from this stream:
//     try the next stable version (upstream's rule);
//   - from-tag names a tag of this stream → promotion time = that tag's creation time;
//   - no from-tag, or the tag is gone → lineage unknown: promotion time = none, so every
//     accepted tag of this stream is a candidate.
// No stable version of the stream's major.minor → no next version → no candidate (upstream).
import { streamArchitecture } from './architecture.ts';
import { isStable, qeEntries } from './config/schema.ts';
import { isQEAccepted } from './judging.ts';
import type { Payload, UpgradeResult } from './types.ts';
import { compareVersions, incrementVersion, parseTolerant, type Version } from './version.ts';
import type { WorldView } from './world.ts';

export const AnnotationFromTag = 'release.openshift.io/from-tag';

export interface Candidate {
  fromTag: string;
  name: string;
  upgradeFrom?: string[];
}

/** `From` versions whose upgrades into a tag succeeded in more than 80 % of their finished runs. */
export function goodUpgradeSources(results: readonly UpgradeResult[]): string[] {
  const by = new Map<string, { ok: number; done: number }>();
  for (const r of results) {
    const e = by.get(r.from) ?? { ok: 0, done: 0 };
    if (r.state === 'Succeeded') e.ok++;
    if (r.state !== 'Pending') e.done++;
    by.set(r.from, e);
  }
  return [...by.entries()]
    .filter(([, e]) => e.done > 0 && (100 * e.ok) / e.done > 80)
    .map(([f]) => f)
    .sort();
}

/** Every tag of every Stable stream (of `arch` when given: its -<arch> suffix) that parses (tolerantly) as a version, newest version first. */
export function stableVersions(view: WorldView, arch?: string): { v: Version; p: Payload }[] {
  const out: { v: Version; p: Payload }[] = [];
  for (const s of view.streams()) {
    if (!isStable(s.config) || (arch !== undefined && streamArchitecture(s.name) !== arch)) continue;
    for (const p of view.payloads(s.name)) {
      const v = parseTolerant(p.tag);
      if (v) out.push({ v, p });
    }
  }
  return out.sort((a, b) => compareVersions(b.v, a.v) || (a.p.tag < b.p.tag ? 1 : a.p.tag > b.p.tag ? -1 : 0));
}

/** The next version to promote from `streamName` and the promotion time candidates must be newer than. */
export function nextVersion(view: WorldView, streamName: string): { name: string; promotedAt: string } | null {
  const own = parseTolerant(streamName);
  if (!own) return null;
  // the stable versions of the stream's own architecture (4-stable-arm64 for a -arm64 nightly)
  for (const { v, p } of stableVersions(view, streamArchitecture(streamName))) {
    if (v.major !== own.major || v.minor !== own.minor) continue;
    const fromTag = p.annotations[AnnotationFromTag];
    const origin = fromTag ? view.findTag(fromTag) : undefined;
    if (origin && origin.stream !== streamName) continue;
    const name = incrementVersion(v);
    if (!name) return null;
    return { name, promotedAt: origin?.createdAt ?? '' };
  }
  return null;
}

export interface CandidateItem extends Candidate {
  /** the candidate's creation time (RFC 3339, UTC, whole seconds) */
  creationTime: string;
  payload: Payload;
}

/**
 * Every candidate of a stream, newest first (upstream's candidate list, §6.7): `next` null when
 * no next version could be determined (upstream's `"items": null`), else the qualifying tags
 * (possibly none).
 */
export function findCandidates(view: WorldView, streamName: string): { next: { name: string; promotedAt: string } | null; items: CandidateItem[] } {
  const rec = view.stream(streamName);
  const next = rec ? nextVersion(view, streamName) : null;
  if (!rec || !next) return { next: null, items: [] };
  const wantQE = qeEntries(rec.config).length > 0;
  const items = view
    .payloads(streamName)
    .filter((p) => (wantQE ? isQEAccepted(p) : p.phase === 'Accepted') && p.createdAt > next.promotedAt)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
    .map((p) => {
      const upgradeFrom = goodUpgradeSources(view.upgradesInto(p.tag));
      return { fromTag: p.tag, name: next.name, ...(upgradeFrom.length ? { upgradeFrom } : {}), creationTime: p.createdAt, payload: p };
    });
  return { next, items };
}

export function findCandidate(view: WorldView, streamName: string): Candidate | null {
  const best = findCandidates(view, streamName).items[0];
  if (!best) return null;
  return { fromTag: best.fromTag, name: best.name, ...(best.upgradeFrom ? { upgradeFrom: best.upgradeFrom } : {}) };
}
