// Release stream config (upstream `ReleaseConfig`) plus our additions (qe, publish `on`, source).
// Declared once with zod; the TypeScript types are derived from the schemas.
// Unknown fields are kept (passthrough) so the validator can warn about them without losing data.
import { z } from 'zod';

export const QE_GATES = ['InformingPassed', 'InformingCompleted', 'Accepted'] as const;
export type QEGate = (typeof QE_GATES)[number];

export const VERIFY_UPGRADE_FROM = ['Previous', 'PreviousMinor', 'PreviousPatch'] as const;
export const PERIODIC_UPGRADE_FROM = ['Previous', 'PreviousMinus1', 'PreviousMinor', 'PreviousPatch'] as const;

const int = z.number().int();

export const ProwJobRefSchema = z.object({ name: z.string() }).passthrough();

export const UpgradeReleaseSchema = z
  .object({
    candidate: z
      .object({ stream: z.string(), version: z.string(), relative: int.optional() })
      .passthrough()
      .optional()
      .nullable(),
    prerelease: z
      .object({ version_bounds: z.object({ lower: z.string(), upper: z.string() }).passthrough() })
      .passthrough()
      .optional()
      .nullable(),
    release: z
      .object({ version: z.string(), channel: z.string(), architecture: z.string().optional() })
      .passthrough()
      .optional()
      .nullable(),
  })
  .passthrough();

export const AggregatedProwJobSchema = z
  .object({ prowJob: ProwJobRefSchema.optional().nullable(), analysisJobCount: int.optional() })
  .passthrough();

/** When a qualifier's badge shows at the payload level (upstream `PayloadBadgeStatus`). */
export const BADGE_STATUSES = ['Yes', 'No', 'OnSuccess', 'OnFailure'] as const;
export type BadgeStatus = (typeof BADGE_STATUSES)[number];

const enumOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { errorMap: (i) => ({ message: `must be one of ${values.join(', ')}${i.code === 'invalid_enum_value' ? ` (got ${JSON.stringify(i.received)})` : ''}` }) });
const str = z.string({ invalid_type_error: 'must be a string' });
const strList = z.array(str, { invalid_type_error: 'must be a list of strings' });

/** Upstream's qualifier notification settings (Jira escalations; parsed, merged, not sent here). */
const qualifierNotificationsShape = (strict: boolean) => {
  const obj = <S extends z.ZodRawShape>(shape: S) => (strict ? z.object(shape).strict() : z.object(shape).passthrough());
  const num = z.number({ invalid_type_error: 'must be an integer' }).int('must be an integer');
  const escalation = obj({
    name: str.optional(), failures: num.optional(), overLastRuns: num.optional().nullable(), passPercentage: num.optional().nullable(),
    overPeriod: str.optional(), priority: str.optional(), mentions: strList.optional().nullable(), needsInfo: strList.optional().nullable(),
  });
  const jira = obj({
    project: str.optional(), component: str.optional(), assignee: str.optional(), summary: str.optional(), description: str.optional(), thread: str.optional(),
    escalations: z.array(escalation, { invalid_type_error: 'must be a list of escalations' }).optional().nullable(),
  });
  return obj({ jira: jira.optional().nullable() });
};

/**
 * Upstream's `ReleaseQualifier`: in the qualifiers file (strict: an unknown field is an error) and
 * as a verify entry's per-job override (unknown fields kept, as upstream's JSON decoding ignores them).
 */
export const qualifierSchema = (strict: boolean) => {
  const bool = z.boolean({ invalid_type_error: 'must be true or false' });
  const shape = {
    enabled: bool.optional().nullable(),
    approval: bool.optional().nullable(),
    badgeName: str.optional(),
    summary: str.optional(),
    description: str.optional(),
    payloadBadgeStatus: enumOf(BADGE_STATUSES).optional(),
    failureLabels: strList.optional().nullable(),
    notifications: qualifierNotificationsShape(strict).optional().nullable(),
  };
  return strict ? z.object(shape, { invalid_type_error: 'must be a mapping' }).strict() : z.object(shape, { invalid_type_error: 'must be a mapping' }).passthrough();
};

export const ReleaseQualifierSchema = qualifierSchema(false);
export type ReleaseQualifier = z.infer<typeof ReleaseQualifierSchema>;

export const ReleaseVerificationSchema = z
  .object({
    disabled: z.boolean().optional(),
    optional: z.boolean().optional(),
    async: z.boolean().optional(),
    upgrade: z.boolean().optional(),
    upgradeFrom: z.string().optional(),
    upgradeFromRelease: UpgradeReleaseSchema.optional().nullable(),
    prowJob: ProwJobRefSchema.optional().nullable(),
    maxRetries: int.optional(),
    aggregatedProwJob: AggregatedProwJobSchema.optional().nullable(),
    multiJobAnalysis: z.boolean().optional(),
    qualifiers: z.record(ReleaseQualifierSchema).optional().nullable(),
    /** ours: a QE job (see DESIGN.md §6) */
    qe: z.boolean().optional(),
  })
  .passthrough();

export const ReleasePeriodicSchema = z
  .object({
    interval: z.string().optional(),
    cron: z.string().optional(),
    upgrade: z.boolean().optional(),
    upgradeFrom: z.string().optional(),
    upgradeFromRelease: UpgradeReleaseSchema.optional().nullable(),
    prowJob: ProwJobRefSchema.optional().nullable(),
  })
  .passthrough();

export const PUBLISH_ON = ['Accepted', 'QEAccepted'] as const;

