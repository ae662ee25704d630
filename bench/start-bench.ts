// `node --import tsx bench/start-bench.ts [--rounds N]`: process start → /readyz of `serve` on the
// demo configs, compiled build (dist/) against the TypeScript sources through tsx, alternating
// (A B A B …) in one run so machine noise hits both alike; prints each median and their ratio.
// Needs a current build (`npm run build`).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5;
const BIN = resolve('bin/release-controller.mjs');

async function startOnce(runtime: 'compiled' | 'sources'): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'rc-start-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve', '--releases', resolve('demo/releases'), '--jobs', resolve('demo/jobs.yaml'), '--data', dir, '--port', '0', '--host', '127.0.0.1', '--no-watch'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', RELEASE_CONTROLLER_SOURCES: runtime === 'sources' ? '1' : '0' },
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve exited: ${out}`);
      const url = /listening on (http:\/\/[^\s"]+)/.exec(out)?.[1];
      if (url) {
        if (!out.includes(`"runtime":"${runtime}"`)) throw new Error(`expected the ${runtime} runtime (is dist/ current? npm run build): ${out.slice(0, 400)}`);
        const r = await fetch(`${url}/readyz`).catch(() => null);
        if (r?.status === 200) return performance.now() - t0;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const compiled: number[] = [];
const sources: number[] = [];
await startOnce('compiled'); // warm the file cache for both
await startOnce('sources');
for (let i = 0; i < rounds; i++) {
  compiled.push(await startOnce('compiled'));
  sources.push(await startOnce('sources'));
}
const ratios = compiled.map((c, i) => c / sources[i]!);
console.log(`start → /readyz over ${rounds} alternating rounds (demo configs):`);
console.log(`  compiled (dist/): median ${median(compiled).toFixed(0)} ms  [${compiled.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`  sources (tsx):    median ${median(sources).toFixed(0)} ms  [${sources.map((x) => x.toFixed(0)).join(', ')}]`);
console.log(`  compiled / sources: median ratio ${median(ratios).toFixed(2)} (spread ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
