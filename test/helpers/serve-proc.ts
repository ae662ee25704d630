// The real `release-controller serve` as a child process, for tests that signal, kill and restart it.
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './harness.ts';

export const BIN = new URL('../../bin/release-controller.mjs', import.meta.url).pathname;

export interface ServeProc {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** resolves with the exit code */
  exited: Promise<number | null>;
}

/** Starts `serve ARGS` (with `env` added to this process's environment) and resolves once it listens (fails fast, with its output, if it exits first). */
export async function startServe(args: string[], timeoutMs = 30_000, env: Record<string, string> = {}): Promise<ServeProc> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await waitFor(
    'server listening',
    () => {
      if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${out}`);
      return /listening on (http:\/\/[^\s"]+)/.exec(out)?.[1];
    },
    timeoutMs,
  );
  return { child, url, output: () => out, exited };
}
