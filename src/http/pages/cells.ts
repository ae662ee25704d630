// Cells shared by the overview and the stream page (upstream-behavior.md §7, shared renderings),
// plus stream ordering, descriptions and the per-stream summary line.
import { INCONSISTENCY_LABEL } from '../../domain/checks.ts';
import { ciEntries, isStable, type ReleaseConfig } from '../../domain/config/schema.ts';
import { isQEAccepted, judgingConfig } from '../../domain/judging.ts';
import type { State } from '../../controller/state.ts';
import type { JobRun, Payload, StreamRecord } from '../../domain/types.ts';
import { decidingRuns, entryStatus, verificationStatus } from '../../domain/verification.ts';
import { parseTolerant, compareVersions, type Version } from '../../domain/version.ts';
import { h, join, link, seg, type Safe } from './html.ts';
import { renderMarkdown } from './markdown.ts';
import { relativeTime, absoluteTime } from './time.ts';

export function releaseHref(stream: string, tag: string): string {
  return `/releasestream/${seg(stream)}/release/${seg(tag)}`;
}

export function streamHref(stream: string): string {
  return `/releasestream/${seg(stream)}`;
}

export function logHref(runId: string): string {
  return `/logs/${seg(runId)}`;
}

export function isKeep(p: Payload): boolean {
  return p.annotations['release.openshift.io/keep'] !== undefined;
}

export function inconsistencyHref(stream: string, tag: string): string {
  return `/releasestream/${seg(stream)}/inconsistency/${seg(tag)}`;
}

/** The icon of a payload whose components carried inconsistency messages (upstream §7 name cell). */
function inconsistencyIcon(p: Payload): Safe | '' {
  for (const c of Object.values(p.components)) {
    if (c.labels?.[INCONSISTENCY_LABEL]?.trim()) {
      return h` <a class="inconsistency" href="${inconsistencyHref(p.stream, p.tag)}" title="Inconsistency detected! Click for more details" aria-label="Inconsistency detected! Click for more details">⚠</a>`;
    }
  }
  return '';
}

/**
 * Pending tags are plain text, others link to the release page; kept tags get `*` (tooltip "keep");
 * payloads with component inconsistencies get an icon linking to their inconsistency page.
 */
export function nameCell(p: Payload): Safe {
  const keep = isKeep(p) ? h` <span title="keep">*</span>` : '';
  if (p.phase === 'Pending') return h`<span class="tag-name">${p.tag}</span>${keep}${inconsistencyIcon(p)}`;
  return h`${link(releaseHref(p.stream, p.tag), p.tag, 'tag-name')}${keep}${inconsistencyIcon(p)}`;
}

/**
 * "Tests that failed or are still pending": CI entries with a status; succeeded ones omitted;
 * more than 3 pending (or failed) collapse into one "N pending" ("N failed") link to the release page.
 */
const entryOrder = new WeakMap<ReleaseConfig, ReturnType<typeof ciEntries>>();

/** CI entries, blocking ones first, then by name (memoised per config object). */
function entriesBlockingFirst(config: ReleaseConfig): ReturnType<typeof ciEntries> {
  let e = entryOrder.get(config);
  if (!e) {
    e = [...ciEntries(config)].sort(([a, va], [b, vb]) => (va.optional ? 1 : 0) - (vb.optional ? 1 : 0) || (a < b ? -1 : a > b ? 1 : 0));
    entryOrder.set(config, e);
  }
  return e;
}

export function failuresCell(config: ReleaseConfig, p: Payload, state: State): Safe {
  if (p.phase === 'Pending' || p.phase === 'Failed') return h``;
  const runs = state.runs(p.stream, p.tag);
  if (runs.length === 0) return h``;
  // one pass to group the runs by entry, then each entry looks only at its own runs
  const byEntry = new Map<string, JobRun[]>();
  for (const r of runs) {
    let g = byEntry.get(r.verifyName);
    if (!g) byEntry.set(r.verifyName, (g = []));
    g.push(r);
  }
  const pending: [string, string][] = [];
  const failed: [string, string][] = [];
  // the entries the payload is judged by (frozen at creation), not the stream's current ones
  for (const [name, v] of entriesBlockingFirst(judgingConfig(config, p))) {
    const own = byEntry.get(name);
    if (!own) continue;
    const st = entryStatus(name, v, decidingRuns(v, name, own));
    if (st.runs.length === 0) continue;
    const vs = verificationStatus(st, v.maxRetries ?? 0);
    if (vs.state === 'Pending') pending.push([name, vs.url]);
    else if (vs.state === 'Failed') failed.push([name, vs.url]);
  }
  const page = releaseHref(p.stream, p.tag);
  const parts: Safe[] = [];
  if (failed.length > 3) parts.push(link(page, `${failed.length} failed`, 'fail'));
  else for (const [n, u] of failed) parts.push(h`<span class="fail" title="Failed">${link(u, n, 'fail')}</span>`);
  if (pending.length > 3) parts.push(link(page, `${pending.length} pending`, 'pend'));
  else for (const [n, u] of pending) parts.push(h`<span class="pend" title="Pending">${link(u, n)}</span>`);
  return join(parts, ' ');
}

export function startedCell(p: Payload, now: number): Safe {
  const abs = absoluteTime(p.createdAt);
  return h`<time datetime="${abs}" title="${abs}">${relativeTime(p.createdAt, now)}</time>`;
}

