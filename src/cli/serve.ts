// `release-controller serve`: controller + API + console in one process (DESIGN.md §10, §11).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { LocalBuilder } from '../adapters/builder/local/index.ts';
import { setupRegistry, stateView, type RegistrySetupOptions } from '../adapters/registry/setup.ts';
import { LocalExecutor } from '../adapters/jobs/local/index.ts';
import { parseJobsFile } from '../adapters/jobs/local/jobsfile.ts';
import { parseKubeJobsFile } from '../adapters/jobs/kubernetes/jobsfile.ts';
import type { ProwExecutor } from '../adapters/jobs/prow/index.ts';
import type { ProwFlags } from '../adapters/jobs/prow/create.ts';
import type { KubernetesExecutor } from '../adapters/jobs/kubernetes/index.ts';
import { DemoFeeder } from '../adapters/sources/embedded/feeder.ts';
import { parseNotifyFile, type NotifyFile } from '../adapters/notify/config.ts';
import { DEFAULT_MAX_QUEUE, DEFAULT_RETRY_FOR_MS, Deliverer } from '../adapters/notify/deliverer.ts';
import { openStore } from '../adapters/store/open.ts';
import { GitHistory } from '../adapters/git/index.ts';
import { ChangelogService } from '../controller/changelog.ts';
import { Controller } from '../controller/controller.ts';
import { DEFAULT_LEASE_MS, REPLICA_ROLES, Replica, type ReplicaRole } from '../controller/replica.ts';
import { DEFAULT_EVENT_RETENTION, Housekeeper, parseRetention } from '../controller/housekeeping.ts';
import { ARCHITECTURES, DEFAULT_ARCHITECTURE, parseArchitecture } from '../domain/architecture.ts';
import { compileIssuePattern, DEFAULT_CHANGELOG_SETTINGS } from '../domain/changelog.ts';
import { formatIssue } from '../domain/config/validate.ts';
import { parseDuration } from '../domain/duration.ts';
import { previousPayload } from '../domain/releaseinfo.ts';
import { loadConfigDir } from '../domain/config/load.ts';
import { buildApp } from '../http/app.ts';
import { CliError } from './client.ts';
import { createMetrics } from '../http/metrics.ts';
import { Authenticator, parseTokens } from '../http/auth.ts';
import { installProcessFaultHandlers } from './process-faults.ts';
import { ConfigReloader, RELOAD_KINDS, failedConfigFiles, loadedStreams, readQualifiersText, readTextFile } from './reload.ts';
import { QualifiersConfig } from '../controller/qualifiers.ts';
import { parseQualifiersFile } from '../domain/qualifiers.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEMO_DIR = join(REPO_ROOT, 'demo');

