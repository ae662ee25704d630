// Seeded state for the HTTP API tests, written through the REAL SQLite store: a QE nightly stream
// with runs, upgrades and component changes, a plain nightly, a Stable stream with promotion
// lineage, an end-of-life stream and an empty one. Reads come from State.fromSnapshot(store.load()).
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { OperationError, type Operations } from '../../src/controller/operations.ts';
import { State } from '../../src/controller/state.ts';
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Component, EventRecord, JobKind, JobRun, JobRunState, Payload, QEStatus, StreamRecord, UpgradeResult } from '../../src/domain/types.ts';
import { buildApp, type AppOptions } from '../../src/http/app.ts';
import type { JobExecutor, JobSpec, JobStatus, JobStatusListener } from '../../src/ports/executor.ts';
import type { Change, EventQuery, Store } from '../../src/ports/store.ts';
import { config } from './harness.ts';

export const NIGHTLY = '4.16.0-0.nightly';
export const PLAIN = '4.15.0-0.nightly';
export const STABLE = '4-stable';
export const EOL = '4.14.0-0.nightly';
export const EMPTY = '4.17.0-0.ci';

export const T = (day: number) => `${NIGHTLY}-2024-05-0${day}-000000`;
export const P = (day: number) => `${PLAIN}-2024-04-0${day}-000000`;
const at = (date: string, h = 0) => `${date}T${String(h).padStart(2, '0')}:00:00Z`;
const dateOf = (tag: string) => /(\d{4}-\d{2}-\d{2})-\d{6}$/.exec(tag)![1];

