// Commit history from bare git mirrors (`--git-cache DIR`: `DIR/<host>/<org>/<repo>.git`) read
// with the `git` CLI (execFile, no shell), a bounded number of git processes at once, each with a
// timeout. With `fetch`, a commit the mirror lacks is fetched into it (`git fetch origin <id>`).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RangeHistory, RawCommit } from '../../domain/changelog.ts';
import type { CommitHistory } from '../../ports/history.ts';

export interface GitHistoryOptions {
  /** directory of bare mirrors */
  cacheDir: string;
  /** fetch missing commits from the mirror's `origin` (off by default) */
  fetch?: boolean;
  /** git processes at once (default 4) */
  concurrency?: number;
  /** per git process (default 30 s; a fetch gets 4×) */
  timeoutMs?: number;
  /** the git binary (default `git` on PATH) */
  git?: string;
}

/** A counting semaphore: at most `n` tasks run at once, the others wait in order. */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly n: number) {}
  get active(): number {
    return this.running;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const COMMIT = /^[0-9a-f]{7,64}$/i;

/**
 * The mirror directory of a source repository (`https://github.com/org/repo`,
 * `git@github.com:org/repo.git`, `ssh://git@host/org/repo`), or null when the source is not
 * a repository URL we can map safely (no `..`, no odd characters).
 */
export function mirrorPath(cacheDir: string, source: string): string | null {
  let host: string;
  let path: string;
  const scp = /^[\w.-]+@([\w.-]+):(.+)$/.exec(source);
  if (scp) [host, path] = [scp[1], scp[2]];
  else {
    let u: URL;
    try {
      u = new URL(source);
    } catch {
      return null;
    }
    if (!['https:', 'http:', 'ssh:', 'git:'].includes(u.protocol) || u.search || u.hash) return null;
    [host, path] = [u.hostname, decodeURIComponent(u.pathname)];
  }
  const segs = path.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '').split('/');
  if (!SEGMENT.test(host) || segs.length < 2 || !segs.every((s) => SEGMENT.test(s))) return null;
  segs[segs.length - 1] += '.git';
  return join(cacheDir, host.toLowerCase(), ...segs);
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const MISSING = /bad revision|unknown revision|invalid revision range|bad object|not a valid object|does not point to a valid object/i;
const RECORD = '\x1e';
const FIELD = '\x1f';

export class GitHistory implements CommitHistory {
  private readonly limiter: Limiter;
  /** git processes started (tests and /metrics read it) */
  invocations = 0;
  constructor(readonly o: GitHistoryOptions) {
    this.limiter = new Limiter(Math.max(1, o.concurrency ?? 4));
  }

  private git(args: string[], timeoutMs = this.o.timeoutMs ?? 30_000): Promise<GitResult> {
    return this.limiter.run(
      () =>
        new Promise<GitResult>((resolve) => {
          this.invocations++;
          execFile(
            this.o.git ?? 'git',
            args,
            {
              timeout: timeoutMs,
              killSignal: 'SIGKILL',
              maxBuffer: 256 << 20,
              encoding: 'utf8',
              // never prompt for credentials, never read the user's or system git config
              env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' },
            },
            (err, stdout, stderr) => {
              const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: number | string }) | null;
              resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout: stdout ?? '', stderr: (stderr ?? '') || (e && typeof e.code === 'string' ? e.message : ''), timedOut: Boolean(e?.killed) });
            },
          );
        }),
    );
  }

  private async hasCommit(mirror: string, id: string): Promise<boolean> {
    return (await this.git(['--git-dir', mirror, 'cat-file', '-e', `${id}^{commit}`])).code === 0;
  }

  async commits(source: string, from: string, to: string, max: number): Promise<RangeHistory> {
    const mirror = mirrorPath(this.o.cacheDir, source);
    if (!mirror) return { missing: `source ${source} is not a repository URL the git cache can hold` };
    if (!COMMIT.test(from) || !COMMIT.test(to)) return { missing: `commit ids ${from}, ${to} are not hexadecimal object names` };
    if (!existsSync(mirror)) return { missing: `no mirror of ${source} in the git cache` };
    const log = () =>
      this.git(['--git-dir', mirror, 'log', '--first-parent', '--no-color', '--no-decorate', `--max-count=${max + 1}`, `--format=%H${FIELD}%s${FIELD}%b${RECORD}`, `${from}..${to}`, '--']);
    let r = await log();
    if (r.code !== 0 && !r.timedOut && MISSING.test(r.stderr)) {
      const absent: string[] = [];
      for (const id of [from, to]) if (!(await this.hasCommit(mirror, id))) absent.push(id);
      if (absent.length && this.o.fetch) {
        for (const id of absent) {
          const f = await this.git(['--git-dir', mirror, 'fetch', '--quiet', '--no-tags', 'origin', id], (this.o.timeoutMs ?? 30_000) * 4);
          if (f.code !== 0) return { missing: `commit ${id} is not in the mirror of ${source} and fetching it failed: ${firstLine(f.stderr)}` };
        }
        r = await log();
      } else if (absent.length) {
        return { missing: `commit ${absent.join(' and ')} is not in the mirror of ${source}${this.o.fetch ? '' : ' (fetching is off: --git-fetch)'}` };
      }
    }
    if (r.timedOut) return { error: `git log timed out in ${source}` };
    if (r.code !== 0) return { error: `git log in ${source}: ${firstLine(r.stderr) || `exit ${r.code}`}` };
    const commits = parseLog(r.stdout);
    return commits.length > max ? { commits: commits.slice(0, max), capped: true } : { commits, capped: false };
  }
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.slice(0, 300) ?? '';
}

/** `git log --format=%H<US>%s<US>%b<RS>` output → commits, newest first. */
export function parseLog(out: string): RawCommit[] {
  const list: RawCommit[] = [];
  for (const rec of out.split(RECORD)) {
    const t = rec.replace(/^\n+/, '');
    if (!t) continue;
    const [id, subject = '', body = ''] = t.split(FIELD);
    if (id) list.push({ id: id.trim(), subject, body: body.trim() });
  }
  return list;
}
