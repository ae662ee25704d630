// A realistic, deterministic in-memory state for console tests, screenshots and the render
// benchmark: a nightly stream with QE jobs (many payloads, ~40 runs each), a CI stream, a Stable
// stream, a hidden stream and an end-of-life one. Pure data; no I/O.
import { ReleaseConfigSchema, type ReleaseConfig } from '../../domain/config/schema.ts';
import { releaseTagName, rfc3339 } from '../../domain/tagname.ts';
import type { Component, JobRun, Payload, QEStatus, StreamRecord, UpgradeResult } from '../../domain/types.ts';
import type { Snapshot } from '../../ports/store.ts';
import { mulberry32 } from '../../domain/random.ts';

function hex(r: () => number, n: number): string {
  let s = '';
  while (s.length < n) s += Math.floor(r() * 16).toString(16);
  return s;
}

const BLOCKING = ['aws-ovn', 'aws-ovn-serial', 'gcp-ovn', 'azure-ovn', 'metal-ipi-ovn', 'hypershift-ovn-conformance', 'aws-ovn-fips', 'vsphere-ovn'];
const INFORMING = [
  'aws-ovn-techpreview', 'aws-ovn-single-node', 'azure-ovn-serial', 'gcp-ovn-rt', 'gcp-ovn-techpreview', 'metal-ipi-ovn-ipv6', 'metal-ipi-ovn-dualstack',
  'ovirt-ovn', 'openstack-ovn', 'ibmcloud-ovn', 'nutanix-ovn', 'alibaba-ovn', 'aws-ovn-cgroupsv1', 'aws-csi',
];
const ASYNC = ['vsphere-ovn-upi-async', 'azure-ovn-upgrade-async'];
const UPGRADES = ['aws-ovn-upgrade-micro', 'gcp-ovn-upgrade-minor'];
const AGGREGATED = 'aggregated-aws-ovn-upgrade-micro';
const QE = ['qe-e2e-aws-ipi', 'qe-e2e-gcp-upi', 'qe-e2e-azure-ipi'];
const QE_OPTIONAL = 'qe-upgrade-aws';
const COMPONENTS = ['cli', 'installer', 'cluster-version-operator', 'machine-config-operator', 'cluster-network-operator', 'hyperkube', 'console', 'etcd', 'oauth-server', 'ingress-operator'];

export function nightlyConfig(name = '4.18.0-0.nightly', extra: Partial<ReleaseConfig> = {}): ReleaseConfig {
  const verify: Record<string, unknown> = {};
  const job = (n: string) => ({ name: `periodic-ci-openshift-release-master-nightly-4.18-e2e-${n}` });
  for (const n of BLOCKING) verify[n] = { maxRetries: n.endsWith('serial') ? 2 : 0, prowJob: job(n) };
  for (const n of INFORMING) verify[n] = { optional: true, prowJob: job(n) };
  for (const n of ASYNC) verify[n] = { optional: true, async: true, prowJob: job(n) };
  for (const n of UPGRADES) verify[n] = { upgrade: true, optional: n.includes('minor'), maxRetries: 1, prowJob: job(n) };
  verify[AGGREGATED] = { upgrade: true, prowJob: job('aws-ovn-upgrade'), aggregatedProwJob: { analysisJobCount: 5 } };
  for (const n of QE) verify[n] = { qe: true, maxRetries: 1, prowJob: { name: `periodic-ci-openshift-openshift-tests-private-release-4.18-amd64-nightly-${n}` } };
  verify[QE_OPTIONAL] = { qe: true, optional: true, upgrade: true, prowJob: { name: 'periodic-ci-openshift-openshift-tests-private-release-4.18-amd64-nightly-aws-upgrade' } };
  return ReleaseConfigSchema.parse({
    name,
    to: 'release',
    message: 'Nightly payloads of **OpenShift 4.18**: blocking, informing, upgrade and QE jobs. See [release types](https://docs.example.com/release-types).',
    mirrorPrefix: '4.18-art-latest',
    expires: '336h',
    maxUnreadyReleases: 2,
    publish: { tag: { tagRef: { name: '4.18' } }, 'qe-accepted': { tagRef: { name: '4.18-qe-accepted' }, on: 'QEAccepted' } },
    verify,
    qe: { gate: 'InformingPassed', timeout: '12h' },
    ...extra,
  });
}

