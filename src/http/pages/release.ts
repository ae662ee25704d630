// `/releasestream/:name/release/:tag` and `/releasetag/:tag` — one payload: pull spec, phase,
// override, CI jobs, QE section, upgrades, changelog and its event history.
import { streamArchitecture } from '../../domain/architecture.ts';
import { ciEntries, qeEntries, type ReleaseConfig, type ReleaseVerification } from '../../domain/config/schema.ts';
import type { ChangelogOutcome } from '../../controller/changelog.ts';
import type { State } from '../../controller/state.ts';
import { entryConditions, judgingConfig, qeConditions } from '../../domain/judging.ts';
import { own } from '../../domain/own.ts';
import { evaluateGate, qeGate, qeJobNames, qeRunsOf, qeStatuses, qeTimeoutMs } from '../../domain/qe.ts';
import type { EventRecord, JobRun, Payload, StreamRecord, UpgradeResult, Waiver } from '../../domain/types.ts';
import { summarizeUpgrades, type UpgradeHistory } from '../../domain/upgrade.ts';
import { declaredSourcesOnly, untestedUpgradesBox } from './upgrades.ts';
import { ciStatuses, decidingRuns, isInterrupted, type EntryCondition, type EntryStatus } from '../../domain/verification.ts';
import { compareTagsDescending } from '../../domain/version.ts';
import { logHref, releaseHref, streamHref } from './cells.ts';
import { approvalsSection } from './approvals.ts';
import { renderChangelog } from './changelog.ts';
import { h, join, link, linkify, seg, type Safe } from './html.ts';
import { jobLabel, phaseLabel, qeLabel, QE_LABELS } from './labels.ts';
import { layout } from './layout.ts';
import { qualifiersFact } from './qualifiers.ts';
import type { QualifiersSummary } from '../../domain/qualifiers.ts';
import { keptFact, payloadLeverButtons, releaseWhy } from './levers.ts';
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
  /** the changelog with commits, from the changelog service (absent: images only) */
  changelog?: ChangelogOutcome;
  /** the payload's qualifiers summary (serve --qualifiers; absent: none) */
  qualifiers?: QualifiersSummary;
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

/** Label from an entry's status and its newest run (no condition, or one that leaves the runs deciding). */
function statusLabel(st: EntryStatus | undefined, now: number): Safe {
  // interrupted: relaunched at once, or after a backoff when it keeps being interrupted
  const relaunch = (s: EntryStatus) => (s.notBefore > now ? `relaunch ${relativeTime(s.notBefore, now)}` : 'relaunch due');
  if (st && st.runs.length === 0 && st.interruptions > 0) return jobLabel('Interrupted', `interrupted (not an attempt); ${relaunch(st)}`);
  if (!st || st.runs.length === 0) return jobLabel('NotStarted');
  const last = st.runs[st.runs.length - 1];
  if (st.state === 'Success') return isNoSource(st.runs.find((r) => r.state === 'Succeeded')) ? jobLabel('Skipped', 'no upgrade source; recorded as succeeded') : jobLabel('Succeeded');
  if (st.state === 'Failure') return jobLabel(last.state === 'Aborted' ? 'Aborted' : 'Failed', last.reason);
  if (st.interruptions > 0) return jobLabel('Interrupted', `attempt ${(st.nextAttempt ?? 0) + 1} interrupted (not an attempt); ${relaunch(st)}`);
  if (st.nextAttempt !== null) {
    const when = st.notBefore > now ? `next attempt ${relativeTime(st.notBefore, now)}` : 'next attempt due';
    return jobLabel('Retrying', when);
  }
  return jobLabel('Pending');
}

/**
 * Does the entry's condition decide what it shows (DESIGN §14)? A waiver always does; not run only
 * while there is no run; waiting only while no finished run decides; removed always (with the
 * result it had, if any).
 */