function streamVersion(name: string): Version | null {
  const v = parseTolerant(name);
  return v ? { ...v, prerelease: [] } : null;
}

/**
 * Upstream's index order: visible before hidden; Stable before integration; version parsed from the
 * name (pre-release removed) highest first; then name ascending.
 */
export function sortStreams(streams: StreamRecord[]): StreamRecord[] {
  const keyed = streams.map((s) => ({ s, v: streamVersion(s.name) }));
  keyed.sort((a, b) => {
    const ha = a.s.config.hide ? 1 : 0;
    const hb = b.s.config.hide ? 1 : 0;
    if (ha !== hb) return ha - hb;
    const sa = isStable(a.s.config) ? 0 : 1;
    const sb = isStable(b.s.config) ? 0 : 1;
    if (sa !== sb) return sa - sb;
    if (a.v && b.v) {
      const c = compareVersions(b.v, a.v);
      if (c !== 0) return c;
    } else if (a.v || b.v) return a.v ? -1 : 1;
    return a.s.name < b.s.name ? -1 : a.s.name > b.s.name ? 1 : 0;
  });
  return keyed.map((k) => k.s);
}

/** The stream message as safe markdown, or upstream's generated description. */
export function describeStream(rec: StreamRecord): Safe {
  const msg = rec.config.message?.trim();
  if (msg) return renderMarkdown(msg);
  const parts: Safe[] = [isStable(rec.config) ? h`stable tags` : h`updated when <code>${rec.input}</code> changes`];
  const steps = Object.entries(rec.config.publish ?? {})
    .filter(([, s]) => !s.disabled)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const promotes: Safe[] = [];
  for (const [, s] of steps) {
    const when = s.on === 'QEAccepted' ? ' once QE accepted' : '';
    if (s.tagRef) promotes.push(h`promote to tag <code>${s.tagRef.name}</code>${when}`);
    else if (s.imageStreamRef) {
      const dest = s.imageStreamRef.namespace ? `${s.imageStreamRef.namespace}/${s.imageStreamRef.name}` : s.imageStreamRef.name;
      const only = s.imageStreamRef.tags?.length ? h`${join(s.imageStreamRef.tags.map((t) => h`<code>${t}</code>`), '/')} ` : '';
      promotes.push(h`promote ${only}to input stream <code>${dest}</code>${when}`);
    }
  }
  return h`<p>${join([...parts, ...promotes], ', ')}</p>`;
}

export interface StreamSummary {
  total: number;
  lastAccepted: Payload | null;
  rejectedSince: number;
  failedSince: number;
  pendingOrReady: number;
  hasQE: boolean;
  /** newest payload that is QE accepted (and so CI Accepted: DESIGN §14) */
  lastQEAccepted: Payload | null;
  qeRunning: number;
}

/** Facts for the summary line; one pass over the stream's payloads (cached by the caller). */
export function summarizeStream(state: State, rec: StreamRecord): StreamSummary {
  const ps = state.payloads(rec.name);
  const s: StreamSummary = {
    total: ps.length, lastAccepted: null, rejectedSince: 0, failedSince: 0, pendingOrReady: 0,
    hasQE: Object.values(rec.config.verify ?? {}).some((v) => v.qe && !v.disabled), lastQEAccepted: null, qeRunning: 0,
  };
  for (const p of ps) {
    if (!s.lastAccepted) {
      if (p.phase === 'Accepted') s.lastAccepted = p;
      else if (p.phase === 'Rejected') s.rejectedSince++;
      else if (p.phase === 'Failed') s.failedSince++;
    }
    if (p.phase === 'Pending' || p.phase === 'Ready') s.pendingOrReady++;
    if (p.qe.state) s.hasQE = true;
    if (!s.lastQEAccepted && isQEAccepted(p)) s.lastQEAccepted = p;
    if (p.qe.state === 'QERunning') s.qeRunning++;
  }
  return s;
}

/** e.g. "Last accepted 4.18.0-0.nightly-… 3 hours ago · 2 rejected since · QE accepted 4.18.0-…". */
export function summaryLine(s: StreamSummary, now: number): Safe {
  if (s.total === 0) return h`<p class="summary">No payloads yet.</p>`;
  const parts: Safe[] = [];
  if (s.lastAccepted) {
    const a = s.lastAccepted;
    parts.push(h`Last accepted ${link(releaseHref(a.stream, a.tag), a.tag)} <time datetime="${absoluteTime(a.createdAt)}" title="${absoluteTime(a.createdAt)}">${relativeTime(a.createdAt, now)}</time>`);
    const since: string[] = [];
    if (s.rejectedSince) since.push(`${s.rejectedSince} rejected`);
    if (s.failedSince) since.push(`${s.failedSince} failed`);
    if (since.length) parts.push(h`${since.join(', ')} since`);
  } else {
    parts.push(h`No accepted payload among the ${s.total} ${s.total === 1 ? 'payload' : 'payloads'}`);
  }
  if (s.pendingOrReady) parts.push(h`${s.pendingOrReady} in progress`);
  if (s.hasQE) {
    if (s.lastQEAccepted) parts.push(h`QE accepted ${link(releaseHref(s.lastQEAccepted.stream, s.lastQEAccepted.tag), s.lastQEAccepted.tag)}`);
    else parts.push(h`no QE-accepted payload`);
    if (s.qeRunning) parts.push(h`${s.qeRunning} in QE`);
  }
  return h`<p class="summary">${join(parts, ' · ')}</p>`;
}
