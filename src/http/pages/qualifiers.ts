// Qualifier badges (issue 16 item 7, as upstream's console): every qualifier of a payload on its
// release page, only the propagated ones (payloadBadgeStatus) in the stream page's rows. Text,
// icon and colour (the job label colours), so colour is never the only signal; every value escaped.
import type { QualifierSummary, QualifiersSummary } from '../../domain/qualifiers.ts';
import { h, join, link, seg, type Safe } from './html.ts';

/** Upstream's words for a qualifier's state: Accepted/Rejected for approvals, else Passed/Failed/Pending. */
export function qualifierStateText(s: QualifierSummary): string {
  if (s.approval) return s.aggregateState === 'Success' ? 'Accepted' : s.aggregateState === 'Failure' ? 'Rejected' : '';
  return s.aggregateState === 'Success' ? 'Passed' : s.aggregateState === 'Failure' ? 'Failed' : 'Pending';
}

const STYLE = {
  Success: { cls: 'job-succeeded', icon: '✓' },
  Failure: { cls: 'job-failed', icon: '✗' },
  other: { cls: 'job-retrying', icon: '○' },
};

function badge(id: string, s: QualifierSummary): Safe {
  const name = s.badgeName || id;
  const st = s.aggregateState === 'Success' ? STYLE.Success : s.aggregateState === 'Failure' ? STYLE.Failure : STYLE.other;
  const text = qualifierStateText(s);
  return h`<span class="label ${st.cls} qualifier-badge" data-qualifier="${id}" data-qualifier-state="${s.aggregateState ?? ''}"${s.badgeEarned ? h` data-earned=""` : ''} title="${name}${text ? `: ${text}` : ''}"><span class="icon" aria-hidden="true">${st.icon}</span> ${name}${text ? h`<span class="sr-only">: ${text}</span>` : ''}</span>`;
}

/** The badges of a payload, by qualifier id; `all` false: only the propagated ones. Empty when none. */
export function qualifierBadges(summary: QualifiersSummary, all: boolean): Safe {
  const entries = Object.entries(summary.qualifiers ?? {}).filter(([, s]) => all || s.badgePropagated);
  if (entries.length === 0) return h``;
  return h`<span class="labels qualifier-badges">${join(entries.map(([id, s]) => badge(id, s)), ' ')}</span>`;
}

/** The release page's Qualifiers fact: badges or None, the status API link, failure labels. */
export function qualifiersFact(tag: string, summary: QualifiersSummary): Safe {
  const api = link(`/api/v1/releasetag/${seg(tag)}/qualifiers`, 'status api');
  const badges = qualifierBadges(summary, true);
  const labels = summary.failureLabels?.length ? h`<div class="small failure-labels">Failure labels: ${join(summary.failureLabels.map((l) => h`<code>${l}</code>`), ' ')}</div>` : '';
  return h`<dt>Qualifiers</dt><dd id="qualifiers">${summary.qualifiers ? badges : h`None`} <span class="small">(${api})</span>${labels}</dd>`;
}
