// Shared Kubernetes API helpers (issue 15): a client from a kubeconfig, API calls retried with
// backoff (429 and 5xx honour Retry-After; connection errors too), and a list+watch loop that
// re-lists after 410 Gone or a dropped connection and resumes from the last resourceVersion.
import { createHash } from 'node:crypto';
import { CustomObjectsApi, KubeConfig, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';

export interface KubeTarget {
  /** path of a kubeconfig file */
  kubeconfig: string;
  /** context name; default: the file's current-context */
  context?: string;
}

export function loadKubeConfig(t: KubeTarget): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(t.kubeconfig);
  } catch (e) {
    throw new Error(`kubeconfig ${t.kubeconfig}: ${(e as Error).message}`);
  }
  if (t.context) {
    if (!kc.getContexts().some((c) => c.name === t.context)) throw new Error(`kubeconfig ${t.kubeconfig}: no context named ${JSON.stringify(t.context)}`);
    kc.setCurrentContext(t.context);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${t.kubeconfig}: no cluster for context ${JSON.stringify(kc.getCurrentContext())}`);
  reuseAgents(kc);
  return kc;
}

/** agents kept per KubeConfig (one per distinct set of TLS options; client certificates may rotate) */
const MAX_AGENTS = 8;

/**
 * client-node builds a new HTTP agent for every request, so each create, patch and list pays a TCP
 * (and TLS) handshake: 2,000 ProwJob creates are 2,000 connections. This reuses one keep-alive
 * agent per identical set of agent options (CA, client certificate, proxy, server name …). It
 * wraps a method client-node does not declare public; without it, requests work as before.
 */
function reuseAgents(kc: KubeConfig): void {
  type AgentFactory = (cluster: { server?: string; proxyUrl?: string } | null, opts: Record<string, unknown>) => { destroy?: () => void };
  const target = kc as unknown as { createAgent?: AgentFactory };
  const original = target.createAgent;
  if (typeof original !== 'function') return;
  const agents = new Map<string, ReturnType<AgentFactory>>();
  target.createAgent = function (cluster, opts) {
    const parts = Object.entries(opts).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('base64') : v]);
    const key = createHash('sha256').update(JSON.stringify([cluster?.server, cluster?.proxyUrl, parts])).digest('hex');
    let agent = agents.get(key);
    if (!agent) {
      agent = original.call(this, cluster, { ...opts, keepAlive: true });
      agents.set(key, agent);
      for (const [k, old] of agents) {
        if (agents.size <= MAX_AGENTS) break;
        agents.delete(k);
        old.destroy?.();
      }
    }
    return agent;
  };
}

/** HTTP status of a client-node error (ApiException.code, a watch error's statusCode), or 0 for a connection error. */
export function statusOf(e: unknown): number {
  const x = e as { code?: unknown; statusCode?: unknown };
  if (typeof x?.code === 'number') return x.code;
  if (typeof x?.statusCode === 'number') return x.statusCode;
  return 0;
}

function retryAfterMs(e: unknown): number | null {
  const h = (e as { headers?: Record<string, string> })?.headers;
  const v = h?.['retry-after'] ?? h?.['Retry-After'];
  if (v === undefined) return null;
  const s = Number(v);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : null;
}

/** 429, 5xx and connection errors are worth retrying; 4xx answers are final. */
export function retriable(e: unknown): boolean {
  const s = statusOf(e);
  return s === 0 || s === 429 || s >= 500;
}

export function describe(e: unknown): string {
  const s = statusOf(e);
  const body = (e as { body?: unknown })?.body;
  let msg = '';
  if (typeof body === 'string') {
    try {
      msg = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      msg = body;
    }
  } else if (body && typeof body === 'object') msg = String((body as { message?: unknown }).message ?? '');
  if (!msg) msg = (e as Error)?.message ?? String(e);
  return s ? `HTTP ${s}: ${msg.slice(0, 300)}` : msg.slice(0, 300);
}

export interface RetryOptions {
  /** first backoff (ms), doubled per attempt up to maxDelayMs */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** give up after this many attempts (default: never, until stopped()) */
  attempts?: number;
  /** reports each failed attempt (readiness) */
  onError?: (e: unknown, attempt: number, delayMs: number) => void;
  onSuccess?: () => void;
  stopped?: () => boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

/** Runs fn until it succeeds or fails with a final (non-retriable) error, backing off between attempts. */
export async function withRetry<T>(fn: () => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const first = o.firstDelayMs ?? 200;
  const max = o.maxDelayMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      const r = await fn();
      o.onSuccess?.();
      return r;
    } catch (e) {
      if (!retriable(e) || (o.attempts !== undefined && attempt >= o.attempts) || o.stopped?.()) throw e;
      const backoff = Math.min(max, first * 2 ** Math.min(attempt - 1, 20));
      const delay = Math.min(Math.max(retryAfterMs(e) ?? backoff, 0), 5 * 60_000);
      o.onError?.(e, attempt, delay);
      await sleep(delay);
      if (o.stopped?.()) throw e;
    }
  }
}

/** Spaces calls at most `perSecond` apart (0 = unbounded): `--max-job-creates-per-second`. */
export interface ApiLog {
  warn: (o: object, msg: string) => void;
  info: (o: object, msg: string) => void;
}

/**
 * Whether the API server answers, as the last call (or the informer) found it, for /readyz; `call`
 * runs an API call with backoff on 429/5xx/connection errors, keeping it current. Shared by the
 * Prow and Kubernetes executors.
 */
export interface ApiOutage {
  /** when the first failing call of this outage failed (RFC 3339, seconds) */
  since: string;
  /** failed attempts (calls and watch/list) since then */
  retries: number;
  /** the last failure */
  why: string;
}

export class ApiHealth {
  private down: ApiOutage | null = null;
  constructor(
    private readonly log: ApiLog,
    private readonly retry: Pick<RetryOptions, 'firstDelayMs' | 'maxDelayMs'> | undefined,
    private readonly stopped: () => boolean,
  ) {}

  /** the reason the API server is unreachable (/readyz, the console banner), or null */
  unavailable(): string | null {
    const d = this.down;
    return d ? `Kubernetes API unreachable since ${d.since} (${d.retries} ${d.retries === 1 ? 'retry' : 'retries'}): ${d.why}` : null;
  }

  /** the outage as /metrics shows it, or null while the API answers */
  outage(): ApiOutage | null {
    return this.down ? { ...this.down } : null;
  }

  set(ok: boolean, why: string): void {
    if (ok) {
      if (this.down) this.log.info({ since: this.down.since, retries: this.down.retries }, 'Kubernetes API reachable again');
      this.down = null;
    } else if (!this.down) {
      this.down = { since: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), retries: 1, why };
      this.log.warn({ why }, `Kubernetes API unreachable: ${why}`);
    } else {
      this.down = { ...this.down, retries: this.down.retries + 1, why };
    }
  }

  /** An API call retried with backoff on 429/5xx/connection errors until it answers or the executor stops. */
  call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, {
      ...this.retry,
      stopped: this.stopped,
      onError: (e, attempt, delayMs) => {
        this.set(false, `${what}: ${describe(e)}`);
        this.log.warn({ attempt, retryInMs: delayMs }, `${what} failed (${describe(e)}); retrying in ${delayMs} ms`);
      },
      onSuccess: () => this.set(true, ''),
    });
  }
}

export class Pacer {
  private next = 0;
  private readonly gapMs: number;
  constructor(perSecond: number) {
    this.gapMs = perSecond > 0 ? 1000 / perSecond : 0;
  }
  async wait(): Promise<void> {
    if (this.gapMs === 0) return;
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + this.gapMs;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface Resource {
  group: string;
  version: string;
  plural: string;
  namespace: string;
}

/** CRUD on one namespaced custom resource type (no retries: wrap calls in withRetry). */
export class CustomResources {
  private api: CustomObjectsApi;
  constructor(
    readonly kc: KubeConfig,
    readonly r: Resource,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    return (await this.api.createNamespacedCustomObject({ ...this.base(), body: obj })) as KubeObject;
  }

  async get(name: string): Promise<KubeObject> {
    return (await this.api.getNamespacedCustomObject({ ...this.base(), name })) as KubeObject;
  }

  async list(labelSelector: string): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const r = (await this.api.listNamespacedCustomObject({ ...this.base(), labelSelector })) as { items?: KubeObject[]; metadata?: { resourceVersion?: string } };
    return { items: r.items ?? [], resourceVersion: r.metadata?.resourceVersion ?? '' };
  }

  /** JSON merge patch (RFC 7386) of the object */
  async mergePatch(name: string, patch: Record<string, unknown>): Promise<KubeObject> {
    return (await this.api.patchNamespacedCustomObject({ ...this.base(), name, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as KubeObject;
  }

  /** the watch path of the collection */
  path(): string {
    const { group, version, namespace, plural } = this.r;
    return `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
  }

  private base() {
    const { group, version, namespace, plural } = this.r;
    return { group, version, namespace, plural };
  }
}

