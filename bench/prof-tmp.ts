import { join } from 'node:path';
import { LocalBuilder } from '../src/adapters/builder/local/index.ts';
import { openSqliteStore } from '../src/adapters/store/sqlite/index.ts';
import { Controller } from '../src/controller/controller.ts';
import { ReportingExecutor } from './controller-bench.ts';
import { benchConfig, streamNames } from './seed.ts';
const dir = 'bench-output/state';
const store = openSqliteStore(join(dir, 'bench.db'));
const names = streamNames(200);
let t = performance.now();
const snap = await store.load({ activeRunsOnly: true });
console.log('store.load', (performance.now() - t).toFixed(0), 'ms', snap.payloads.length, 'payloads', snap.jobRuns.length, 'runs', snap.upgrades.length, 'upgrades');
t = performance.now();
const controller = await Controller.create({ store, executor: new ReportingExecutor(), builder: new LocalBuilder(join(dir, 'payloads')),
  streams: names.map((n, i) => { const c = benchConfig(n, i % 2 === 0, 'real'); return { name: n, config: c, file: `${n}.json`, input: n }; }), resyncMs: 0 });
console.log('create', (performance.now() - t).toFixed(0));
t = performance.now();
await controller.start();
console.log('start', (performance.now() - t).toFixed(0), 'rss', (process.memoryUsage().rss / 1048576).toFixed(0));
for (let k = 0; k < 3; k++) {
  t = performance.now();
  for (const n of names) await controller.reconcile(n);
  console.log('resync', (performance.now() - t).toFixed(0));
}
await controller.stop(); await store.close();
