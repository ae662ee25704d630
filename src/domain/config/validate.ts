// Validation of one release stream config: upstream's runtime and offline rules plus ours.
// Pure: raw JSON value in, parsed config + issues (file, JSON path, reason) out.
//
// Paths are JSON paths without a leading `$`: `verify.aws-serial.upgradeFrom`; keys that are not
// plain words are quoted, `check["images match"].consistentImages`; the whole document is `(root)`.
import type { ZodIssue } from 'zod';
import { durationError, parseDuration } from '../duration.ts';
import { nextCronFire } from '../periodic.ts';
import { isStable, PERIODIC_UPGRADE_FROM, PUBLISH_ON, QE_GATES, ReleaseConfigSchema, VERIFY_UPGRADE_FROM, type ReleaseConfig } from './schema.ts';

export interface ConfigIssue {
  file: string;
  /** JSON path of the offending value, or ROOT for the whole document */
  path: string;
  reason: string;
}

export interface ValidationResult {
  /** the parsed config (unknown fields kept), or null when there is any error */
  config: ReleaseConfig | null;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

export const ROOT = '(root)';

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}: ${i.path}: ${i.reason}`;
}

/** Appends a key or index to a JSON path: plain keys with `.`, others quoted in brackets. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base === ROOT ? '' : base}[${key}]`;
  const seg = /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (base === ROOT || base === '') return seg.startsWith('[') ? `(root)${seg}` : seg;
  return seg.startsWith('[') ? `${base}${seg}` : `${base}.${seg}`;
}

function jsonPath(path: (string | number)[]): string {
  return path.reduce<string>((acc, k) => joinPath(acc, k), ROOT);
}

const article = (w: string) => (/^[aeiou]/.test(w) ? `an ${w}` : `a ${w}`);

function zodReason(i: ZodIssue): string {
  if (i.code === 'invalid_type') {
    if (i.received === 'undefined') return 'is required';
    return `must be ${article(i.expected === 'integer' ? 'integer' : i.expected)}, not ${i.received}`;
  }
  if (i.code === 'invalid_enum_value') return `invalid value ${JSON.stringify(i.received)}: must be one of ${i.options.join(', ')}`;
  return i.message;
}

type Obj = Record<string, unknown>;

/** Known fields per object kind; anything else is kept and warned about. */
const KNOWN: Record<string, string[]> = {
  root: Object.keys(ReleaseConfigSchema.shape),
  verify: ['disabled', 'optional', 'async', 'upgrade', 'upgradeFrom', 'upgradeFromRelease', 'prowJob', 'maxRetries', 'aggregatedProwJob', 'multiJobAnalysis', 'qualifiers', 'qe'],
  periodic: ['interval', 'cron', 'upgrade', 'upgradeFrom', 'upgradeFromRelease', 'prowJob'],
  publish: ['disabled', 'tagRef', 'imageStreamRef', 'verifyIssues', 'on'],
  check: ['consistentImages'],
  upgrade: ['disabled', 'prowJob'],
  prowJob: ['name'],
  upgradeFromRelease: ['candidate', 'prerelease', 'release'],
  candidate: ['stream', 'version', 'relative'],
  prerelease: ['version_bounds'],
  version_bounds: ['lower', 'upper'],
  release: ['version', 'channel', 'architecture'],
  aggregatedProwJob: ['prowJob', 'analysisJobCount'],
  tagRef: ['name'],
  imageStreamRef: ['name', 'namespace', 'tags', 'excludeTags'],
  verifyIssues: ['previousReleaseTag'],
  previousReleaseTag: ['namespace', 'name', 'tag'],
  referenceRelease: ['pushRepository', 'pullRepository', 'secretName'],
  qe: ['gate', 'timeout'],
  consistentImages: ['parent'],
};

