// Upgrade source selection (upstream-behavior.md §4.7, §1.6) and upgrade-history summaries (§5.3).
import { archStreamName, streamArchitecture } from './architecture.ts';
import { isStable, type ReleaseConfig, type UpgradeRelease } from './config/schema.ts';
import { buildGraph } from './graph.ts';
import type { Payload, UpgradeResult } from './types.ts';
import { compareVersions, parseStrict, parseTolerant } from './version.ts';
import type { WorldView } from './world.ts';

export interface UpgradeSource {
  tag: string;
  pullSpec: string;
}

export type SourceResult = { ok: true; source: UpgradeSource | null; why: string } | { ok: false; error: string };

function accepted(view: WorldView, stream: string): Payload[] {
  return view.payloads(stream).filter((p) => p.phase === 'Accepted');
}

function bySemverDesc(ps: Payload[]): Payload[] {
  return ps
    .map((p) => ({ p, v: parseStrict(p.tag) }))
    .filter((x) => x.v)
    .sort((a, b) => compareVersions(b.v!, a.v!))
    .map((x) => x.p);
}

function src(p: Payload | undefined, why: string): SourceResult {
  return p ? { ok: true, source: { tag: p.tag, pullSpec: p.pullSpec }, why } : { ok: true, source: null, why };
}

/** Newest Accepted stable release with the given major.minor over every Stable stream of `arch` (its -<arch> suffix). */
function newestStableOf(view: WorldView, major: number, minor: number, exclude: string, arch: string): Payload | undefined {
  let best: { p: Payload; v: ReturnType<typeof parseStrict> } | undefined;
  for (const s of view.streams()) {
    if (!isStable(s.config) || streamArchitecture(s.name) !== arch) continue;
    for (const p of bySemverDesc(accepted(view, s.name))) {
      const v = parseStrict(p.tag)!;
      if (p.tag === exclude || v.major !== major || v.minor !== minor) continue;
      if (!best || compareVersions(v, best.v!) > 0) best = { p, v };
      break;
    }
  }
  return best?.p;
}

function candidateStreamName(config: ReleaseConfig, c: NonNullable<UpgradeRelease['candidate']>): string {
  const to = config.to ?? '';
  const suffix = to.startsWith('release-5') ? to.slice('release-5'.length) : to.startsWith('release') ? to.slice('release'.length) : to;
  return `${c.version}.0-0.${c.stream}${suffix}`;
}

/**
 * upgradeFromRelease.release: upstream asks the public update service for channel
 * `<channel>-<major.minor>`; we answer from our own graph (the releases of our Stable streams, as
 * /graph?channel=candidate-X.Y or fast-X.Y serves them: `candidate` offers Accepted and Ready
 * releases, pre-releases included, every other channel Accepted general-availability ones). An
 * `x.y.z` version must be one of them; an `x.y` version takes the highest in the channel. A
 * version we do not have keeps the job waiting for its source.
 */
function resolveOfficial(view: WorldView, o: NonNullable<UpgradeRelease['release']>): SourceResult {
  const want = parseTolerant(o.version);
  if (!want) return { ok: false, error: `upgradeFromRelease.release: invalid version ${o.version}` };
  const arch = o.architecture || 'amd64';
  const minor = `${want.major}.${want.minor}`;
  const name = o.channel.endsWith(`-${minor}`) ? o.channel : `${o.channel}-${minor}`;
  const tier = o.channel.startsWith('candidate') ? 'candidate' : 'fast';
  const graph = buildGraph(view, { kind: 'ours', name, tier, major: want.major, minor: want.minor }, arch);
  const exact = /^\d+\.\d+\.\d+/.test(o.version.trim());
  let best: { version: string; payload: string; v: NonNullable<ReturnType<typeof parseStrict>> } | undefined;
  for (const n of graph.nodes) {
    const v = parseStrict(n.version);
    if (!v) continue;
    if (exact ? n.version === o.version.trim() : !best || compareVersions(v, best.v) > 0) best = { version: n.version, payload: n.payload, v };
  }
  if (!best) return { ok: true, source: null, why: `official release ${o.version} (channel ${name}, ${arch}) is not a release of this deployment` };
  return { ok: true, source: { tag: best.version, pullSpec: best.payload }, why: `official release from channel ${name}` };
}

