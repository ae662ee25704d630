// Upgrade tests of Stable releases (upstream-behavior.md §5.2): a Ready release of a Stable
// stream with enabled `upgrade` entries (platform → job) is upgrade-tested from a sample of the
// versions it declares it can be upgraded from (its release-metadata `previous`). The results are
// upgrade records like any other (the graph, the lanes, "Untested upgrades") and never decide the
// release's phase: the runs belong to no verify entry. Pure.
import { createHash } from 'node:crypto';
import { isStable, type ReleaseConfig } from './config/schema.ts';
import { payloadByDigest, previousVersions, streamArchitecture } from './graph.ts';
import type { JobRun, Payload } from './types.ts';
import { compareVersions, parseStrict, type Version } from './version.ts';
import type { WorldView } from './world.ts';
import { safeJobName } from './tagname.ts';
import { mulberry32 } from './random.ts';

/** The verify name of a Stable upgrade test run (upstream's job name base `<tag>-upgrade-from-<v>`). */
export const upgradeTestName = (version: string) => `upgrade-from-${version}`;

/**
 * Upstream's sample: versions bucketed by major.minor (unparseable ones dropped), buckets in
 * ascending order, each highest first; a bucket of fewer than 9 is taken whole, a larger one gives
 * its 3 highest, its 3 lowest and 3 distinct others chosen by a generator seeded from SHA-256 of the
 * list as given (so the sample is stable for a given list).
 */
export function sampleUpgradeVersions(versions: readonly string[]): string[] {
  const seed = createHash('sha256').update(versions.join('')).digest().readUInt32BE(0);
  const next = mulberry32(seed);
  const buckets = new Map<string, { v: Version; s: string }[]>();
  for (const s of new Set(versions)) {
    const v = parseStrict(s);
    if (!v) continue;
    const k = `${v.major}.${String(v.minor).padStart(2, '0')}`;
    const list = buckets.get(k) ?? [];
    list.push({ v, s });
    buckets.set(k, list);
  }
  const out: string[] = [];
  const num = (k: string) => k.split('.').map(Number);
  const ascending = [...buckets.keys()].sort((a, b) => num(a)[0] - num(b)[0] || num(a)[1] - num(b)[1]);
  for (const k of ascending) {
    const list = buckets.get(k)!.sort((a, b) => compareVersions(b.v, a.v)).map((x) => x.s);
    if (list.length < 9) {
      out.push(...list);
      continue;
    }
    const middle = list.slice(3, -3);
    const picked = new Set<number>();
    while (picked.size < 3) picked.add(Math.floor(next() * middle.length));
    out.push(...list.slice(0, 3), ...[...picked].sort((a, b) => a - b).map((i) => middle[i]), ...list.slice(-3));
  }
  return out;
}

/** Upstream's public release image of a version it does not have: quay.io's ocp-release `<v>-<arch>`. */
export function officialReleaseImage(version: string, arch: string): string {
  const a = arch === 'amd64' ? 'x86_64' : arch === 'arm64' ? 'aarch64' : arch;
  return `quay.io/openshift-release-dev/ocp-release:${version}-${a}`;
}

export interface StableUpgradeLaunch {
  id: string;
  verifyName: string;
  jobName: string;
  upgradeFrom: string;
  upgradeFromPullSpec: string;
}

/**
 * The upgrade tests a Ready Stable release needs launched now: one per sampled version that has
 * no run yet (an interrupted run is relaunched under a new name), platforms taken round-robin in
 * name order. The source is our own release of that version when a Stable stream of the same
 * architecture has one (by digest), else upstream's public image.
 */
export function stableUpgradeLaunches(view: WorldView, config: ReleaseConfig, p: Payload, runs: readonly JobRun[]): StableUpgradeLaunch[] {
  if (!isStable(config) || p.phase !== 'Ready') return [];
  const platforms = Object.entries(config.upgrade ?? {})
    .filter(([, u]) => !u.disabled)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const sample = platforms.length ? sampleUpgradeVersions(previousVersions(p)) : [];
  if (sample.length === 0) return [];
  const arch = streamArchitecture(p.stream);
  const ours = new Map<string, Payload>();
  for (const s of view.streams()) {
    if (!isStable(s.config) || streamArchitecture(s.name) !== arch) continue;
    for (const x of view.payloads(s.name)) if (x.pullSpec && x.phase === 'Accepted' && !ours.has(x.tag)) ours.set(x.tag, x);
  }
  const out: StableUpgradeLaunch[] = [];
  let turn = 0;
  for (const version of sample) {
    const verifyName = upgradeTestName(version);
    const [platform, u] = platforms[turn++ % platforms.length];
    const mine = runs.filter((r) => r.verifyName === verifyName);
    if (mine.some((r) => r.state !== 'Interrupted')) continue;
    const source = ours.get(version);
    out.push({
      id: safeJobName(`${p.tag}-${verifyName}`, mine.length ? `${platform}-i${mine.length}` : platform),
      verifyName,
      jobName: u.prowJob?.name || platform,
      upgradeFrom: version,
      upgradeFromPullSpec: source ? payloadByDigest(source) : officialReleaseImage(version, arch),
    });
  }
  return out;
}