/** Fields that real upstream configs still carry but the current format dropped. */
const LEGACY: Record<string, string> = {
  analysis: 'legacy field "analysis" (replaced by aggregatedProwJob) is ignored',
  verifyBugs: 'legacy field "verifyBugs" (Bugzilla) is ignored',
  analysisJobCount: 'legacy field "analysisJobCount" (use aggregatedProwJob.analysisJobCount) is ignored',
};

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reports unknown fields (kept in the parsed config) as warnings. Qualifier contents are free-form. */
function unknownFields(raw: Obj, warn: (path: string, reason: string) => void): void {
  const check = (o: unknown, kind: string, path: string) => {
    if (!isObj(o)) return;
    for (const k of Object.keys(o)) {
      if (!KNOWN[kind].includes(k)) warn(joinPath(path, k), LEGACY[k] ?? `unknown field "${k}" is kept but ignored`);
    }
  };
  const each = (o: unknown, path: string, fn: (v: unknown, p: string) => void) => {
    if (!isObj(o)) return;
    for (const [k, v] of Object.entries(o)) fn(v, joinPath(path, k));
  };
  const upgradeRelease = (u: unknown, p: string) => {
    check(u, 'upgradeFromRelease', p);
    if (!isObj(u)) return;
    check(u.candidate, 'candidate', `${p}.candidate`);
    check(u.prerelease, 'prerelease', `${p}.prerelease`);
    if (isObj(u.prerelease)) check(u.prerelease.version_bounds, 'version_bounds', `${p}.prerelease.version_bounds`);
    check(u.release, 'release', `${p}.release`);
  };
  check(raw, 'root', ROOT);
  each(raw.verify, 'verify', (v, p) => {
    check(v, 'verify', p);
    if (!isObj(v)) return;
    check(v.prowJob, 'prowJob', `${p}.prowJob`);
    upgradeRelease(v.upgradeFromRelease, `${p}.upgradeFromRelease`);
    check(v.aggregatedProwJob, 'aggregatedProwJob', `${p}.aggregatedProwJob`);
    if (isObj(v.aggregatedProwJob)) check(v.aggregatedProwJob.prowJob, 'prowJob', `${p}.aggregatedProwJob.prowJob`);
  });
  each(raw.periodic, 'periodic', (v, p) => {
    check(v, 'periodic', p);
    if (!isObj(v)) return;
    check(v.prowJob, 'prowJob', `${p}.prowJob`);
    upgradeRelease(v.upgradeFromRelease, `${p}.upgradeFromRelease`);
  });
  each(raw.publish, 'publish', (v, p) => {
    check(v, 'publish', p);
    if (!isObj(v)) return;
    check(v.tagRef, 'tagRef', `${p}.tagRef`);
    check(v.imageStreamRef, 'imageStreamRef', `${p}.imageStreamRef`);
    check(v.verifyIssues, 'verifyIssues', `${p}.verifyIssues`);
    if (isObj(v.verifyIssues)) check(v.verifyIssues.previousReleaseTag, 'previousReleaseTag', `${p}.verifyIssues.previousReleaseTag`);
  });
  each(raw.check, 'check', (v, p) => {
    check(v, 'check', p);
    if (isObj(v)) check(v.consistentImages, 'consistentImages', `${p}.consistentImages`);
  });
  each(raw.upgrade, 'upgrade', (v, p) => {
    check(v, 'upgrade', p);
    if (isObj(v)) check(v.prowJob, 'prowJob', `${p}.prowJob`);
  });
  check(raw.referenceRelease, 'referenceRelease', 'referenceRelease');
  check(raw.qe, 'qe', 'qe');
}

/**
 * Fields this build parses (they validate and reach /config) but does not act on: each set one is
 * a warning naming what does not happen, so nobody migrating from upstream loses a behaviour
 * silently. Only a value that would change upstream's behaviour warns (`false`, `""`, a disabled
 * entry or step do not). Keep this list in step with the domain: a field that becomes implemented
 * leaves it (test/unit/config-validate.test.ts has a row per field).
 */
const NOT_ACTED_ON = {
  referenceMode: 'is parsed but not acted on: the local builder always keeps the components\' source pull specs (as referenceMode "source" does); it does not rewrite them to the public repository',
  pullSecretName: 'is parsed but not acted on: the local builder pulls no images, so no pull secret is mounted',
  overrideCLIImage: 'is parsed but not acted on: no oc CLI image runs release jobs in this build',
  referenceRelease: 'is parsed but not acted on: reference payloads (pushed to pushRepository as rc_payload__<tag>) are not built; payloads are built as usual',
  disableManifestListMode: 'is parsed but not acted on: the local builder writes no manifest lists',
  qualifiers: 'notifications is parsed but not acted on: qualifier Jira escalations are not sent (badges and the qualifiers summary come from serve --qualifiers)',
  upgrade: 'is used only by Stable streams ("as": "Stable"), as upstream: this stream never runs these upgrade tests',
  verifyIssues: 'is parsed but not acted on: the Jira automation (marking issues VERIFIED) is not implemented',
  officialRelease: 'resolves only against the releases of this deployment\'s own Stable streams (the public update service, Cincinnati, is not queried): a version not promoted here keeps the job waiting for an upgrade source until role ci or admin waives it',
} as const;