export function resolveUpgradeRelease(view: WorldView, config: ReleaseConfig, r: UpgradeRelease): SourceResult {
  if (r.prerelease) {
    const lower = parseTolerant(r.prerelease.version_bounds.lower);
    const upper = parseTolerant(r.prerelease.version_bounds.upper);
    if (!lower || !upper) return { ok: false, error: 'upgradeFromRelease.prerelease: invalid version_bounds' };
    // upstream reads 4-stable whatever the architecture; ours the stream's own architecture's
    const stable = archStreamName('4-stable', streamArchitecture(config.name));
    const list = bySemverDesc(accepted(view, stable)).filter((p) => {
      const v = parseStrict(p.tag)!;
      return compareVersions(v, lower) > 0 && compareVersions(v, upper) < 0;
    });
    return src(list[0], `prerelease in ${stable}`);
  }
  if (r.candidate) {
    const name = candidateStreamName(config, r.candidate);
    if (!view.stream(name)) return { ok: true, source: null, why: `candidate stream ${name} is not loaded` };
    const list = bySemverDesc(accepted(view, name));
    const rel = r.candidate.relative ?? 0;
    return src(list[rel], list[rel] ? `candidate from ${name}` : `candidate stream ${name} has ${list.length ? `only ${list.length}` : 'no'} Accepted release${list.length === 1 ? '' : 's'}${rel ? ` (relative ${rel})` : ''}`);
  }
  if (r.release) return resolveOfficial(view, r.release);
  return { ok: false, error: 'upgradeRelease fields must be set: one of prerelease, candidate or release' };
}

/**
 * Source for an upgrade job of `payload`. `kind` picks the default mode: verify entries default
 * to Previous, periodics to PreviousMinus1, Stable streams to PreviousPatch.
 */
export function resolveUpgradeSource(
  view: WorldView,
  config: ReleaseConfig,
  payload: Payload,
  entry: { upgradeFrom?: string; upgradeFromRelease?: UpgradeRelease | null },
  kind: 'verify' | 'periodic',
): SourceResult {
  if (entry.upgradeFromRelease) return resolveUpgradeRelease(view, config, entry.upgradeFromRelease);
  const mode = entry.upgradeFrom || (isStable(config) ? 'PreviousPatch' : kind === 'verify' ? 'Previous' : 'PreviousMinus1');
  const list = isStable(config)
    ? bySemverDesc(accepted(view, payload.stream))
    : accepted(view, payload.stream);
  switch (mode) {
    case 'Previous':
      return src(list.find((p) => p.tag !== payload.tag || kind === 'periodic'), 'Previous');
    case 'PreviousMinus1':
      return src(list[1], list[1] ? 'PreviousMinus1' : `PreviousMinus1: the stream has ${list.length ? 'only one' : 'no'} Accepted payload${list.length ? '' : 's'}`);
    case 'PreviousMinor':
    case 'PreviousPatch': {
      const v = parseStrict(payload.tag);
      if (!v) return { ok: true, source: null, why: `${payload.tag} is not a semantic version` };
      if (mode === 'PreviousMinor') {
        if (v.minor === 0) return { ok: true, source: null, why: 'no previous minor for minor 0' };
        const prev = newestStableOf(view, v.major, v.minor - 1, payload.tag, streamArchitecture(payload.stream));
        return src(prev, prev ? 'PreviousMinor' : `PreviousMinor: no Accepted ${v.major}.${v.minor - 1} release in any Stable stream`);
      }
      const patch = newestStableOf(view, v.major, v.minor, payload.tag, streamArchitecture(payload.stream));
      return src(patch, patch ? 'PreviousPatch' : `PreviousPatch: no other Accepted ${v.major}.${v.minor} release in any Stable stream`);
    }
    default:
      return { ok: false, error: `defines invalid upgradeFrom ${mode}` };
  }
}

/** Upstream's UpgradeHistory summary (Go field names on the wire). */
export interface UpgradeHistory {
  From: string;
  To: string;
  Success: number;
  Failure: number;
  Total: number;
  History: Record<string, { state: string; url: string }>;
}

export function summarizeUpgrades(results: readonly UpgradeResult[], keyOf: (r: UpgradeResult) => string): UpgradeHistory[] {
  const map = new Map<string, UpgradeHistory>();
  for (const r of results) {
    const k = keyOf(r);
    let h = map.get(k);
    if (!h) map.set(k, (h = { From: r.from, To: r.to, Success: 0, Failure: 0, Total: 0, History: {} }));
    const url = r.url || r.runId;
    if (h.History[url]) continue;
    h.History[url] = { state: r.state, url: r.url };
    h.Total++;
    if (r.state === 'Succeeded') h.Success++;
    else if (r.state === 'Failed') h.Failure++;
  }
  return [...map.values()];
}