export interface Informer {
  /** resolves once the first list has been delivered */
  synced: Promise<void>;
  stop(): void;
  /** re-list now (a periodic resync also does this) */
  resync(): void;
}

export interface InformerOptions {
  kc: KubeConfig;
  path: string;
  labelSelector: string;
  list: () => Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /** every object seen, from lists and watch events (ADDED/MODIFIED); deletions as deleted=true */
  onObject: (obj: KubeObject, deleted: boolean) => void;
  /** the API answered (true) or could not be reached / failed (false, with why) */
  onHealth?: (ok: boolean, why: string) => void;
  /** after each complete list has been delivered */
  onSynced?: () => void;
  /** periodic re-list (default 10 min; 0 = never) */
  resyncMs?: number;
  retry?: Pick<RetryOptions, 'firstDelayMs' | 'maxDelayMs'>;
  log?: { warn: (o: object, msg: string) => void; info?: (o: object, msg: string) => void };
}

/**
 * List, then watch from the list's resourceVersion (with bookmarks); on 410 Gone re-list; on a
 * dropped or ended connection resume watching from the last resourceVersion seen (re-list if
 * that fails). Every list delivers every object again, so a result missed while disconnected is
 * seen by the next list; the consumer dedupes.
 */
export function startInformer(o: InformerOptions): Informer {
  const watch = new Watch(o.kc);
  let stopped = false;
  let rv = '';
  let needList = true;
  let abort: AbortController | null = null;
  let wake: (() => void) | null = null;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => (resolveSynced = r));
  const first = o.retry?.firstDelayMs ?? 200;
  const max = o.retry?.maxDelayMs ?? 30_000;
  let failures = 0;
  const fail = (e: unknown, what: string) => {
    failures++;
    o.onHealth?.(false, `${what}: ${describe(e)}`);
    return Math.min(max, first * 2 ** Math.min(failures - 1, 20));
  };
  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const t = setTimeout(() => ((wake = null), r()), ms);
      wake = () => (clearTimeout(t), (wake = null), r());
    });

  const loop = async () => {
    while (!stopped) {
      if (needList) {
        try {
          const l = await o.list();
          failures = 0;
          o.onHealth?.(true, '');
          for (const item of l.items) o.onObject(item, false);
          rv = l.resourceVersion;
          needList = false;
          o.onSynced?.();
          resolveSynced();
        } catch (e) {
          const d = fail(e, 'list');
          o.log?.warn({ err: describe(e) }, `listing ${o.path} failed; retrying in ${d} ms`);
          await pause(d);
          continue;
        }
      }
      // watch until the connection ends
      const ended = await new Promise<{ err: unknown; gone: boolean; events: number }>((resolve) => {
        let events = 0;
        let gone = false;
        watch
          .watch(
            o.path,
            { labelSelector: o.labelSelector, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 300 },
            (phase, obj: KubeObject & { code?: number }) => {
              events++;
              if (phase === 'ERROR') {
                if (obj?.code === 410) gone = true;
                return;
              }
              const v = obj?.metadata?.resourceVersion;
              if (v) rv = v;
              if (phase === 'BOOKMARK') return;
              o.onObject(obj, phase === 'DELETED');
            },
            (err) => resolve({ err, gone, events }),
          )
          .then(
            (a) => {
              abort = a;
              if (stopped || needList) a.abort(); // stopped or resync() asked while connecting
            },
            (err) => resolve({ err, gone: false, events: 0 }),
          );
      });
      abort = null;
      if (stopped) break;
      if (ended.gone || statusOf(ended.err) === 410) {
        needList = true;
        continue;
      }
      if (ended.err && (ended.err as Error).name !== 'AbortError') {
        const d = fail(ended.err, 'watch');
        o.log?.warn({ err: describe(ended.err) }, `watch of ${o.path} ended (${describe(ended.err)}); re-listing in ${d} ms`);
        needList = true;
        await pause(d);
        continue;
      }
      failures = 0;
      o.onHealth?.(true, '');
      // a normal end (server-side timeout): resume from rv; an immediate empty end twice in a row → re-list
      if (ended.events === 0) await pause(Math.min(first, 1000));
    }
  };
  let timer: NodeJS.Timeout | null = null;
  const resync = () => {
    needList = true;
    abort?.abort();
    wake?.();
  };
  if ((o.resyncMs ?? 600_000) > 0) {
    timer = setInterval(resync, o.resyncMs ?? 600_000);
    timer.unref();
  }
  void loop();
  return {
    synced,
    resync,
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      abort?.abort();
      wake?.();
      resolveSynced();
    },
  };
}
