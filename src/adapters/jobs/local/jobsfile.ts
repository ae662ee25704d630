// The jobs file of the local executor (DESIGN.md §11): job name or glob → command.
//
//   concurrency: 8                 # max job processes at once (default 8)
//   defaults: { timeout: 4h, env: { K: V }, passEnv: [KUBECONFIG] }
//   jobs:                          # keys are job names or globs; FIRST MATCH WINS, in file order
//     periodic-ci-*-e2e-aws-*: { command: ["bash", "scripts/e2e.sh"], env: { K: V }, timeout: 2h, cwd: work }
//     "*": { command: ["bash", "-c", "exit 0"] }
//
// Globs: `*` matches any run of characters (also none), `?` exactly one; everything else is literal.
// Timeouts are Go durations (`90s`, `1h30m`); default 4h. Env: defaults.env, then the entry's env.
// A job never inherits the controller's environment (index.ts lists what it gets); `passEnv`
// (defaults and entry, merged) names variables of the controller's environment to pass on anyway.
//
// Relative paths resolve from the folder of the jobs file, not from the controller's cwd:
//   - `cwd` (default: the jobs file's folder) when relative;
//   - command[0] when it is a relative path containing a `/` (`./run.sh`, `scripts/e2e`);
//     a bare program name (`bash`) is looked up on PATH as usual.
// Other arguments are passed as written; since the command runs in `cwd`, relative arguments
// (`bash scripts/e2e.sh`) resolve from the jobs file's folder too unless `cwd` says otherwise.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z, type ZodIssue } from 'zod';
import { durationError, parseDuration } from '../../../domain/duration.ts';

const POSITIVE_DURATION = 'must be a positive Go duration such as 90s, 30m or 2h';
const duration = z.string().refine((s) => durationError(s) === null && parseDuration(s) > 0, { message: POSITIVE_DURATION });
const env = z.record(z.string({ invalid_type_error: 'must be a string (quote numbers and booleans)' }));
const COMMAND = 'must be a non-empty array of strings';
const passEnv = z.array(
  z.string({ invalid_type_error: 'must be a variable name' }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name (letters, digits and _)'),
  { invalid_type_error: 'must be a list of variable names' },
);

const JobEntrySchema = z
  .object({
    command: z.array(z.string({ invalid_type_error: 'must be a string' }), { invalid_type_error: COMMAND, required_error: 'is required: a non-empty array of strings' }).nonempty(COMMAND),
    env: env.optional(),
    passEnv: passEnv.optional(),
    timeout: duration.optional(),
    cwd: z.string().min(1, 'must be a non-empty path').optional(),
  })
  .strict();

const JobsFileSchema = z
  .object({
    concurrency: z.number({ invalid_type_error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer').optional(),
    defaults: z.object({ timeout: duration.optional(), env: env.optional(), passEnv: passEnv.optional() }).strict().optional(),
    jobs: z.record(JobEntrySchema),
  })
  .strict();

export interface JobEntry {
  /** the key as written: a job name or a glob */
  pattern: string;
  /** program and arguments; command[0] made absolute when it is a relative path */
  command: string[];
  /** defaults.env merged with the entry's env */
  env: Record<string, string>;
  /** names of the controller's environment variables passed on (defaults.passEnv + the entry's); absent when none */
  passEnv?: string[];
  timeoutMs: number;
  /** absolute working directory */
  cwd: string;
}

export interface JobsFile {
  file: string;
  concurrency: number;
  /** in file order: the first match wins */
  entries: JobEntry[];
}

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_TIMEOUT_MS = 4 * 3_600_000;

function reason(i: ZodIssue): string {
  if (i.code === 'unrecognized_keys') return `unknown field ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  if (i.code === 'invalid_type' && i.received === 'undefined') return i.message === 'Required' ? 'is required' : i.message;
  if (i.code === 'invalid_type' && i.message.startsWith('Expected')) {
    const what = i.expected === 'object' ? 'a mapping' : i.expected === 'array' ? 'a list' : `a ${i.expected}`;
    return `must be ${what}, not ${i.received}`;
  }
  return i.message;
}

/**
 * Parses the text of a jobs file. `file` labels error messages and anchors relative paths.
 * Throws an Error `<file>: <field path>: <reason>` (one line per problem).
 */
export function parseJobsFile(text: string, file: string): JobsFile {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: (root): invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const raw: unknown = doc.toJS() ?? {};
  const r = JobsFileSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${reason(i)}`);
    throw new Error([...new Set(lines)].join('\n'));
  }
  const base = dirname(resolve(file));
  const defTimeout = r.data.defaults?.timeout ? parseDuration(r.data.defaults.timeout) : DEFAULT_TIMEOUT_MS;
  const defEnv = r.data.defaults?.env ?? {};
  const defPass = r.data.defaults?.passEnv ?? [];
  // zod's record leaves a `__proto__` key out of its result (YAML keeps it as an own key): take the
  // patterns from the validated input itself, so every key written in the file is an entry
  const rawJobs = (raw as { jobs: Record<string, unknown> }).jobs;
  const entries: JobEntry[] = Object.keys(rawJobs).map((pattern) => {
    const e = JobEntrySchema.parse(rawJobs[pattern]);
    const [prog, ...args] = e.command;
    const pass = [...new Set([...defPass, ...(e.passEnv ?? [])])];
    return {
      pattern,
      command: [prog.includes('/') && !isAbsolute(prog) ? resolve(base, prog) : prog, ...args],
      env: { ...defEnv, ...(e.env ?? {}) },
      ...(pass.length ? { passEnv: pass } : {}),
      timeoutMs: e.timeout ? parseDuration(e.timeout) : defTimeout,
      cwd: e.cwd ? resolve(base, e.cwd) : base,
    };
  });
  return { file, concurrency: r.data.concurrency ?? DEFAULT_CONCURRENCY, entries };
}

/** Reads and parses a jobs file; errors name the file, the field and the reason. */
export function loadJobsFile(path: string): JobsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: (root): cannot read the jobs file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseJobsFile(text, path);
}

/** `*` → any run of characters, `?` → one character; the whole name must match. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (const ch of glob) {
    if (ch === '*') re += '[\\s\\S]*';
    else if (ch === '?') re += '[\\s\\S]';
    else re += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}

const compiled = new WeakMap<JobEntry, RegExp>();

/**
 * The first entry (in file order) whose name or glob matches the job name, or null. Entries are a
 * list, not an object keyed by pattern: a job named `__proto__` or `constructor` matches only an
 * entry written with that name or a glob that covers it, never an Object.prototype member.
 */
export function matchJob(jobs: JobsFile, jobName: string): JobEntry | null {
  for (const e of jobs.entries) {
    let re = compiled.get(e);
    if (!re) compiled.set(e, (re = globToRegExp(e.pattern)));
    if (re.test(jobName)) return e;
  }
  return null;
}