function record(config: ReleaseConfig, input: string): StreamRecord {
  return { name: config.name, config, sourceFile: `${config.name}.json`, input, errors: [], warnings: [], locked: false };
}

function emptyQE(): QEStatus {
  return { state: '', reason: '', message: '', startedAt: null, deadline: null, generation: 0, jobs: [], override: null };
}

export interface SampleOptions {
  /** payloads of the nightly stream (default 60) */
  payloads?: number;
  /** ms since epoch of "now" (default 2025-03-01T12:00:00Z) */
  now?: number;
  /** minutes between nightly payloads (default 45) */
  spacingMinutes?: number;
  seed?: number;
  /** also add the CI, Stable, hidden and end-of-life streams (default true) */
  otherStreams?: boolean;
}

export const SAMPLE_NOW = Date.parse('2025-03-01T12:00:00Z');

interface Builder {
  payloads: Payload[];
  runs: JobRun[];
  upgrades: UpgradeResult[];
}

function makeRun(p: Payload, verifyName: string, kind: JobRun['kind'], attempt: number, state: JobRun['state'], start: number, minutes: number, extra: Partial<JobRun> = {}): JobRun {
  const id = `${p.tag}-${verifyName}${attempt > 0 ? `-${attempt}` : ''}${extra.id ?? ''}`;
  const startedAt = rfc3339(new Date(start));
  return {
    id,
    stream: p.stream,
    tag: p.tag,
    verifyName,
    jobName: `periodic-ci-openshift-release-master-nightly-4.18-e2e-${verifyName}`,
    kind,
    attempt,
    generation: 0,
    state,
    url: `/logs/${id}`,
    upgradeFrom: '',
    upgradeFromPullSpec: '',
    createdAt: startedAt,
    startedAt,
    finishedAt: state === 'Pending' ? null : rfc3339(new Date(start + minutes * 60_000)),
    reason: state === 'Failed' ? 'Failed' : '',
    logPath: `/var/lib/release-controller/runs/${id}/log`,
    ...extra,
    ...(extra.id ? { id } : {}),
  };
}

