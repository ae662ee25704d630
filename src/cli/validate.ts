// `release-controller validate DIR`: exit 0 when every file is valid, 1 with `file: json.path: reason` lines.
import { existsSync, statSync } from 'node:fs';
import { loadConfigDir } from '../domain/config/load.ts';
import { formatIssue } from '../domain/config/validate.ts';

export function runValidate(dir: string, out: (line: string) => void, err: (line: string) => void): number {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    err(`${dir}: no such directory`);
    return 2;
  }
  let r;
  try {
    r = loadConfigDir(dir);
  } catch (e) {
    err(`${dir}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return 2;
  }
  for (const e of r.errors) out(formatIssue(e));
  for (const w of r.warnings) err(`warning: ${formatIssue(w)}`);
  const files = new Set(r.errors.map((e) => e.file)).size;
  err(`${r.streams.length} stream(s) valid, ${r.errors.length} error(s) in ${files} file(s), ${r.warnings.length} warning(s)`);
  return r.errors.length ? 1 : 0;
}
