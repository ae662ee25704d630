// Console health facts of a stream (upstream-behavior.md §1.8, §7.1, §7.4, §7.6), pure:
// - `check.<name>.consistentImages`: the stream's components against its parent stream's;
// - the overview dashboard's "no recently accepted payloads" rule;
// - per-component inconsistency messages recorded on a payload's snapshot.
// None of them affects a phase.
import type { Payload, StreamRecord } from './types.ts';
import type { WorldView } from './world.ts';

export interface CheckAlert {
  /** the check's name (the key under `check`) */
  check: string;
  parent: string;
  /** one line per problem, worded for the console */
  problems: string[];
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every `consistentImages` check of a stream that fails. A component of the stream fails when its
 * parent stream's input has no such component, or has a different image that was updated later
 * (this stream's image is older than the parent's). The parent is looked up among all loaded
 * streams: upstream's stream page looks only at the one stream it shows and so always reports the
 * parent as missing (§9 item 19, fixed: DESIGN §13).
 */
export function consistentImagesAlerts(view: Pick<WorldView, 'stream' | 'inputTags'>, rec: StreamRecord): CheckAlert[] {
  const out: CheckAlert[] = [];
  for (const [check, c] of Object.entries(rec.config.check ?? {}).sort(([a], [b]) => byName(a, b))) {
    const parentName = c.consistentImages?.parent;
    if (!parentName) continue;
    const parent = view.stream(parentName);
    if (!parent) {
      out.push({ check, parent: parentName, problems: [`The parent stream ${parentName} could not be found.`] });
      continue;
    }
    const theirs = new Map(view.inputTags(parent.input).map((t) => [t.component, t]));
    const missing: string[] = [];
    const older: string[] = [];
    for (const t of [...view.inputTags(rec.input)].sort((a, b) => byName(a.component, b.component))) {
      const p = theirs.get(t.component);
      if (!p) missing.push(t.component);
      else if (p.pullSpec !== t.pullSpec && Date.parse(t.updatedAt) < Date.parse(p.updatedAt)) older.push(t.component);
    }
    const problems: string[] = [];
    if (missing.length) problems.push(`Components not in the parent stream ${parentName} (input ${parent.input}): ${missing.join(', ')}`);
    if (older.length) problems.push(`Components older than in the parent stream ${parentName} (input ${parent.input}): ${older.join(', ')}`);
    if (problems.length) out.push({ check, parent: parentName, problems });
  }
  return out;
}

/**
 * The overview dashboard's red alert (§7.4): with `maxUnreadyReleases` 0 never; otherwise walk the
 * payloads newest first, skipping Ready ones: an Accepted payload reached before
 * `maxUnreadyReleases` others (Pending, Rejected, Failed) → not failing; else failing. Kept as
 * upstream: a stream with no payloads, or only Ready ones, counts as failing.
 */
export function noRecentlyAccepted(config: StreamRecord['config'], newestFirst: readonly Pick<Payload, 'phase'>[]): boolean {
  const max = config.maxUnreadyReleases ?? 0;
  if (max <= 0) return false;
  let others = 0;
  for (const p of newestFirst) {
    if (p.phase === 'Ready') continue;
    if (p.phase === 'Accepted') return false;
    if (++others >= max) return true;
  }
  return true;
}

export const INCONSISTENCY_LABEL = 'release.openshift.io/inconsistency';

export interface ComponentInconsistency {
  component: string;
  pullSpec: string;
  message: string;
}

/**
 * Components of a payload whose image carried an inconsistency message when the payload was
 * created (the `release.openshift.io/inconsistency` label of its input tag: ART's JSON array of
 * strings, joined with "; ", or a plain string). Sorted by component.
 */
export function componentInconsistencies(p: Pick<Payload, 'components'>): ComponentInconsistency[] {
  const out: ComponentInconsistency[] = [];
  for (const name of Object.keys(p.components).sort(byName)) {
    const c = p.components[name];
    const raw = c.labels?.[INCONSISTENCY_LABEL];
    if (raw === undefined || raw.trim() === '') continue;
    let message = raw;
    try {
      const v = JSON.parse(raw) as unknown;
      if (Array.isArray(v)) message = v.map(String).join('; ');
    } catch {
      // a plain message
    }
    out.push({ component: name, pullSpec: c.pullSpec, message });
  }
  return out;
}
