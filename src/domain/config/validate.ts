// Validation of one release stream config: upstream's runtime and offline rules plus ours.
// Pure: raw JSON value in, parsed config + issues (file, JSON path, reason) out.
import type { ZodIssue } from 'zod';
import { durationError, parseDuration } from '../duration.ts';
import { nextCronFire } from '../periodic.ts';
import { PERIODIC_UPGRADE_FROM, PUBLISH_ON, QE_GATES, ReleaseConfigSchema, VERIFY_UPGRADE_FROM, type ReleaseConfig } from './schema.ts';

export interface ConfigIssue {
  file: string;
  path: string;
  reason: string;
}

export interface ValidationResult {
  config: ReleaseConfig | null;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

export const ROOT = '(root)';

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}: ${i.path}: ${i.reason}`;
}

function jsonPath(path: (string | number)[]): string {
  if (path.length === 0) return ROOT;
  return path.map((p) => String(p)).join('.');
}

function zodReason(i: ZodIssue): string {
  if (i.code === 'invalid_type') return i.received === 'undefined' ? 'is required' : `must be ${i.expected === 'integer' ? 'an integer' : `a ${i.expected}`}, not ${i.received}`;
  if (i.code === 'invalid_enum_value') return `must be one of ${i.options.join(', ')}`;
  return i.message;
}

type Obj = Record<string, unknown>;

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
  release: ['version', 'channel', 'architecture'],
  aggregatedProwJob: ['prowJob', 'analysisJobCount'],
  tagRef: ['name'],
  imageStreamRef: ['name', 'namespace', 'tags', 'excludeTags'],
  referenceRelease: ['pushRepository', 'pullRepository', 'secretName'],
  qe: ['gate', 'timeout'],
  consistentImages: ['parent'],
};

const LEGACY: Record<string, string> = {
  analysis: 'legacy field "analysis" (replaced by aggregatedProwJob) is ignored',
  verifyBugs: 'legacy field "verifyBugs" (Bugzilla) is ignored',
  analysisJobCount: 'legacy field "analysisJobCount" (use aggregatedProwJob.analysisJobCount) is ignored',
};

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reports unknown fields (kept in the parsed config) as warnings. */
function unknownFields(raw: Obj, file: string, warn: (path: string, reason: string) => void): void {
  const check = (o: unknown, kind: string, path: string) => {
    if (!isObj(o)) return;
    const known = KNOWN[kind];
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) warn(path ? `${path}.${k}` : k, LEGACY[k] ?? `unknown field "${k}" is kept but ignored`);
    }
  };
  const map = (o: unknown, path: string, fn: (v: unknown, p: string) => void) => {
    if (!isObj(o)) return;
    for (const [k, v] of Object.entries(o)) fn(v, `${path}.${k}`);
  };
  void file;
  check(raw, 'root', '');
  map(raw.verify, 'verify', (v, p) => {
    check(v, 'verify', p);
    if (!isObj(v)) return;
    check(v.prowJob, 'prowJob', `${p}.prowJob`);
    checkUpgradeRelease(v.upgradeFromRelease, `${p}.upgradeFromRelease`);
    check(v.aggregatedProwJob, 'aggregatedProwJob', `${p}.aggregatedProwJob`);
    if (isObj(v.aggregatedProwJob)) check(v.aggregatedProwJob.prowJob, 'prowJob', `${p}.aggregatedProwJob.prowJob`);
  });
  map(raw.periodic, 'periodic', (v, p) => {
    check(v, 'periodic', p);
    if (!isObj(v)) return;
    check(v.prowJob, 'prowJob', `${p}.prowJob`);
    checkUpgradeRelease(v.upgradeFromRelease, `${p}.upgradeFromRelease`);
  });
  map(raw.publish, 'publish', (v, p) => {
    check(v, 'publish', p);
    if (!isObj(v)) return;
    check(v.tagRef, 'tagRef', `${p}.tagRef`);
    check(v.imageStreamRef, 'imageStreamRef', `${p}.imageStreamRef`);
  });
  map(raw.check, 'check', (v, p) => {
    check(v, 'check', p);
    if (isObj(v)) check(v.consistentImages, 'consistentImages', `${p}.consistentImages`);
  });
  map(raw.upgrade, 'upgrade', (v, p) => {
    check(v, 'upgrade', p);
    if (isObj(v)) check(v.prowJob, 'prowJob', `${p}.prowJob`);
  });
  check(raw.referenceRelease, 'referenceRelease', 'referenceRelease');
  check(raw.qe, 'qe', 'qe');
  function checkUpgradeRelease(u: unknown, p: string) {
    check(u, 'upgradeFromRelease', p);
    if (!isObj(u)) return;
    check(u.candidate, 'candidate', `${p}.candidate`);
    check(u.prerelease, 'prerelease', `${p}.prerelease`);
    check(u.release, 'release', `${p}.release`);
  }
}

function cronError(spec: string): string | null {
  const s = spec.trim();
  if (s.startsWith('@every')) {
    const d = s.slice('@every'.length).trim();
    const e = durationError(d);
    if (e) return e;
    return parseDuration(d) > 0 ? null : '@every needs a positive duration';
  }
  if (s.startsWith('@')) {
    if (!['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'].includes(s)) return `unknown descriptor ${s}`;
    return null;
  }
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) return `expected 5 or 6 fields, found ${fields.length}`;
  try {
    nextCronFire(s, new Date(0));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

export function validateConfig(raw: unknown, file: string): ValidationResult {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const err = (path: string, reason: string) => errors.push({ file, path, reason });
  const warn = (path: string, reason: string) => warnings.push({ file, path, reason });
  if (!isObj(raw)) {
    err(ROOT, 'a release configuration must be a JSON object');
    return { config: null, errors, warnings };
  }
  const parsed = ReleaseConfigSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) err(jsonPath(i.path), zodReason(i));
    return { config: null, errors, warnings };
  }
  const c = parsed.data;
  unknownFields(raw, file, warn);

  // upstream runtime rules (ParseReleaseConfig)
  if (!c.name.trim()) err('name', 'is required');
  else if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(c.name)) err('name', 'must contain only letters, digits, ".", "_" and "-"');
  if (c.as !== 'Stable' && !c.to) err('to', 'is required unless "as" is "Stable"');
  if (c.maxUnreadyReleases !== undefined && c.maxUnreadyReleases < 0) err('maxUnreadyReleases', 'must not be negative');
  if (c.minCreationIntervalSeconds !== undefined && c.minCreationIntervalSeconds < 0) err('minCreationIntervalSeconds', 'must not be negative');
  if (c.expires) {
    const e = durationError(c.expires);
    if (e) err('expires', `must be a Go duration such as 336h: ${e}`);
  }

  let qeJobs = 0;
  for (const [name, v] of Object.entries(c.verify ?? {})) {
    const p = `verify.${name}`;
    if (!name.trim()) err('verify', 'verify keys must not be empty');
    if (/-\d+$/.test(name)) err(p, 'verify names must not end in "-<digits>" (retries append -<n> to job names)');
    if (v.upgradeFrom !== undefined && v.upgradeFrom !== '' && !(VERIFY_UPGRADE_FROM as readonly string[]).includes(v.upgradeFrom)) {
      err(`${p}.upgradeFrom`, `invalid value "${v.upgradeFrom}": must be one of ${VERIFY_UPGRADE_FROM.join(', ')}${v.upgradeFrom === 'PreviousMinus1' ? ' (PreviousMinus1 is only allowed on periodic jobs)' : ''}`);
    }
    if (v.prowJob && !v.prowJob.name.trim()) err(`${p}.prowJob.name`, 'must not be empty');
    if (!v.disabled && !v.prowJob) err(`${p}.prowJob`, 'is required (the job to run)');
    if (v.async && !v.optional) err(`${p}.async`, 'has async set but is not optional');
    if (v.async && (v.maxRetries ?? 0) > 0) err(`${p}.maxRetries`, 'async jobs are not retried: maxRetries must be 0 with async');
    if (v.upgradeFrom && v.upgradeFromRelease) err(p, 'upgradeFrom and upgradeFromRelease are mutually exclusive');
    if (v.upgradeFromRelease && !v.upgradeFromRelease.candidate && !v.upgradeFromRelease.prerelease && !v.upgradeFromRelease.release) {
      err(`${p}.upgradeFromRelease`, 'one of candidate, prerelease or release must be set');
    }
    if ((v.maxRetries ?? 0) < 0) err(`${p}.maxRetries`, 'must not be negative');
    if (v.optional && v.aggregatedProwJob) err(p, 'an aggregated job cannot be optional');
    if (v.aggregatedProwJob && (v.aggregatedProwJob.analysisJobCount ?? 0) <= 0) err(`${p}.aggregatedProwJob.analysisJobCount`, 'must be greater than 0');
    for (const [q, qual] of Object.entries(v.qualifiers ?? {})) {
      if (isObj(qual) && 'approval' in qual) err(`${p}.qualifiers.${q}.approval`, 'approval qualifiers are only valid in global config');
    }
    if (v.qe) {
      qeJobs++;
      if (v.disabled) warn(p, 'this QE job is disabled and will never run');
      if (v.async) err(`${p}.async`, 'a QE job cannot be async');
      if (v.aggregatedProwJob) err(`${p}.aggregatedProwJob`, 'a QE job cannot be aggregated');
    }
  }
  for (const [name, v] of Object.entries(c.periodic ?? {})) {
    const p = `periodic.${name}`;
    if (!v.cron && !v.interval) err(p, 'one of cron or interval is required');
    if (v.cron && v.interval) err(p, 'cron and interval are mutually exclusive');
    if (v.interval) {
      const e = durationError(v.interval);
      if (e) err(`${p}.interval`, `must be a Go duration: ${e}`);
    }
    if (v.cron) {
      const e = cronError(v.cron);
      if (e) err(`${p}.cron`, `invalid cron spec "${v.cron}": ${e}`);
    }
    if (v.upgradeFrom && v.upgradeFromRelease) err(p, 'upgradeFrom and upgradeFromRelease are mutually exclusive');
    if (v.upgradeFrom && !(PERIODIC_UPGRADE_FROM as readonly string[]).includes(v.upgradeFrom)) err(`${p}.upgradeFrom`, `invalid value "${v.upgradeFrom}": must be one of ${PERIODIC_UPGRADE_FROM.join(', ')}`);
    if (!v.prowJob?.name?.trim()) err(`${p}.prowJob.name`, 'is required');
  }
  for (const [name, s] of Object.entries(c.publish ?? {})) {
    const p = `publish.${name}`;
    if (!name.trim()) err('publish', 'publish keys must not be empty');
    if (s.tagRef && !s.tagRef.name.trim()) err(`${p}.tagRef.name`, 'must not be empty');
    if (s.imageStreamRef && !s.imageStreamRef.name.trim()) err(`${p}.imageStreamRef.name`, 'must not be empty');
    if (s.on !== undefined && !(PUBLISH_ON as readonly string[]).includes(s.on)) err(`${p}.on`, `must be one of ${PUBLISH_ON.join(', ')}`);
  }
  if (c.qe) {
    if (c.qe.gate !== undefined && !(QE_GATES as readonly string[]).includes(c.qe.gate)) err('qe.gate', `invalid value "${c.qe.gate}": must be one of ${QE_GATES.join(', ')}`);
    if (c.qe.timeout !== undefined) {
      const e = durationError(c.qe.timeout);
      if (e) err('qe.timeout', `must be a Go duration such as 24h: ${e}`);
      else if (parseDuration(c.qe.timeout) <= 0) err('qe.timeout', 'must be positive');
    }
    if (qeJobs === 0) warn('qe', 'the stream has a qe block but no verify entry with "qe": true');
  }
  return { config: errors.length ? null : c, errors, warnings };
}
