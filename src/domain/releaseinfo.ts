// Release info (upstream-behavior.md §6.5) plus the QE additions of DESIGN.md §11: the body of
// GET /api/v1/releasestream/{release}/release/{tag}, assembled from the in-memory view. Pure.
import { changeLog, changeLogHtml, emptyChangeLog, type ChangeLogJson } from './changelog.ts';
import { isStable } from './config/schema.ts';
import type { Payload } from './types.ts';
import { summarizeUpgrades, type UpgradeHistory } from './upgrade.ts';
import { compareVersions, parseStrict, parseTolerant } from './version.ts';
import type { VerificationStatus } from './verification.ts';
import { payloadResults } from './views.ts';
import type { WorldView } from './world.ts';

type Group = Record<string, VerificationStatus>;

/** Key order is the wire format: upstream's order, with ours (qePhase, results.qeJobs, qe) added. */
export interface ReleaseInfo {
  name: string;
  phase: string;
  qePhase: string;
  results?: { blockingJobs?: Group; informingJobs?: Group; asyncJobs?: Group; qeJobs?: Group };
  upgradesTo?: UpgradeHistory[];
  upgradesFrom?: UpgradeHistory[];
  /** base64 of the HTML changelog (upstream sends a Go []byte) */
  changeLog?: string;
  changeLogJson: ChangeLogJson;
  /** ours: "computing" while the changelog is being computed (changeLog absent, changeLogJson zero, as upstream on a timeout) */
  changeLogStatus?: 'computing';
  qe: { phase: string; reason: string; startedAt: string | null; deadline: string | null };
}

/**
 * The release a payload's changelog starts from by default (upstream §6.5): (a) the payload a
 * `tagRef` publish step of the stream points at, if it is older; else (b) the newest older
 * Accepted payload; else (c) the newest older payload; else (d) for a semver tag, the first tag
 * of the highest-versioned other stable-like stream of the same major.minor.
 */
export function previousPayload(view: WorldView, p: Payload): Payload | undefined {
  const list = view.payloads(p.stream);
  const i = list.findIndex((x) => x.tag === p.tag);
  const older = i >= 0 ? list.slice(i + 1) : list.filter((x) => x.createdAt < p.createdAt);
  if (older.length > 0) {
    const config = view.stream(p.stream)?.config;
    const step = Object.values(config?.publish ?? {}).find((s) => s.tagRef?.name);
    const ref = step && view.published(p.stream).find((r) => r.name === step.tagRef!.name);
    const target = ref && older.find((x) => x.tag === ref.tag);
    return target ?? older.find((x) => x.phase === 'Accepted') ?? older[0];
  }
  const v = parseStrict(p.tag);
  if (!v) return undefined;
  const stableLike = view
    .streams()
    // the payload's own stream only has newer tags left: a changelog from those would run backwards
    .filter((s) => s.name !== p.stream)
    .map((s) => ({ s, v: parseTolerant(s.name) }))
    .filter((x) => x.v || isStable(x.s.config))
    .sort((a, b) => (a.v && b.v ? compareVersions(b.v, a.v) : a.v ? -1 : b.v ? 1 : 0));
  for (const { s, v: sv } of stableLike) {
    if (!sv || sv.major !== v.major || sv.minor !== v.minor) continue;
    const first = view.payloads(s.name)[0];
    if (first) return first;
  }
  return undefined;
}

/**
 * The changelog release info carries: computed by the changelog service (with commits), or
 * `computing` when it is not ready within the wait. Absent: the image-level changelog is built here.
 */
export type ReleaseInfoChangelog = { json: ChangeLogJson; html: string } | 'computing';

/**
 * `previous` undefined → no changelog (zero-valued changeLogJson); `short` skips the changelog.
 * `results` are those of the job set the payload is judged by (frozen at creation); a waived entry
 * reads `Succeeded` with our `waived` field after upstream's (see payloadResults).
 */
export function releaseInfo(view: WorldView, p: Payload, previous: Payload | undefined, opts: { short?: boolean; changelog?: ReleaseInfoChangelog } = {}): ReleaseInfo {
  const rec = view.stream(p.stream);
  // built in wire order: JSON.stringify keeps insertion order
  const body: Partial<ReleaseInfo> = { name: p.tag, phase: p.phase, qePhase: p.qe.state };
  if (rec) {
    const r = payloadResults(rec.config, p, view.runs(p.stream, p.tag));
    body.results = {};
    for (const k of ['blockingJobs', 'informingJobs', 'asyncJobs', 'qeJobs'] as const) if (Object.keys(r[k]).length) body.results[k] = r[k];
  }
  const to = summarizeUpgrades(view.upgradesInto(p.tag), (u) => u.from);
  const from = summarizeUpgrades(view.upgradesOutOf(p.tag), (u) => u.to);
  if (to.length) body.upgradesTo = to;
  if (from.length) body.upgradesFrom = from;
  if (previous && !opts.short && previous.pullSpec && p.pullSpec) {
    if (opts.changelog === 'computing') {
      body.changeLogJson = emptyChangeLog();
      body.changeLogStatus = 'computing';
    } else {
      const cl = opts.changelog ?? { json: changeLog(previous, p), html: '' };
      body.changeLog = Buffer.from(cl.html || changeLogHtml(cl.json)).toString('base64');
      body.changeLogJson = cl.json;
    }
  } else body.changeLogJson = emptyChangeLog();
  body.qe = { phase: p.qe.state, reason: p.qe.reason, startedAt: p.qe.startedAt, deadline: p.qe.deadline };
  return body as ReleaseInfo;
}
