// A stream with release qualifiers for the API and console tests: verify entries naming
// qualifiers (one aggregated), two payloads with runs and team approvals, written through the real
// SQLite store on top of the API seed.
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { JobKind, JobRun, JobRunState, Payload } from '../../src/domain/types.ts';
import type { Store } from '../../src/ports/store.ts';
import { seedStore } from './api-seed.ts';
import { config } from './harness.ts';

export const STREAM = '4.18.0-0.nightly';
export const TAG = (n: number) => `${STREAM}-2024-06-0${n}-000000`;

export const QUALIFIERS = `qualifiers:
  fips:
    enabled: true
    badgeName: FIPS
    summary: FIPS validated
    payloadBadgeStatus: OnSuccess
    failureLabels: [fips-broken, needs-triage]
  rt:
    enabled: true
    badgeName: RT
    payloadBadgeStatus: OnFailure
    failureLabels: [needs-triage, rt-broken]
  trt:
    enabled: true
    approval: true
    badgeName: TRT
    payloadBadgeStatus: Yes
  unused:
    enabled: true
`;

const CONFIG = config({
  name: STREAM,
  to: 'release',
  verify: {
    'e2e-aws-fips': { prowJob: { name: 'periodic-e2e-aws-fips' }, qualifiers: { fips: {} } },
    'e2e-metal-fips': { optional: true, prowJob: { name: 'periodic-e2e-metal-fips' }, qualifiers: { fips: { badgeName: 'FIPS!' }, nope: { enabled: true } } },
    'e2e-rt': { prowJob: { name: 'periodic-e2e-rt' }, aggregatedProwJob: { analysisJobCount: 3 }, qualifiers: { rt: {} } },
    'e2e-gcp': { prowJob: { name: 'periodic-e2e-gcp' } },
  },
});

function payload(tag: string, annotations: Record<string, string> = {}): Payload {
  const at = '2024-06-01T00:00:00Z';
  return {
    stream: STREAM, tag, phase: 'Ready', createdAt: at, inputHash: `sha256:${tag}`, pullSpec: `registry.local/release:${tag}`, digest: '', components: {}, reason: '', message: '',
    annotations, override: null, qe: emptyQEStatus(), phaseChangedAt: at,
  };
}

let n = 0;
function run(tag: string, verifyName: string, kind: JobKind, state: JobRunState): JobRun {
  n++;
  return {
    id: `${tag}-${verifyName}-${n}`, stream: STREAM, tag, verifyName, jobName: `periodic-${verifyName}`, kind, attempt: 0, generation: 0, state, url: `https://prow.example/${n}`,
    upgradeFrom: '', upgradeFromPullSpec: '', createdAt: '2024-06-01T01:00:00Z', startedAt: '2024-06-01T01:00:00Z', finishedAt: state === 'Pending' ? null : '2024-06-01T02:00:00Z', reason: '', logPath: '',
  };
}

/** The API seed plus the qualifiers stream, in a migrated SQLite store in `dir`. */
export async function seedQualifiersStore(dir: string): Promise<Store> {
  const store = await seedStore(dir);
  await store.commit([
    { kind: 'putStream', stream: { name: STREAM, config: CONFIG, sourceFile: `${STREAM}.json`, input: inputStreamOf(CONFIG), errors: [], warnings: [], locked: false } },
    { kind: 'putPayload', payload: payload(TAG(1), { 'release.openshift.io/trt_state': 'Accepted' }) },
    { kind: 'putPayload', payload: payload(TAG(2), { 'release.openshift.io/trt_state': 'Rejected' }) },
    ...[
      run(TAG(1), 'e2e-aws-fips', 'blocking', 'Succeeded'),
      run(TAG(1), 'e2e-metal-fips', 'informing', 'Succeeded'),
      run(TAG(1), 'e2e-rt', 'aggregator', 'Failed'),
      run(TAG(1), 'e2e-rt', 'analysis', 'Succeeded'),
      run(TAG(1), 'e2e-rt', 'analysis', 'Failed'),
      run(TAG(1), 'e2e-rt', 'analysis', 'Failed'),
      run(TAG(2), 'e2e-aws-fips', 'blocking', 'Succeeded'),
      run(TAG(2), 'e2e-metal-fips', 'informing', 'Pending'),
    ].map((r) => ({ kind: 'putJobRun' as const, run: r })),
  ]);
  return store;
}
