// Loads a directory of release stream configs: a bad file is reported and skipped, the others load.
// The I/O half of config handling (the rules live in validate.ts): walks DIR recursively for
// `*.json` files in sorted order, then checks what spans files (duplicate stream names, a periodic
// Prow job used in more than one place — upstream offline rule 6).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { inputStreamOf, type ReleaseConfig } from './schema.ts';
import { ROOT, joinPath, validateConfig, type ConfigIssue } from './validate.ts';

export interface LoadedConfig {
  name: string;
  config: ReleaseConfig;
  /** path relative to the loaded directory */
  file: string;
  /** the input stream the config is bound to (DESIGN §11) */
  input: string;
  /** this file's warnings as `path: reason` */
  warnings: string[];
}

export interface LoadResult {
  /** valid configs only; files with any error are left out */
  streams: LoadedConfig[];
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

/**
 * `*.json` files under dir, sorted. Hidden entries (`.git`, the `..data` links of a mounted
 * ConfigMap) are skipped; symbolic links to files are followed, links to directories are not
 * (no loops), and a dangling link is reported as unreadable.
 */
function walk(dir: string, out: string[] = []): string[] {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of entries) {
    if (d.name.startsWith('.')) continue;
    const p = join(dir, d.name);
    if (d.isDirectory()) walk(p, out);
    else if (d.name.endsWith('.json') && (d.isFile() || (d.isSymbolicLink() && !isDir(p)))) out.push(p);
  }
  return out;
}

/** A link to a directory is not descended; a dangling link is kept so that reading it reports why. */
function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** JSON.parse's message plus line and column (Node 20 only reports a character position). */
function jsonError(text: string, e: Error): string {
  const msg = e.message;
  const m = /at position (\d+)/.exec(msg);
  if (!m || /line \d+/.test(msg)) return msg;
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return `${msg} (line ${before.length} column ${before[before.length - 1].length + 1})`;
}

const posix = (p: string) => p.split(sep).join('/');

export function loadConfigDir(dir: string): LoadResult {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const valid: LoadedConfig[] = [];
  for (const path of walk(dir)) {
    const file = posix(relative(dir, path));
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      errors.push({ file, path: ROOT, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      continue;
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      errors.push({ file, path: ROOT, reason: `invalid JSON: ${jsonError(text, e as Error)}` });
      continue;
    }
    const r = validateConfig(raw, file);
    warnings.push(...r.warnings);
    errors.push(...r.errors);
    if (r.config) valid.push({ name: r.config.name, config: r.config, file, input: inputStreamOf(r.config), warnings: r.warnings.map((w) => `${w.path}: ${w.reason}`) });
  }

  // checks across files: the later file gets the error and is skipped
  const streams: LoadedConfig[] = [];
  const byName = new Map<string, string>();
  const periodicJobs = new Map<string, string[]>();
  for (const s of valid) {
    let bad = false;
    const first = byName.get(s.name);
    if (first) {
      errors.push({ file: s.file, path: 'name', reason: `duplicate stream name "${s.name}" (already defined in ${first})` });
      bad = true;
    } else byName.set(s.name, s.file);
    for (const [key, p] of Object.entries(s.config.periodic ?? {})) {
      const job = p.prowJob?.name;
      if (!job) continue;
      const where = periodicJobs.get(job) ?? [];
      where.push(`[${s.name} (${s.file}): periodic: ${key}]`);
      periodicJobs.set(job, where);
      if (where.length > 1) {
        errors.push({ file: s.file, path: `${joinPath('periodic', key)}.prowJob.name`, reason: `found job ${job} in multiple locations: ${where.join(' ')}` });
        bad = true;
      }
    }
    if (!bad) streams.push(s);
  }
  errors.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { streams, errors, warnings };
}
