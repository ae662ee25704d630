// `/releasestream/:name/release/:tag` and `/releasetag/:tag` — one payload: pull spec, phase,
// override, CI jobs, QE section, upgrades, changelog and its event history.
import { ciEntries, qeEntries, type ReleaseConfig, type ReleaseVerification } from '../../domain/config/schema.ts';
import type { State } from '../../controller/state.ts';
import { own } from '../../domain/own.ts';
import { evaluateGate, qeGate, qeJobNames, qeStatuses, qeTimeoutMs } from '../../domain/qe.ts';
import type { EventRecord, JobRun, Payload, StreamRecord, UpgradeResult } from '../../domain/types.ts';
import { summarizeUpgrades, type UpgradeHistory } from '../../domain/upgrade.ts';
import { ciStatuses, type EntryStatus } from '../../domain/verification.ts';
import { compareTagsDescending } from '../../domain/version.ts';
import { logHref, releaseHref, streamHref } from './cells.ts';
import { renderChangelog } from './changelog.ts';
import { h, join, link, linkify, seg, type Safe } from './html.ts';
import { jobLabel, phaseLabel, qeLabel, QE_LABELS } from './labels.ts';
import { layout } from './layout.ts';
import { absoluteTime, formatDuration, relativeTime, timeCell } from './time.ts';

export interface ReleasePageInput {
  state: State;
  rec: StreamRecord;
  payload: Payload;
  events: readonly EventRecord[];
  now: number;
  /** tag to compare against (`?from=`) */
  from?: string;
  artifactsUrl?: string;
}

const GREY_REASONS = /^(NoUpgradeSource|Timeout|Lost|Shutdown|Rerun|QETimeout|Aborted|Superseded|RemovedFromConfig|PayloadDeleted)/;

function runLogLink(r: JobRun, text = 'log'): Safe {
  if (r.logPath) return link(logHref(r.id), text);
  if (r.url) return link(r.url, text);
  return h`<span class="muted">—</span>`;
}

function runDuration(r: JobRun, now: number): Safe {
  if (!r.startedAt) return h`<span class="muted">${r.state === 'Pending' ? 'queued' : '—'}</span>`;
  const start = Date.parse(r.startedAt);
  if (r.finishedAt) return h`<span title="${absoluteTime(r.startedAt)} → ${absoluteTime(r.finishedAt)}">${formatDuration(Date.parse(r.finishedAt) - start)}</span>`;
  return h`<span title="started ${absoluteTime(r.startedAt)}">running ${formatDuration(now - start)}</span>`;
}

function reasonCell(r: JobRun | undefined): Safe {
  if (!r?.reason) return h``;
  return GREY_REASONS.test(r.reason) ? h`<span class="greyed">${r.reason}</span>` : h`${r.reason}`;
}

function isNoSource(r: JobRun | undefined): boolean {
  return !!r && r.state === 'Succeeded' && r.reason.startsWith('NoUpgradeSource');
}

/** Label key for an entry from its status and its newest run. */
function entryLabel(st: EntryStatus | undefined, now: number): Safe {
  if (!st || st.runs.length === 0) return jobLabel('NotStarted');
  const last = st.runs[st.runs.length - 1];
  if (st.state === 'Success') return isNoSource(st.runs.find((r) => r.state === 'Succeeded')) ? jobLabel('Skipped', 'no upgrade source; recorded as succeeded') : jobLabel('Succeeded');
  if (st.state === 'Failure') return jobLabel(last.state === 'Aborted' ? 'Aborted' : 'Failed', last.reason);
  if (st.nextAttempt !== null) {
    const when = st.notBefore > now ? `next attempt ${relativeTime(st.notBefore, now)}` : 'next attempt due';
    return jobLabel('Retrying', when);
  }
  return jobLabel('Pending');
}

