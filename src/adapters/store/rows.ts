// Record ↔ row mapping shared by the store adapters: the column lists (each mapping follows its
// list's order) and the mappings that are the same for every database. The ones that differ (JSON
// columns as text or already parsed, booleans as 0/1 or true/false) stay with each adapter.
import type { EventRecord, InputTag, JobRun, Payload, Pin, PublishedRef, UpgradeResult } from '../../domain/types.ts';

export type Row = unknown[];
export type Param = string | number | boolean | null;

export const json = (v: unknown): string => JSON.stringify(v);

export const STREAM_COLS = 'name, config, source_file, input, errors, warnings, locked, conditions, lock_info';

export const INPUT_TAG_COLS = 'input, component, pull_spec, labels, updated_at';

export function inputTagParams(input: string, t: InputTag): Param[] {
  return [input, t.component, t.pullSpec, json(t.labels), t.updatedAt];
}

export const PAYLOAD_COLS =
  'stream, tag, phase, created_at, input_hash, pull_spec, digest, components, reason, message, annotations, override, qe, phase_changed_at, jobs, mirror_repository';

export function payloadParams(p: Payload): Param[] {
  return [
    p.stream, p.tag, p.phase, p.createdAt, p.inputHash, p.pullSpec, p.digest, json(p.components), p.reason, p.message,
    json(p.annotations), p.override === null ? null : json(p.override), json(p.qe), p.phaseChangedAt, p.jobs ? json(p.jobs) : null,
    p.mirrorRepository ?? '',
  ];
}

export const JOB_RUN_COLS =
  'id, stream, tag, verify_name, job_name, kind, attempt, generation, state, url, upgrade_from, upgrade_from_pull_spec, created_at, started_at, finished_at, reason, log_path, env';

export function jobRunParams(r: JobRun): Param[] {
  return [
    r.id, r.stream, r.tag, r.verifyName, r.jobName, r.kind, r.attempt, r.generation, r.state, r.url, r.upgradeFrom,
    r.upgradeFromPullSpec, r.createdAt, r.startedAt, r.finishedAt, r.reason, r.logPath, r.env && Object.keys(r.env).length ? json(r.env) : '{}',
  ];
}

/**
 * Maps job run rows; repeated values (stream, tag, names, kind, state, upgrade source, reason) are
 * shared through `intern`, which keeps hundreds of thousands of loaded runs much smaller in memory.
 */
export function jobRunFromRow(r: Row, intern: (s: string) => string = (s) => s): JobRun {
  const env = typeof r[17] === 'string' ? (r[17] === '{}' ? undefined : (JSON.parse(r[17]) as Record<string, string>)) : (r[17] as Record<string, string> | null) ?? undefined;
  const run: JobRun = {
    id: r[0] as string,
    stream: intern(r[1] as string),
    tag: intern(r[2] as string),
    verifyName: intern(r[3] as string),
    jobName: intern(r[4] as string),
    kind: intern(r[5] as string) as JobRun['kind'],
    attempt: r[6] as number,
    generation: r[7] as number,
    state: intern(r[8] as string) as JobRun['state'],
    url: r[9] as string,
    upgradeFrom: intern(r[10] as string),
    upgradeFromPullSpec: intern(r[11] as string),
    createdAt: r[12] as string,
    startedAt: r[13] as string | null,
    finishedAt: r[14] as string | null,
    reason: intern(r[15] as string),
    logPath: r[16] as string,
  };
  if (env && Object.keys(env).length) run.env = env;
  return run;
}

/** A string pool for one load: equal strings come back as the same string. */
export function interner(): (s: string) => string {
  const pool = new Map<string, string>();
  return (s) => {
    const hit = pool.get(s);
    if (hit !== undefined) return hit;
    pool.set(s, s);
    return s;
  };
}

export const EVENT_COLS = 'id, at, stream, tag, type, actor, message, data';

export function eventParams(e: EventRecord): Param[] {
  return [e.at, e.stream, e.tag, e.type, e.actor, e.message, json(e.data)];
}

export const UPGRADE_COLS = 'run_id, from_tag, to_tag, url, state';

export function upgradeParams(u: UpgradeResult): Param[] {
  return [u.runId, u.from, u.to, u.url, u.state];
}

export function upgradeFromRow(r: Row): UpgradeResult {
  return { runId: r[0] as string, from: r[1] as string, to: r[2] as string, url: r[3] as string, state: r[4] as UpgradeResult['state'] };
}

export const PUBLISHED_COLS = 'stream, name, tag, updated_at';

export function publishedParams(p: PublishedRef): Param[] {
  return [p.stream, p.name, p.tag, p.updatedAt];
}

export function publishedFromRow(r: Row): PublishedRef {
  return { stream: r[0] as string, name: r[1] as string, tag: r[2] as string, updatedAt: r[3] as string };
}

export const PIN_COLS = 'input, component, pull_spec, labels, from_tag, reason, pinned_by, at';

export function pinParams(input: string, p: Pin): Param[] {
  return [input, p.component, p.pullSpec, json(p.labels), p.fromTag, p.reason, p.user, p.at];
}

/** `labels`: the labels column as parsed by the adapter (JSON text in SQLite, parsed in PostgreSQL) */
export function pinFromRow(r: Row, labels: Record<string, string>): Pin {
  return { input: r[0] as string, component: r[1] as string, pullSpec: r[2] as string, labels, fromTag: r[4] as string, reason: r[5] as string, user: r[6] as string, at: r[7] as string };
}
