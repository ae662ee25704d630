// `/releasestream/:name` — the stream's tags, filterable by phase and QE state, 50 rows a page.
import type { ConfigFileProblem } from '../../controller/operations.ts';
import type { State } from '../../controller/state.ts';
import { isStable } from '../../domain/config/schema.ts';
import { isQEAccepted } from '../../domain/judging.ts';
import { PHASES, QE_STATES, type Payload, type StreamRecord } from '../../domain/types.ts';
import { APPROVALS_HEADER, approvalsCell } from './approvals.ts';
import { describeStream, failuresCell, nameCell, releaseHref, startedCell, streamHref, summaryLine } from './cells.ts';
import { h, join, link, linkify, seg, type Safe } from './html.ts';
import { PHASE_LABELS, QE_LABELS, phaseLabel, qeLabel } from './labels.ts';
import { checkAlerts } from './dashboards.ts';
import { configProblemsBanner, layout } from './layout.ts';
import { streamLevers } from './levers.ts';
import { relativeTime } from './time.ts';
import { upgradeLanes, upgradesCells, upgradesHeader } from './upgrades.ts';
import type { SummaryCache } from './overview.ts';
import { qualifierBadges } from './qualifiers.ts';
import type { QualifiersSummary } from '../../domain/qualifiers.ts';

export const PAGE_SIZE = 50;

export interface StreamQuery {
  phase: string;
  qe: string;
  page: number;
}

const QE_FILTERS = [...QE_STATES.filter((s) => s !== ''), 'none'];

/** Query string → filters; unknown values are ignored (shown as "all"). */
export function parseStreamQuery(q: Record<string, unknown>): StreamQuery {
  const one = (v: unknown) => (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '');
  const phase = one(q.phase);
  const qe = one(q.qe);
  const page = Number.parseInt(one(q.page), 10);
  return {
    phase: (PHASES as readonly string[]).includes(phase) ? phase : '',
    qe: QE_FILTERS.includes(qe) ? qe : '',
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  };
}

/** `qe=QEAccepted` keeps only payloads that are QE accepted in force (also CI Accepted: DESIGN §14). */
export function filterPayloads(all: readonly Payload[], q: Pick<StreamQuery, 'phase' | 'qe'>): readonly Payload[] {
  if (!q.phase && !q.qe) return all;
  const qeMatch = (p: Payload) => (q.qe === 'none' ? p.qe.state === '' : q.qe === 'QEAccepted' ? isQEAccepted(p) : p.qe.state === q.qe);
  return all.filter((p) => (!q.phase || p.phase === q.phase) && (!q.qe || qeMatch(p)));
}

/**
 * The conditions the controller recorded for a stream (a periodic without an upgrade source, …),
 * as a small notice; nothing when there are none.
 */
