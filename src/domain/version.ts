// Upstream's semantic-version handling (blang/semver v3 rules) and tag ordering.
import semver from 'semver';

export interface Version {
  major: number;
  minor: number;
  patch: number;
  prerelease: (string | number)[];
  raw: string;
}

const STRICT = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

function build(m: RegExpExecArray, raw: string): Version | null {
  const pre: (string | number)[] = [];
  if (m[4]) {
    for (const id of m[4].split('.')) {
      if (/^\d+$/.test(id)) {
        if (id.length > 1 && id.startsWith('0')) return null;
        pre.push(Number(id));
      } else pre.push(id);
    }
  }
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: pre, raw };
}

/** Strict parse: MAJOR.MINOR.PATCH[-pre][+build]. */
export function parseStrict(s: string): Version | null {
  const m = STRICT.exec(s);
  return m ? build(m, s) : null;
}

/** Tolerant parse: trims, strips a leading `v`, pads `4` / `4.16` (not when they carry `-` or `+`). */
export function parseTolerant(input: string): Version | null {
  let s = input.trim().replace(/^v/, '');
  const core = s.split(/[-+]/)[0];
  const parts = core.split('.');
  if (parts.length < 3) {
    if (s.includes('-') || s.includes('+')) return null;
    while (parts.length < 3) parts.push('0');
    s = parts.join('.');
  }
  // blang tolerates leading zeros in the padded numeric parts only via strict rules; keep strict here
  return parseStrict(s);
}

function cmpId(a: string | number, b: string | number): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareVersions(a: Version, b: Version): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  const pa = a.prerelease;
  const pb = b.prerelease;
  if (pa.length === 0 && pb.length === 0) return 0;
  if (pa.length === 0) return 1;
  if (pb.length === 0) return -1;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (i >= pa.length) return -1;
    if (i >= pb.length) return 1;
    const c = cmpId(pa[i], pb[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * Upstream's tag order for API lists: descending semver (strict parse); unparseable names after
 * parseable ones; ties and unparseable names by name descending.
 */
export function compareTagsDescending(a: string, b: string): number {
  const va = parseStrict(a);
  const vb = parseStrict(b);
  if (va && vb) {
    const c = compareVersions(vb, va);
    if (c !== 0) return c;
  } else if (va) return -1;
  else if (vb) return 1;
  return a < b ? 1 : a > b ? -1 : 0;
}

export function sortTagNamesDescending<T>(items: T[], name: (t: T) => string): T[] {
  const keyed = items.map((item) => ({ item, n: name(item), v: parseStrict(name(item)) }));
  keyed.sort((x, y) => {
    if (x.v && y.v) {
      const c = compareVersions(y.v, x.v);
      if (c !== 0) return c;
    } else if (x.v) return -1;
    else if (y.v) return 1;
    return x.n < y.n ? 1 : x.n > y.n ? -1 : 0;
  });
  return keyed.map((k) => k.item);
}

export class RangeError_ extends Error {}

/**
 * A blang-style range (`>4.15.0-0 <4.16.0-0`, `>=4.1.0 <4.2.0 || >4.3.0`). Pre-release versions
 * match as in blang (npm semver needs includePrerelease for that).
 */
export function parseRange(input: string): (v: string) => boolean {
  let range: semver.Range;
  try {
    range = new semver.Range(input, { includePrerelease: true, loose: false });
  } catch (e) {
    throw new RangeError_((e as Error).message);
  }
  if (range.set.length === 0 || input.trim() === '') throw new RangeError_(`Could not get version from string: "${input}"`);
  return (v: string) => {
    const parsed = parseStrict(v);
    if (!parsed) return false;
    try {
      return range.test(v.split('+')[0]);
    } catch {
      return false;
    }
  };
}

/** Next version as upstream computes it: patch + 1, or last numeric pre-release identifier + 1. */
export function incrementVersion(v: Version): string | null {
  if (v.prerelease.length === 0) return `${v.major}.${v.minor}.${v.patch + 1}`;
  const pre = [...v.prerelease];
  for (let i = pre.length - 1; i >= 0; i--) {
    const id = pre[i];
    if (typeof id === 'number') {
      pre[i] = id + 1;
      return `${v.major}.${v.minor}.${v.patch}-${pre.join('.')}`;
    }
  }
  return null;
}