export interface ServeOptions {
  releases?: string;
  jobs?: string;
  data: string;
  db?: string;
  tokens?: string;
  port: number;
  host: string;
  registry?: string;
  executor: string;
  /** --release-architecture: amd64 (default), arm64, ppc64le, s390x or multi — the RELEASE_IMAGE_* names jobs get (domain/architecture.ts) */
  architecture?: string;
  /** --executor prow (issue 15): kubeconfig, context, ProwJob namespace, Prow job config, create rate */
  prow?: ProwFlags;
  /** --executor kubernetes (issue 15): --namespace for the batch/v1 Jobs (kubeconfig/context shared with prow) */
  kubernetes?: { namespace?: string };
  demo?: boolean;
  reset?: boolean;
  feedInterval?: number;
  logLevel?: string;
  artifactsUrl?: string;
  /** watch the releases directory, jobs and tokens files and reload on change (default true); SIGHUP always reloads */
  watch?: boolean;
  /** debounce of file change events in ms (default 200) */
  watchDebounceMs?: number;
  /** on a clean stop, stop running jobs (recorded Interrupted) instead of leaving them running for the next start */
  stopJobs?: boolean;
  /** /logs/* requires a valid token (any role); default: public */
  privateLogs?: boolean;
  /** how long events of deleted payloads are kept after their last event: `90d` (default), `2160h`, `0` = forever */
  eventRetention?: string;
  /** log unhandled rejections and uncaught exceptions, exiting only for programming errors (the CLI sets it) */
  processHandlers?: boolean;
  /** changelogs (issue 18): bare mirrors `DIR/<host>/<org>/<repo>.git`, fetching, issue keys, request wait */
  changelog?: { gitCache?: string; gitFetch?: boolean; issueKeyPattern?: string; issueUrlTemplate?: string; wait?: string };
  /** notifications (issue 19): the notify file (webhooks), how long one is retried (Go duration, default 24h), pending ones per webhook */
  notify?: { file?: string; retryFor?: string; queue?: number | string };
  /** release qualifiers (issue 16 item 7): upstream's release-qualifiers.yaml, hot-reloaded; a missing file defines none */
  qualifiers?: string;
  /** the URL people reach this server at, for links in notifications (default: the listening address) */
  publicUrl?: string;
  /** HTTP bounds (numbers or their CLI strings): connections, live feeds, response cache MiB */
  http?: { maxConnections?: number | string; maxFeedConnections?: number | string; cacheMiB?: number | string };
  /** issue 14: --builder registry, --registry-auth, --registry-insecure, --registry-gc, --build-timeout, --inputs */
  registryMode?: RegistrySetupOptions;
  /** issue 17, with --db postgres://…: all (default) and controller compete for leadership, api never leads */
  role?: string;
  /** how long the leader lease lasts without renewal (Go duration, default 10s): the failover time */
  leaseDuration?: string;
  /** this replica's name in the lease (default host:pid:random) */
  replicaId?: string;
}