function conditionShows(cond: EntryCondition | undefined, st: EntryStatus | undefined): cond is EntryCondition {
  if (!cond) return false;
  const runs = st?.runs.length ?? 0;
  switch (cond.kind) {
    case 'waived':
    case 'removed':
      return true;
    case 'notRun':
      return runs === 0;
    case 'waiting':
      return st?.state !== 'Success' && st?.state !== 'Failure';
  }
}

/** Label of an entry: its condition (waived, not run, waiting, removed) or else its status. */
function entryLabel(st: EntryStatus | undefined, cond: EntryCondition | undefined, now: number): Safe {
  if (!conditionShows(cond, st)) return statusLabel(st, now);
  switch (cond.kind) {
    case 'waived':
      return jobLabel('Waived', cond.why);
    case 'notRun':
      return jobLabel('NotRun', cond.why);
    case 'waiting':
      return jobLabel('Waiting', cond.why);
    case 'removed': {
      const finished = st && st.runs.length > 0 && (st.state === 'Success' || st.state === 'Failure');
      return h`${jobLabel('Removed', 'removed from the stream config')}${finished ? h` ${statusLabel(st, now)}` : ''}`;
    }
  }
}

/** The reason column of an entry whose condition shows: who/why/when of a waiver, or the why. */
function conditionCell(cond: EntryCondition, waiver: Waiver | undefined, removedAt: string | undefined, now: number): Safe {
  switch (cond.kind) {
    case 'waived':
      return waiver
        ? h`<span class="waiver">Waived by <strong>${waiver.user}</strong> ${timeCell(waiver.at, now)}: ${linkify(waiver.reason)}</span>`
        : h`${cond.why}`;
    case 'removed':
      return h`<span class="greyed">removed from the stream config</span>${removedAt ? h` ${timeCell(removedAt, now)}` : ''}`;
    case 'notRun':
      return h`<span class="greyed">${linkify(cond.why)}</span>`;
    case 'waiting':
      return h`${linkify(cond.why)}`;
  }
}

