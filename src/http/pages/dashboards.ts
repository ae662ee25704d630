// Upstream's dashboard and inconsistency pages (upstream-behavior.md §7.4, §7.6) and the
// consistentImages alert boxes shown on the index, the stream page and the dashboard (§7.1).
import type { State } from '../../controller/state.ts';
import { componentInconsistencies, consistentImagesAlerts, noRecentlyAccepted } from '../../domain/checks.ts';
import type { Payload, StreamRecord } from '../../domain/types.ts';
import { describeStream, nameCell, sortStreams, startedCell, streamHref } from './cells.ts';
import { h, join, link, type Safe } from './html.ts';
import { phaseLabel, qeLabel } from './labels.ts';
import { layout } from './layout.ts';

export const DASHBOARD_ROWS = 10;
const DAY_MS = 24 * 3_600_000;
/** upstream leaves these out of the dashboard (stable and dev-preview streams) */
const NOT_ON_DASHBOARD = new Set(['4-stable', '5-stable', '4-dev-preview', '5-dev-preview']);

/** Red boxes, one per failing consistentImages check: "<check> failures:" and its problems. */
export function checkAlerts(state: State, rec: StreamRecord): Safe {
  const alerts = consistentImagesAlerts(state, rec);
  return join(
    alerts.map(
      (a) => h`<div class="box danger check-alert" role="alert" data-check="${a.check}"><strong>${a.check} failures:</strong><ul class="plain">${a.problems.map((p) => h`<li>${p}</li>`)}</ul></div>`,
    ),
  );
}

/** "Successful Upgrades", "Running Upgrades", "Failed Upgrade From" cells; "--" for payloads older than 24 h. */
function upgradeCells(state: State, p: Payload, now: number): Safe {
  if (now - Date.parse(p.createdAt) > DAY_MS) return h`<td class="up-ok">--</td><td class="up-run">--</td><td class="up-fail">--</td>`;
  const ups = state.upgradesInto(p.tag);
  const ok = ups.filter((u) => u.state === 'Succeeded').length;
  const running = ups.filter((u) => u.state === 'Pending').length;
  const failed = ups.filter((u) => u.state === 'Failed').sort((a, b) => (a.from < b.from ? 1 : a.from > b.from ? -1 : a.url < b.url ? -1 : 1));
  return h`<td class="up-ok">${ok}</td><td class="up-run">${running}</td><td class="up-fail">${join(failed.map((u) => link(u.url, u.from, 'fail')), ' ')}</td>`;
}

function dashboardBlock(state: State, rec: StreamRecord, now: number): Safe {
  const all = state.payloads(rec.name);
  const rows = all.slice(0, DASHBOARD_ROWS);
  const failing = noRecentlyAccepted(rec.config, all)
    ? h`<div class="box danger no-accepted" role="alert">This release has no recently accepted payloads, investigation required.</div>`
    : '';
  const table = rows.length
    ? h`<div class="table-wrap"><table class="dashboard"><thead><tr><th scope="col">Name</th><th scope="col">Phase</th><th scope="col">QE</th><th scope="col">Started</th><th scope="col">Successful Upgrades</th><th scope="col">Running Upgrades</th><th scope="col">Failed Upgrade From</th></tr></thead><tbody>${rows.map(
        (p) => h`<tr data-tag="${p.tag}" data-stream="${p.stream}"><td class="name">${nameCell(p)}</td><td>${phaseLabel(p)}</td><td>${qeLabel(p)}</td><td class="time">${startedCell(p, now)}</td>${upgradeCells(state, p, now)}</tr>`,
      )}</tbody></table></div>`
    : h`<p class="muted">No payloads yet.</p>`;
  return h`<section class="card stream" data-stream="${rec.name}" aria-labelledby="${rec.name}">
<div class="stream-head"><h2 id="${rec.name}" title="From input stream ${rec.input}">${link(streamHref(rec.name), rec.name)}</h2></div>
<div class="message">${describeStream(rec)}</div>
${failing}${checkAlerts(state, rec)}
${table}
</section>`;
}

/** `/dashboards/overview` — "Release Dashboard": per stream its newest payloads with incoming upgrade results. */
export function renderDashboardOverview(state: State, now: number): string {
  const streams = sortStreams(state.streams().filter((s) => !s.config.endOfLife && !NOT_ON_DASHBOARD.has(s.name)));
  const integration = streams.filter((s) => s.config.as !== 'Stable');
  const body = h`<div class="crumbs">Quick links: <a href="/">Index</a> | <a href="/dashboards/overview">Overview</a> | <a href="/dashboards/compare">Compare</a></div>
<h1>Release Dashboard</h1>
<p class="section-note">Builds and upgrade paths on this site are not supported releases.</p>
${integration.length ? h`<p class="jump">Jump to: ${join(integration.map((s) => h`<a href="#${s.name}">${s.name}</a>`), ' | ')}</p>` : ''}
${streams.length ? streams.map((s) => dashboardBlock(state, s, now)) : h`<p class="muted">No release streams are configured.</p>`}`;
  return layout('Release Dashboard', { page: 'dashboard' }, body);
}

/**
 * `/releasestream/{r}/inconsistency/{tag}`: the component inconsistencies recorded with the payload.
 * Upstream also lists "Assembly Wide Inconsistencies" from an input-stream annotation; our input
 * streams carry labels per component only, so that section says none are recorded.
 */
export function renderInconsistency(rec: StreamRecord, p: Payload): string {
  const items = componentInconsistencies(p);
  const table = items.length
    ? h`<div class="table-wrap"><table class="inconsistencies"><thead><tr><th scope="col">Component</th><th scope="col">Pull spec</th><th scope="col">Message</th></tr></thead><tbody>${items.map(
        (i) => h`<tr data-component="${i.component}"><td>${i.component}</td><td><code>${i.pullSpec}</code></td><td>${i.message}</td></tr>`,
      )}</tbody></table></div>`
    : h`<p class="muted">No component of this payload carried an inconsistency message.</p>`;
  const body = h`<div class="crumbs"><a href="/">Back to index</a> | <a href="${streamHref(rec.name)}">Back to ${rec.name}</a></div>
<h1>Inconsistencies of ${p.tag}</h1>
<h2>Assembly Wide Inconsistencies</h2>
<p class="muted">None recorded (input streams here carry messages per component only).</p>
<h2>Payload Component Inconsistencies</h2>
${table}`;
  return layout(`Inconsistencies of ${p.tag}`, { page: 'inconsistency', stream: rec.name, tag: p.tag }, body);
}