function previousAttempts(runs: JobRun[]): Safe {
  if (runs.length <= 1) return h``;
  const prev = runs.slice(0, -1);
  return h`<details class="attempts"><summary>${prev.length} earlier ${prev.length === 1 ? 'attempt' : 'attempts'}</summary><ul class="plain">${prev.map(
    (r) => h`<li>${runLogLink(r, `Attempt ${r.attempt + 1} ${r.state}`)}${r.reason ? h` <span class="greyed">${r.reason}</span>` : ''}</li>`,
  )}</ul></details>`;
}

/** "N of M" (M = 1 + maxRetries); manual retries beyond M are counted separately. */
export function attemptsText(n: number, max: number): string {
  return n <= max ? `${n} of ${max}` : `${n} (${max} + ${n - max} manual)`;
}

function retryButton(name: string, label = 'Retry'): Safe {
  return h`<button type="button" class="btn" data-action="retry" data-verify="${name}" data-signed-in hidden>${label}</button>`;
}

interface JobRowOpts {
  name: string;
  v: ReleaseVerification;
  st: EntryStatus | undefined;
  analysis: JobRun[];
  now: number;
  canRetry: boolean;
  showFrom: boolean;
}

function jobRow(o: JobRowOpts): Safe {
  const runs = o.st?.runs ?? [];
  const last = runs[runs.length - 1];
  const maxAttempts = 1 + Math.max(0, o.v.maxRetries ?? 0);
  const jobName = last?.jobName || o.v.prowJob?.name || '';
  const greyed = isNoSource(last) ? ' greyed' : '';
  const from = o.showFrom && last?.upgradeFrom ? h`<div class="small">upgrade from ${link(`/releasetag/${seg(last.upgradeFrom)}`, last.upgradeFrom)}</div>` : '';
  const flags = o.v.qe && o.v.optional ? ['optional'] : [];
  const finished = o.st && (o.st.state === 'Failure' || (last && last.state !== 'Pending' && o.st.state !== 'Success'));
  const row = h`<tr data-verify="${o.name}" class="job${greyed}"><th scope="row"><span class="mono">${o.name}</span>${flags.length ? h` <span class="muted small">(${flags.join(', ')})</span>` : ''}${jobName && jobName !== o.name ? h`<div class="small muted mono">${jobName}</div>` : ''}${from}</th><td>${entryLabel(o.st, o.now)}</td><td>${attemptsText(runs.length, maxAttempts)}${previousAttempts(runs)}</td><td>${last ? runLogLink(last) : h`<span class="muted">—</span>`}${last?.url && last.logPath && last.url !== logHref(last.id) ? h` · ${link(last.url, 'job')}` : ''}</td><td>${last ? runDuration(last, o.now) : h`<span class="muted">—</span>`}</td><td>${reasonCell(last)}</td><td class="row-actions">${o.canRetry && finished ? retryButton(o.name) : ''}</td></tr>`;
  if (o.analysis.length === 0) return row;
  const ok = o.analysis.filter((r) => r.state === 'Succeeded').length;
  const running = o.analysis.filter((r) => r.state === 'Pending').length;
  const sub = h`<tr class="sub"><td></td><td colspan="6"><details class="attempts"><summary>Analysis runs: ${ok} of ${o.analysis.length} succeeded${running ? `, ${running} running` : ''}</summary><ul class="plain">${o.analysis
    .slice()
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((r) => h`<li>${jobLabel(r.state === 'Pending' ? 'Pending' : r.state)} <span class="mono small">${r.id}</span> ${runLogLink(r)} ${runDuration(r, o.now)} ${reasonCell(r)}</li>`)}</ul></details></td></tr>`;
  return h`${row}${sub}`;
}

