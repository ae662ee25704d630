// Loads a directory of release stream configs: a bad file is reported and skipped, the others load.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { inputStreamOf, type ReleaseConfig } from './schema.ts';
import { ROOT, validateConfig, type ConfigIssue } from './validate.ts';

export interface LoadedConfig {
  name: string;
  config: ReleaseConfig;
  file: string;
  input: string;
  warnings: string[];
}

export interface LoadResult {
  streams: LoadedConfig[];
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

export function loadConfigDir(dir: string): LoadResult {
  const streams: LoadedConfig[] = [];
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const byName = new Map<string, string>();
  const periodicJobs = new Map<string, string[]>();
  for (const path of walk(dir)) {
    const file = relative(dir, path);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      errors.push({ file, path: ROOT, reason: `invalid JSON: ${(e as Error).message}` });
      continue;
    }
    const r = validateConfig(raw, file);
    warnings.push(...r.warnings);
    if (!r.config) {
      errors.push(...r.errors);
      continue;
    }
    const first = byName.get(r.config.name);
    if (first) {
      errors.push({ file, path: 'name', reason: `duplicate stream name "${r.config.name}" (also defined in ${first})` });
      continue;
    }
    byName.set(r.config.name, file);
    for (const [key, p] of Object.entries(r.config.periodic ?? {})) {
      const job = p.prowJob?.name;
      if (!job) continue;
      const list = periodicJobs.get(job) ?? [];
      list.push(`${file}:${key}`);
      periodicJobs.set(job, list);
      if (list.length > 1) errors.push({ file, path: `periodic.${key}.prowJob.name`, reason: `found job ${job} in multiple locations: ${list.join(', ')}` });
    }
    streams.push({ name: r.config.name, config: r.config, file, input: inputStreamOf(r.config), warnings: r.warnings.map((w) => `${w.path}: ${w.reason}`) });
  }
  return { streams, errors, warnings };
}