/** A non-negative integer option, or a CliError naming the flag. */
function countOption(flag: string, v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} ${v}: must be a non-negative integer`, 2);
  return n;
}


export async function serve(o: ServeOptions): Promise<{ close: () => Promise<void>; url: string }> {
  const log = pino({
    level: o.logLevel ?? 'info',
    ...(process.stdout.isTTY ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss' } } } : {}),
    redact: ['req.headers.authorization', 'token'],
  });
  const removeFaultHandlers = o.processHandlers ? installProcessFaultHandlers(log) : () => {};
  const releases = o.releases ?? (o.demo ? join(DEMO_DIR, 'releases') : undefined);
  const jobs = o.jobs ?? (o.demo ? join(DEMO_DIR, 'jobs.yaml') : undefined);
  const tokens = o.tokens ?? (o.demo ? join(DEMO_DIR, 'tokens.yaml') : undefined);
  if (!releases) throw new CliError('--releases DIR is required (or --demo)', 2);
  if (!jobs && o.executor !== 'prow') throw new CliError('--jobs FILE is required (or --demo)', 2);
  if (o.privateLogs && !tokens) throw new CliError('--private-logs needs a tokens file (--tokens FILE): without tokens nobody could read the logs', 2);
  if (!['local', 'prow', 'kubernetes'].includes(o.executor)) throw new CliError(`--executor ${o.executor}: "local", "prow" and "kubernetes" are available in this build`, 2);
  const architecture = parseArchitecture(o.architecture ?? DEFAULT_ARCHITECTURE);
  if (!architecture) throw new CliError(`--release-architecture ${o.architecture}: must be one of ${ARCHITECTURES.join(', ')}`, 2);
  const kube = o.executor === 'kubernetes';
  if (!existsSync(releases)) throw new CliError(`--releases ${releases}: no such directory`, 2);
  const maxConnections = countOption('--max-connections', o.http?.maxConnections);
  const maxFeedConnections = countOption('--max-feed-connections', o.http?.maxFeedConnections);
  const cacheMiB = countOption('--http-cache-mib', o.http?.cacheMiB);
  let eventRetentionMs: number;
  try {
    eventRetentionMs = parseRetention(o.eventRetention ?? DEFAULT_EVENT_RETENTION);
  } catch (e) {
    throw new CliError(`--event-retention: ${(e as Error).message}`, 2);
  }

  const cl = o.changelog ?? {};
  const issueKeyPattern = cl.issueKeyPattern ?? DEFAULT_CHANGELOG_SETTINGS.issueKeyPattern;
  const compiled = compileIssuePattern(issueKeyPattern);
  if (typeof compiled === 'string') throw new CliError(`--issue-key-pattern ${issueKeyPattern}: ${compiled}`, 2);
  let changelogWaitMs = 2000;
  try {
    if (cl.wait !== undefined) changelogWaitMs = parseDuration(cl.wait);
  } catch (e) {
    throw new CliError(`--changelog-wait: ${(e as Error).message}`, 2);
  }
  if (changelogWaitMs < 0) throw new CliError('--changelog-wait: must not be negative', 2);
  if (cl.gitCache && !existsSync(cl.gitCache)) throw new CliError(`--git-cache ${cl.gitCache}: no such directory`, 2);

  let notifyRetryForMs = DEFAULT_RETRY_FOR_MS;
  try {
    if (o.notify?.retryFor !== undefined) notifyRetryForMs = parseDuration(o.notify.retryFor);
  } catch (e) {
    throw new CliError(`--notify-retry-for: ${(e as Error).message}`, 2);
  }
  if (notifyRetryForMs < 0) throw new CliError('--notify-retry-for: must not be negative', 2);
  const notifyQueue = countOption('--notify-queue', o.notify?.queue) ?? DEFAULT_MAX_QUEUE;
  if (notifyQueue < 1) throw new CliError('--notify-queue: must be at least 1', 2);
  if (o.publicUrl !== undefined && !/^https?:\/\/[^/]/i.test(o.publicUrl)) throw new CliError(`--public-url ${o.publicUrl}: must be an http or https URL`, 2);

  const role = (o.role ?? 'all') as ReplicaRole;
  if (!REPLICA_ROLES.includes(role)) throw new CliError(`--role ${o.role}: must be one of ${REPLICA_ROLES.join(', ')}`, 2);
  let leaseMs = DEFAULT_LEASE_MS;
  try {
    if (o.leaseDuration !== undefined) leaseMs = parseDuration(o.leaseDuration);
  } catch (e) {
    throw new CliError(`--lease-duration: ${(e as Error).message}`, 2);
  }
  if (leaseMs < 300) throw new CliError(`--lease-duration ${o.leaseDuration}: must be at least 300ms`, 2);

  const data = resolve(o.data);
  if (o.reset && existsSync(data)) rmSync(data, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });

  const loaded = loadConfigDir(releases);
  for (const w of loaded.warnings) log.warn(`config warning: ${formatIssue(w)}`);
  const failedFiles = failedConfigFiles(loaded.errors);
  // no last good version of the jobs or tokens file exists yet: a bad one stops the start
  const jobsText = jobs ? readTextFile(jobs, 'jobs file') : 'jobs: {}\n'; // --executor prow needs no jobs file
  // the kubernetes executor's jobs file holds templates (read once, at start); the local one commands
  const jobsFile = parseJobsFile(kube ? 'jobs: {}\n' : jobsText, jobs ?? 'jobs.yaml');
  const tokensText = tokens ? readTextFile(tokens, 'tokens file') : '';
  const tokenEntries = tokens ? parseTokens(tokensText, tokens) : [];
  const notifyPath = o.notify?.file;
  const notifyText = notifyPath ? readTextFile(notifyPath, 'notify file') : '';
  const notifyFile: NotifyFile = notifyPath ? parseNotifyFile(notifyText, notifyPath) : { webhooks: [] };
  const qualifiersPath = o.qualifiers;
  const qualifiersText = qualifiersPath ? readQualifiersText(qualifiersPath) : '';
  const qualifiers = new QualifiersConfig(qualifiersPath ? parseQualifiersFile(qualifiersText, qualifiersPath) : {});
  if (qualifiersPath && !existsSync(qualifiersPath)) log.warn(`qualifiers file ${qualifiersPath} not found: no release qualifiers until it is created`);

  const store = await openStore(o.db ?? `sqlite:${join(data, 'release-controller.db')}`);
  // several replicas on one PostgreSQL (issue 17): leadership and the change log; SQLite is one process
  const replication = store.replication;
  if (!replication && o.role !== undefined && role !== 'all') {
    await store.close();
    throw new CliError(`--role ${role}: needs --db postgres://… (with SQLite one process does everything)`, 2);
  }
  replication?.enforce();
  let executor: LocalExecutor | ProwExecutor | KubernetesExecutor;
  // the Kubernetes client is loaded only when a cluster executor is asked for (the embedded default starts lean)
  const { createKubernetesExecutor } = kube ? await import('../adapters/jobs/kubernetes/create.ts') : { createKubernetesExecutor: null };
  const { createProwExecutor } = o.executor === 'prow' ? await import('../adapters/jobs/prow/create.ts') : { createProwExecutor: null };
  try {
    executor = kube && createKubernetesExecutor
      ? createKubernetesExecutor({ kubeconfig: o.prow?.kubeconfig, context: o.prow?.context, namespace: o.kubernetes?.namespace, maxJobCreatesPerSecond: o.prow?.maxJobCreatesPerSecond, architecture }, jobsText, jobs!, join(data, 'runs'), log.child({ component: 'kubernetes' }))
      : o.executor === 'prow' && createProwExecutor ? createProwExecutor({ ...o.prow, architecture }, log.child({ component: 'prow' }), { watchConfig: false }) : new LocalExecutor({ jobs: jobsFile, runDir: join(data, 'runs'), onShutdown: o.stopJobs ? 'stop' : 'detach', architecture });
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  let regSetup: ReturnType<typeof setupRegistry>;
  try {
    regSetup = setupRegistry({ ...o.registryMode, registry: o.registry }, () => stateView(controller.state, o.registry ?? 'registry.local'), log.child({ component: 'registry' }));
  } catch (e) {
    throw new CliError((e as Error).message, 2);
  }
  const builder = regSetup.builder ?? new LocalBuilder(join(data, 'payloads'));
  const metrics = createMetrics();
  regSetup.bindMetrics(metrics.registry);
  if (kube || o.executor === 'prow') metrics.bindKubernetesApi(() => (executor as ProwExecutor | KubernetesExecutor).apiOutage());
  const controller = await Controller.create({
    store,
    executor,
    builder,
    streams: loadedStreams(loaded),
    failedFiles,
    log: log.child({ component: 'controller' }),
    registry: o.registry,
    onReconcile: (_s, seconds) => metrics.reconcileDuration.observe(seconds),
    standby: Boolean(replication),
  });
  // a config file that fails validation keeps the stream's last good version (from the store) running
  // (with replicas the leader imports, once it leads)
  if (!replication) regSetup.start(controller);
  for (const p of controller.configProblems()) {
    const errs = loaded.errors.filter((e) => e.file === p.file).map(formatIssue);
    log.error(`config error (${p.keptRunning ? `the last good version of ${p.stream} keeps running` : 'file skipped'}): ${errs.join('; ')}`);
  }
  const authenticator = new Authenticator(tokenEntries);
  // created once the server listens (its URL is the default base of links); the reloader and the
  // API reach it through these late-bound functions
  let deliverer: Deliverer | null = null;
  /** the notify file as last (re)loaded: a replica that takes the lead later starts with it */
  let currentNotify = notifyFile;
  const reloader = new ConfigReloader({
    releases,
    jobs,
    // the kubernetes executor's jobs file holds Job templates: parsed (and checked) as such
    ...(kube ? { parseJobs: parseKubeJobsFile } : {}),
    // the reloader watches the Prow job config like the releases tree (per file, last good kept, reported)
    ...(o.executor === 'prow' && o.prow?.prowJobs ? { prow: { dir: o.prow.prowJobs, reload: () => (executor as ProwExecutor).reload() } } : {}),
    tokens,
    notify: notifyPath,
    qualifiers: qualifiersPath,
    notifier: {
      setConfig: (f) => {
        currentNotify = f;
        return deliverer?.setConfig(f);
      },
    },
    qualifiersTarget: qualifiers,
    controller,
    executor: executor instanceof LocalExecutor || kube ? (executor as LocalExecutor | KubernetesExecutor) : undefined,
    authenticator,
    log: log.child({ component: 'reload' }),
    debounceMs: o.watchDebounceMs,
    initial: {
      ...(!jobs ? {} : { jobs: { value: kube ? parseKubeJobsFile(jobsText, jobs) : jobsFile, text: jobsText } }),
      ...(tokens ? { tokens: { value: tokenEntries, text: tokensText } } : {}),
      ...(notifyPath ? { notify: { value: notifyFile, text: notifyText } } : {}),
      ...(qualifiersPath ? { qualifiers: { value: qualifiers.get(), text: qualifiersText } } : {}),
    },
  });
  const configProblems = () => reloader.problems();
  const changelog = new ChangelogService({
    history: cl.gitCache ? new GitHistory({ cacheDir: resolve(cl.gitCache), fetch: Boolean(cl.gitFetch) }) : null,
    cacheDir: join(data, 'changelog-cache'),
    settings: { issueKeyPattern, issueUrlTemplate: cl.issueUrlTemplate ?? DEFAULT_CHANGELOG_SETTINGS.issueUrlTemplate },
    waitMs: changelogWaitMs,
    log: log.child({ component: 'changelog' }),
  });
  // pre-warm: each payload that becomes Ready gets its changelog against its default previous release
  const offChangelog = changelog.attach((l) => controller.subscribe(l), (s, t) => controller.state.payload(s, t), (p) => previousPayload(controller.state, p));
  const notifications = store.notifications ? { store: store.notifications, webhooks: () => deliverer?.webhooks() ?? [] } : undefined;
  metrics.bindNotifications({ stats: () => deliverer?.stats() ?? [], attemptStats: () => deliverer?.attemptStats() ?? [] });
  let replica: Replica | null = null;
  const { createPages } = await import('../http/pages/index.ts');
  const registerPages = createPages(controller, { artifactsUrl: o.artifactsUrl, configProblems, logsAuth: o.privateLogs ? authenticator : null, notifications: notifications && { source: notifications, auth: authenticator }, changelog, qualifiers, imports: () => regSetup.importer?.status() ?? [],
    replica: replication ? () => ({ self: replica?.id ?? '', leads: replica?.isLeader() ?? false, leader: replica?.describeLeader() ?? 'unknown' }) : undefined,
  });
  const app = await buildApp({
    ops: controller, authenticator, configProblems, metrics, logger: false, registerPages, notifications, artifactsUrl: o.artifactsUrl, builder, changelog,
    registryInputs: regSetup.importer ?? undefined, degraded: () => regSetup.degraded(), resolvePullSpec: regSetup.resolvePullSpec ?? undefined,
    server: { maxConnections }, events: { maxConnections: maxFeedConnections }, cacheBytes: cacheMiB === undefined ? undefined : cacheMiB * 1024 * 1024, qualifiers,
    // a follower forwards writes to the leader (known once the replica runs, after listen)
    forwardWritesTo: replication ? () => replica?.forwardTarget() ?? null : undefined,
    readsRefused: role === 'controller' ? 'this replica runs with --role controller: it reconciles and takes writes but serves no API or console reads; read from a replica with --role api or all' : undefined,
  });
  let listeningUrl = '';
  if (replication) {
    replica = new Replica({
      controller, replication, id: o.replicaId ?? `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`, url: () => o.publicUrl ?? listeningUrl, role, leaseMs,
      log: log.child({ component: 'replica' }), lead: () => startLeading(), follow: () => stopLeading(),
    });
    // writes that arrive before the replica runs are forwarded to the leader known now
    await replica.prime();
  }
  await app.listen({ port: o.port, host: o.host });
  const onHangup = () => {
    log.info('received SIGHUP, reloading the release configs, the jobs, tokens and notify files and the Prow job config');
    void reloader.reload(RELOAD_KINDS, true);
  };
  process.on('SIGHUP', onHangup);
  if (o.watch !== false) reloader.watch();
  const addr = app.server.address();
  const url = typeof addr === 'object' && addr ? `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${addr.port}` : `http://${o.host}:${o.port}`;
  log.info({ runtime: process.env.RELEASE_CONTROLLER_RUNTIME ?? 'sources' }, `release-controller listening on ${url} (${loaded.streams.length} streams, data in ${data})`);
  const offNotify = controller.subscribe(() => deliverer?.wake());
  let housekeeper: Housekeeper | null = null;
  let feeder: DemoFeeder | null = null;
  let registryStarted = !replication;
  /** what only the leader runs: notifications, the reconcile loop, housekeeping, imports, the demo feeder */
  const startLeading = async () => {
    if (!registryStarted) {
      registryStarted = true;
      regSetup.start(controller);
    }
    // before the first reconcile pass: a new webhook's cursor is the end of the events as they are now
    if (store.notifications) {
      const d = new Deliverer({
        store: store.notifications, events: store, view: controller.state, config: currentNotify, baseUrl: o.publicUrl ?? url,
        retryForMs: notifyRetryForMs, maxQueue: notifyQueue, log: log.child({ component: 'notify' }),
      });
      await d.start();
      deliverer = d;
    }
    if (replication) await controller.lead();
    else await controller.start();
    // prunes old events of deleted payloads and sweeps files a crash left behind: now and hourly
    const h = new Housekeeper({
      store, executor, builder, eventRetentionMs, log: log.child({ component: 'housekeeping' }),
      // the tag index holds a payload of every stream that has the tag (re-pointed when one is deleted)
      isLiveTag: (tag) => controller.state.findTag(tag) !== undefined,
    });
    housekeeper = h;
    // off the start-up path: its first pass reads every run id from the store and lists the run directories
    void h.start();
    if (o.demo && !feeder) {
      feeder = new DemoFeeder({
        ops: controller,
        intervalMs: o.feedInterval ?? 5000,
        inputs: [...new Map(loaded.streams.filter((s) => !s.config.as).map((s) => [s.input, s.input])).keys()].map((input) => ({
          input,
          components: ['cli', 'installer', 'cluster-version-operator', 'machine-config-operator', 'cluster-network-operator', 'hyperkube', 'console', 'etcd'],
        })),
        log: (m) => log.warn(m),
      });
      await feeder.start();
    }
  };
  /** the lease is gone (the controller stopped launching already): stop the leader's other work */
  const stopLeading = () => {
    feeder?.stop();
    feeder = null;
    void deliverer?.stop();
    deliverer = null;
    void housekeeper?.stop();
    housekeeper = null;
  };
  metrics.bindReplica(() => ({ leader: replica ? replica.isLeader() : true, lagSeconds: replica?.lagSeconds() ?? 0 }));
  if (replica) {
    listeningUrl = url;
    log.info({ role, replica: replica.id, leaseMs }, `replica ${replica.id} (role ${role}) ${role === 'api' ? 'serves and follows' : 'competes for the leader lease'}`);
    await replica.start();
  } else {
    await startLeading();
  }
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      feeder?.stop();
      regSetup.stop();
      await replica?.stop();
      process.off('SIGHUP', onHangup);
      await reloader.close();
      await app.close();
      offNotify();
      await deliverer?.stop();
      offChangelog();
      changelog.close();
      await housekeeper?.stop();
      await controller.stop();
      await replica?.release();
      await store.close();
      log.info('release-controller stopped');
      log.flush?.();
      removeFaultHandlers();
    })());
  return { close, url };
}
