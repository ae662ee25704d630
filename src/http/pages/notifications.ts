// The console's /notifications page: outgoing notification deliveries with their state, attempts
// and last error, for admins. The console keeps its sign-in token in the browser (console.js), which
// a server-rendered GET never sees, so the page asks like --private-logs does: `Authorization:
// Bearer <token>`, or the browser's Basic prompt with the token as the password (any user name);
// the token needs role admin. Read-only: nothing on the page changes anything.
import type { DeliveryQuery } from '../../ports/notifications.ts';
import { DELIVERY_STATES } from '../../ports/notifications.ts';
import { deliveryView, type NotificationsSource } from '../api/notifications.ts';
import { h } from './html.ts';
import { layout } from './layout.ts';
import { timeCell } from './time.ts';

const releaseHref = (stream: string, tag: string) => `/releasestream/${encodeURIComponent(stream)}/release/${encodeURIComponent(tag)}`;

function queryHref(q: DeliveryQuery, before?: number): string {
  const p = new URLSearchParams();
  if (q.webhook) p.set('webhook', q.webhook);
  if (q.state) p.set('state', q.state);
  if (before !== undefined) p.set('before', String(before));
  const s = p.toString();
  return `/notifications${s ? `?${s}` : ''}`;
}

export async function renderNotificationsPage(source: NotificationsSource, q: DeliveryQuery, now: number, limit = 100): Promise<string> {
  const rows = (await source.store.listDeliveries({ ...q, limit })).map(deliveryView);
  const hooks = source.webhooks();
  const names = [...new Set([...hooks.map((w) => w.name), ...(q.webhook ? [q.webhook] : [])])];
  const hooksList = hooks.length
    ? h`<ul class="plain">${hooks.map(
        (w) => h`<li data-webhook="${w.name}"><strong>${w.name}</strong> <span class="muted small">${w.format}${w.signed ? ', signed' : ''}; events ${w.events.join(', ')}${w.streams.length ? h`; streams ${w.streams.join(', ')}` : ''}${w.cursor !== null ? `; seen up to event ${w.cursor}` : ''}</span></li>`,
      )}</ul>`
    : h`<p class="muted">No webhooks are configured (serve --notify FILE).</p>`;
  const select = (name: string, label: string, value: string | undefined, options: [string, string][]) =>
    h`<label>${label} <select name="${name}">${options.map(([v, text]) => h`<option value="${v}"${v === (value ?? '') ? h` selected` : ''}>${text}</option>`)}</select></label>`;
  const table = rows.length
    ? h`<div class="table-wrap"><table id="deliveries"><thead><tr><th scope="col">Webhook</th><th scope="col">Notification</th><th scope="col">Payload</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Updated</th><th scope="col">Next attempt</th></tr></thead><tbody>${rows.map(
        (d) =>
          h`<tr data-state="${d.state}" data-id="${d.id}"><td>${d.webhook}</td><td><span class="mono small">${d.id}</span><br>${d.type}</td><td><a href="${releaseHref(d.stream, d.tag)}">${d.tag}</a><br><span class="muted small">${d.stream}</span></td><td><strong>${d.state}</strong></td><td>${d.attempts}</td><td>${d.lastStatus !== null ? h`HTTP ${d.lastStatus}` : ''}${d.lastError ? h`<br><span class="small">${d.lastError}</span>` : ''}</td><td>${timeCell(d.updatedAt, now)}</td><td>${d.state === 'pending' ? timeCell(d.nextAttemptAt ?? d.updatedAt, now) : ''}</td></tr>`,
      )}</tbody></table></div>`
    : h`<p class="muted">${q.webhook || q.state ? 'No deliveries match these filters.' : 'No notifications have been queued yet.'}</p>`;
  const next = rows.length === limit ? rows[rows.length - 1]!.seq : undefined;
  const body = h`<div class="crumbs"><a href="/">Back to index</a></div>
<h1>Notifications</h1>
<p class="section-note">Deliveries to webhooks, newest first (finished ones are kept 30 days). Also as JSON: <a href="/api/v1/notifications">/api/v1/notifications</a>.</p>
<h2>Webhooks</h2>
${hooksList}
<h2>Deliveries</h2>
<form class="filters" method="get" action="/notifications" role="search">
${select('webhook', 'Webhook', q.webhook, [['', 'All webhooks'], ...names.map((n) => [n, n] as [string, string])])}
${select('state', 'State', q.state, [['', 'All states'], ...DELIVERY_STATES.map((s) => [s, s] as [string, string])])}
<button type="submit" class="btn">Filter</button>
</form>
${table}
${next !== undefined ? h`<nav class="pager"><a href="${queryHref(q, next)}">Older deliveries</a></nav>` : ''}`;
  return layout('Notifications', { page: 'notifications' }, body);
}
