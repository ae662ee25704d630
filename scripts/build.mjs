#!/usr/bin/env node
// Compiles src/ to dist/ (JavaScript with source maps) so `npm start` and the release-controller
// command run compiled code instead of transforming TypeScript at every start. Run by `npm ci`
// (the `prepare` script) and `npm run build`; incremental, so an unchanged tree builds in about a
// second. The console's static files are copied beside the compiled pages. The stamp file tells
// bin/release-controller.mjs that dist/ is at least as new as every source file.
//
// Without TypeScript installed (a production install with --omit=dev) it builds nothing and says
// so: the command then runs the sources through tsx, as before.
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.error('build: typescript is not installed (production install?): not compiling; the command runs the sources through tsx');
  process.exit(0);
}
const started = Date.now();
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error('build: tsc reported errors; dist/ is not marked current, so the command keeps running the sources');
  process.exit(r.status ?? 1);
}
const dist = join(root, 'dist');
const staticSrc = join(root, 'src/http/pages/static');
if (existsSync(staticSrc)) cpSync(staticSrc, join(dist, 'http/pages/static'), { recursive: true });
mkdirSync(dist, { recursive: true });
writeFileSync(join(dist, '.build-stamp'), `${new Date().toISOString()}\n`);
console.error(`build: src/ compiled to dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
