// Reloading `serve`'s files without a restart (DESIGN.md §14): the release configs directory, the
// jobs file (the local executor's commands or the Kubernetes executor's Job templates), the tokens,
// notify and qualifiers files and the Prow job config directory (`--prow-jobs`), on SIGHUP (serve.ts calls reload()) and when the files change
// (watch()). A file that fails to parse or validate keeps its last good version running: release
// configs per file (Controller.applyConfigs keeps the stream whose file now fails), Prow job config
// per file (ProwExecutor.reload keeps the periodics of a file that now fails), the jobs and tokens
// files as a whole. Every failure is kept for the console banner and /metrics
// (release_controller_config_errors) and logged; a reload that changes nothing logs at debug only.
//
// Watching: directories, never single files, so editors that save by writing a temporary file
// and renaming it over the original (vim, sed -i, a ConfigMap's `..data` link swap) keep being
// seen; each directory of the releases tree has its own watcher. Events are debounced per kind
// (200 ms by default) and reloads run one at a time.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, watch, type Dirent, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseJobsFile, type JobsFile } from '../adapters/jobs/local/jobsfile.ts';
import type { KubeJobsFile } from '../adapters/jobs/kubernetes/jobsfile.ts';
import type { ProwConfigReload } from '../adapters/jobs/prow/config.ts';
import type { FailedConfigFile, LoadedStream, Logger } from '../controller/controller.ts';
import type { ConfigFileProblem } from '../controller/operations.ts';
import { loadConfigDir, type LoadResult } from '../domain/config/load.ts';
import { formatIssue, type ConfigIssue } from '../domain/config/validate.ts';
import { parseTokens, type TokenEntry } from '../http/auth.ts';
import { parseNotifyFile, webhooksDiff, type NotifyFile } from '../adapters/notify/config.ts';
import { parseQualifiersFile, type ReleaseQualifiers } from '../domain/qualifiers.ts';

export type ReloadKind = 'releases' | 'jobs' | 'tokens' | 'notify' | 'qualifiers' | 'prowJobs';
export const RELOAD_KINDS: readonly ReloadKind[] = ['releases', 'jobs', 'tokens', 'notify', 'qualifiers', 'prowJobs'];
/** the kinds that are one whole file (the last good version of the whole file keeps running) */
type FileKind = 'jobs' | 'tokens' | 'notify' | 'qualifiers';
const FILE_KINDS: readonly FileKind[] = ['jobs', 'tokens', 'notify', 'qualifiers'];
export const DEFAULT_DEBOUNCE_MS = 200;

/** The jobs file as either executor reads it: the local executor's commands or the Kubernetes executor's Job templates. */
export type AnyJobsFile = JobsFile | KubeJobsFile;

export interface ConfigTarget {
  applyConfigs(streams: LoadedStream[], failedFiles: FailedConfigFile[]): Promise<string[]>;
  configProblems(): { file: string; stream?: string; errors: string[]; keptRunning: boolean }[];
}

export interface ReloaderOptions {
  /** the releases directory (as given to serve) */
  releases: string;
  /** the jobs file, when there is one */
  jobs?: string;
  /** the tokens file, when there is one */
  tokens?: string;
  /** the notify file (webhooks), when there is one */
  notify?: string;
  /** the release qualifiers file, when there is one (a missing file defines no qualifiers) */
  qualifiers?: string;
  controller: ConfigTarget;
  executor?: { setJobs(jobs: AnyJobsFile): void };
  /** how the jobs file is parsed (default: the local executor's parseJobsFile) */
  parseJobs?: (text: string, file: string) => AnyJobsFile;
  /** the Prow job config directory and the executor that reads it (`--executor prow`) */
  prow?: { dir: string; reload(): ProwConfigReload };
  authenticator?: { setTokens(tokens: TokenEntry[]): void };
  notifier?: { setConfig(file: NotifyFile): void | Promise<void> };
  /** takes a reloaded qualifiers file (and drops answers computed under the old one) */
  qualifiersTarget?: { set(q: ReleaseQualifiers): void };
  log: Logger;
  debounceMs?: number;
  /** the jobs and tokens files as loaded at start-up, with their text (an unchanged file is not re-applied) */
  initial?: { jobs?: Initial<AnyJobsFile>; tokens?: Initial<TokenEntry[]>; notify?: Initial<NotifyFile>; qualifiers?: Initial<ReleaseQualifiers> };
}

export interface Initial<T> {
  value: T;
  text: string;
}

