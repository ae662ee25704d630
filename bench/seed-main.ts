// Seeds a benchmark state in its own process (bench/seed.ts through the real store) and writes
// what it seeded as JSON: `node --import tsx bench/seed-main.ts OUT.json sqlite:FILE|postgres://… OPTIONS_JSON`.
// The measuring process then opens the state as a production replica does, without the seeding's
// garbage in its heap: seeded in-process, a 2M-run state left ~1 GB of garbage whose major GCs fell
// into the measured resync and inflated RSS (resync 296 ms seeded in-process, ~100 ms opened fresh).
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { openPostgresStore } from '../src/adapters/store/postgres/index.ts';
import { openSqliteStore } from '../src/adapters/store/sqlite/index.ts';
import { bulkRunWriter } from './pg-helpers.ts';
import { seed, type SeedOptions } from './seed.ts';

const [out, target, optsJson] = process.argv.slice(2);
if (!out || !target || !optsJson) throw new Error('usage: seed-main.ts OUT.json sqlite:FILE|postgres://… OPTIONS_JSON');
const o = JSON.parse(optsJson) as SeedOptions;
const t0 = performance.now();
const postgres = target.startsWith('postgres://');
const store = postgres ? await openPostgresStore(target) : openSqliteStore(target.replace(/^sqlite:/, ''));
await store.migrate();
// PostgreSQL: job runs by multi-row INSERTs (pg-helpers.ts), not one row per statement
const writer = postgres ? await bulkRunWriter(target) : undefined;
const seeded = await seed(store, o, undefined, writer);
await writer?.close();
await store.close();
writeFileSync(out, JSON.stringify({ seeded, seedSeconds: (performance.now() - t0) / 1000 }));