/** Interrupted runs of an entry: not attempts (they never count), each relaunched or about to be. */
function interruptedRuns(interrupted: JobRun[], all: JobRun[]): Safe {
  if (interrupted.length === 0) return h``;
  const items = [...interrupted]
    .sort((a, b) => a.attempt - b.attempt || (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
    .map((r) => {
      const relaunched = all.some((o) => o.id !== r.id && o.attempt >= r.attempt && o.createdAt >= r.createdAt);
      return h`<li>${jobLabel('Interrupted', r.reason)} ${runLogLink(r, `Attempt ${r.attempt + 1}`)}${r.reason ? h` <span class="greyed">${r.reason}</span>` : ''} — ${relaunched ? 'relaunched' : 'relaunch due'}</li>`;
    });
  return h`<details class="attempts interrupted"><summary>${interrupted.length} interrupted (not ${interrupted.length === 1 ? 'an attempt' : 'attempts'})</summary><ul class="plain">${items}</ul></details>`;
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

/** Marks an entry that cannot run as passed (role ci/admin; the API refuses others), with a reason. */
function waiveButton(name: string): Safe {
  return h`<button type="button" class="btn" data-action="waive" data-verify="${name}" data-signed-in hidden>Waive…</button>`;
}

interface JobRowOpts {
  name: string;
  v: ReleaseVerification;
  st: EntryStatus | undefined;
  analysis: JobRun[];
  now: number;
  canRetry: boolean;
  showFrom: boolean;
  /** why the entry is judged without a run of its own (waived, not run, waiting, removed) */
  cond?: EntryCondition;
  waiver?: Waiver;
  removedAt?: string;
  /** the entry's interrupted runs (not attempts) and every run of it, to tell whether each was relaunched */
  interrupted?: JobRun[];
  allRuns?: JobRun[];
  /** the payload's jobs may be waived (Ready or Accepted) */
  canWaive?: boolean;
}

function jobRow(o: JobRowOpts): Safe {
  const runs = o.st?.runs ?? [];
  const last = runs[runs.length - 1];
  const maxAttempts = 1 + Math.max(0, o.v.maxRetries ?? 0);
  const jobName = last?.jobName || o.v.prowJob?.name || '';
  const shows = conditionShows(o.cond, o.st);
  const kind = shows ? o.cond!.kind : '';
  const greyed = isNoSource(last) || ((kind === 'notRun' || kind === 'removed') && runs.length === 0) ? ' greyed' : '';
  const from = o.showFrom && last?.upgradeFrom ? h`<div class="small">upgrade from ${link(`/releasetag/${seg(last.upgradeFrom)}`, last.upgradeFrom)}</div>` : '';
  const flags = o.v.qe && o.v.optional ? ['optional'] : [];
  const finished = o.st && (o.st.state === 'Failure' || (last && last.state !== 'Pending' && o.st.state !== 'Success'));
  const waivable = o.canWaive && (kind === 'waiting' || kind === 'removed' || kind === 'notRun');
  const actions = h`${o.canRetry && finished && kind !== 'waived' && kind !== 'removed' ? retryButton(o.name) : ''}${waivable ? waiveButton(o.name) : ''}`;
  const reason = shows ? conditionCell(o.cond!, o.waiver, o.removedAt, o.now) : reasonCell(last);
  const condAttr = kind ? h` data-condition="${kind}"` : '';
  const row = h`<tr data-verify="${o.name}" class="job${greyed}"${condAttr}><th scope="row"><span class="mono">${o.name}</span>${flags.length ? h` <span class="muted small">(${flags.join(', ')})</span>` : ''}${jobName && jobName !== o.name ? h`<div class="small muted mono">${jobName}</div>` : ''}${from}</th><td>${entryLabel(o.st, o.cond, o.now)}</td><td>${attemptsText(runs.length, maxAttempts)}${previousAttempts(runs)}${interruptedRuns(o.interrupted ?? [], o.allRuns ?? [])}</td><td>${last ? runLogLink(last) : h`<span class="muted">—</span>`}${last?.url && last.logPath && last.url !== logHref(last.id) ? h` · ${link(last.url, 'job')}` : ''}</td><td>${last ? runDuration(last, o.now) : h`<span class="muted">—</span>`}</td><td>${reason}</td><td class="row-actions">${actions}</td></tr>`;
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

/**
 * CI jobs of the payload: the entries it is judged by (`cfg`: frozen at creation, so an entry added
 * to the stream later is absent and a removed one is still listed, marked removed), each with its
 * condition from `entryConditions` over the stream's current config `streamCfg`.
 */
function testsSection(state: State, streamCfg: ReleaseConfig, cfg: ReleaseConfig, p: Payload, now: number): Safe {
  const runs = state.runs(p.stream, p.tag);
  const statuses = ciStatuses(cfg, runs);
  const conditions = p.phase === 'Pending' || p.phase === 'Failed' ? new Map<string, EntryCondition>() : entryConditions(state, streamCfg, p, runs);
  const canRetry = p.phase !== 'Pending' && p.phase !== 'Failed';
  const canWaive = (p.phase === 'Ready' || p.phase === 'Accepted') && !!p.jobs;
  const groups: Record<'blocking' | 'informing' | 'async' | 'upgrade', Safe[]> = { blocking: [], informing: [], async: [], upgrade: [] };
  for (const [name, v] of ciEntries(cfg)) {
    const st = statuses.get(name);
    const analysis = runs.filter((r) => r.kind === 'analysis' && r.verifyName === name);
    const allRuns = decidingRuns(v, name, runs);
    const g = v.upgrade ? 'upgrade' : v.optional && v.async ? 'async' : v.optional ? 'informing' : 'blocking';
    groups[g].push(
      jobRow({
        name, v, st, analysis, now, canRetry, showFrom: !!v.upgrade,
        cond: conditions.get(name), waiver: own(p.jobs?.waivers, name), removedAt: own(p.jobs?.removed, name),
        interrupted: allRuns.filter(isInterrupted), allRuns, canWaive,
      }),
    );
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

/** QE jobs of the payload: its frozen QE entries (`cfg` is the judging config), with their conditions. */
function qeSection(state: State, streamCfg: ReleaseConfig, cfg: ReleaseConfig, p: Payload, now: number): Safe {
  const entries = qeEntries(cfg);
  if (entries.length === 0 && !p.qe.state) return h``;
  const qe = p.qe;
  const runs = state.runs(p.stream, p.tag);
  const ci = ciStatuses(cfg, runs);
  const gate = evaluateGate(cfg, p, ci, p.phase === 'Pending' || p.phase === 'Failed' ? new Map() : entryConditions(state, streamCfg, p, runs));
  const statuses = qeStatuses(cfg, p, runs);
  const conditions = qe.startedAt ? qeConditions(state, streamCfg, p, runs) : new Map<string, EntryCondition>();
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
    const allRuns = qeRunsOf(runs, name, qe.generation);
    return jobRow({ name, v, st: statuses.get(name), analysis: [], now, canRetry, showFrom: !!v.upgrade, cond: conditions.get(name), interrupted: allRuns.filter(isInterrupted), allRuns });
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
  const tested = summarizeUpgrades(state.upgradesInto(p.tag) as UpgradeResult[], (r) => r.from).sort((a, b) => compareTagsDescending(a.From, b.From));
  const into = declaredSourcesOnly(p, tested);
  const out = summarizeUpgrades(state.upgradesOutOf(p.tag) as UpgradeResult[], (r) => r.to).sort((a, b) => compareTagsDescending(a.To, b.To));
  return h`<section class="card" data-live="upgrades" id="upgrades"><h2>Upgrades</h2>
<h3>Upgrades from</h3>${untestedUpgradesBox(p, tested)}${into.length ? h`<ul>${into.map((x) => historyLine(x, x.From, p.tag, 'from'))}</ul>` : h`<p class="muted">No upgrade into this release has run.</p>`}
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

function changelogSection(state: State, p: Payload, from?: string, changelog?: ChangelogOutcome): Safe {
  const prev = previousPayload(state, p, from);
  const list = state.payloads(p.stream);
  const i = list.indexOf(p);
  const older = i >= 0 ? list.slice(i + 1, i + 101) : [];
  const opts = older.some((o) => o === prev) || !prev ? older : [prev, ...older];
  const picker = opts.length
    ? h`<form method="get" class="filters" action="${releaseHref(p.stream, p.tag)}"><label>Compare with<select name="from" data-autosubmit>${opts.map(
        (o) => h`<option value="${o.tag}"${o === prev ? h` selected` : ''}>${o.tag} (${o.phase})</option>`,
      )}${otherStreams(state, p)}</select></label><button type="submit" class="btn">Show</button></form>`
    : '';
  if (!prev) return h`<section class="card" id="changelog"><h2>Changelog</h2><p class="muted">No earlier payload to compare with.</p></section>`;
  if (from && prev.tag !== from) return h`<section class="card" id="changelog"><h2>Changelog</h2><p class="box warn">Unknown release ${from}.</p>${picker}</section>`;
  const stable = (x: Payload) => state.stream(x.stream)?.config.as === 'Stable';
  const dashboard = stable(p) && stable(prev) ? h`<p class="small"><a class="compare-link" href="/dashboards/compare?from=${encodeURIComponent(prev.tag)}&amp;to=${encodeURIComponent(p.tag)}">Compare ${prev.tag} and ${p.tag} on the comparison dashboard</a></p>` : '';
  return h`<section class="card" id="changelog"><h2>Changes from ${link(releaseHref(prev.stream, prev.tag), prev.tag)}</h2>${picker}${dashboard}${renderChangelog(prev, p, changelog)}</section>`;
}

/** "Compare with" across streams: the newest payloads of each other stream (one optgroup per stream). */
function otherStreams(state: State, p: Payload): Safe {
  const groups = state
    .streams()
    .filter((s) => s.name !== p.stream && !s.config.endOfLife)
    .map((s) => ({ name: s.name, list: state.payloads(s.name).filter((x) => x.pullSpec).slice(0, 10) }))
    .filter((g) => g.list.length > 0);
  return join(groups.map((g) => h`<optgroup label="${g.name}">${g.list.map((o) => h`<option value="${o.tag}">${o.tag} (${o.phase})</option>`)}</optgroup>`));
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

function factsSection(state: State, p: Payload, rec: StreamRecord, now: number, artifactsUrl?: string, qualifiers: QualifiersSummary = {}): Safe {
  const pull = p.pullSpec;
  const api = `/api/v1/releasestream/${seg(p.stream)}/release/${seg(p.tag)}`;
  // the reason/message of the phase: why it was Rejected, or why a Ready payload waits (e.g. for an upgrade source)
  const reason =
    !p.override && (p.reason || p.message)
      ? h`<div class="small phase-reason">${p.reason ? h`<span class="mono">${p.reason}</span>` : ''}${p.reason && p.message ? ': ' : ''}${p.message ? linkify(p.message) : ''}</div>`
      : '';
  // a multi-architecture payload is a manifest list: upstream shows only its pull spec, no installer or tools hint
  const download = artifactsUrl && pull ? link(`${artifactsUrl.replace(/\/+$/, '')}/${seg(p.tag)}`, 'Download the installer') : '';
  return h`<dl class="facts">
<dt>Stream</dt><dd>${link(streamHref(rec.name), rec.name)}</dd>
<dt>Phase</dt><dd><span class="labels" data-tag="${p.tag}" data-stream="${p.stream}">${phaseLabel(p)}</span> since ${timeCell(p.phaseChangedAt || p.createdAt, now)}${reason}${releaseWhy(state, rec, p, now)}</dd>
${keptFact(p)}
<dt>Created</dt><dd>${timeCell(p.createdAt, now)} <span class="muted small">${absoluteTime(p.createdAt)}</span></dd>
<dt>Pull spec</dt><dd>${pull ? h`<code>${pull}</code>` : h`<span class="muted">No public location to pull this image from</span>`}</dd>
${pull && streamArchitecture(rec.name) !== 'multi' ? h`<dt>Tools</dt><dd>${download ? h`${download} or run ` : ''}<code>oc adm release extract --tools ${pull}</code></dd>` : ''}
<dt>API</dt><dd>${link(api, 'release info (JSON)')}</dd>
${qualifiersFact(p.tag, qualifiers)}
</dl>`;
}

export function renderReleasePage(i: ReleasePageInput): string {
  const { state, rec, payload: p, now } = i;
  // the config the payload is judged with: its frozen CI entries and QE entries (DESIGN §14)
  const cfg = judgingConfig(rec.config, p);
  const canOverride = p.phase === 'Ready' || p.phase === 'Accepted' || p.phase === 'Rejected';
  const body = h`<div class="crumbs"><a href="/">Back to index</a> · ${link(streamHref(rec.name), rec.name)}</div>
<h1>${p.tag}</h1>
<div data-live="head">
<div class="labels" data-tag="${p.tag}" data-stream="${p.stream}">${phaseLabel(p)} ${qeLabel(p)}</div>
${overrideBox(p, now)}
${failedBox(p)}
<section class="card" id="summary">${factsSection(state, p, rec, now, i.artifactsUrl, i.qualifiers)}
<div class="actions" data-signed-in hidden>${canOverride ? h`<button type="button" class="btn accept" data-action="override" data-value="Accepted">Override: Accept…</button><button type="button" class="btn reject" data-action="override" data-value="Rejected">Override: Reject…</button>` : ''}${payloadLeverButtons(p)}</div>
</section>
</div>
${approvalsSection(p, i.events, now)}
${testsSection(state, rec.config, cfg, p, now)}
${qeSection(state, rec.config, cfg, p, now)}
${upgradesSection(state, p)}
${changelogSection(state, p, i.from, i.changelog)}
${eventsSection(i.events, now)}`;
  return layout(p.tag, { page: 'release', stream: p.stream, tag: p.tag }, body);
}