function notActedOn(c: ReleaseConfig, warn: (path: string, reason: string) => void): void {
  if (c.referenceMode && c.referenceMode !== 'source') warn('referenceMode', NOT_ACTED_ON.referenceMode);
  // alternateImageRepository(+SecretName): Ready payloads are mirrored with --builder registry (domain/mirror.ts)
  for (const k of ['pullSecretName', 'overrideCLIImage'] as const) {
    if (c[k]) warn(k, NOT_ACTED_ON[k]);
  }
  if (c.referenceRelease) warn('referenceRelease', NOT_ACTED_ON.referenceRelease);
  if (c.disableManifestListMode) warn('disableManifestListMode', NOT_ACTED_ON.disableManifestListMode);
  if (!isStable(c)) for (const [name, u] of Object.entries(c.upgrade ?? {})) if (!u.disabled) warn(joinPath('upgrade', name), NOT_ACTED_ON.upgrade);
  for (const [name, v] of Object.entries(c.verify ?? {})) {
    if (v.disabled) continue;
    const p = joinPath('verify', name);
    for (const [q, qual] of Object.entries(v.qualifiers ?? {})) if (qual.notifications) warn(`${joinPath(`${p}.qualifiers`, q)}.notifications`, NOT_ACTED_ON.qualifiers);
    if (v.upgradeFromRelease?.release && !v.upgradeFromRelease.prerelease && !v.upgradeFromRelease.candidate) warn(`${p}.upgradeFromRelease.release`, NOT_ACTED_ON.officialRelease);
  }
  for (const [name, v] of Object.entries(c.periodic ?? {})) {
    if (v.upgradeFromRelease?.release && !v.upgradeFromRelease.prerelease && !v.upgradeFromRelease.candidate) warn(`${joinPath('periodic', name)}.upgradeFromRelease.release`, NOT_ACTED_ON.officialRelease);
  }
  for (const [name, s] of Object.entries(c.publish ?? {})) if (!s.disabled && s.verifyIssues) warn(`${joinPath('publish', name)}.verifyIssues`, NOT_ACTED_ON.verifyIssues);
}

const DESCRIPTORS = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'];

/** Why a periodic `cron` spec is unusable, or null. Same grammar as the scheduler (periodic.ts). */
export function cronError(spec: string): string | null {
  const s = spec.trim();
  const every = /^@every\s+(.*)$/.exec(s);
  if (every) {
    const d = every[1].trim();
    const e = durationError(d);
    if (e) return e;
    return parseDuration(d) > 0 ? null : '@every needs a positive duration';
  }
  if (s.startsWith('@')) {
    return DESCRIPTORS.includes(s) ? null : `unknown descriptor "${s}" (use @every <duration>, ${DESCRIPTORS.join(', ')})`;
  }
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) return `expected 5 fields (or 6 with leading seconds), found ${fields.length}`;
  try {
    return nextCronFire(s, new Date(0)) ? null : 'the schedule never fires';
  } catch (e) {
    return (e as Error).message;
  }
}

const oneOf = (allowed: readonly string[]) => allowed.join(', ');

/**
 * Upper bounds of the counts that multiply job launches (each retry relaunches an entry; an
 * aggregated entry launches analysisJobCount runs per attempt). Real configs use at most 3 retries
 * and 10 analysis jobs; the bounds leave room and stop a typo (1000) from flooding the executor.
 */
export const MAX_RETRIES = 20;
export const MAX_ANALYSIS_JOB_COUNT = 100;

