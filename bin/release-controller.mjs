#!/usr/bin/env node
// Runs the compiled JavaScript in dist/ (built by `npm ci` / `npm run build`) when it is current,
// and otherwise the TypeScript sources through tsx's loader: a checkout whose sources changed since
// the last build never runs stale code. RELEASE_CONTROLLER_SOURCES=1 forces the sources (the test
// suite sets it), =0 forces an existing build (benchmarks); the runtime used is in the serve
// start-up log line.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stamp = join(root, 'dist', '.build-stamp');

/** newest modification time of any file under dir (ms) */
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function compiledIsCurrent() {
  if (process.env.RELEASE_CONTROLLER_SOURCES === '1') return false;
  if (!existsSync(stamp) || !existsSync(join(root, 'dist/cli/main.js'))) return false;
  if (process.env.RELEASE_CONTROLLER_SOURCES === '0') return true;
  return newest(join(root, 'src')) <= statSync(stamp).mtimeMs;
}

if (compiledIsCurrent()) {
  process.env.RELEASE_CONTROLLER_RUNTIME = 'compiled';
  await import('../dist/cli/main.js');
} else {
  process.env.RELEASE_CONTROLLER_RUNTIME = 'sources';
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
