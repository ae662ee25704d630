// The jobs file of the local executor (DESIGN.md §11): job name or glob → command. First match wins.
// Relative command paths and `cwd` resolve from the jobs file's folder.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { durationError, parseDuration } from '../../../domain/duration.ts';

const duration = z.string().refine((s) => durationError(s) === null && parseDuration(s) > 0, { message: 'must be a positive Go duration such as 30m or 2h' });

const JobEntrySchema = z
  .object({
    command: z.array(z.string(), { invalid_type_error: 'must be a non-empty array of strings' }).nonempty('must be a non-empty array of strings'),
    env: z.record(z.string()).optional(),
    timeout: duration.optional(),
    cwd: z.string().optional(),
  })
  .strict();

const JobsFileSchema = z
  .object({
    concurrency: z.number().int().positive().optional(),
    defaults: z.object({ timeout: duration.optional(), env: z.record(z.string()).optional() }).strict().optional(),
    jobs: z.record(JobEntrySchema),
  })
  .strict();

export interface JobEntry {
  pattern: string;
  command: string[];
  env: Record<string, string>;
  timeoutMs: number;
  cwd: string;
}

export interface JobsFile {
  file: string;
  concurrency: number;
  entries: JobEntry[];
}

const DEFAULT_TIMEOUT_MS = 4 * 3_600_000;

export function parseJobsFile(text: string, file: string): JobsFile {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: (root): invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const raw = doc.toJS();
  const r = JobsFileSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    const path = i.path.length ? i.path.join('.') : '(root)';
    const reason = i.code === 'unrecognized_keys' ? `unknown field ${i.keys.map((k) => JSON.stringify(k)).join(', ')}` : i.message;
    throw new Error(`${file}: ${path}: ${reason}`);
  }
  const base = dirname(resolve(file));
  const defTimeout = r.data.defaults?.timeout ? parseDuration(r.data.defaults.timeout) : DEFAULT_TIMEOUT_MS;
  const defEnv = r.data.defaults?.env ?? {};
  const entries: JobEntry[] = Object.entries(r.data.jobs).map(([pattern, e]) => {
    const cwd = e.cwd ? (isAbsolute(e.cwd) ? e.cwd : resolve(base, e.cwd)) : base;
    return {
      pattern,
      command: [...e.command],
      env: { ...defEnv, ...(e.env ?? {}) },
      timeoutMs: e.timeout ? parseDuration(e.timeout) : defTimeout,
      cwd,
    };
  });
  return { file, concurrency: r.data.concurrency ?? 8, entries };
}

export function loadJobsFile(path: string): JobsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: (root): cannot read the jobs file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseJobsFile(text, path);
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const compiled = new WeakMap<JobEntry, RegExp>();

/** The first entry whose name or glob matches the job name, or null. */
export function matchJob(jobs: JobsFile, jobName: string): JobEntry | null {
  for (const e of jobs.entries) {
    let re = compiled.get(e);
    if (!re) compiled.set(e, (re = globToRegExp(e.pattern)));
    if (re.test(jobName)) return e;
  }
  return null;
}