function buildStream(b: Builder, rec: StreamRecord, count: number, now: number, spacingMin: number, r: () => number, withQE: boolean): void {
  const comps: Record<string, Component> = {};
  for (const c of COMPONENTS) {
    comps[c] = {
      pullSpec: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${hex(r, 64)}`,
      labels: { 'io.openshift.build.commit.id': hex(r, 40), 'io.openshift.build.source-location': `https://github.com/openshift/${c}` },
    };
  }
  const created: Payload[] = [];
  let lastAccepted: Payload | null = null;
  for (let i = count - 1; i >= 0; i--) {
    const at = new Date(now - i * spacingMin * 60_000 - 5 * 60_000);
    // each payload changes one or two components
    for (let k = 0; k < 1 + Math.floor(r() * 2); k++) {
      const c = COMPONENTS[Math.floor(r() * COMPONENTS.length)];
      comps[c] = { pullSpec: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${hex(r, 64)}`, labels: { ...comps[c].labels, 'io.openshift.build.commit.id': hex(r, 40) } };
    }
    const tag = releaseTagName(rec.name, at);
    const newest = i === 0;
    const second = i === 1;
    const roll = r();
    const phase: Payload['phase'] = newest ? 'Pending' : second ? 'Ready' : roll < 0.04 ? 'Failed' : roll < 0.3 ? 'Rejected' : 'Accepted';
    const digest = hex(r, 64);
    const p: Payload = {
      stream: rec.name,
      tag,
      phase,
      createdAt: rfc3339(at),
      inputHash: hex(r, 16),
      pullSpec: phase === 'Pending' || phase === 'Failed' ? '' : `registry.ci.openshift.org/ocp/release@sha256:${digest}`,
      digest: phase === 'Pending' || phase === 'Failed' ? '' : `sha256:${digest}`,
      components: { ...comps },
      reason: phase === 'Rejected' ? 'VerificationFailed' : phase === 'Failed' ? 'CreateReleaseFailed' : '',
      message: phase === 'Rejected' ? 'release verification failed: aws-ovn-serial' : phase === 'Failed' ? 'component etcd: manifest unknown' : '',
      annotations: {},
      override: null,
      qe: emptyQE(),
      phaseChangedAt: rfc3339(new Date(Math.min(at.getTime() + 3 * 3600_000, now - 60_000))),
    };
    if (phase === 'Accepted' && r() < 0.03) p.override = { phase: 'Accepted', reason: 'Known flake in aws-ovn-serial, see https://issues.example.com/browse/OCPBUGS-1', user: 'alice', at: p.phaseChangedAt };
    if (i === 7) p.annotations['release.openshift.io/keep'] = 'true';
    created.push(p);
    if (phase === 'Pending' || phase === 'Failed') continue;
    const t0 = Math.min(at.getTime() + 10 * 60_000, now - 20 * 60_000);
    const runState = (fail: number): JobRun['state'] => (second ? (r() < 0.5 ? 'Pending' : 'Succeeded') : r() < fail ? 'Failed' : 'Succeeded');
    for (const n of BLOCKING) {
      const rejectedBy = phase === 'Rejected' && n === 'aws-ovn-serial';
      if (n.endsWith('serial')) {
        const first = rejectedBy || r() < 0.3 ? 'Failed' : runState(0);
        b.runs.push(makeRun(p, n, 'blocking', 0, first, t0, 80));
        if (first === 'Failed') {
          b.runs.push(makeRun(p, n, 'blocking', 1, rejectedBy ? 'Failed' : 'Succeeded', t0 + 90 * 60_000, 75));
          if (rejectedBy) b.runs.push(makeRun(p, n, 'blocking', 2, 'Failed', t0 + 170 * 60_000, 70, { reason: 'Timeout' }));
        }
      } else b.runs.push(makeRun(p, n, 'blocking', 0, phase === 'Accepted' || phase === 'Rejected' ? 'Succeeded' : runState(0), t0, 60 + Math.floor(r() * 60)));
    }
    for (const n of INFORMING) b.runs.push(makeRun(p, n, 'informing', 0, runState(0.12), t0, 50 + Math.floor(r() * 90)));
    for (const n of ASYNC) b.runs.push(makeRun(p, n, 'informing', 0, runState(0.2), t0, 120));
    for (const n of UPGRADES) {
      const from = lastAccepted;
      if (!from) {
        b.runs.push(makeRun(p, n, 'upgrade', 0, 'Succeeded', t0, 0, { reason: 'NoUpgradeSource: no Accepted payload in the stream', url: '', logPath: '' }));
        continue;
      }
      const run = makeRun(p, n, 'upgrade', 0, runState(0.15), t0, 95, { upgradeFrom: from.tag, upgradeFromPullSpec: from.pullSpec });
      b.runs.push(run);
      if (run.state !== 'Pending') b.upgrades.push({ from: from.tag, to: p.tag, url: run.url, state: run.state === 'Succeeded' ? 'Succeeded' : 'Failed', runId: run.id });
    }
    for (let k = 0; k < 5; k++) b.runs.push(makeRun(p, AGGREGATED, 'analysis', 0, runState(0.2), t0, 90, { id: `-analysis-${k}`, upgradeFrom: lastAccepted?.tag ?? '' }));
    if (!second) b.runs.push(makeRun(p, AGGREGATED, 'aggregator', 0, 'Succeeded', t0 + 100 * 60_000, 5, { id: '-aggregator', jobName: 'release-openshift-release-analysis-aggregator' }));
    if (withQE && phase === 'Accepted') {
      const q0 = Math.min(t0 + 4 * 3600_000, now - 30 * 60_000);
      const qr = r();
      const recent = i < 4;
      const qeState: QEStatus['state'] = recent ? 'QERunning' : qr < 0.15 ? 'QESkipped' : qr < 0.35 ? 'QERejected' : 'QEAccepted';
      p.qe = {
        ...emptyQE(),
        state: qeState,
        reason: qeState === 'QESkipped' ? 'InformingJobsFailed' : qeState === 'QERejected' ? 'QEJobsFailed' : qeState === 'QEAccepted' ? 'QEJobsPassed' : '',
        message: qeState === 'QESkipped' ? 'informing jobs failed: aws-csi' : qeState === 'QERejected' ? 'QE jobs failed: qe-e2e-gcp-upi' : '',
        startedAt: qeState === 'QESkipped' ? null : rfc3339(new Date(q0)),
        deadline: qeState === 'QESkipped' ? null : rfc3339(new Date(q0 + 12 * 3600_000)),
        jobs: qeState === 'QESkipped' ? [] : [...QE, QE_OPTIONAL].sort(),
      };
      if (qeState !== 'QESkipped') {
        for (const n of [...QE, QE_OPTIONAL]) {
          const st: JobRun['state'] = recent ? (r() < 0.5 ? 'Pending' : 'Succeeded') : qeState === 'QERejected' && n === 'qe-e2e-gcp-upi' ? 'Failed' : 'Succeeded';
          b.runs.push(makeRun(p, n, 'qe', 0, st, q0, recent ? 20 : 120, { jobName: `periodic-ci-openshift-openshift-tests-private-release-4.18-amd64-nightly-${n}` }));
          if (st === 'Failed') b.runs.push(makeRun(p, n, 'qe', 1, 'Failed', q0 + 130 * 60_000, 110, { jobName: `periodic-ci-openshift-openshift-tests-private-release-4.18-amd64-nightly-${n}` }));
        }
      }
    }
    if (phase === 'Accepted') lastAccepted = p;
  }
  b.payloads.push(...created);
}

export function sampleSnapshot(o: SampleOptions = {}): Snapshot {
  const now = o.now ?? SAMPLE_NOW;
  const r = mulberry32(o.seed ?? 42);
  const b: Builder = { payloads: [], runs: [], upgrades: [] };
  const nightly = record(nightlyConfig(), '4.18-art-latest');
  const streams: StreamRecord[] = [nightly];
  buildStream(b, nightly, o.payloads ?? 60, now, o.spacingMinutes ?? 45, r, true);
  if (o.otherStreams !== false) {
    const ci = record(nightlyConfig('4.18.0-0.ci', { message: undefined, verify: { 'aws-ovn': { prowJob: { name: 'periodic-ci-e2e-aws-ovn' } }, 'gcp-ovn': { optional: true, prowJob: { name: 'periodic-ci-e2e-gcp-ovn' } } } as ReleaseConfig['verify'], qe: undefined, publish: { tag: { tagRef: { name: '4.18-ci' } } } }), '4.18');
    streams.push(ci);
    buildStream(b, ci, 12, now, 60, r, false);
    const older = record(nightlyConfig('4.17.0-0.nightly', { message: 'Nightly payloads of OpenShift 4.17.' }), '4.17-art-latest');
    streams.push(older);
    buildStream(b, older, 8, now, 180, r, true);
    streams.push(record(ReleaseConfigSchema.parse({ name: '4-stable', as: 'Stable', message: 'Official releases.' }), '4-stable'));
    streams.push(record(ReleaseConfigSchema.parse({ name: '4.18.0-0.okd', to: 'release-okd', hide: true }), 'okd-4.18'));
    streams.push(record(ReleaseConfigSchema.parse({ name: '4.10.0-0.nightly', to: 'release', endOfLife: true }), '4.10-art-latest'));
  }
  return { streams, inputTags: [], payloads: b.payloads, jobRuns: b.runs, upgrades: b.upgrades, published: [] };
}
