// The stream config as upstream's GET /api/v1/releasestream/{r}/config serialises it
// (upstream-behavior.md §6.8): Go's encoding/json of the parsed `ReleaseConfig` struct, so every
// field of upstream's structs is present with its zero value (false, 0, "", null), struct fields in
// declaration order, map keys sorted, `expires` as integer nanoseconds. Pure.
//
// Field orders and `omitempty` tags are those of upstream's Go structs (pkg/release-controller
// types.go, checked against its 2026-08 source): a zero `async`, `maxRetries`, `analysisJobCount`,
// `candidate.relative`, an empty periodic `interval`/`cron`, a nil `aggregatedProwJob` (and its
// `prowJob`), an empty `qualifiers` map and nil upgrade-release members are omitted, as Go's encoder
// omits them; every other field is present with its zero value. `qualifiers` values are upstream's
// partial `ReleaseQualifier` overrides, passed through as given.
// Fields that are ours (DESIGN.md §6: `qe` on verify entries and at the top level, publish `on`,
// `source`) follow upstream's fields and appear only when set, so a config without them reads
// exactly as upstream's. Unknown and legacy fields (`analysis`, `verifyBugs`, …) are dropped: upstream
// ignores them when it parses the config, so they never reach its JSON.
import { parseDuration } from '../duration.ts';
import type {
  ProwJobRef,
  ReleaseCheck,
  ReleaseConfig,
  ReleasePeriodic,
  ReleasePublish,
  ReleaseVerification,
  UpgradeRelease,
  UpgradeVerification,
} from './schema.ts';

type Json = unknown;
type Obj = Record<string, Json>;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bool = (v: unknown): boolean => v === true;
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const strList = (v: unknown): string[] | null => (Array.isArray(v) ? v.map(String) : null);

/** Go's `omitempty`: the key is left out when its value is the type's zero value (false, 0, "", nil, empty map). */
function omitEmpty(o: Obj): Obj {
  for (const [k, v] of Object.entries(o)) {
    if (v === false || v === 0 || v === '' || v === null || v === undefined || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as Obj).length === 0)) delete o[k];
  }
  return o;
}