export const ReleasePublishSchema = z
  .object({
    disabled: z.boolean().optional(),
    tagRef: z.object({ name: z.string() }).passthrough().optional().nullable(),
    imageStreamRef: z
      .object({
        name: z.string(),
        namespace: z.string().optional(),
        tags: z.array(z.string()).optional().nullable(),
        excludeTags: z.array(z.string()).optional().nullable(),
      })
      .passthrough()
      .optional()
      .nullable(),
    verifyIssues: z.record(z.unknown()).optional().nullable(),
    /** ours: which payloads this step follows (default Accepted) */
    on: z.enum(PUBLISH_ON).optional(),
  })
  .passthrough();

export const ReleaseCheckSchema = z
  .object({ consistentImages: z.object({ parent: z.string() }).passthrough().optional().nullable() })
  .passthrough();

export const UpgradeVerificationSchema = z
  .object({ disabled: z.boolean().optional(), prowJob: ProwJobRefSchema.optional().nullable() })
  .passthrough();

export const ReferenceReleaseSchema = z
  .object({
    pushRepository: z.string().optional(),
    pullRepository: z.string().optional(),
    secretName: z.string().optional(),
  })
  .passthrough();

export const QEConfigSchema = z
  .object({ gate: z.string().optional(), timeout: z.string().optional() })
  .passthrough();

export const ReleaseConfigSchema = z
  .object({
    name: z.string(),
    message: z.string().optional(),
    hide: z.boolean().optional(),
    endOfLife: z.boolean().optional(),
    as: z.string().optional(),
    to: z.string().optional(),
    maxUnreadyReleases: int.optional(),
    minCreationIntervalSeconds: int.optional(),
    referenceMode: z.string().optional(),
    pullSecretName: z.string().optional(),
    mirrorPrefix: z.string().optional(),
    overrideCLIImage: z.string().optional(),
    expires: z.string().optional().nullable(),
    verify: z.record(ReleaseVerificationSchema).optional().nullable(),
    periodic: z.record(ReleasePeriodicSchema).optional().nullable(),
    publish: z.record(ReleasePublishSchema).optional().nullable(),
    check: z.record(ReleaseCheckSchema).optional().nullable(),
    upgrade: z.record(UpgradeVerificationSchema).optional().nullable(),
    alternateImageRepository: z.string().optional(),
    alternateImageRepositorySecretName: z.string().optional(),
    referenceRelease: ReferenceReleaseSchema.optional().nullable(),
    disableManifestListMode: z.boolean().optional(),
    /** ours: QE gate and time limit */
    qe: QEConfigSchema.optional().nullable(),
    /** ours: the input stream this release stream is bound to */
    source: z.string().optional(),
  })
  .passthrough();

export type ProwJobRef = z.infer<typeof ProwJobRefSchema>;
export type UpgradeRelease = z.infer<typeof UpgradeReleaseSchema>;
export type ReleaseVerification = z.infer<typeof ReleaseVerificationSchema>;
export type ReleasePeriodic = z.infer<typeof ReleasePeriodicSchema>;
export type ReleasePublish = z.infer<typeof ReleasePublishSchema>;
export type ReleaseCheck = z.infer<typeof ReleaseCheckSchema>;
export type UpgradeVerification = z.infer<typeof UpgradeVerificationSchema>;
export type ReleaseConfig = z.infer<typeof ReleaseConfigSchema>;

/** The input stream a config is bound to (DESIGN.md §11): `source`, else `mirrorPrefix`, else `name`. */
export function inputStreamOf(config: Pick<ReleaseConfig, 'source' | 'mirrorPrefix' | 'name'>): string {
  return config.source || config.mirrorPrefix || config.name;
}

export function isStable(config: Pick<ReleaseConfig, 'as'>): boolean {
  return config.as === 'Stable';
}

/** The repository name a stream's payloads are pushed to under the registry: `to`; a Stable stream's own name (its input is itself); else `release`. */
export function targetRepositoryName(config: ReleaseConfig): string {
  return config.to || (isStable(config) ? config.name : 'release');
}

/** Verify entries that are QE jobs and not disabled. */
export function qeEntries(config: ReleaseConfig): readonly [string, ReleaseVerification][] {
  return entriesOf(config).qe;
}

/** Verify entries that take part in CI verification (not QE, not disabled), sorted by name. */
export function ciEntries(config: ReleaseConfig): readonly [string, ReleaseVerification][] {
  return entriesOf(config).ci;
}

/** the CI entries in the config's own order (as `verify` lists them) */
export function ciEntriesInOrder(config: ReleaseConfig): readonly [string, ReleaseVerification][] {
  return entriesOf(config).ciInOrder;
}

/**
 * A config's CI and QE entries, worked out once per config object (configs are never changed in
 * place; a reload or a payload's judging config is a new object): the planner asks for them for
 * every deciding payload on every pass.
 */
type Entries = readonly [string, ReleaseVerification][];
const entryLists = new WeakMap<ReleaseConfig, { ci: Entries; qe: Entries; ciInOrder: Entries }>();
function entriesOf(config: ReleaseConfig): { ci: Entries; qe: Entries; ciInOrder: Entries } {
  let e = entryLists.get(config);
  if (!e) {
    const byName = ([a]: [string, ReleaseVerification], [b]: [string, ReleaseVerification]) => (a < b ? -1 : a > b ? 1 : 0);
    const all = Object.entries(config.verify ?? {});
    const ciInOrder = all.filter(([, v]) => !v.qe && !v.disabled);
    e = { ci: [...ciInOrder].sort(byName), qe: all.filter(([, v]) => v.qe && !v.disabled).sort(byName), ciInOrder };
    entryLists.set(config, e);
  }
  return e;
}
