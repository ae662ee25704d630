#!/usr/bin/env node
// `npm run torture [-- --long] [-- --kills N] [-- --seed S]`: the kill loop
// (test/reliability/kill-loop.test.ts) on its own, 10 SIGKILLs by default, 100 with --long.
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { long: { type: 'boolean' }, kills: { type: 'string' }, seed: { type: 'string' } } });
const kills = values.kills ?? (values.long ? '100' : '10');
if (!/^\d+$/.test(kills) || Number(kills) < 1) {
  console.error(`--kills ${kills}: must be a positive integer`);
  process.exit(2);
}
const env = { ...process.env, KILL_LOOP_KILLS: kills, KILL_LOOP_SEED: values.seed ?? 'random' };
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/reliability/kill-loop.test.ts'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
