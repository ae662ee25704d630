// The Cincinnati upgrade graph served at /graph (upstream-behavior.md §6.14) and the raw graph
// dump of /archive/graph (§5.3, §6.16). Pure: functions of the view.
//
// Upstream's channels keep upstream's rules: every tag of every stream is a node, and an edge
// comes from upgrade runs between two nodes (with at least one success, except on the
// prerelease/nightly forms), filtered by the `To` version. Ours on top (issue 16):
//   - `candidate-<major.minor>` and `fast-<major.minor>`, the channel names a cluster uses: nodes
//     are the releases of Stable streams of that minor and the one before it (clusters on the
//     previous minor must see their way up); candidate offers Accepted and Ready releases,
//     pre-releases included; fast only Accepted general-availability versions. Edges: a tested
//     edge with a success, or a version the release declares in its `previous` metadata
//     (AnnotationPrevious) unless every finished run of that edge failed.
// Fixes (DESIGN §13 spirit): the channel is validated before anything else (upstream only
// checks it while walking edges, so a bad channel on an empty graph answered 200); tags of
// end-of-life minors (the major.minor of every `endOfLife` stream, and those streams' own tags)
// are pruned as the console prunes them; a payload without a pull spec (still Pending, Failed)
// is no node — a cluster could not pull it.
import { streamArchitecture } from './architecture.ts';
import { isStable } from './config/schema.ts';
import type { Payload, StreamRecord, UpgradeResult } from './types.ts';
import { parseStrict, parseTolerant, sortTagNamesDescending } from './version.ts';
import type { WorldView } from './world.ts';

export { ARCHITECTURES, streamArchitecture } from './architecture.ts';

/** A release's declared upgrade sources (its release-metadata `previous`), comma-separated versions. */
export const AnnotationPrevious = 'release.openshift.io/previous';
export const CincinnatiContentType = 'application/vnd.redhat.cincinnati.graph+json; version=1.0';

export const CHANNEL_ERROR =
  "Unsupported ?channel, must be '', 'prerelease', 'prerelease-*', 'nightly', 'nightly-*', 'stable', 'stable-*', 'next', 'next-*', 'fast-<major.minor>' or 'candidate-<major.minor>'";

export type Channel =
  | { kind: 'upstream'; needSuccess: boolean; toPrefix: string }
  | { kind: 'ours'; name: string; tier: 'candidate' | 'fast'; major: number; minor: number };