/** What one reload did (also what the log says). */
export interface ReloadReport {
  kind: ReloadKind;
  /** whether the running version changed */
  changed: boolean;
  /** the file(s) that failed; the last good version keeps running */
  failed: ConfigFileProblem[];
  detail: Record<string, unknown>;
}

/** The errors of loadConfigDir grouped by file as Controller.applyConfigs expects them (`path: reason`). */
export function failedConfigFiles(errors: readonly ConfigIssue[]): FailedConfigFile[] {
  const byFile = new Map<string, string[]>();
  for (const e of errors) {
    const list = byFile.get(e.file) ?? [];
    list.push(`${e.path}: ${e.reason}`);
    byFile.set(e.file, list);
  }
  return [...byFile].map(([file, list]) => ({ file, errors: list }));
}

/** The streams of a load as the controller takes them. */
export function loadedStreams(loaded: LoadResult): LoadedStream[] {
  return loaded.streams.map((s) => ({ name: s.name, config: s.config, file: s.file, input: s.input }));
}

/** `<file>: path: reason` lines of the jobs/tokens parsers → `path: reason` lines. */
function errorLines(e: unknown, file: string): string[] {
  const msg = e instanceof Error ? e.message : String(e);
  return msg
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (l.startsWith(`${file}: `) ? l.slice(file.length + 2) : l));
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The text of the qualifiers file: a missing file is an empty one (no qualifiers), as upstream. */
export function readQualifiersText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new Error(`${path}: (root): cannot read the qualifiers file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** The text of a jobs/tokens file; the error reads `<path>: (root): cannot read the <what>: <code>`. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: (root): cannot read the ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Qualifier ids added, removed and changed by a reload. */
function qualifiersDiff(old: ReleaseQualifiers | undefined, next: ReleaseQualifiers): Record<string, unknown> {
  const before = new Map(Object.entries(old ?? {}).map(([k, v]) => [k, JSON.stringify(v)]));
  const after = new Map(Object.entries(next).map(([k, v]) => [k, JSON.stringify(v)]));
  return {
    qualifiers: after.size,
    added: [...after.keys()].filter((k) => !before.has(k)),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    modified: [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)),
  };
}

export class ConfigReloader {
  private readonly o: ReloaderOptions;
  private readonly debounceMs: number;
  private readonly watchers: FSWatcher[] = [];
  private readonly treeWatchers = new Map<string, FSWatcher>();
  private readonly prowWatchers = new Map<string, FSWatcher>();
  private readonly timers = new Map<ReloadKind, NodeJS.Timeout>();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** the releases directory itself could not be read */
  private dirProblem: ConfigFileProblem | null = null;
  private readonly fileProblems = new Map<FileKind, ConfigFileProblem>();
  /** hash of the text of the running jobs/tokens file (an unchanged file is not re-applied) */
  private readonly running = new Map<FileKind, string>();
  /** hash of the text that failed last (the same failure is not logged again on a watch event) */
  private readonly failedText = new Map<FileKind, string>();
  private jobs: AnyJobsFile | undefined;
  private prowProblems: ConfigFileProblem[] = [];
  private tokens: TokenEntry[] | undefined;
  private notify: NotifyFile | undefined;
  private qualifiers: ReleaseQualifiers | undefined;

  constructor(o: ReloaderOptions) {
    this.o = o;
    this.debounceMs = o.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.jobs = o.initial?.jobs?.value;
    this.tokens = o.initial?.tokens?.value;
    if (o.initial?.jobs) this.running.set('jobs', sha(o.initial.jobs.text));
    if (o.initial?.tokens) this.running.set('tokens', sha(o.initial.tokens.text));
    this.notify = o.initial?.notify?.value;
    if (o.initial?.notify) this.running.set('notify', sha(o.initial.notify.text));
    this.qualifiers = o.initial?.qualifiers?.value;
    if (o.initial?.qualifiers) this.running.set('qualifiers', sha(o.initial.qualifiers.text));
  }

  /** Everything that failed to (re)load, for the console and /metrics. */
  problems(): ConfigFileProblem[] {
    const out: ConfigFileProblem[] = [];
    if (this.dirProblem) out.push(this.dirProblem);
    for (const p of this.o.controller.configProblems()) out.push({ kind: 'releases', ...p });
    for (const kind of FILE_KINDS) {
      const p = this.fileProblems.get(kind);
      if (p) out.push(p);
    }
    out.push(...this.prowProblems);
    return out;
  }

  /**
   * Reloads the given kinds (default: all), one reload at a time. Never throws. `verbose` (SIGHUP)
   * logs the outcome even when nothing changed; a file watch event that changed nothing logs at
   * debug only.
   */
  reload(kinds: readonly ReloadKind[] = RELOAD_KINDS, verbose = false): Promise<ReloadReport[]> {
    const run = this.chain.then(async () => {
      const out: ReloadReport[] = [];
      for (const k of kinds) {
        if (this.closed) break;
        try {
          const r = await this.reloadOne(k, verbose);
          if (r) out.push(r);
        } catch (e) {
          this.o.log.error({ kind: k, err: (e as Error).message }, `reload of ${k} failed`);
        }
      }
      return out;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async reloadOne(kind: ReloadKind, verbose: boolean): Promise<ReloadReport | null> {
    if (kind === 'releases') return this.reloadReleases(verbose);
    if (kind === 'prowJobs') return this.reloadProw(verbose);
    const path = this.o[kind];
    if (!path) return null;
    if (kind === 'notify') return this.reloadFile('notify', path, 'notify file', (text, file) => parseNotifyFile(text, file), verbose);
    if (kind === 'qualifiers') return this.reloadFile('qualifiers', path, 'qualifiers file', parseQualifiersFile, verbose, readQualifiersText);
    return kind === 'jobs' ? this.reloadFile('jobs', path, 'jobs file', this.o.parseJobs ?? parseJobsFile, verbose) : this.reloadFile('tokens', path, 'tokens file', parseTokens, verbose);
  }

  private async reloadReleases(verbose: boolean): Promise<ReloadReport> {
    const { log } = this.o;
    let loaded: LoadResult;
    try {
      loaded = loadConfigDir(this.o.releases);
    } catch (e) {
      const errors = [`(root): cannot read the releases directory: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`];
      this.dirProblem = { kind: 'releases', file: this.o.releases, errors, keptRunning: true };
      log.error({ kind: 'releases', file: this.o.releases, errors }, `${this.o.releases}: ${errors[0]} (the loaded configs keep running)`);
      return { kind: 'releases', changed: false, failed: [this.dirProblem], detail: {} };
    }
    const dirFixed = this.dirProblem !== null;
    this.dirProblem = null;
    const before = JSON.stringify(this.o.controller.configProblems());
    const failed = failedConfigFiles(loaded.errors);
    const changed = await this.o.controller.applyConfigs(loadedStreams(loaded), failed);
    const problems = this.o.controller.configProblems();
    const problemsChanged = JSON.stringify(problems) !== before;
    const changedFiles = new Set(loaded.streams.filter((s) => changed.includes(s.name)).map((s) => s.file));
    for (const w of loaded.warnings) if (verbose || changedFiles.has(w.file)) log.warn(`config warning: ${formatIssue(w)}`);
    const quiet = !verbose && !dirFixed && !changed.length && !problemsChanged;
    if (!quiet) for (const p of problems) {
      log.error(
        { kind: 'releases', file: p.file, stream: p.stream, errors: p.errors, keptRunning: p.keptRunning },
        `config error in ${p.file}: ${p.errors.join('; ')}${p.keptRunning ? ` (the last good version of ${p.stream} keeps running)` : ' (file not loaded)'}`,
      );
    }
    const detail = { changed, streams: loaded.streams.length, failedFiles: problems.map((p) => p.file) };
    if (!quiet) log.info(detail, `release configs reloaded: ${changed.length ? `changed ${changed.join(', ')}` : 'no stream changed'}${problems.length ? `, ${problems.length} file(s) failed` : ''}`);
    else log.debug?.(detail, 'release configs reloaded: nothing changed');
    return { kind: 'releases', changed: changed.length > 0, failed: problems.map((p) => ({ kind: 'releases', ...p })), detail };
  }

  /** The Prow job config directory, per file: a file that fails keeps its last good periodics. */
  private reloadProw(verbose: boolean): ReloadReport | null {
    const prow = this.o.prow;
    if (!prow) return null;
    const { log } = this.o;
    const before = JSON.stringify(this.prowProblems);
    let r: ProwConfigReload;
    try {
      r = prow.reload();
    } catch (e) {
      const errors = [`(root): cannot read the Prow job config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`];
      this.prowProblems = [{ kind: 'prowJobs', file: prow.dir, errors, keptRunning: true }];
      log.error({ kind: 'prowJobs', file: prow.dir, errors }, `${prow.dir}: ${errors[0]} (the loaded periodics keep running)`);
      return { kind: 'prowJobs', changed: false, failed: this.prowProblems, detail: {} };
    }
    this.prowProblems = r.failed.map((f) => ({ kind: 'prowJobs', file: join(prow.dir, f.file), errors: f.errors, keptRunning: f.keptRunning }));
    const quiet = !verbose && !r.changed && JSON.stringify(this.prowProblems) === before;
    if (!quiet) for (const p of this.prowProblems) {
      log.error({ kind: 'prowJobs', file: p.file, errors: p.errors, keptRunning: p.keptRunning }, `Prow job config ${p.file} failed to load: ${p.errors.join('; ')}${p.keptRunning ? ' (its last good periodics keep running)' : ' (file not loaded)'}`);
    }
    const detail = { periodics: r.periodics, failedFiles: this.prowProblems.map((p) => p.file) };
    if (!quiet) log.info({ kind: 'prowJobs', file: prow.dir, ...detail }, `Prow job config reloaded: ${r.changed ? 'periodics changed' : 'no periodic changed'}${this.prowProblems.length ? `, ${this.prowProblems.length} file(s) failed` : ''}`);
    else log.debug?.({ kind: 'prowJobs', ...detail }, 'Prow job config reloaded: nothing changed');
    return { kind: 'prowJobs', changed: r.changed, failed: this.prowProblems, detail };
  }

  private async reloadFile<T extends AnyJobsFile | TokenEntry[] | NotifyFile | ReleaseQualifiers>(
    kind: FileKind,
    path: string,
    what: string,
    parse: (text: string, file: string) => T,
    verbose: boolean,
    read: (path: string, what: string) => string = readTextFile,
  ): Promise<ReloadReport> {
    const { log } = this.o;
    let parsed: T;
    let hash = '';
    try {
      const text = read(path, what);
      hash = sha(text);
      if (this.running.get(kind) === hash && !this.fileProblems.has(kind)) {
        if (verbose) log.info({ kind, file: path }, `${what} reloaded: unchanged`);
        else log.debug?.({ kind, file: path }, `${what} reloaded: unchanged`);
        return { kind, changed: false, failed: [], detail: {} };
      }
      const known = this.fileProblems.get(kind);
      if (known && !verbose && this.failedText.get(kind) === hash) return { kind, changed: false, failed: [known], detail: {} };
      parsed = parse(text, path);
    } catch (e) {
      const problem: ConfigFileProblem = { kind, file: path, errors: errorLines(e, path), keptRunning: true };
      this.fileProblems.set(kind, problem);
      this.failedText.set(kind, hash);
      log.error({ kind, file: path, errors: problem.errors }, `${what} ${path} failed to load: ${problem.errors.join('; ')} (the last good version keeps running)`);
      return { kind, changed: false, failed: [problem], detail: {} };
    }
    this.running.set(kind, hash);
    this.failedText.delete(kind);
    const hadProblem = this.fileProblems.delete(kind);
    let detail: Record<string, unknown>;
    if (kind === 'jobs') {
      const jobs = parsed as AnyJobsFile;
      detail = this.jobsDiff(this.jobs, jobs);
      this.jobs = jobs;
      this.o.executor?.setJobs(jobs);
    } else if (kind === 'notify') {
      const notify = parsed as NotifyFile;
      detail = webhooksDiff(this.notify, notify);
      this.notify = notify;
      await this.o.notifier?.setConfig(notify);
    } else if (kind === 'qualifiers') {
      const q = parsed as ReleaseQualifiers;
      detail = qualifiersDiff(this.qualifiers, q);
      this.qualifiers = q;
      this.o.qualifiersTarget?.set(q);
    } else {
      const tokens = parsed as TokenEntry[];
      detail = this.tokensDiff(this.tokens, tokens);
      this.tokens = tokens;
      this.o.authenticator?.setTokens(tokens);
    }
    log.info({ kind, file: path, ...detail, fixed: hadProblem || undefined }, `${what} reloaded${hadProblem ? ' (the error is fixed)' : ''}`);
    return { kind, changed: true, failed: [], detail };
  }

  private jobsDiff(old: AnyJobsFile | undefined, next: AnyJobsFile): Record<string, unknown> {
    const concurrency = (f: AnyJobsFile | undefined) => (f && 'concurrency' in f ? f.concurrency : undefined);
    const before = new Map((old?.entries ?? []).map((e) => [e.pattern, JSON.stringify(e)]));
    const after = new Map(next.entries.map((e) => [e.pattern, JSON.stringify(e)]));
    const added = [...after.keys()].filter((k) => !before.has(k));
    const removed = [...before.keys()].filter((k) => !after.has(k));
    const modified = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k));
    const order = old ? old.entries.map((e) => e.pattern).filter((k) => after.has(k)).join('\u0000') !== next.entries.map((e) => e.pattern).filter((k) => before.has(k)).join('\u0000') : false;
    return {
      entries: next.entries.length,
      ...(concurrency(next) !== undefined ? { concurrency: concurrency(next) } : {}),
      ...(old && concurrency(old) !== concurrency(next) ? { concurrencyWas: concurrency(old) } : {}),
      added,
      removed,
      modified,
      ...(order ? { reordered: true } : {}),
    };
  }

  /** Users added/removed/whose roles changed; never the tokens themselves. */
  private tokensDiff(old: TokenEntry[] | undefined, next: TokenEntry[]): Record<string, unknown> {
    const users = (list: TokenEntry[]) => new Map(list.map((t) => [t.user, [...t.roles].sort().join(',')]));
    const before = users(old ?? []);
    const after = users(next);
    return {
      tokenCount: next.length,
      usersAdded: [...after.keys()].filter((u) => !before.has(u)),
      usersRemoved: [...before.keys()].filter((u) => !after.has(u)),
      rolesChanged: [...after.keys()].filter((u) => before.has(u) && before.get(u) !== after.get(u)),
    };
  }

  /** Watches the releases directory and the Prow job config (with their subdirectories) and the folders of the jobs, tokens and notify files. */
  watch(): void {
    if (this.closed) return;
    this.syncReleaseWatchers();
    this.syncTreeWatchers('prowJobs');
    for (const kind of FILE_KINDS) {
      const path = this.o[kind];
      if (!path) continue;
      const name = basename(path);
      // the file itself, or a `..data`-style link swap of a mounted ConfigMap
      const w = this.watchDir(dirname(resolve(path)), kind, (f) => f === null || f === name || f.startsWith('..'));
      if (w) this.watchers.push(w);
    }
  }

  /**
   * One non-recursive watcher per directory of the releases tree, as loadConfigDir walks it
   * (hidden entries and links to directories are skipped). Node's own recursive mode is not used:
   * on Linux it loses a file replaced by a rename. Re-run on each event, for new directories.
   */
  private syncReleaseWatchers(): void {
    this.syncTreeWatchers('releases');
  }

  /** syncReleaseWatchers for the releases tree or the Prow job config tree. */
  private syncTreeWatchers(kind: 'releases' | 'prowJobs'): void {
    if (this.closed) return;
    const root = kind === 'releases' ? this.o.releases : this.o.prow?.dir;
    if (!root) return;
    const watchers = kind === 'releases' ? this.treeWatchers : this.prowWatchers;
    const dirs = new Set<string>();
    const walk = (dir: string) => {
      dirs.add(dir);
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const d of entries) if (d.isDirectory() && !d.name.startsWith('.')) walk(join(dir, d.name));
    };
    walk(resolve(root));
    for (const [dir, w] of watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      const w = this.watchDir(dir, kind, () => true);
      if (w) watchers.set(dir, w);
    }
  }

  private watchDir(dir: string, kind: ReloadKind, match: (file: string | null) => boolean): FSWatcher | null {
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false });
    } catch (e) {
      this.o.log.warn({ kind, dir, err: (e as Error).message }, `cannot watch ${dir}; reload with SIGHUP`);
      return null;
    }
    w.on('change', (_event, file) => {
      const f = file === null || file === undefined ? null : basename(String(file));
      if (match(f)) this.schedule(kind);
    });
    // e.g. the directory was removed: the next event or reload re-syncs the release watchers
    w.on('error', (e) => this.o.log.warn({ kind, dir, err: e.message }, `watching ${dir} failed`));
    return w;
  }

  /** Debounced reload of one kind. */
  schedule(kind: ReloadKind): void {
    if (this.closed) return;
    const t = this.timers.get(kind);
    if (t) clearTimeout(t);
    this.timers.set(
      kind,
      setTimeout(() => {
        this.timers.delete(kind);
        if (kind === 'releases' || kind === 'prowJobs') this.syncTreeWatchers(kind);
        void this.reload([kind]);
      }, this.debounceMs),
    );
  }

  /** Stops watching; a reload under way finishes first. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.watchers.splice(0)) w.close();
    for (const w of [...this.treeWatchers.values(), ...this.prowWatchers.values()]) w.close();
    this.treeWatchers.clear();
    this.prowWatchers.clear();
    await this.chain;
  }
}
