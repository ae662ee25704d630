// Real git repositories for changelog tests and the benchmark, written with `git fast-import`
// (thousands of commits in well under a second). Each spec entry is one first-parent commit of
// `main`: a plain commit, or a GitHub-style merge of a one-commit side branch.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CommitSpec {
  subject: string;
  body?: string;
  /** a merge commit: its second parent is a side-branch commit with this subject */
  side?: string;
}

const ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };

export function git(args: string[], cwd?: string, input?: string): string {
  return execFileSync('git', args, { cwd, env: ENV, input, encoding: 'utf8', maxBuffer: 1 << 30 });
}

const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;

/** A bare repository at `dir` (created if needed). */
export function initBare(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  git(['init', '--quiet', '--bare', '-b', 'main', dir]);
}

/**
 * Appends `commits` to `ref` (default main) of the repository at `gitDir` (bare or .git),
 * on top of `parent` (default: the ref's tip, if any). Returns the ids of the first-parent
 * commits, oldest first.
 */
export function appendCommits(gitDir: string, commits: CommitSpec[], o: { ref?: string; parent?: string; time?: number } = {}): string[] {
  const ref = `refs/heads/${o.ref ?? 'main'}`;
  let parent = o.parent ?? (() => {
    try {
      return git(['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', ref]).trim();
    } catch {
      return '';
    }
  })();
  let t = o.time ?? 1_700_000_000;
  const out: string[] = [];
  let mark = 0;
  const marks: number[] = [];
  for (const [i, c] of commits.entries()) {
    let side = 0;
    if (c.side) {
      side = ++mark;
      out.push(`commit refs/heads/side\nmark :${side}\ncommitter t <t@example.com> ${t++} +0000\n${data(c.side)}${parent ? `from ${parent}\n` : ''}M 644 inline side.txt\n${data(`${i}\n`)}`);
    }
    const m = ++mark;
    const msg = c.body ? `${c.subject}\n\n${c.body}` : c.subject;
    out.push(`commit ${ref}\nmark :${m}\ncommitter t <t@example.com> ${t++} +0000\n${data(msg)}${parent ? `from ${parent}\n` : ''}${side ? `merge :${side}\n` : ''}M 644 inline main.txt\n${data(`${i}\n`)}`);
    parent = `:${m}`;
    marks.push(m);
  }
  const marksFile = join(gitDir, `marks-${process.pid}-${Date.now()}`);
  git(['--git-dir', gitDir, 'fast-import', '--quiet', '--force', `--export-marks=${marksFile}`], undefined, out.join(''));
  const byMark = new Map(readFileSync(marksFile, 'utf8').trim().split('\n').map((l) => l.split(' ') as [string, string]));
  rmSync(marksFile);
  if (commits.some((c) => c.side)) git(['--git-dir', gitDir, 'update-ref', '-d', 'refs/heads/side']);
  return marks.map((m) => byMark.get(`:${m}`)!);
}
