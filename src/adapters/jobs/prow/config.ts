// Prow job config (issue 15): YAML files with `periodics:` lists, as in openshift/release
// `ci-operator/jobs/**`, read recursively. Only periodics are used: release verification jobs are
// periodics run on demand (upstream-behavior.md §4.5).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { joinPath } from '../../../domain/config/validate.ts';

export interface Periodic {
  name: string;
  /** file it came from, relative to the config directory */
  file: string;
  [k: string]: unknown;
}

export interface ProwConfig {
  dir: string;
  periodics: Map<string, Periodic>;
  /** `file: reason` for files that could not be read or parsed (the other files still count) */
  errors: string[];
  /** the same per file (relative path → reasons) */
  fileErrors: Map<string, string[]>;
  /** every file read, relative to dir */
  files: string[];
}

/** What reloading the Prow job config did (ProwExecutor.reload, shown by serve's reloader). */
export interface ProwConfigReload {
  /** the periodics in use changed */
  changed: boolean;
  periodics: number;
  /** files that failed, path relative to the directory; keptRunning: their last good periodics are still used */
  failed: { file: string; errors: string[]; keptRunning: boolean }[];
}

function yamlFiles(dir: string, out: string[]): void {
  for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (d.name.startsWith('.')) continue;
    const p = join(dir, d.name);
    if (d.isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/.test(d.name) && d.isFile()) out.push(p);
  }
}

/** Reads every *.yaml / *.yml under dir. Throws only when dir itself cannot be read. */
export function loadProwConfig(dir: string): ProwConfig {
  if (!statSync(dir).isDirectory()) throw new Error(`${dir}: not a directory`);
  const files: string[] = [];
  yamlFiles(dir, files);
  const periodics = new Map<string, Periodic>();
  const errors: string[] = [];
  const fileErrors = new Map<string, string[]>();
  const fail = (rel: string, reason: string) => {
    errors.push(`${rel}: ${reason}`);
    fileErrors.set(rel, [...(fileErrors.get(rel) ?? []), reason]);
  };
  for (const f of files) {
    const rel = relative(dir, f);
    let doc: unknown;
    try {
      doc = parse(readFileSync(f, 'utf8'), { maxAliasCount: -1 });
    } catch (e) {
      fail(rel, (e as Error).message.split('\n')[0]!);
      continue;
    }
    const list = (doc as { periodics?: unknown } | null)?.periodics;
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      fail(rel, 'periodics: must be a list');
      continue;
    }
    list.forEach((p: unknown, i) => {
      const name = (p as { name?: unknown } | null)?.name;
      if (typeof name !== 'string' || !name) {
        fail(rel, `periodics[${i}].name: missing`);
        return;
      }
      const prev = periodics.get(name);
      if (prev) fail(rel, `periodics[${i}]: periodic ${name} is also defined in ${prev.file}`);
      else periodics.set(name, { ...(p as object), name, file: rel });
    });
  }
  return { dir, periodics, errors, fileErrors, files: files.map((f) => relative(dir, f)) };
}

export interface ProwJobRefIssue {
  file: string;
  path: string;
  reason: string;
}

interface RefHolder {
  disabled?: boolean;
  prowJob?: { name?: string } | null;
  aggregatedProwJob?: { prowJob?: { name?: string } | null } | null;
}

/**
 * Every `prowJob.name` of a release config (verify, its aggregatedProwJob, periodic, upgrade
 * entries; disabled entries are skipped) that names no periodic of the Prow job config.
 */
export function missingPeriodics(file: string, config: { verify?: Record<string, RefHolder> | null; periodic?: Record<string, RefHolder> | null; upgrade?: Record<string, RefHolder> | null }, prow: ProwConfig, dirLabel: string): ProwJobRefIssue[] {
  const out: ProwJobRefIssue[] = [];
  const check = (path: string, name: string | undefined) => {
    if (name && !prow.periodics.has(name)) out.push({ file, path, reason: `no periodic named ${name} in ${dirLabel}` });
  };
  for (const section of ['verify', 'periodic', 'upgrade'] as const) {
    for (const [k, v] of Object.entries(config[section] ?? {})) {
      if (!v || v.disabled) continue;
      const base = joinPath(section, k);
      check(`${base}.prowJob.name`, v.prowJob?.name);
      check(`${base}.aggregatedProwJob.prowJob.name`, v.aggregatedProwJob?.prowJob?.name);
    }
  }
  return out;
}
