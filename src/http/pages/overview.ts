// `/` — every stream (hidden ones collapsed, end-of-life omitted) with its newest payloads.
import type { ConfigFileProblem } from '../../controller/operations.ts';
import type { State } from '../../controller/state.ts';
import type { Payload, StreamRecord } from '../../domain/types.ts';
import { describeStream, failuresCell, nameCell, sortStreams, startedCell, streamHref, summarizeStream, summaryLine, type StreamSummary } from './cells.ts';
import { h, join, link, type Safe } from './html.ts';
import { phaseLabel, qeLabel } from './labels.ts';
import { checkAlerts } from './dashboards.ts';
import { configProblemsBanner, layout } from './layout.ts';
import { lockBanner } from './levers.ts';

export const OVERVIEW_ROWS = 5;

export interface SummaryCache {
  summary(rec: StreamRecord): StreamSummary;
}

export function directSummaries(state: State): SummaryCache {
  return { summary: (rec) => summarizeStream(state, rec) };
}

export function overviewRow(state: State, rec: StreamRecord, p: Payload, now: number): Safe {
  return h`<tr data-tag="${p.tag}" data-stream="${p.stream}"><td class="name">${nameCell(p)}</td><td>${phaseLabel(p)}</td><td>${qeLabel(p)}</td><td class="time">${startedCell(p, now)}</td><td class="failures">${failuresCell(rec.config, p, state)}</td></tr>`;
}

/** A stream's recorded conditions as one line linking to the stream page, where they are listed. */
function conditionsLine(rec: StreamRecord): Safe {
  const msgs = Object.entries(rec.conditions ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, m]) => m);
  if (msgs.length === 0) return h``;
  if (msgs.length === 1) return h`<p class="small conditions">Condition: ${msgs[0]}</p>`;
  return h`<p class="small conditions">${link(streamHref(rec.name), `${msgs.length} conditions`)} reported for this stream, first: ${msgs[0]}</p>`;
}

/** the payloads the overview lists (their runs make the failures column) */
export function overviewPayloads(state: State): Payload[] {
  return state.streams().filter((s) => !s.config.endOfLife).flatMap((s) => state.payloads(s.name).slice(0, OVERVIEW_ROWS));
}

function streamBlock(state: State, rec: StreamRecord, summaries: SummaryCache, now: number): Safe {
  const newest = state.payloads(rec.name).slice(0, OVERVIEW_ROWS);
  const errors = rec.errors.length ? h`<div class="box danger" role="alert"><strong>Configuration errors (stream not reconciled):</strong> ${join(rec.errors, '; ')}</div>` : '';
  const rows = newest.length
    ? h`<div class="table-wrap"><table class="overview"><colgroup><col class="c-name"><col class="c-phase"><col class="c-qe"><col class="c-time"><col></colgroup><thead><tr><th scope="col">Name</th><th scope="col">Phase</th><th scope="col">QE</th><th scope="col">Started</th><th scope="col" title="Tests that failed or are still pending">Failures</th></tr></thead><tbody>${newest.map((p) => overviewRow(state, rec, p, now))}</tbody></table></div>`
    : h``;
  return h`<section class="card stream" data-live="stream:${rec.name}" data-stream="${rec.name}" aria-labelledby="${rec.name}">
<div class="stream-head"><h2 id="${rec.name}" title="From input stream ${rec.input}">${link(streamHref(rec.name), rec.name)}</h2><a class="small" href="${streamHref(rec.name)}">Full list (${state.payloads(rec.name).length})</a></div>
${lockBanner(rec, now, true)}<div class="message">${describeStream(rec)}</div>
${errors}${checkAlerts(state, rec)}${conditionsLine(rec)}${summaryLine(summaries.summary(rec), now)}
${rows}
</section>`;
}

/** Why the controller cannot work right now (the Kubernetes API unreachable, the store failing), or nothing. */
export function unavailableBanner(reason: string | null): Safe {
  if (!reason) return h``;
  const note = reason.startsWith('Kubernetes API') ? ' Runs stay Pending until it answers again; none is failed because of it.' : '';
  return h`<div class="box danger unavailable" role="alert" data-unavailable><strong>Not ready:</strong> ${reason}.${note}</div>`;
}

export function renderOverview(state: State, now: number, summaries: SummaryCache = directSummaries(state), problems: readonly ConfigFileProblem[] = [], unavailable: string | null = null): string {
  const all = sortStreams(state.streams().filter((s) => !s.config.endOfLife));
  const visible = all.filter((s) => !s.config.hide);
  const hidden = all.filter((s) => s.config.hide);
  const jump = all.length ? h`<p class="jump">Jump to: ${join(visible.map((s) => h`<a href="#${s.name}">${s.name}</a>`), ' | ')}</p>` : '';
  const body = h`<h1>Release Status</h1>
<p class="section-note">Payloads built from input streams, verified by blocking, informing and QE jobs. Builds on this site are not supported releases.</p>
${unavailableBanner(unavailable)}${configProblemsBanner(problems)}
${jump}
${all.length === 0 ? h`<p class="muted">No release streams are configured.</p>` : ''}
${visible.map((s) => streamBlock(state, s, summaries, now))}
${hidden.length ? h`<details class="hidden-streams"><summary>Hidden streams (${hidden.length})</summary>${hidden.map((s) => streamBlock(state, s, summaries, now))}</details>` : ''}`;
  return layout('Release Status', { page: 'overview' }, body);
}
