// `/dashboards/compare?from=&to=&format=` — upstream's "Release Comparison Dashboard"
// (upstream-behavior.md §7.4): From / To selects over the releases of the Stable streams, a Format
// select (html, json), and with both chosen the changelog between them from the changelog service.
// Upstream reads the streams named 4-stable and 5-stable; we read every Stable stream (so
// 4-stable-arm64 and any other Stable stream count too). Fixes (DESIGN §13): a missing half, an
// unknown release or format is a 400 page naming it (upstream answers 200, and names a release
// that exists as "unable to locate" when the other one is missing).
import type { ChangelogOutcome } from '../../controller/changelog.ts';
import type { State } from '../../controller/state.ts';
import { goJson } from '../api/shared.ts';
import { compareTagsDescending } from '../../domain/version.ts';
import type { Payload, StreamRecord } from '../../domain/types.ts';
import { releaseHref, sortStreams } from './cells.ts';
import { renderComponentDiff } from './changelog.ts';
import { h, join, link, trusted, type Safe } from './html.ts';
import { layout } from './layout.ts';

export const COMPARE_PATH = '/dashboards/compare';
export const COMPARE_FORMATS = ['html', 'json'] as const;
export type CompareFormat = (typeof COMPARE_FORMATS)[number];

/** The Stable streams (not end-of-life) with their releases, highest version first. */
export function compareStreams(state: State): { rec: StreamRecord; releases: Payload[] }[] {
  return sortStreams(state.streams().filter((s) => s.config.as === 'Stable' && !s.config.endOfLife))
    .map((rec) => ({ rec, releases: [...state.payloads(rec.name)].sort((a, b) => compareTagsDescending(a.tag, b.tag)) }))
    .filter((s) => s.releases.length > 0);
}

export interface CompareQuery {
  from: string;
  to: string;
  /** as given ('' → html) */
  format: string;
}

/** What the query asks for: both releases found, a 400 with its message, or nothing chosen yet. */
export type CompareRequest =
  | { kind: 'form' }
  | { kind: 'bad'; message: string }
  | { kind: 'compare'; from: Payload; to: Payload; format: CompareFormat };

export function resolveCompare(streams: readonly { releases: readonly Payload[] }[], q: CompareQuery): CompareRequest {
  const format = q.format.toLowerCase();
  if (format && !(COMPARE_FORMATS as readonly string[]).includes(format)) return { kind: 'bad', message: `Unrecognized format ${q.format}: html and json are accepted.` };
  if (!q.from && !q.to) return { kind: 'form' };
  if (!q.from || !q.to) return { kind: 'bad', message: `Choose both releases: ${q.from ? 'to' : 'from'} is missing.` };
  const find = (tag: string) => {
    for (const s of streams) for (const p of s.releases) if (p.tag === tag) return p;
    return undefined;
  };
  const from = find(q.from);
  const to = find(q.to);
  if (!from || !to) {
    const unknown = [...new Set([from ? '' : q.from, to ? '' : q.to].filter(Boolean))];
    return { kind: 'bad', message: `Unable to locate release(s): ${unknown.join(', ')}` };
  }
  return { kind: 'compare', from, to, format: (format || 'html') as CompareFormat };
}

function releaseSelect(id: 'from' | 'to', label: string, streams: readonly { rec: StreamRecord; releases: readonly Payload[] }[], chosen: string): Safe {
  const known = streams.some((s) => s.releases.some((p) => p.tag === chosen));
  const groups = streams.map(
    (s) => h`<optgroup label="${s.rec.name}">${s.releases.map((p) => h`<option value="${p.tag}"${p.tag === chosen ? h` selected` : ''}>${p.tag}</option>`)}</optgroup>`,
  );
  return h`<label for="${id}">${label}<select id="${id}" name="${id}" required><option value="" disabled${known ? '' : h` selected`}>Select</option>${groups}</select></label>`;
}

function form(streams: readonly { rec: StreamRecord; releases: readonly Payload[] }[], q: CompareQuery): Safe {
  const format = q.format.toLowerCase();
  return h`<form method="get" class="filters compare-form" action="${COMPARE_PATH}">${releaseSelect('from', 'From release', streams, q.from)}${releaseSelect('to', 'To release', streams, q.to)}<label for="format">Format<select id="format" name="format">${COMPARE_FORMATS.map(
    (f) => h`<option value="${f}"${f === format ? h` selected` : ''}>${f}</option>`,
  )}</select></label><button type="submit" class="btn">Compare</button></form>`;
}

function pendingNote(from: Payload, to: Payload, o: ChangelogOutcome): Safe {
  if (o.state === 'computing') return h`<p class="box info changelog-pending" role="status">The changelog from ${from.tag} to ${to.tag} is still being computed; reload in a few seconds.</p>`;
  return h`<p class="box warn changelog-pending" role="status">Too many changelogs are being computed right now; reload in a few seconds.</p>`;
}

/** The comparison: upstream's changelog (rendered, or its JSON in a `<pre>`) and our image-by-image differences. */
function result(from: Payload, to: Payload, format: CompareFormat, outcome: ChangelogOutcome | null): Safe {
  const head = h`<p class="section-note compare-pair">From ${link(releaseHref(from.stream, from.tag), from.tag)} (${from.stream}, ${from.phase}) to ${link(releaseHref(to.stream, to.tag), to.tag)} (${to.stream}, ${to.phase})</p>`;
  let changelog: Safe;
  if (!outcome) {
    const missing = [from, to].filter((p) => !p.pullSpec).map((p) => p.tag);
    changelog = h`<p class="box danger" role="alert">Unable to show full changelog: ${join(missing, ', ')} ${missing.length === 1 ? 'has' : 'have'} no pull spec yet (not built).</p>`;
  } else if (outcome.state !== 'ready') {
    changelog = pendingNote(from, to, outcome);
  } else if (format === 'json') {
    changelog = h`<pre class="changelog-json"><code>${goJson(outcome.json)}</code></pre>`;
  } else {
    // the changelog service's HTML escapes every value it interpolates (domain/changelog.ts)
    changelog = h`<div class="changelog-body">${trusted(outcome.html)}</div>`;
  }
  return h`<section class="card" id="changelog" data-from="${from.tag}" data-to="${to.tag}" data-format="${format}"><h2>Changelog</h2>${head}${changelog}</section>
<section class="card" id="image-differences"><h2>Image differences</h2>${renderComponentDiff(from, to)}</section>`;
}

export interface ComparePage {
  status: number;
  html: string;
}

/** The whole page; `outcome` is the changelog of a resolved request (null: a release is not built yet). */
export function renderComparePage(state: State, q: CompareQuery, r: CompareRequest, outcome: ChangelogOutcome | null): ComparePage {
  const streams = compareStreams(state);
  const body = h`<div class="crumbs">Quick links: <a href="/">Index</a> | <a href="/dashboards/overview">Overview</a> | <a href="${COMPARE_PATH}">Compare</a></div>
<h1>Release Comparison Dashboard</h1>
<p class="section-note">Builds and upgrade paths on this site are not supported releases.</p>
${streams.length ? form(streams, q) : h`<p class="muted">No Stable releases to compare yet (a Stable stream gets them by promotion: <code>PUT /api/v1/releasestream/{stable}/release/{version}</code>).</p>`}
<hr>
${r.kind === 'bad' ? h`<p class="box danger compare-error" role="alert">${r.message}</p>` : ''}${r.kind === 'compare' ? result(r.from, r.to, r.format, outcome) : ''}`;
  return { status: r.kind === 'bad' ? 400 : 200, html: layout('Release Comparison Dashboard', { page: 'compare' }, body) };
}