export const CONFIGS = {
  [NIGHTLY]: config({
    name: NIGHTLY,
    to: 'release',
    source: 'ocp-4.16',
    message: 'Nightly builds of **4.16** — see <https://docs.example.com> & ask',
    qe: { gate: 'InformingPassed', timeout: '24h' },
    publish: { tag: { tagRef: { name: '4.16' } } },
    verify: {
      'aws-serial': { maxRetries: 2, prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-e2e-aws-serial' } },
      gcp: { optional: true, prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-e2e-gcp' } },
      agent: { optional: true, async: true, prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-e2e-agent' } },
      'upgrade-minor': { optional: true, upgrade: true, upgradeFrom: 'PreviousMinor', prowJob: { name: 'periodic-ci-openshift-release-master-nightly-4.16-upgrade-from-stable-4.15-e2e-aws' } },
      'qe-e2e': { qe: true, prowJob: { name: 'periodic-ci-openshift-openshift-tests-private-release-4.16-e2e-aws' } },
      'old-job': { disabled: true, prowJob: { name: 'periodic-ci-old' } },
    },
    periodic: { 'upgrade-nightly': { interval: '6h', upgrade: true, prowJob: { name: 'periodic-ci-upgrade' } } },
  }),
  [PLAIN]: config({ name: PLAIN, to: 'release', source: 'ocp-4.15' }),
  [STABLE]: config({ name: STABLE, as: 'Stable', to: 'release' }),
  [EOL]: config({ name: EOL, to: 'release', endOfLife: true, verify: { 'aws': { prowJob: { name: 'periodic-aws' } } } }),
  [EMPTY]: config({ name: EMPTY, to: 'release', expires: '72h', verify: { 'e2e-aws': { prowJob: { name: 'periodic-e2e-aws' } }, 'e2e-gcp': { optional: true, prowJob: { name: 'periodic-e2e-gcp' } } } }),
};

export function streamRecord(name: keyof typeof CONFIGS): StreamRecord {
  const c = CONFIGS[name];
  return { name, config: c, sourceFile: `${name}.json`, input: inputStreamOf(c), errors: [], warnings: [], locked: false };
}

const REPO = 'https://github.com/openshift';
function comp(name: string, digestChar: string, commit: string, repo = name): Component {
  return {
    pullSpec: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${digestChar.repeat(64)}`,
    labels: { 'io.openshift.build.commit.id': commit, 'io.openshift.build.source-location': `${REPO}/${repo}` },
  };
}

function payload(stream: string, tag: string, phase: Payload['phase'], qe: Partial<QEStatus> = {}, extra: Partial<Payload> = {}): Payload {
  const createdAt = extra.createdAt ?? at(dateOf(tag));
  return {
    stream, tag, phase, createdAt, inputHash: `sha256:${tag}`, pullSpec: `registry.local/release:${tag}`, digest: `sha256:${Buffer.from(tag).toString('hex').padEnd(64, '0').slice(0, 64)}`,
    components: {}, reason: '', message: '', annotations: {}, override: null, qe: { ...emptyQEStatus(), ...qe }, phaseChangedAt: createdAt, ...extra,
  };
}

let runCounter = 0;
function run(p: Payload, verifyName: string, kind: JobKind, attempt: number, state: JobRunState, extra: Partial<JobRun> = {}): JobRun {
  runCounter++;
  const id = `${p.tag}-${verifyName}${attempt ? `-${attempt}` : ''}${extra.generation ? `-g${extra.generation}` : ''}`;
  const started = at(dateOf(p.tag), 1 + attempt);
  return {
    id, stream: p.stream, tag: p.tag, verifyName, jobName: `periodic-${verifyName}`, kind, attempt, generation: 0, state,
    url: `https://prow.ci.openshift.org/view/gs/test-platform-results/logs/periodic-${verifyName}/17${String(runCounter).padStart(8, '0')}`,
    upgradeFrom: '', upgradeFromPullSpec: '', createdAt: started, startedAt: started, finishedAt: state === 'Pending' ? null : at(dateOf(p.tag), 2 + attempt), reason: '', logPath: '',
    ...extra,
  };
}

const qeStarted = (tag: string) => {
  const startedAt = at(dateOf(tag), 5);
  return { startedAt, deadline: new Date(Date.parse(startedAt) + 24 * 3_600_000).toISOString().replace('.000Z', 'Z'), jobs: ['qe-e2e'] };
};

/** The seeded payloads, by tag. */
export const PAYLOADS = (() => {
  const base = { cli: comp('cli', 'a', 'a0c13fc4b7112da787fb93d7ecb2f10f8a0cbb0c', 'oc'), installer: comp('installer', 'b', '5cc9607ca5e8154e4683fde764136fbe99a2c149'), gone: comp('gone', 'c', 'ccccccccccccccccccccccccccccccccccccccc1'), same: comp('same', 'd', 'dddddddddddddddddddddddddddddddddddddd12') };
  const next = { cli: comp('cli', 'e', '983567b394f8d1efcc9c938b01af30d173c8fc5d', 'oc'), installer: comp('installer', 'f', '5cc9607ca5e8154e4683fde764136fbe99a2c149'), fresh: comp('fresh', '1', '1111111111111111111111111111111111111111'), same: base.same };
  const list: Payload[] = [
    payload(NIGHTLY, T(1), 'Accepted', { state: 'QEAccepted', reason: 'QEJobsPassed', ...qeStarted(T(1)) }, { components: base }),
    payload(NIGHTLY, T(2), 'Rejected', { state: 'QESkipped', reason: 'PayloadRejected' }, { components: base, reason: 'VerificationFailed', message: 'release verification failed: aws-serial' }),
    payload(NIGHTLY, T(3), 'Accepted', { state: 'QERejected', reason: 'QEJobsFailed', message: 'QE jobs failed: qe-e2e', ...qeStarted(T(3)) }, { components: next }),
    payload(NIGHTLY, T(4), 'Accepted', { state: 'QEAccepted', reason: 'QEJobsPassed', ...qeStarted(T(4)) }, { components: next }),
    payload(NIGHTLY, T(5), 'Accepted', { state: 'QERunning', ...qeStarted(T(5)) }, { components: next }),
    payload(NIGHTLY, T(6), 'Ready', { state: 'QEPending' }, { components: next }),
    payload(NIGHTLY, T(7), 'Failed', { state: 'QESkipped', reason: 'PayloadFailed' }, { reason: 'CreateReleaseFailed', message: 'could not build' }),
    payload(PLAIN, P(1), 'Accepted'),
    payload(PLAIN, P(2), 'Rejected'),
    payload(PLAIN, P(3), 'Accepted'),
    payload(STABLE, '4.15.3', 'Accepted', {}, { createdAt: at('2024-03-01'), pullSpec: 'quay.io/openshift-release-dev/ocp-release:4.15.3-x86_64' }),
    payload(STABLE, '4.15.10', 'Accepted', {}, { createdAt: at('2024-04-20'), pullSpec: 'quay.io/openshift-release-dev/ocp-release:4.15.10-x86_64' }),
    payload(STABLE, '4.16.0-rc.1', 'Accepted', {}, { createdAt: at('2024-05-01', 12), annotations: { 'release.openshift.io/from-tag': T(1) }, pullSpec: 'quay.io/openshift-release-dev/ocp-release:4.16.0-rc.1-x86_64' }),
    payload(EOL, `${EOL}-2024-01-01-000000`, 'Accepted'),
  ];
  return new Map(list.map((p) => [p.tag, p]));
})();

export const pl = (tag: string) => PAYLOADS.get(tag)!;

export const RUNS: JobRun[] = [
  run(pl(T(3)), 'aws-serial', 'blocking', 0, 'Failed'),
  run(pl(T(3)), 'aws-serial', 'blocking', 1, 'Failed'),
  run(pl(T(3)), 'aws-serial', 'blocking', 2, 'Succeeded'),
  run(pl(T(3)), 'gcp', 'informing', 0, 'Failed'),
  run(pl(T(3)), 'agent', 'informing', 0, 'Pending'),
  run(pl(T(3)), 'upgrade-minor', 'upgrade', 0, 'Succeeded', { upgradeFrom: '4.15.10', upgradeFromPullSpec: 'quay.io/openshift-release-dev/ocp-release:4.15.10-x86_64' }),
  run(pl(T(3)), 'qe-e2e', 'qe', 0, 'Failed'),
  run(pl(T(4)), 'aws-serial', 'blocking', 0, 'Succeeded'),
  run(pl(T(4)), 'gcp', 'informing', 0, 'Succeeded'),
  run(pl(T(4)), 'qe-e2e', 'qe', 0, 'Succeeded'),
  run(pl(T(5)), 'aws-serial', 'blocking', 0, 'Succeeded'),
  run(pl(T(5)), 'gcp', 'informing', 0, 'Succeeded'),
  run(pl(T(5)), 'qe-e2e', 'qe', 0, 'Pending'),
  run(pl(T(2)), 'aws-serial', 'blocking', 0, 'Failed'),
  run(pl(T(2)), 'aws-serial', 'blocking', 1, 'Failed'),
  run(pl(T(2)), 'aws-serial', 'blocking', 2, 'Failed'),
];

export const UPGRADES: UpgradeResult[] = [
  { from: '4.15.10', to: T(3), url: RUNS[5].url, state: 'Succeeded', runId: RUNS[5].id },
  { from: '4.15.3', to: T(3), url: 'https://prow.example/u/1', state: 'Failed', runId: 'u1' },
  { from: '4.15.3', to: T(3), url: 'https://prow.example/u/2', state: 'Succeeded', runId: 'u2' },
  { from: T(3), to: T(5), url: 'https://prow.example/u/3', state: 'Succeeded', runId: 'u3' },
  { from: '4.15.10', to: T(4), url: 'https://prow.example/u/4', state: 'Succeeded', runId: 'u4' },
  { from: '4.15.10', to: T(4), url: 'https://prow.example/u/5', state: 'Succeeded', runId: 'u5' },
  { from: '4.15.3', to: T(4), url: 'https://prow.example/u/6', state: 'Failed', runId: 'u6' },
  { from: '4.15.3', to: T(4), url: 'https://prow.example/u/7', state: 'Pending', runId: 'u7' },
];

export function seedChanges(): Change[] {
  const out: Change[] = [];
  for (const name of Object.keys(CONFIGS) as (keyof typeof CONFIGS)[]) out.push({ kind: 'putStream', stream: streamRecord(name) });
  for (const p of PAYLOADS.values()) out.push({ kind: 'putPayload', payload: p });
  for (const r of RUNS) out.push({ kind: 'putJobRun', run: r });
  for (const u of UPGRADES) out.push({ kind: 'putUpgrade', result: u });
  out.push({ kind: 'putPublished', ref: { stream: NIGHTLY, name: '4.16', tag: T(1), updatedAt: at('2024-05-01', 6) } });
  for (const p of PAYLOADS.values()) {
    out.push({ kind: 'appendEvent', event: { at: p.createdAt, stream: p.stream, tag: p.tag, type: 'PayloadCreated', actor: 'controller', message: `${p.tag} created`, data: { phase: 'Pending' } } });
  }
  return out;
}

/** `buildApp(o)` listening on a free port of 127.0.0.1. */
export async function listenApp(o: AppOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app = await buildApp(o);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as { port: number }).port };
}

/** A migrated SQLite store in `dir` holding the seed. */
export async function seedStore(dir: string): Promise<Store> {
  const store = openSqliteStore(join(dir, 'rc.db'));
  await store.migrate();
  await store.commit(seedChanges());
  return store;
}

/**
 * Operations for read tests: the state loaded back from the store; events from the store; writes
 * are refused (read tests never write). `emit` feeds subscribers, as the controller does.
 */
export class ReadOps implements Operations {
  private readonly listeners = new Set<(e: EventRecord) => void>();
  constructor(
    readonly state: State,
    private readonly store: Store,
  ) {}
  static async load(store: Store): Promise<ReadOps> {
    return new ReadOps(State.fromSnapshot(await store.load()), store);
  }
  private refuse(): never {
    throw new OperationError('conflict', 'read-only test operations');
  }
  async setInputTags(): Promise<void> {
    this.refuse();
  }
  async overridePhase(): Promise<void> {
    this.refuse();
  }
  async qeVerdict(): Promise<void> {
    this.refuse();
  }
  async qeRerun(): Promise<void> {
    this.refuse();
  }
  async retryJob(): Promise<void> {
    this.refuse();
  }
  async waiveJob(): Promise<void> {
    this.refuse();
  }
  async teamApproval(): Promise<void> {
    this.refuse();
  }
  async keep(): Promise<void> {
    this.refuse();
  }
  async lock(): Promise<void> {
    this.refuse();
  }
  async pin(): Promise<void> {
    this.refuse();
  }
  async unpin(): Promise<void> {
    this.refuse();
  }
  async poke(): Promise<string> {
    this.refuse();
  }
  async prune(): Promise<void> {
    this.refuse();
  }
  async promote(): Promise<void> {
    this.refuse();
  }
  listEvents(q: EventQuery): Promise<EventRecord[]> {
    return this.store.listEvents(q);
  }
  subscribe(listener: (e: EventRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(e: EventRecord): void {
    for (const l of this.listeners) l(e);
  }
  listenerCount(): number {
    return this.listeners.size;
  }
  ready(): boolean {
    return true;
  }
}

/** An executor that accepts every launch and never finishes a run (the HTTP tests need no jobs). */
export class IdleExecutor implements JobExecutor {
  readonly launched: string[] = [];
  async launch(spec: JobSpec): Promise<JobStatus> {
    this.launched.push(spec.runId);
    return { runId: spec.runId, state: 'Pending', reason: '', url: `https://prow.example/${spec.runId}`, logPath: '', startedAt: new Date().toISOString(), finishedAt: null };
  }
  async adopt(): Promise<'unknown'> {
    return 'unknown';
  }
  async cancel(): Promise<void> {}
  onStatus(_l: JobStatusListener): void {}
  async shutdown(): Promise<void> {}
}

/** The real Controller over the seeded store (not started: writes reconcile on demand). */
export async function seededController(dir: string): Promise<{ controller: Controller; store: Store; executor: IdleExecutor }> {
  const store = await seedStore(dir);
  const executor = new IdleExecutor();
  const controller = await Controller.create({
    store,
    executor,
    builder: { build: async (r) => ({ ok: true, pullSpec: `${r.repository}@sha256:${'0'.repeat(64)}`, digest: `sha256:${'0'.repeat(64)}` }) },
    streams: (Object.keys(CONFIGS) as (keyof typeof CONFIGS)[]).map((name) => ({ name, config: CONFIGS[name], file: `${name}.json`, input: inputStreamOf(CONFIGS[name]) })),
    resyncMs: 0,
  });
  return { controller, store, executor };
}