/** A Go map: keys sorted (byte order), each value encoded; nil (absent) → null. */
function goMap<T>(m: Record<string, T> | null | undefined, enc: (v: T) => Json): Obj | null {
  if (!m) return null;
  const out: Obj = {};
  for (const k of Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = enc(m[k]);
  return out;
}

/** ours, after upstream's fields, only when set */
function withOurs(base: Obj, ours: Obj): Obj {
  for (const [k, v] of Object.entries(ours)) if (v !== undefined) base[k] = v;
  return base;
}

function prowJob(p: ProwJobRef | null | undefined): Obj | null {
  return p ? { name: str(p.name) } : null;
}

/** §1.6: candidate, prerelease, release (the Go field "Official"). */
function upgradeRelease(u: UpgradeRelease | null | undefined): Obj | null {
  if (!u) return null;
  const c = u.candidate;
  const p = u.prerelease;
  const r = u.release;
  // all three members are omitempty pointers
  return omitEmpty({
    candidate: c ? { stream: str(c.stream), version: str(c.version), ...omitEmpty({ relative: num(c.relative) }) } : null,
    prerelease: p ? { version_bounds: { lower: str(p.version_bounds?.lower), upper: str(p.version_bounds?.upper) } } : null,
    release: r ? { version: str(r.version), channel: str(r.channel), architecture: str(r.architecture) } : null,
  });
}

/** §1.3 ReleaseVerification, plus our `qe`. */
export function verificationWire(v: ReleaseVerification): Obj {
  const a = v.aggregatedProwJob;
  const out: Obj = {
    disabled: bool(v.disabled),
    optional: bool(v.optional),
    ...omitEmpty({ async: bool(v.async) }),
    upgrade: bool(v.upgrade),
    upgradeFrom: str(v.upgradeFrom),
    upgradeFromRelease: upgradeRelease(v.upgradeFromRelease),
    prowJob: prowJob(v.prowJob),
    ...omitEmpty({
      maxRetries: num(v.maxRetries),
      // a present aggregatedProwJob is kept even when both its (omitempty) members are empty: a non-nil pointer
      aggregatedProwJob: a ? omitEmpty({ prowJob: prowJob(a.prowJob), analysisJobCount: num(a.analysisJobCount) }) : null,
    }),
    multiJobAnalysis: bool(v.multiJobAnalysis),
    ...omitEmpty({ qualifiers: v.qualifiers ? goMap(v.qualifiers, (q) => q) : null }),
  };
  if (a && !('aggregatedProwJob' in out)) {
    // restore the key in its place: Go omits a nil pointer, not a pointer to a zero struct
    const ordered: Obj = {};
    for (const [k, val] of Object.entries(out)) {
      if (k === 'multiJobAnalysis') ordered.aggregatedProwJob = {};
      ordered[k] = val;
    }
    return withOurs(ordered, { qe: v.qe === undefined ? undefined : bool(v.qe) });
  }
  return withOurs(
    out,
    { qe: v.qe === undefined ? undefined : bool(v.qe) },
  );
}

/** §1.5 ReleasePeriodic. */
export function periodicWire(p: ReleasePeriodic): Obj {
  return {
    ...omitEmpty({ interval: str(p.interval), cron: str(p.cron) }),
    upgrade: bool(p.upgrade),
    upgradeFrom: str(p.upgradeFrom),
    upgradeFromRelease: upgradeRelease(p.upgradeFromRelease),
    prowJob: prowJob(p.prowJob),
  };
}

/** §1.7 ReleasePublish, plus our `on`. */
function publishWire(p: ReleasePublish): Obj {
  const i = p.imageStreamRef;
  const prev = (p.verifyIssues as { previousReleaseTag?: Record<string, unknown> | null } | null | undefined)?.previousReleaseTag;
  return withOurs(
    {
      disabled: bool(p.disabled),
      tagRef: p.tagRef ? { name: str(p.tagRef.name) } : null,
      imageStreamRef: i ? { name: str(i.name), namespace: str(i.namespace), tags: strList(i.tags), excludeTags: strList(i.excludeTags) } : null,
      verifyIssues: p.verifyIssues ? { previousReleaseTag: prev ? { namespace: str(prev.namespace), name: str(prev.name), tag: str(prev.tag) } : null } : null,
    },
    { on: p.on },
  );
}

/** §1.8 ReleaseCheck. */
function checkWire(c: ReleaseCheck): Obj {
  return { consistentImages: c.consistentImages ? { parent: str(c.consistentImages.parent) } : null };
}

/** §1.9 UpgradeVerification. */
function upgradeWire(u: UpgradeVerification): Obj {
  return { disabled: bool(u.disabled), prowJob: prowJob(u.prowJob) };
}

/** `expires` as Go's time.Duration integer: nanoseconds; unset, null or unparseable → 0. */
export function expiresNanos(expires: string | null | undefined): number {
  if (typeof expires !== 'string' || expires === '') return 0;
  try {
    return Math.round(parseDuration(expires) * 1e6);
  } catch {
    return 0;
  }
}

/** The whole ReleaseConfig (§1.2 order), plus ours (`qe`, `source`) when set. */
export function configWire(c: ReleaseConfig): Obj {
  const rr = c.referenceRelease;
  return withOurs(
    {
      name: str(c.name),
      message: str(c.message),
      hide: bool(c.hide),
      endOfLife: bool(c.endOfLife),
      as: str(c.as),
      to: str(c.to),
      maxUnreadyReleases: num(c.maxUnreadyReleases),
      minCreationIntervalSeconds: num(c.minCreationIntervalSeconds),
      referenceMode: str(c.referenceMode),
      pullSecretName: str(c.pullSecretName),
      mirrorPrefix: str(c.mirrorPrefix),
      overrideCLIImage: str(c.overrideCLIImage),
      expires: expiresNanos(c.expires),
      verify: goMap(c.verify, verificationWire),
      periodic: goMap(c.periodic, periodicWire),
      publish: goMap(c.publish, publishWire),
      check: goMap(c.check, checkWire),
      upgrade: goMap(c.upgrade, upgradeWire),
      alternateImageRepository: str(c.alternateImageRepository),
      alternateImageRepositorySecretName: str(c.alternateImageRepositorySecretName),
      referenceRelease: rr ? { pushRepository: str(rr.pushRepository), pullRepository: str(rr.pullRepository), secretName: str(rr.secretName) } : null,
      disableManifestListMode: bool(c.disableManifestListMode),
    },
    { qe: c.qe ? { gate: c.qe.gate ?? '', timeout: c.qe.timeout ?? '' } : undefined, source: c.source },
  );
}

export const CONFIG_JOB_TYPES = ['', 'informing', 'blocking', 'disabled', 'periodic', 'qe'] as const;

/**
 * The body of /config?jobType= (§6.8): `{}` for a stream without verify entries whatever jobType
 * says (upstream's quirk, kept on the wire: DESIGN §13 item 12); undefined for an unknown jobType.
 * QE entries (ours) are neither `blocking` nor `informing` — CI tooling that runs a payload's
 * blocking jobs must not run QE jobs — and are listed by `jobType=qe` (ours). `disabled` lists every
 * disabled entry, QE ones included, as upstream lists every disabled entry.
 */
export function configBody(c: ReleaseConfig, jobType: string): Json {
  const verify = c.verify ?? {};
  if (Object.keys(verify).length === 0) return {};
  const pick = (f: (v: ReleaseVerification) => boolean) => goMap(Object.fromEntries(Object.entries(verify).filter(([, v]) => f(v))), verificationWire);
  switch (jobType) {
    case '':
      return configWire(c);
    case 'informing':
      return pick((v) => !v.qe && Boolean(v.optional));
    case 'blocking':
      return pick((v) => !v.qe && !v.optional);
    case 'disabled':
      return pick((v) => Boolean(v.disabled));
    case 'qe':
      return pick((v) => Boolean(v.qe));
    case 'periodic':
      // Go encodes the nil map of a config without periodics as null
      return goMap(c.periodic, periodicWire);
    default:
      return undefined;
  }
}
