// Team approvals (issue 16 item 6; upstream-behavior.md §8.4): a team accepts or rejects a payload
// with the annotation `release.openshift.io/<team>_state` ∈ {Accepted, Rejected}. Approvals never
// change the payload phase. The built-in team `qe` is our QE verdict: its state is derived from it
// and never read from an annotation (one verdict truth, DESIGN §14). Pure.
import { isQEAccepted } from './judging.ts';
import { own } from './own.ts';
import type { Payload } from './types.ts';
import { compareVersions, parseTolerant } from './version.ts';

export const APPROVAL_STATES = ['Accepted', 'Rejected'] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

/** The team whose approval is the QE verdict. */
export const QE_TEAM = 'qe';

/**
 * A team name: a lowercase DNS label short enough that `<team>_state` is a valid label name (63
 * characters). Upstream's tooling lowercases team names.
 */
export const TEAM_NAME = /^[a-z0-9](?:[a-z0-9-]{0,55}[a-z0-9])?$/;

/** Role names that are not teams (admin, ci: built-in roles; qe: the QE verdict). */
export const RESERVED_TEAMS: readonly string[] = ['admin', 'ci', QE_TEAM];

const PREFIX = 'release.openshift.io/';
const SUFFIX = '_state';

export function approvalAnnotation(team: string): string {
  return `${PREFIX}${team}${SUFFIX}`;
}

function isApprovalState(v: string | undefined): v is ApprovalState {
  return v === 'Accepted' || v === 'Rejected';
}

/** The QE team's state: QE accepted (only while CI Accepted), QE rejected, or none yet. */
function qeTeamState(p: Payload): ApprovalState | null {
  if (isQEAccepted(p)) return 'Accepted';
  if (p.qe.state === 'QERejected') return 'Rejected';
  return null;
}

/** A team's approval of a payload (team names compare lowercased, as upstream's lookup), or null. */
export function teamApprovalState(p: Payload, team: string): ApprovalState | null {
  const t = team.toLowerCase();
  if (t === QE_TEAM) return qeTeamState(p);
  if (!t) return null;
  const v = own(p.annotations, approvalAnnotation(t));
  return isApprovalState(v) ? v : null;
}

export interface TeamApproval {
  team: string;
  state: ApprovalState;
}

/** Every team's approval of a payload, by team name (qe derived from the QE verdict). */
export function teamApprovals(p: Payload): TeamApproval[] {
  const out: TeamApproval[] = [];
  const qe = qeTeamState(p);
  if (qe) out.push({ team: QE_TEAM, state: qe });
  for (const [k, v] of Object.entries(p.annotations)) {
    if (!k.startsWith(PREFIX) || !k.endsWith(SUFFIX) || !isApprovalState(v)) continue;
    const team = k.slice(PREFIX.length, k.length - SUFFIX.length);
    // an annotation for qe is never a second truth; names we would not write are not teams
    if (team === QE_TEAM || !TEAM_NAME.test(team)) continue;
    out.push({ team, state: v });
  }
  return out.sort((a, b) => (a.team < b.team ? -1 : a.team > b.team ? 1 : 0));
}

/**
 * Does the approvals list include the payload (upstream's ApprovedReleases/ByTeam)? With a team:
 * that team accepted it; without: any team did.
 */
export function isTeamApproved(p: Payload, team: string): boolean {
  if (team) return teamApprovalState(p, team) === 'Accepted';
  return teamApprovals(p).some((a) => a.state === 'Accepted');
}

/** Why a team name cannot be set through the approval route, or null when it can. */
export function teamNameProblem(team: string): string | null {
  if (team === QE_TEAM) return 'the qe team’s approval is the QE verdict: set it with POST /api/v1/releasestream/{release}/release/{tag}/qe (release-controller qe accept|reject)';
  if (!TEAM_NAME.test(team)) return `team must be a lowercase name of letters, digits and '-' (at most 57 characters), got ${JSON.stringify(team)}`;
  if (RESERVED_TEAMS.includes(team)) return `${team} is a built-in role, not a team`;
  return null;
}

/**
 * The approvals list's order, upstream's APITagsBySemVerName: tolerant semver descending (ties by
 * name); when either name does not parse, the two compare by name, descending.
 */
export function sortApprovalTags<T>(items: readonly T[], name: (t: T) => string): T[] {
  const keyed = items.map((item) => ({ item, n: name(item), v: parseTolerant(name(item)) }));
  keyed.sort((x, y) => {
    if (x.v && y.v) {
      const c = compareVersions(y.v, x.v);
      if (c !== 0) return c;
    }
    return x.n < y.n ? 1 : x.n > y.n ? -1 : 0;
  });
  return keyed.map((k) => k.item);
}