export function conditionsNotice(rec: StreamRecord): Safe {
  const entries = Object.entries(rec.conditions ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return h``;
  return h`<div class="box info small conditions" role="status"><strong>${entries.length === 1 ? 'Condition' : 'Conditions'}:</strong> <ul class="plain">${entries.map(
    ([key, msg]) => h`<li data-condition="${key}">${linkify(msg)}</li>`,
  )}</ul></div>`;
}

/** How the import of an input from its registry repository goes (serve --inputs). */
export interface InputImportStatus {
  input: string;
  repository: string;
  lastImport: string | null;
  error: string | null;
  errorSince: string | null;
  failures: number;
}

/** A failing registry import of the stream's input: what failed, since when, and that the last good input is kept. */
export function importErrorNotice(imports: readonly InputImportStatus[], input: string, now: number): Safe {
  const st = imports.find((i) => i.input === input && i.error);
  if (!st) return h``;
  const since = st.errorSince ? h`, the first ${relativeTime(st.errorSince, now)}` : '';
  const kept = st.lastImport ? h`the input last imported ${relativeTime(st.lastImport, now)} is kept` : h`nothing has been imported yet`;
  return h`<div class="box danger import-error" role="alert" data-import-error="${st.input}"><strong>Import failing:</strong> input ${st.input} from ${st.repository}: ${st.error} <span class="small">(${st.failures} ${st.failures === 1 ? 'attempt' : 'attempts'}${since}; retrying with backoff; ${kept})</span></div>`;
}

export interface PageSlice {
  rows: readonly Payload[];
  page: number;
  pages: number;
  total: number;
}

export function paginate(list: readonly Payload[], page: number, size = PAGE_SIZE): PageSlice {
  const pages = Math.max(1, Math.ceil(list.length / size));
  const p = Math.min(Math.max(1, page), pages);
  return { rows: list.slice((p - 1) * size, p * size), page: p, pages, total: list.length };
}

export function queryString(q: StreamQuery, page: number): string {
  const parts: string[] = [];
  if (q.phase) parts.push(`phase=${encodeURIComponent(q.phase)}`);
  if (q.qe) parts.push(`qe=${encodeURIComponent(q.qe)}`);
  if (page > 1) parts.push(`page=${page}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** `release@sha256:0123456789ab` — the last path element with a short digest (full value in the title). */
export function shortPullSpec(pull: string): string {
  const at = pull.indexOf('@sha256:');
  const repo = (at >= 0 ? pull.slice(0, at) : pull).split('/').pop() ?? pull;
  return at >= 0 ? `${repo}@sha256:${pull.slice(at + 8, at + 20)}` : repo;
}

/** `extra`: cells appended to the row (the upgrade lanes); `qualifiers`: the payload's summary (its propagated badges follow the name). */
export function streamRow(state: State, rec: StreamRecord, p: Payload, now: number, artifactsUrl?: string, extra?: Safe, qualifiers?: QualifiersSummary): Safe {
  const api = `/api/v1/releasestream/${seg(p.stream)}/release/${seg(p.tag)}`;
  const links: Safe[] = [];
  if (p.phase !== 'Pending') links.push(link(releaseHref(p.stream, p.tag), 'details'));
  links.push(link(api, 'JSON'));
  if (artifactsUrl && p.phase !== 'Pending' && p.phase !== 'Failed') links.push(link(`${artifactsUrl.replace(/\/+$/, '')}/${seg(p.tag)}`, 'download'));
  const pull = p.pullSpec ? h`<code title="${p.pullSpec}">${shortPullSpec(p.pullSpec)}</code>` : h`<span class="muted">—</span>`;
  return h`<tr data-tag="${p.tag}" data-stream="${p.stream}"><td class="name">${nameCell(p)}${qualifiers?.qualifiers ? h` ${qualifierBadges(qualifiers, false)}` : ''}</td><td>${phaseLabel(p)}</td><td>${qeLabel(p)}</td>${approvalsCell(p)}<td class="time">${startedCell(p, now)}</td><td class="pull">${pull}</td><td class="failures">${failuresCell(rec.config, p, state)}</td><td class="links small">${join(links, ' · ')}</td>${extra ?? ''}</tr>`;
}

function select(name: string, label: string, current: string, options: [string, string][]): Safe {
  return h`<label>${label}<select name="${name}" data-autosubmit>${options.map(([v, t]) => h`<option value="${v}"${v === current ? h` selected` : ''}>${t}</option>`)}</select></label>`;
}

function pager(rec: StreamRecord, q: StreamQuery, s: PageSlice): Safe {
  if (s.pages <= 1) return h`<div class="pager"><span class="muted">${s.total} ${s.total === 1 ? 'payload' : 'payloads'}</span></div>`;
  const base = streamHref(rec.name);
  const first = (s.page - 1) * PAGE_SIZE + 1;
  const last = first + s.rows.length - 1;
  return h`<nav class="pager" aria-label="Pages"><span>${first}–${last} of ${s.total}</span>${
    s.page > 1 ? h`<a href="${base}${queryString(q, 1)}">« Newest</a><a href="${base}${queryString(q, s.page - 1)}" rel="prev">‹ Newer</a>` : ''
  }<span>Page ${s.page} of ${s.pages}</span>${
    s.page < s.pages ? h`<a href="${base}${queryString(q, s.page + 1)}" rel="next">Older ›</a><a href="${base}${queryString(q, s.pages)}">Oldest »</a>` : ''
  }</nav>`;
}

export interface StreamPageDeps {
  state: State;
  summaries: SummaryCache;
  /** filtered list for (stream, phase, qe); may be cached by the caller */
  filtered(rec: StreamRecord, q: StreamQuery): readonly Payload[];
  artifactsUrl?: string;
  /** files that failed to (re)load; the ones of this stream are shown */
  configProblems?: readonly ConfigFileProblem[];
  /** a payload's qualifiers summary (serve --qualifiers) */
  qualifiers?: (p: Payload) => QualifiersSummary;
  /** registry imports (serve --inputs); a failing one of this stream's input is shown */
  imports?: readonly InputImportStatus[];
}

export function renderStreamPage(deps: StreamPageDeps, rec: StreamRecord, q: StreamQuery, now: number): string {
  const { state } = deps;
  const list = deps.filtered(rec, q);
  const s = paginate(list, q.page);
  const filtered = !!(q.phase || q.qe);
  // upstream draws upgrade lanes for integration streams only
  const lanes = isStable(rec.config) ? null : upgradeLanes(state, rec.name, s.rows.map((p) => p.tag));
  const errors = rec.errors.length ? h`<div class="box danger" role="alert"><strong>Configuration errors (stream not reconciled):</strong> ${join(rec.errors, '; ')}</div>` : '';
  const table = s.rows.length
    ? h`<div class="table-wrap"><table id="tags"><thead><tr><th scope="col">Name</th><th scope="col">Phase</th><th scope="col">QE</th>${APPROVALS_HEADER}<th scope="col">Created</th><th scope="col" class="pull">Pull spec</th><th scope="col" title="Tests that failed or are still pending">Failures</th><th scope="col" class="links">Links</th>${lanes ? upgradesHeader(lanes) : ''}</tr></thead><tbody>${s.rows.map((p, i) =>
        streamRow(state, rec, p, now, deps.artifactsUrl, lanes ? upgradesCells(lanes, i) : undefined, deps.qualifiers?.(p)),
      )}</tbody></table></div>`
    : h`<p class="muted">${filtered ? 'No payloads match these filters.' : 'No payloads yet.'}</p>`;
  const body = h`<div class="crumbs"><a href="/">Back to index</a>${lanes ? h` | ${link(`${streamHref(rec.name)}/candidates`, 'Promotion candidates')}` : ''}</div>
<h1>${rec.name}</h1>
${streamLevers(state, rec, now)}
<div class="message">${describeStream(rec)}</div>
${errors}${configProblemsBanner((deps.configProblems ?? []).filter((p) => p.stream === rec.name || (p.kind === 'releases' && p.file === rec.sourceFile)))}
${importErrorNotice(deps.imports ?? [], rec.input, now)}${conditionsNotice(rec)}${checkAlerts(state, rec)}
<div data-live="summary">${summaryLine(deps.summaries.summary(rec), now)}</div>
<form class="filters" method="get" action="${streamHref(rec.name)}" role="search">
${select('phase', 'Phase', q.phase, [['', 'All phases'], ...PHASES.map((ph) => [ph, PHASE_LABELS[ph].text] as [string, string])])}
${select('qe', 'QE state', q.qe, [['', 'All QE states'], ...QE_STATES.filter((x) => x !== '').map((x) => [x, QE_LABELS[x].text] as [string, string]), ['none', 'No QE']])}
<button type="submit" class="btn">Filter</button>${filtered ? h` <a href="${streamHref(rec.name)}">Clear filters</a>` : ''}
</form>
<div id="new-payloads" class="banner" role="status" hidden>New payloads — <a href="${streamHref(rec.name)}${queryString(q, 1)}">reload</a></div>
<div data-live="tags">${pager(rec, q, s)}${table}${s.pages > 1 ? pager(rec, q, s) : ''}</div>`;
  return layout(rec.name, { page: 'stream', stream: rec.name, pageNumber: s.page, filtered }, body);
}