/** The rule of a `?channel=` value, or null when it is not one we serve. */
export function parseChannel(channel: string): Channel | null {
  if (['', 'stable', 'stable-scos', 'next', 'next-scos'].includes(channel)) return { kind: 'upstream', needSuccess: true, toPrefix: '' };
  if (channel === 'prerelease' || channel === 'nightly') return { kind: 'upstream', needSuccess: false, toPrefix: '' };
  const ours = /^(candidate|fast)-(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(channel);
  if (ours) return { kind: 'ours', name: channel, tier: ours[1] as 'candidate' | 'fast', major: Number(ours[2]), minor: Number(ours[3]) };
  // upstream checks the -scos- forms first; both filter alike
  for (const prefix of ['stable-scos-', 'stable-', 'next-scos-', 'next-']) {
    if (channel.startsWith(prefix)) return { kind: 'upstream', needSuccess: true, toPrefix: channel.slice(prefix.length) + '.' };
  }
  if (channel.startsWith('prerelease-')) return { kind: 'upstream', needSuccess: false, toPrefix: channel.slice('prerelease-'.length) + '.' };
  if (channel.startsWith('nightly-')) return { kind: 'upstream', needSuccess: false, toPrefix: channel.slice('nightly-'.length) + '.0-0.nightly-' };
  return null;
}

export interface GraphNode {
  version: string;
  payload: string;
  metadata: Record<string, string>;
}
export interface Graph {
  nodes: GraphNode[];
  edges: [number, number][];
}

/** `<repository>@<digest>` when the digest is known (what a cluster pulls), else the pull spec (as /releasetag/{tag}/json's image). */
export function payloadByDigest(p: Pick<Payload, 'pullSpec' | 'digest'>): string {
  if (!p.digest || p.pullSpec.includes('@')) return p.pullSpec;
  const slash = p.pullSpec.lastIndexOf('/');
  const colon = p.pullSpec.lastIndexOf(':');
  return `${colon > slash ? p.pullSpec.slice(0, colon) : p.pullSpec}@${p.digest}`;
}

/** The versions a release declares it can be upgraded from (release-metadata `previous`). */
export function previousVersions(p: Pick<Payload, 'annotations'>): string[] {
  const raw = p.annotations[AnnotationPrevious] ?? '';
  return [...new Set(raw.split(',').map((s) => s.trim()).filter(Boolean))];
}

/** `major.minor` of every end-of-life stream whose name parses as a version. */
export function endOfLifeMinors(streams: readonly StreamRecord[]): Set<string> {
  const out = new Set<string>();
  for (const s of streams) {
    if (!s.config.endOfLife) continue;
    const v = parseTolerant(s.name);
    if (v) out.add(`${v.major}.${v.minor}`);
  }
  return out;
}

const minorOf = (tag: string): string | null => {
  const v = parseTolerant(tag);
  return v ? `${v.major}.${v.minor}` : null;
};

/** Upstream's tag order within a stream: Stable → semver descending; integration → newest first. */
function streamTags(view: WorldView, s: StreamRecord): readonly Payload[] {
  const list = view.payloads(s.name);
  return isStable(s.config) ? sortTagNamesDescending([...list], (p) => p.tag) : list;
}

function inChannel(c: Extract<Channel, { kind: 'ours' }>, s: StreamRecord, p: Payload): boolean {
  if (!isStable(s.config)) return false;
  const v = parseStrict(p.tag);
  if (!v || v.major !== c.major || (v.minor !== c.minor && v.minor !== c.minor - 1)) return false;
  if (c.tier === 'fast') return p.phase === 'Accepted' && v.prerelease.length === 0;
  return p.phase === 'Accepted' || p.phase === 'Ready';
}

interface EdgeTally {
  success: number;
  failure: number;
}

/** Upgrade results into `to` counted per `from`, each result URL once (upstream's graph). */
function tallyInto(view: WorldView, to: string): Map<string, EdgeTally> {
  const seen = new Map<string, Map<string, UpgradeResult['state']>>();
  for (const r of view.upgradesInto(to)) {
    const key = r.url || r.runId;
    const m = seen.get(r.from) ?? new Map<string, UpgradeResult['state']>();
    const old = m.get(key);
    if (old === undefined || (old === 'Pending' && r.state !== 'Pending')) m.set(key, r.state);
    seen.set(r.from, m);
  }
  const out = new Map<string, EdgeTally>();
  for (const [from, m] of seen) {
    const t = { success: 0, failure: 0 };
    for (const st of m.values()) {
      if (st === 'Succeeded') t.success++;
      else if (st === 'Failed') t.failure++;
    }
    out.set(from, t);
  }
  return out;
}

/**
 * The graph for a parsed channel. `arch` (optional) keeps only streams of that architecture.
 * Streams in view order; invalid streams (config errors) are skipped as upstream skips them.
 */
export function buildGraph(view: WorldView, channel: Channel, arch?: string): Graph {
  const streams = view.streams().filter((s) => s.errors.length === 0 && (!arch || streamArchitecture(s.name) === arch));
  const eol = endOfLifeMinors(view.streams());
  const nodes: GraphNode[] = [];
  const index = new Map<string, number>();
  for (const s of streams) {
    if (s.config.endOfLife) continue;
    const stable = isStable(s.config);
    for (const p of streamTags(view, s)) {
      if (!p.pullSpec) continue;
      if (stable && eol.has(minorOf(p.tag) ?? '')) continue;
      if (channel.kind === 'ours' && !inChannel(channel, s, p)) continue;
      const metadata: Record<string, string> = {};
      if (p.digest) metadata['io.openshift.upgrades.graph.release.manifestref'] = p.digest;
      if (channel.kind === 'ours') metadata['io.openshift.upgrades.graph.release.channels'] = channel.name;
      metadata['release.openshift.io/phase'] = p.phase;
      metadata['release.openshift.io/stream'] = s.name;
      // a tag name in two streams: edges point at the later node (upstream)
      index.set(p.tag, nodes.length);
      nodes.push({ version: p.tag, payload: payloadByDigest(p), metadata });
    }
  }

  const edges: [number, number][] = [];
  const added = new Set<string>();
  const add = (from: number, to: number) => {
    const k = `${from}>${to}`;
    if (added.has(k)) return;
    added.add(k);
    edges.push([from, to]);
  };
  for (const [toTag, to] of index) {
    const tallies = tallyInto(view, toTag);
    const froms = [...tallies.keys()].sort();
    if (channel.kind === 'upstream') {
      if (!toTag.startsWith(channel.toPrefix)) continue;
      for (const f of froms) {
        const from = index.get(f);
        if (from === undefined || (channel.needSuccess && tallies.get(f)!.success === 0)) continue;
        add(from, to);
      }
      continue;
    }
    const payload = view.findTag(toTag);
    const declared = payload ? previousVersions(payload) : [];
    for (const f of [...new Set([...froms, ...declared])].sort()) {
      const from = index.get(f);
      if (from === undefined) continue;
      const t = tallies.get(f) ?? { success: 0, failure: 0 };
      const ok = t.success > 0 || (declared.includes(f) && t.failure === 0);
      if (ok) add(from, to);
    }
  }
  edges.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  return { nodes, edges };
}

export interface ArchiveRecord {
  from: string;
  to: string;
  results: { state: UpgradeResult['state']; url: string }[];
}

/**
 * Every recorded upgrade edge as upstream persists its graph: records by `to`, then `from`;
 * results by URL, each URL once (a Pending result gives way to a finished one); results without
 * a URL are not part of the graph (upstream ignores them).
 */
export function archiveRecords(view: WorldView): ArchiveRecord[] {
  const byEdge = new Map<string, { from: string; to: string; results: Map<string, UpgradeResult['state']> }>();
  const seenRuns = new Set<string>();
  const take = (r: UpgradeResult) => {
    if (seenRuns.has(r.runId) || !r.url) return;
    seenRuns.add(r.runId);
    const k = `${r.to}\u0000${r.from}`;
    const e = byEdge.get(k) ?? { from: r.from, to: r.to, results: new Map<string, UpgradeResult['state']>() };
    const old = e.results.get(r.url);
    if (old === undefined || (old === 'Pending' && r.state !== 'Pending')) e.results.set(r.url, r.state);
    byEdge.set(k, e);
  };
  for (const s of view.streams()) {
    for (const p of view.payloads(s.name)) {
      for (const r of view.upgradesInto(p.tag)) take(r);
      for (const r of view.upgradesOutOf(p.tag)) take(r);
    }
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...byEdge.values()]
    .sort((a, b) => cmp(a.to, b.to) || cmp(a.from, b.from))
    .map((e) => ({ from: e.from, to: e.to, results: [...e.results].sort((a, b) => cmp(a[0], b[0])).map(([url, state]) => ({ state, url })) }));
}
