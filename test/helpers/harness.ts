// Test harness: a real controller on a real SQLite file with real child processes for jobs.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { LocalExecutor } from '../../src/adapters/jobs/local/index.ts';
import { parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import { ReleaseConfigSchema, inputStreamOf, type ReleaseConfig } from '../../src/domain/config/schema.ts';
import type { Store } from '../../src/ports/store.ts';

export interface Harness {
  dir: string;
  store: Store;
  executor: LocalExecutor;
  controller: Controller;
  close(): Promise<void>;
}

export function tempDir(prefix = 'rc-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes executable bash scripts into `dir/scripts` and returns their paths by name. */
export function writeScripts(dir: string, scripts: Record<string, string>): Record<string, string> {
  const sdir = join(dir, 'scripts');
  mkdirSync(sdir, { recursive: true });
  const out: Record<string, string> = {};
  for (const [name, body] of Object.entries(scripts)) {
    const p = join(sdir, `${name}.sh`);
    writeFileSync(p, `#!/usr/bin/env bash\nset -u\n${body}\n`, { mode: 0o755 });
    out[name] = p;
  }
  return out;
}

export function config(raw: unknown): ReleaseConfig {
  return ReleaseConfigSchema.parse(raw);
}

export interface HarnessOptions {
  dir?: string;
  configs: ReleaseConfig[];
  jobsYaml: string;
  killGraceMs?: number;
  /** what close() does with running jobs (default 'stop', so no test leaves processes behind) */
  onShutdown?: 'detach' | 'stop';
}

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const dir = o.dir ?? tempDir();
  const store = openSqliteStore(join(dir, 'rc.db'));
  const jobs = parseJobsFile(o.jobsYaml, join(dir, 'jobs.yaml'));
  const executor = new LocalExecutor({
    jobs,
    runDir: join(dir, 'runs'),
    onShutdown: o.onShutdown ?? 'stop',
    ...(o.killGraceMs !== undefined ? { killGraceMs: o.killGraceMs } : {}),
  });
  const controller = await Controller.create({
    store,
    executor,
    builder: new LocalBuilder(join(dir, 'payloads')),
    streams: o.configs.map((c) => ({ name: c.name, config: c, file: `${c.name}.json`, input: inputStreamOf(c) })),
    resyncMs: 0,
  });
  await controller.start();
  return {
    dir,
    store,
    executor,
    controller,
    async close() {
      await controller.stop();
      await store.close();
    },
  };
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`). No fixed sleeps. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 25): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

let digestCounter = 0;
export function pullSpec(component: string): string {
  digestCounter++;
  const hex = (component + String(digestCounter)).split('').map((c) => c.charCodeAt(0).toString(16)).join('').padEnd(64, '0').slice(0, 64);
  return `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${hex}`;
}

/** Whether a process still runs (a zombie waiting to be reaped counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