export function validateConfig(raw: unknown, file: string): ValidationResult {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const err = (path: string, reason: string) => errors.push({ file, path, reason });
  const warn = (path: string, reason: string) => warnings.push({ file, path, reason });
  if (!isObj(raw)) {
    err(ROOT, `a release configuration must be a JSON object, not ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
    return { config: null, errors, warnings };
  }
  unknownFields(raw, warn);
  const parsed = ReleaseConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) err(jsonPath(i.path), zodReason(i));
    return { config: null, errors, warnings };
  }
  const c = parsed.data;

  // --- top level: upstream runtime rules (ParseReleaseConfig) and ours
  if (!c.name.trim()) err('name', 'is required (must not be empty)');
  else if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(c.name)) err('name', `invalid stream name "${c.name}": use only letters, digits, ".", "_" and "-"`);
  if (c.as !== 'Stable' && !c.to) err('to', 'is required unless "as" is "Stable"');
  if (c.maxUnreadyReleases !== undefined && c.maxUnreadyReleases < 0) err('maxUnreadyReleases', `must not be negative (got ${c.maxUnreadyReleases})`);
  if (c.minCreationIntervalSeconds !== undefined && c.minCreationIntervalSeconds < 0) err('minCreationIntervalSeconds', `must not be negative (got ${c.minCreationIntervalSeconds})`);
  if (c.expires !== undefined && c.expires !== null) {
    const e = durationError(c.expires);
    if (e) err('expires', `must be a Go duration such as 336h: ${e}`);
    else if (parseDuration(c.expires) <= 0) err('expires', `must be positive (got "${c.expires}")`);
  }

  // --- verify
  let qeJobs = 0;
  for (const [name, v] of Object.entries(c.verify ?? {})) {
    const p = joinPath('verify', name);
    if (!name.trim()) err(p, 'verify names must not be empty');
    if (/-\d+$/.test(name)) err(p, 'verify names must not end in "-<digits>" (retries append -<n> to job names)');
    if (v.upgradeFrom !== undefined && v.upgradeFrom !== '' && !(VERIFY_UPGRADE_FROM as readonly string[]).includes(v.upgradeFrom)) {
      const hint = v.upgradeFrom === 'PreviousMinus1' ? ' (PreviousMinus1 is only valid on periodic jobs)' : '';
      err(`${p}.upgradeFrom`, `invalid value "${v.upgradeFrom}": must be one of ${oneOf(VERIFY_UPGRADE_FROM)}${hint}`);
    }
    if (v.prowJob && !v.prowJob.name.trim()) err(`${p}.prowJob.name`, 'must not be empty');
    if (!v.disabled && !v.prowJob) err(`${p}.prowJob`, 'is required (the job to run) unless the entry is disabled');
    if (v.async && !v.optional) err(`${p}.async`, 'has async set but is not optional');
    if (v.async && (v.maxRetries ?? 0) > 0) err(`${p}.maxRetries`, 'async jobs are not retried: maxRetries must be 0 when async is set');
    if ((v.maxRetries ?? 0) < 0) err(`${p}.maxRetries`, `must not be negative (got ${v.maxRetries})`);
    if ((v.maxRetries ?? 0) > MAX_RETRIES) err(`${p}.maxRetries`, `must be at most ${MAX_RETRIES} (got ${v.maxRetries}): every retry launches the job again`);
    if (v.upgradeFrom && v.upgradeFromRelease) err(p, 'upgradeFrom and upgradeFromRelease are mutually exclusive');
    if (v.upgradeFromRelease && !v.upgradeFromRelease.candidate && !v.upgradeFromRelease.prerelease && !v.upgradeFromRelease.release) {
      err(`${p}.upgradeFromRelease`, 'one of candidate, prerelease or release must be set');
    }
    if (v.optional && v.aggregatedProwJob) err(p, 'an aggregated job (aggregatedProwJob) cannot be optional');
    if (v.aggregatedProwJob) {
      const n = v.aggregatedProwJob.analysisJobCount ?? 0;
      if (n <= 0) err(`${p}.aggregatedProwJob.analysisJobCount`, `must be greater than 0 when aggregatedProwJob is set (got ${n})`);
      else if (n > MAX_ANALYSIS_JOB_COUNT) err(`${p}.aggregatedProwJob.analysisJobCount`, `must be at most ${MAX_ANALYSIS_JOB_COUNT} (got ${n}): each attempt launches that many analysis jobs`);
      if (v.aggregatedProwJob.prowJob && !v.aggregatedProwJob.prowJob.name.trim()) err(`${p}.aggregatedProwJob.prowJob.name`, 'must not be empty');
    }
    for (const [q, qual] of Object.entries(v.qualifiers ?? {})) {
      if (isObj(qual) && 'approval' in qual) err(`${joinPath(`${p}.qualifiers`, q)}.approval`, 'approval qualifiers are only valid in global config');
    }
    if (v.qe) {
      qeJobs++;
      if (v.disabled) warn(p, 'this QE job is disabled and will never run');
      if (v.async) err(`${p}.async`, 'a QE job cannot be async');
      if (v.aggregatedProwJob) warn(`${p}.aggregatedProwJob`, 'QE jobs are not aggregated: aggregatedProwJob is ignored, the job runs once');
    }
  }

  // --- periodic (offline rules; upgradeFrom checked here rather than failing at launch)
  for (const [name, v] of Object.entries(c.periodic ?? {})) {
    const p = joinPath('periodic', name);
    if (!name.trim()) err(p, 'periodic names must not be empty');
    if (!v.cron && !v.interval) err(p, 'one of cron or interval is required');
    if (v.cron && v.interval) err(p, 'cron and interval are mutually exclusive');
    if (v.interval) {
      const e = durationError(v.interval);
      if (e) err(`${p}.interval`, `must be a Go duration such as 24h: ${e}`);
      else if (parseDuration(v.interval) <= 0) err(`${p}.interval`, `must be positive (got "${v.interval}")`);
    }
    if (v.cron) {
      const e = cronError(v.cron);
      if (e) err(`${p}.cron`, `invalid cron spec "${v.cron}": ${e}`);
    }
    if (v.upgradeFrom && v.upgradeFromRelease) err(p, 'upgradeFrom and upgradeFromRelease are mutually exclusive');
    if (v.upgradeFrom && !(PERIODIC_UPGRADE_FROM as readonly string[]).includes(v.upgradeFrom)) {
      err(`${p}.upgradeFrom`, `invalid value "${v.upgradeFrom}": must be one of ${oneOf(PERIODIC_UPGRADE_FROM)}`);
    }
    if (v.upgradeFromRelease && !v.upgradeFromRelease.candidate && !v.upgradeFromRelease.prerelease && !v.upgradeFromRelease.release) {
      err(`${p}.upgradeFromRelease`, 'one of candidate, prerelease or release must be set');
    }
    if (!v.prowJob) err(`${p}.prowJob`, 'is required (the job to run)');
    else if (!v.prowJob.name.trim()) err(`${p}.prowJob.name`, 'must not be empty');
  }

  // --- publish
  for (const [name, s] of Object.entries(c.publish ?? {})) {
    const p = joinPath('publish', name);
    if (!name.trim()) err(p, 'publish names must not be empty');
    if (s.tagRef && !s.tagRef.name.trim()) err(`${p}.tagRef.name`, 'must not be empty');
    if (s.imageStreamRef && !s.imageStreamRef.name.trim()) err(`${p}.imageStreamRef.name`, 'must not be empty');
    if (s.on !== undefined && !(PUBLISH_ON as readonly string[]).includes(s.on)) err(`${p}.on`, `must be one of ${oneOf(PUBLISH_ON)}`);
  }

  // --- upgrade (Stable streams' upgrade tests)
  for (const [name, u] of Object.entries(c.upgrade ?? {})) {
    if (u.prowJob && !u.prowJob.name.trim()) err(`${joinPath('upgrade', name)}.prowJob.name`, 'must not be empty');
  }

  // --- qe (ours)
  if (c.qe) {
    if (c.qe.gate !== undefined && !(QE_GATES as readonly string[]).includes(c.qe.gate)) err('qe.gate', `invalid value "${c.qe.gate}": must be one of ${oneOf(QE_GATES)}`);
    if (c.qe.timeout !== undefined) {
      const e = durationError(c.qe.timeout);
      if (e) err('qe.timeout', `must be a Go duration such as 24h: ${e}`);
      else if (parseDuration(c.qe.timeout) <= 0) err('qe.timeout', `must be positive (got "${c.qe.timeout}")`);
    }
    if (qeJobs === 0) warn('qe', 'the stream has a qe block but no verify entry with "qe": true (the block has no effect)');
  }
  if (errors.length === 0) notActedOn(c, warn);
  return { config: errors.length ? null : c, errors, warnings };
}
