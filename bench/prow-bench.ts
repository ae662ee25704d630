// `node --import tsx bench/prow-bench.ts [--jobs N]`: controller overhead with N (default 2,000)
// simultaneous ProwJobs on the fake API server of test/helpers/fake-kube.ts, with a real
// Controller on SQLite and the real Prow executor. One payload whose config has N verify entries
// (all naming a real fixture periodic): every ProwJob is created (creates/s), then "Prow" finishes
// all of them at once (watch events/s until every result is recorded, and the latency from each
// ProwJob's status change to the run's recorded result: p50/p99), and the payload's verdict.
// Not part of the test suite: it prints figures.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalBuilder } from '../src/adapters/builder/local/index.ts';
import { ProwExecutor } from '../src/adapters/jobs/prow/index.ts';
import { loadKubeConfig } from '../src/adapters/kube/client.ts';
import { openSqliteStore } from '../src/adapters/store/sqlite/index.ts';
import { Controller } from '../src/controller/controller.ts';
import { ReleaseConfigSchema, inputStreamOf } from '../src/domain/config/schema.ts';
import { FakeKube, PROWJOBS } from '../test/helpers/fake-kube.ts';
import { cleanup, pullSpec, tempDir, waitFor } from '../test/helpers/harness.ts';

const i = process.argv.indexOf('--jobs');
const N = i > 0 ? Number(process.argv[i + 1]) : 2000;
const PERIODIC = 'periodic-ci-openshift-cluster-control-plane-machine-set-operator-release-4.16-periodics-e2e-aws';
const PROW_DIR = new URL('../test/fixtures/openshift-release/prowjobs/', import.meta.url).pathname;

const f = new FakeKube();
await f.start();
const dir = tempDir('rc-prow-bench-');
const verify: Record<string, unknown> = {};
for (let k = 0; k < N; k++) verify[`e2e-${String(k).padStart(4, '0')}`] = { prowJob: { name: PERIODIC } };
const cfg = ReleaseConfigSchema.parse({ name: '4.16.0-0.nightly', to: 'release', mirrorPrefix: '4.16-art-latest', minCreationIntervalSeconds: 0, verify });
const store = openSqliteStore(join(dir, 'rc.db'));
const kc = loadKubeConfig({ kubeconfig: f.writeKubeconfig(dir) });
const executor = new ProwExecutor({ kc, namespace: 'ci', prowJobsDir: PROW_DIR, watchConfig: false, maxCreatesPerSecond: 0 });
const passes: number[] = [];
const controller = await Controller.create({ onReconcile: (_s, sec) => passes.push(sec * 1000), store, executor, builder: new LocalBuilder(join(dir, 'payloads')), streams: [{ name: cfg.name, config: cfg, file: 'c.json', input: inputStreamOf(cfg) }], resyncMs: 0 });
await controller.start();
await executor.synced();
const ms = (v: number) => `${v.toFixed(1)} ms`;
try {
  const t0 = performance.now();
  await controller.setInputTags(inputStreamOf(cfg), { cli: pullSpec('cli') }, 'bench');
  await waitFor('all ProwJobs created', () => f.list(PROWJOBS).length >= N, 600_000, 20);
  const tCreated = performance.now();
  const p = controller.state.payloads(cfg.name)[0]!;
  // everything recorded Pending before the results come in
  await waitFor('all runs recorded', () => controller.state.runs(p.stream, p.tag).length >= N, 600_000, 20);
  const changedAt = new Map<string, number>();
  const recordedAt = new Map<string, number>();
  const runs = controller.state.runs(p.stream, p.tag);
  const passesBefore = passes.length;
  const tEvents = performance.now();
  for (const o of f.list(PROWJOBS)) {
    f.update(PROWJOBS, o.metadata.name, { status: { state: 'success', url: `https://prow.example/${o.metadata.name}`, completionTime: new Date().toISOString() } });
    changedAt.set(o.metadata.name, performance.now());
  }
  const tSent = performance.now();
  await waitFor('every result recorded', () => {
    const now = performance.now();
    for (const r of runs) if (!recordedAt.has(r.id) && controller.state.run(r.id)?.state === 'Succeeded') recordedAt.set(r.id, now);
    return recordedAt.size >= N;
  }, 600_000, 5);
  const tRecorded = performance.now();
  await waitFor('accepted', () => controller.state.payload(p.stream, p.tag)?.phase === 'Accepted', 600_000, 5);
  const tVerdict = performance.now();
  const lat = [...recordedAt].map(([id, t]) => t - changedAt.get(id)!).sort((a, b) => a - b);
  const q = (x: number) => lat[Math.min(lat.length - 1, Math.floor(x * lat.length))]!;
  console.log(`ProwJobs: ${N}`);
  console.log(`creates: ${(N / ((tCreated - t0) / 1000)).toFixed(0)}/s (${ms(tCreated - t0)} from the input change to the last create; ${ms((tCreated - t0) / N)} per launch)`);
  console.log(`watch events: ${(N / ((tRecorded - tEvents) / 1000)).toFixed(0)}/s recorded (${ms((tRecorded - tEvents) / N)} per status event; the fake server took ${ms(tSent - tEvents)} to apply them)`);
  console.log(`event → recorded result: p50 ${ms(q(0.5))}, p99 ${ms(q(0.99))}, max ${ms(lat[lat.length - 1]!)}`);
  console.log(`last event → verdict (Accepted): ${ms(tVerdict - tSent)}`);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  console.log(`reconcile passes of the stream: ${passesBefore} while creating (${ms(sum(passes.slice(0, passesBefore)))}), ${passes.length - passesBefore} while recording results (${ms(sum(passes.slice(passesBefore)))})`);
  console.log(`fake server: ${f.stats.connections} connections, ${f.stats.creates} creates, ${f.stats.lists} lists, ${f.stats.watches} watches, ${f.stats.gets} gets`);
} finally {
  await controller.stop();
  await executor.shutdown();
  await store.close();
  await f.stop();
  cleanup(dir);
}
