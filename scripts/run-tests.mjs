#!/usr/bin/env node
// Finds every *.test.ts under test/ and runs them with node's test runner (tsx loader), in parallel.
// A test that runs over 10 minutes fails by name instead of holding the run until CI gives up.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
let files = find('test').sort();
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
// the release-controller command runs the sources under test, never a dist/ built earlier
const env = { ...process.env, RELEASE_CONTROLLER_SOURCES: process.env.RELEASE_CONTROLLER_SOURCES ?? '1' };
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=3', '--test-timeout=600000', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
