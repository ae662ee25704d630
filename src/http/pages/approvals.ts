// Team approvals in the console (issue 16 item 6): the "Team approvals" column of the stream page
// and the section of the release page. Team names are shown upper-cased, as upstream's column.
import { QE_TEAM, teamApprovals, type TeamApproval } from '../../domain/approvals.ts';
import type { EventRecord, Payload } from '../../domain/types.ts';
import { h, type Safe } from './html.ts';
import { timeCell } from './time.ts';

const QE_NOTE = 'the QE verdict (qe team)';

/** One team's approval: green Accepted / red Rejected (job label colours), text and icon. */
export function approvalLabel(a: TeamApproval, title = '', text = a.team.toUpperCase()): Safe {
  const accepted = a.state === 'Accepted';
  const t = title || (a.team === QE_TEAM ? `${a.state}: ${QE_NOTE}` : `${a.state} by team ${a.team}`);
  return h`<span class="label ${accepted ? 'job-succeeded' : 'job-failed'}" data-team="${a.team}" data-team-state="${a.state}" title="${t}"><span class="icon" aria-hidden="true">${accepted ? '✓' : '✗'}</span> ${text}</span>`;
}

/** The stream table's "Team approvals" cell: accepted teams first, then rejected; — when none. */
export function approvalsCell(p: Payload): Safe {
  const all = teamApprovals(p);
  if (all.length === 0) return h`<td class="approvals"><span class="muted">—</span></td>`;
  const ordered = [...all.filter((a) => a.state === 'Accepted'), ...all.filter((a) => a.state === 'Rejected')];
  return h`<td class="approvals"><span class="labels">${ordered.map((a) => approvalLabel(a))}</span></td>`;
}

export const APPROVALS_HEADER = h`<th scope="col" class="approvals" title="Explicit approvals for teams such as QE and TRT (release.openshift.io/&lt;team&gt;_state; QE: the QE verdict)">Team approvals</th>`;

/**
 * The release page's section: each team's state with who set it and why (the latest
 * TeamApprovalSet event of the team in `events`); the qe team's comes from the QE verdict.
 */
export function approvalsSection(p: Payload, events: readonly EventRecord[], now: number): Safe {
  const all = teamApprovals(p);
  const latest = new Map<string, EventRecord>();
  for (const e of events) if (e.type === 'TeamApprovalSet' && typeof e.data.team === 'string') latest.set(e.data.team, e);
  const rows = all.map((a) => {
    const e = a.team === QE_TEAM ? undefined : latest.get(a.team);
    const why =
      a.team === QE_TEAM
        ? h`<span class="muted">${QE_NOTE}${p.qe.override ? h` — set by ${p.qe.override.user}: ${p.qe.override.reason}` : ''}</span>`
        : e && e.data.state === a.state
          ? h`${e.actor}: ${typeof e.data.reason === 'string' ? e.data.reason : ''} <span class="muted small">${timeCell(e.at, now)}</span>`
          : h`<span class="muted">set outside this controller</span>`;
    return h`<tr data-team="${a.team}"><th scope="row" class="mono">${a.team.toUpperCase()}</th><td>${approvalLabel(a, '', a.state)}</td><td>${why}</td></tr>`;
  });
  const body = rows.length
    ? h`<div class="table-wrap"><table class="approvals"><thead><tr><th scope="col">Team</th><th scope="col">State</th><th scope="col">Who and why</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : h`<p class="muted">None.</p>`;
  return h`<section class="card" data-live="approvals" id="approvals"><h2>Team approvals</h2>${body}<p class="section-note small">A team approves with <code>release-controller approve|disapprove STREAM TAG --team T --reason …</code> (role admin or the team); approvals do not change the phase.</p></section>`;
}
