// `release-controller validate DIR`: exit 0 when every file is valid, 1 with `file: json.path: reason`
// lines on stdout (warnings and a summary on stderr), 2 when DIR cannot be read.
import { statSync } from 'node:fs';
import { loadConfigDir, type LoadResult } from '../domain/config/load.ts';
import { formatIssue } from '../domain/config/validate.ts';
import { loadProwConfig, missingPeriodics, type ProwConfig } from '../adapters/jobs/prow/config.ts';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function runValidate(dir: string, out: (line: string) => void, err: (line: string) => void, o: { prowJobs?: string } = {}): number {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(`error: ${dir}: ${code === 'ENOENT' ? 'no such directory' : `cannot read (${code ?? (e as Error).message})`}`);
    return 2;
  }
  if (!isDir) {
    err(`error: ${dir}: not a directory`);
    return 2;
  }
  let r: LoadResult;
  try {
    r = loadConfigDir(dir);
  } catch (e) {
    err(`error: ${dir}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return 2;
  }
  // --prow-jobs PDIR: every prowJob.name must name a periodic there
  if (o.prowJobs !== undefined) {
    let prow: ProwConfig;
    try {
      prow = loadProwConfig(o.prowJobs);
    } catch (e) {
      err(`error: --prow-jobs ${o.prowJobs}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}`);
      return 2;
    }
    for (const w of prow.errors) err(`warning: ${o.prowJobs}/${w}`);
    const missing = r.streams.flatMap((s) => missingPeriodics(s.file, s.config, prow, o.prowJobs!));
    r = { ...r, errors: [...r.errors, ...missing], streams: r.streams.filter((s) => !missing.some((m) => m.file === s.file)) };
  }
  for (const e of r.errors) out(formatIssue(e));
  for (const w of r.warnings) err(`warning: ${formatIssue(w)}`);
  const badFiles = new Set(r.errors.map((e) => e.file)).size;
  if (r.streams.length === 0 && r.errors.length === 0) err(`warning: ${dir}: no *.json release configs found`);
  err(`${plural(r.streams.length, 'stream')} valid, ${plural(r.errors.length, 'error')} in ${plural(badFiles, 'file')}, ${plural(r.warnings.length, 'warning')}`);
  return r.errors.length ? 1 : 0;
}