function jobTable(title: string, id: string, rows: Safe[], note = ''): Safe {
  if (rows.length === 0) return h``;
  return h`<h3 id="${id}">${title}</h3>${note ? h`<p class="section-note">${note}</p>` : ''}<div class="table-wrap"><table class="jobs"><colgroup><col class="c-job"><col class="c-state"><col class="c-attempts"><col class="c-log"><col class="c-dur"><col class="c-reason"><col class="c-act"></colgroup><thead><tr><th scope="col">Job</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Log</th><th scope="col">Duration</th><th scope="col">Reason</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function testsSection(state: State, cfg: ReleaseConfig, p: Payload, now: number): Safe {
  const runs = state.runs(p.stream, p.tag);
  const statuses = ciStatuses(cfg, runs);
  const canRetry = p.phase !== 'Pending' && p.phase !== 'Failed';
  const groups: Record<'blocking' | 'informing' | 'async' | 'upgrade', Safe[]> = { blocking: [], informing: [], async: [], upgrade: [] };
  for (const [name, v] of ciEntries(cfg)) {
    const st = statuses.get(name);
    const analysis = runs.filter((r) => r.kind === 'analysis' && r.verifyName === name);
    const g = v.upgrade ? 'upgrade' : v.optional && v.async ? 'async' : v.optional ? 'informing' : 'blocking';
    groups[g].push(jobRow({ name, v, st, analysis, now, canRetry, showFrom: !!v.upgrade }));
  }
  const periodic = runs.filter((r) => r.kind === 'periodic');
  const periodicRows = periodic.map(
    (r) => h`<tr><th scope="row"><span class="mono">${r.verifyName}</span><div class="small muted mono">${r.jobName}</div></th><td>${jobLabel(r.state === 'Pending' ? 'Pending' : r.state)}</td><td>${r.attempt + 1}</td><td>${runLogLink(r)}</td><td>${runDuration(r, now)}</td><td>${reasonCell(r)}</td><td></td></tr>`,
  );
  const any = groups.blocking.length + groups.informing.length + groups.async.length + groups.upgrade.length + periodicRows.length;
  if (p.phase === 'Failed' || any === 0) return h`<section class="card" data-live="tests" id="tests"><h2>Tests</h2><p class="muted">No tests for this release.</p></section>`;
  const upgradeKinds = ciEntries(cfg).filter(([, v]) => v.upgrade);
  const upgradeNote = upgradeKinds.length ? `gating: ${upgradeKinds.map(([n, v]) => `${n} ${v.optional ? (v.async ? 'async' : 'informing') : 'blocking'}`).join(', ')}` : '';
  return h`<section class="card" data-live="tests" id="tests"><h2>Tests</h2>
${p.phase === 'Pending' ? h`<p class="section-note">Jobs start once the payload is built (Ready).</p>` : ''}
${jobTable('Blocking jobs', 'blocking', groups.blocking, 'A blocking job that fails after its retries rejects the payload.')}
${jobTable('Informing jobs', 'informing', groups.informing, 'Shown for information; they never reject the payload.')}
${jobTable('Async jobs', 'async', groups.async)}
${jobTable('Upgrade jobs', 'upgrade', groups.upgrade, upgradeNote)}
${jobTable('Periodic jobs', 'periodic', periodicRows)}
</section>`;
}

function qeSection(state: State, cfg: ReleaseConfig, p: Payload, now: number): Safe {
  const entries = qeEntries(cfg);
  if (entries.length === 0 && !p.qe.state) return h``;
  const runs = state.runs(p.stream, p.tag);
  const ci = ciStatuses(cfg, runs);
  const gate = evaluateGate(cfg, p, ci);
  const statuses = qeStatuses(cfg, p, runs);
  const qe = p.qe;
  const names = qeJobNames(cfg, qe);
  const deadline = qe.deadline ? Date.parse(qe.deadline) : NaN;
  const timeLeft =
    qe.state === 'QERunning' && Number.isFinite(deadline)
      ? deadline > now
        ? h` — <strong>${formatDuration(deadline - now)} left</strong>`
        : h` — <strong>time limit passed</strong>`
      : '';
  const canRetry = !!qe.startedAt && (!Number.isFinite(deadline) || deadline > now);
  const rows = names.map((name) => {
    const v = own(cfg.verify, name) ?? {};
    return jobRow({ name, v, st: statuses.get(name), analysis: [], now, canRetry, showFrom: !!v.upgrade });
  });
  const older = runs.filter((r) => r.kind === 'qe' && r.generation < qe.generation).sort((a, b) => b.generation - a.generation || (a.verifyName < b.verifyName ? -1 : 1) || a.attempt - b.attempt);
  const stateText = qe.state ? own(QE_LABELS, qe.state)?.text ?? qe.state : 'not started';
  const ov = qe.override;
  return h`<section class="card" data-live="qe" id="qe" aria-labelledby="qe-title"><h2 id="qe-title">QE</h2>
<dl class="facts">
<dt>QE state</dt><dd><span class="labels" data-tag="${p.tag}" data-stream="${p.stream}">${qeLabel(p)}</span> ${qe.state ? '' : h`<span class="muted">${stateText}</span>`}${qe.reason && !ov ? h` <span class="mono small">${qe.reason}</span>` : ''}${qe.message && !ov ? h`: ${linkify(qe.message)}` : ''}</dd>
<dt>Gate</dt><dd><code>${qeGate(cfg)}</code> — ${gate.description}</dd>
<dt>Time limit</dt><dd>${formatDuration(qeTimeoutMs(cfg))} from the first QE launch</dd>
<dt>Started</dt><dd>${timeCell(qe.startedAt, now)}</dd>
<dt>Deadline</dt><dd>${timeCell(qe.deadline, now)}${timeLeft}</dd>
${qe.generation > 0 ? h`<dt>Re-runs</dt><dd>${qe.generation} (generation ${qe.generation}; earlier runs no longer count)</dd>` : ''}
<dt>Verdict</dt><dd>${
    ov
      ? h`<strong>${own(QE_LABELS, ov.phase)?.text ?? ov.phase}</strong>, set manually by <strong>${ov.user}</strong> ${timeCell(ov.at, now)}. Reason: ${linkify(ov.reason)}`
      : qe.state === 'QEAccepted' || qe.state === 'QERejected'
        ? h`${stateText} by the QE jobs`
        : h`<span class="muted">none yet</span>`
  }</dd>
</dl>
<div class="actions" data-signed-in hidden>
<button type="button" class="btn accept" data-action="qe" data-value="QEAccepted">QE Accept…</button>
<button type="button" class="btn reject" data-action="qe" data-value="QERejected">QE Reject…</button>
<button type="button" class="btn" data-action="qe-rerun">Re-run QE jobs…</button>
</div>
${rows.length ? jobTable('QE jobs', 'qe-jobs', rows, 'Optional QE jobs are shown but do not decide the verdict.') : h`<p class="muted">No QE jobs configured.</p>`}
${
  older.length
    ? h`<details class="attempts"><summary>Earlier QE runs (${older.length})</summary><ul class="plain">${older.map(
        (r) => h`<li>generation ${r.generation}: <span class="mono">${r.verifyName}</span> attempt ${r.attempt + 1} ${jobLabel(r.state === 'Pending' ? 'Pending' : r.state)} ${runLogLink(r)} ${reasonCell(r)}</li>`,
      )}</ul></details>`
    : ''
}
</section>`;
}

function historyLine(h0: UpgradeHistory, other: string, self: string, direction: 'from' | 'to'): Safe {
  const pct = h0.Total ? Math.round((h0.Success / h0.Total) * 100) : 0;
  const cls = h0.Success > 0 ? 'ok' : h0.Failure > 0 ? 'fail' : '';
  const runs = Object.values(h0.History)
    .sort((a, b) => (a.url < b.url ? -1 : 1))
    .map((r) => {
      const letter = r.state === 'Succeeded' ? 'S' : r.state === 'Failed' ? 'F' : 'P';
      const text = h0.Total > 2 ? letter : r.state === 'Succeeded' ? 'Success' : r.state;
      return r.url ? h`<span title="${r.state}">${link(r.url, text)}</span>` : h`<span title="${r.state}">${text}</span>`;
    });
  const changes = direction === 'from' ? `/releasetag/${seg(self)}?from=${encodeURIComponent(other)}` : `/releasetag/${seg(other)}?from=${encodeURIComponent(self)}`;
  return h`<li><span class="${cls}">${link(`/releasetag/${seg(other)}`, other)}</span> — ${h0.Success} of ${h0.Total} succeeded (${pct}%) ${join(runs, ' ')} <span class="small">(${link(changes, 'changes')})</span></li>`;
}

function upgradesSection(state: State, p: Payload): Safe {
  const into = summarizeUpgrades(state.upgradesInto(p.tag) as UpgradeResult[], (r) => r.from).sort((a, b) => compareTagsDescending(a.From, b.From));
  const out = summarizeUpgrades(state.upgradesOutOf(p.tag) as UpgradeResult[], (r) => r.to).sort((a, b) => compareTagsDescending(a.To, b.To));
  return h`<section class="card" data-live="upgrades" id="upgrades"><h2>Upgrades</h2>
<h3>Upgrades from</h3>${into.length ? h`<ul>${into.map((x) => historyLine(x, x.From, p.tag, 'from'))}</ul>` : h`<p class="muted">No upgrade into this release has run.</p>`}
<h3>Upgrades to</h3>${out.length ? h`<ul>${out.map((x) => historyLine(x, x.To, p.tag, 'to'))}</ul>` : h`<p class="muted">No upgrade from this release has run.</p>`}
</section>`;
}

/** The payload to compare against: `?from=` if known, else the previous Accepted payload, else the previous one. */
export function previousPayload(state: State, p: Payload, from?: string): Payload | undefined {
  if (from) {
    const f = state.payload(p.stream, from) ?? state.findTag(from);
    if (f) return f;
  }
  const list = state.payloads(p.stream);
  const i = list.indexOf(p);
  if (i < 0) return undefined;
  for (let j = i + 1; j < list.length; j++) if (list[j].phase === 'Accepted') return list[j];
  return list[i + 1];
}

function changelogSection(state: State, p: Payload, from?: string): Safe {
  const prev = previousPayload(state, p, from);
  const list = state.payloads(p.stream);
  const i = list.indexOf(p);
  const older = i >= 0 ? list.slice(i + 1, i + 101) : [];
  const opts = older.some((o) => o === prev) || !prev ? older : [prev, ...older];
  const picker = opts.length
    ? h`<form method="get" class="filters" action="${releaseHref(p.stream, p.tag)}"><label>Compare with<select name="from" data-autosubmit>${opts.map(
        (o) => h`<option value="${o.tag}"${o === prev ? h` selected` : ''}>${o.tag} (${o.phase})</option>`,
      )}</select></label><button type="submit" class="btn">Show</button></form>`
    : '';
  if (!prev) return h`<section class="card" id="changelog"><h2>Changelog</h2><p class="muted">No earlier payload to compare with.</p></section>`;
  if (from && prev.tag !== from) return h`<section class="card" id="changelog"><h2>Changelog</h2><p class="box warn">Unknown release ${from}.</p>${picker}</section>`;
  return h`<section class="card" id="changelog"><h2>Changes from ${link(releaseHref(prev.stream, prev.tag), prev.tag)}</h2>${picker}${renderChangelog(prev, p)}</section>`;
}

function eventsSection(events: readonly EventRecord[], now: number): Safe {
  if (events.length === 0) return h`<section class="card" data-live="events" id="events"><h2>History</h2><p class="muted">No events recorded.</p></section>`;
  const rows = [...events].reverse().map(
    (e) => h`<tr><td>${timeCell(e.at, now)}</td><td class="mono small">${e.type}</td><td>${e.actor}</td><td>${linkify(e.message)}</td></tr>`,
  );
  return h`<section class="card" data-live="events" id="events"><h2>History</h2><div class="table-wrap"><table class="events"><thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Who</th><th scope="col">What</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

function overrideBox(p: Payload, now: number): Safe {
  const ov = p.override;
  if (!ov) return h``;
  return h`<div class="box warn" role="note"><h3>Manual Override Applied</h3>This release was manually <strong>${ov.phase}</strong> by <strong>${ov.user}</strong> ${timeCell(ov.at, now)}. Reason: ${linkify(ov.reason)}</div>`;
}

function failedBox(p: Payload): Safe {
  if (p.phase !== 'Failed') return h``;
  const body = p.message ? h`<pre>${p.message}</pre>` : p.annotations['release.openshift.io/log'] ? h`<pre>${p.annotations['release.openshift.io/log']}</pre>` : h`<p>No failure log was captured.</p>`;
  return h`<div class="box danger" role="alert"><h3>Payload creation failed${p.reason ? h`: ${p.reason}` : ''}</h3>${body}</div>`;
}

function factsSection(p: Payload, rec: StreamRecord, now: number, artifactsUrl?: string): Safe {
  const pull = p.pullSpec;
  const api = `/api/v1/releasestream/${seg(p.stream)}/release/${seg(p.tag)}`;
  const reason = !p.override && (p.reason || p.message) ? h`<div class="small"><span class="mono">${p.reason}</span>${p.message ? h`: ${linkify(p.message)}` : ''}</div>` : '';
  const download = artifactsUrl && pull ? link(`${artifactsUrl.replace(/\/+$/, '')}/${seg(p.tag)}`, 'Download the installer') : '';
  return h`<dl class="facts">
<dt>Stream</dt><dd>${link(streamHref(rec.name), rec.name)}</dd>
<dt>Phase</dt><dd><span class="labels" data-tag="${p.tag}" data-stream="${p.stream}">${phaseLabel(p)}</span> since ${timeCell(p.phaseChangedAt || p.createdAt, now)}${reason}</dd>
<dt>Created</dt><dd>${timeCell(p.createdAt, now)} <span class="muted small">${absoluteTime(p.createdAt)}</span></dd>
<dt>Pull spec</dt><dd>${pull ? h`<code>${pull}</code>` : h`<span class="muted">No public location to pull this image from</span>`}</dd>
${pull ? h`<dt>Tools</dt><dd>${download ? h`${download} or run ` : ''}<code>oc adm release extract --tools ${pull}</code></dd>` : ''}
<dt>API</dt><dd>${link(api, 'release info (JSON)')}</dd>
</dl>`;
}

export function renderReleasePage(i: ReleasePageInput): string {
  const { state, rec, payload: p, now } = i;
  const cfg = rec.config;
  const canOverride = p.phase === 'Ready' || p.phase === 'Accepted' || p.phase === 'Rejected';
  const body = h`<div class="crumbs"><a href="/">Back to index</a> · ${link(streamHref(rec.name), rec.name)}</div>
<h1>${p.tag}</h1>
<div data-live="head">
<div class="labels" data-tag="${p.tag}" data-stream="${p.stream}">${phaseLabel(p)} ${qeLabel(p)}</div>
${overrideBox(p, now)}
${failedBox(p)}
<section class="card" id="summary">${factsSection(p, rec, now, i.artifactsUrl)}
${canOverride ? h`<div class="actions" data-signed-in hidden><button type="button" class="btn accept" data-action="override" data-value="Accepted">Override: Accept…</button><button type="button" class="btn reject" data-action="override" data-value="Rejected">Override: Reject…</button></div>` : ''}
</section>
</div>
${testsSection(state, cfg, p, now)}
${qeSection(state, cfg, p, now)}
${upgradesSection(state, p)}
${changelogSection(state, p, i.from)}
${eventsSection(i.events, now)}`;
  return layout(p.tag, { page: 'release', stream: p.stream, tag: p.tag }, body);
}
