// A fake Kubernetes API server (node:http) for the Prow and Kubernetes executor tests — the only
// faked part; every test using it says "fake API server" in its name. It speaks the real protocol
// as @kubernetes/client-node uses it: namespaced custom objects list / get / create (409
// AlreadyExists) / patch (merge-patch and json-patch) / delete (finalizers and deletionTimestamp honoured), and watch with resourceVersion,
// bookmarks, 410 Gone for a compacted resourceVersion, and connections it can drop. Faults: a
// queue of error answers (status, Retry-After), and "down" (every request refused with 503).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Obj = { apiVersion?: string; kind?: string; metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> }; [k: string]: unknown };
interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  obj: Obj;
}
interface Watcher {
  res: ServerResponse;
  key: string; // collection key group/version/ns/plural
  selector: (o: Obj) => boolean;
}

export interface FakeKubeStats {
  creates: number;
  conflicts: number;
  patches: number;
  lists: number;
  watches: number;
  gets: number;
  faults: number;
  /** TCP connections accepted (a client that keeps connections alive opens few) */
  connections: number;
}

function matchSelector(sel: string): (o: Obj) => boolean {
  const parts = sel.split(',').map((s) => s.trim()).filter(Boolean);
  return (o) => {
    const l = o.metadata.labels ?? {};
    return parts.every((p) => {
      const ne = p.split('!=');
      if (ne.length === 2) return l[ne[0]!] !== ne[1];
      const eq = p.split('=');
      if (eq.length === 2) return l[eq[0]!] === eq[1];
      if (p.startsWith('!')) return !(p.slice(1) in l);
      return p in l;
    });
  };
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 add / replace / remove / test, with array indices; a failed test is a 422 as the API server answers. */
function jsonPatch(doc: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  const d = structuredClone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const keys = op.path.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    let cur: Record<string, unknown> | unknown[] = d;
    for (const k of keys.slice(0, -1)) cur = ((cur as Record<string, unknown>)[k] ??= {}) as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    if (Array.isArray(cur)) {
      const i = last === '-' ? cur.length : Number(last);
      if (op.op === 'test') {
        if (JSON.stringify(cur[i]) !== JSON.stringify(op.value)) throw new PatchTestFailed(op.path);
      } else if (op.op === 'remove') cur.splice(i, 1);
      else if (op.op === 'add') cur.splice(i, 0, op.value);
      else if (op.op === 'replace') cur[i] = op.value;
      else throw new Error(`unsupported json-patch op ${op.op}`);
      continue;
    }
    if (op.op === 'test') {
      if (JSON.stringify(cur[last]) !== JSON.stringify(op.value)) throw new PatchTestFailed(op.path);
    } else if (op.op === 'remove') delete cur[last];
    else if (op.op === 'add' || op.op === 'replace') cur[last] = op.value;
    else throw new Error(`unsupported json-patch op ${op.op}`);
  }
  return d;
}

class PatchTestFailed extends Error {
  constructor(path: string) {
    super(`the server rejected our request due to an error in our request: testing value ${path} failed`);
  }
}

const hasFinalizers = (o: Obj) => Array.isArray(o.metadata.finalizers) && (o.metadata.finalizers as unknown[]).length > 0;

export class FakeKube {
  readonly objects = new Map<string, Obj>(); // key/name → object
  private events: Event[] = [];
  private rv = 1;
  /** events at or below this resourceVersion are compacted: watching from older gets 410 */
  private compactedRv = 0;
  private watchers = new Set<Watcher>();
  private server: Server;
  private faults: { status: number; retryAfter?: number; match?: RegExp }[] = [];
  down = false;
  readonly stats: FakeKubeStats = { creates: 0, conflicts: 0, patches: 0, lists: 0, watches: 0, gets: 0, faults: 0, connections: 0 };
  /** every request: "METHOD path" */
  readonly requests: string[] = [];
  url = '';

  constructor() {
    this.server = this.newServer();
  }

  private newServer(): Server {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', () => this.stats.connections++);
    return server;
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const w of this.watchers) w.res.destroy();
    for (const l of this.podLogs.values()) for (const r of l.followers) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Stops listening (connections refused, open ones cut) while keeping every object; resume() listens again on the same port. */
  async halt(): Promise<void> {
    await this.stop();
    this.server = this.newServer();
  }

  async resume(): Promise<void> {
    const port = Number(new URL(this.url).port);
    await new Promise<void>((r, j) => {
      this.server.once('error', j);
      this.server.listen(port, '127.0.0.1', () => r());
    });
  }

  /** A kubeconfig file pointing at this server, with two contexts ("fake" current, "other" a dead port). */
  writeKubeconfig(dir: string): string {
    const p = join(dir, 'kubeconfig');
    writeFileSync(
      p,
      `apiVersion: v1
kind: Config
current-context: fake
clusters:
- name: fake
  cluster: {server: "${this.url}", insecure-skip-tls-verify: true}
- name: dead
  cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: "t"}
contexts:
- name: fake
  context: {cluster: fake, user: u}
- name: dead
  context: {cluster: dead, user: u}
`,
    );
    return p;
  }

  /** The next requests (matching `match` against "METHOD path", if given) answer with this status. */
  fail(status: number, times = 1, o: { retryAfter?: number; match?: RegExp } = {}): void {
    for (let i = 0; i < times; i++) this.faults.push({ status, ...o });
  }

  /** Ends every open watch connection abruptly (socket destroyed, no final event). */
  dropWatches(): number {
    const n = this.watchers.size;
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    return n;
  }

  /** Forgets the event history: a watch from any older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.events = [];
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher. */
  bookmark(): void {
    for (const w of this.watchers) w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ProwJob', apiVersion: 'prow.k8s.io/v1', metadata: { resourceVersion: String(this.rv) } } }) + '\n');
  }

  get(key: string, name: string): Obj | undefined {
    return this.objects.get(`${key}/${name}`);
  }

  list(key: string): Obj[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(key + '/')).map(([, o]) => o);
  }

  /** Changes an object as another party (Prow) would: merge-patch, new resourceVersion, MODIFIED event. */
  update(key: string, name: string, patch: Record<string, unknown>): Obj {
    const cur = this.get(key, name);
    if (!cur) throw new Error(`fake API server: no ${key}/${name}`);
    return this.store(key, mergePatch(cur, patch) as Obj, 'MODIFIED');
  }

  readonly podLogs = new Map<string, { text: string; ended: boolean; followers: Set<ServerResponse> }>();

  /** A pod of Job `job` (labelled job-name as the Job controller does); its log starts empty. */
  addPod(ns: string, name: string, job: string): void {
    this.objects.set(`v1/${ns}/pods/${name}`, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels: { 'job-name': job, 'batch.kubernetes.io/job-name': job } } });
    this.podLogs.set(`${ns}/${name}`, { text: '', ended: false, followers: new Set() });
  }

  /** Appends to a pod's log (followers see it at once); end=true: the container exited. */
  podLog(ns: string, name: string, text: string, end = false): void {
    const l = this.podLogs.get(`${ns}/${name}`)!;
    l.text += text;
    for (const r of l.followers) r.write(text);
    if (end) {
      l.ended = true;
      for (const r of l.followers) r.end();
      l.followers.clear();
    }
  }

  /**
   * Deletes an object as another party would (the TTL controller, kubectl delete): as the API
   * server does, an object with finalizers only gets its deletionTimestamp (MODIFIED) and goes
   * (DELETED) when the last finalizer is removed; force: gone at once regardless.
   */
  remove(key: string, name: string, o: { force?: boolean } = {}): void {
    const cur = this.get(key, name);
    if (!cur) throw new Error(`fake API server: no ${key}/${name}`);
    this.delete(key, o.force ? { ...cur, metadata: { ...cur.metadata, finalizers: [] } } : cur);
  }

  private delete(key: string, cur: Obj): void {
    if (!hasFinalizers(cur)) return void this.store(key, cur, 'DELETED');
    if (cur.metadata.deletionTimestamp) return;
    this.store(key, { ...cur, metadata: { ...cur.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } }, 'MODIFIED');
  }

  /** Like update, but without any event (as if it happened while the watch was away and the history was lost). */
  updateSilently(key: string, name: string, patch: Record<string, unknown>): void {
    const cur = this.get(key, name)!;
    const next = mergePatch(cur, patch) as Obj;
    next.metadata = { ...next.metadata, resourceVersion: String(++this.rv) };
    this.objects.set(`${key}/${name}`, next);
  }

  private store(key: string, obj: Obj, type: Event['type']): Obj {
    const rv = ++this.rv;
    const o = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    if (type === 'DELETED') this.objects.delete(`${key}/${o.metadata.name}`);
    else this.objects.set(`${key}/${o.metadata.name}`, o);
    const ev: Event = { rv, type, key, obj: o };
    this.events.push(ev);
    if (this.events.length > 100_000) this.events.splice(0, 50_000);
    for (const w of this.watchers) if (w.key === key && w.selector(o)) w.res.write(JSON.stringify({ type, object: o }) + '\n');
    return o;
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string, headers: Record<string, string> = {}): void {
    this.send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }, headers);
  }

  private async body(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const t = Buffer.concat(chunks).toString('utf8');
    return t ? JSON.parse(t) : null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const line = `${req.method} ${u.pathname}`;
    this.requests.push(line + u.search);
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const fi = this.faults.findIndex((f) => !f.match || f.match.test(line + u.search));
    if (fi >= 0) {
      const f = this.faults.splice(fi, 1)[0]!;
      this.stats.faults++;
      return this.status(res, f.status, f.status === 429 ? 'TooManyRequests' : 'InternalError', `injected fault ${f.status}`, f.retryAfter !== undefined ? { 'retry-after': String(f.retryAfter) } : {});
    }
    // core pods and their logs: GET /api/v1/namespaces/{ns}/pods[?labelSelector], …/pods/{name}/log[?follow=true]
    const core = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+)\/log)?$/.exec(u.pathname);
    if (core && req.method === 'GET') {
      const [, ns, pod] = core as unknown as [string, string, string | undefined];
      if (!pod) {
        const sel = matchSelector(u.searchParams.get('labelSelector') ?? '');
        return this.send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.rv) }, items: this.list(`v1/${ns}/pods`).filter(sel) });
      }
      const log = this.podLogs.get(`${ns}/${pod}`);
      if (!log) return this.status(res, 400, 'BadRequest', `container "job" in pod "${pod}" is waiting to start: ContainerCreating`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(log.text);
      if (log.ended || u.searchParams.get('follow') !== 'true') return void res.end();
      log.followers.add(res);
      res.on('close', () => log.followers.delete(res));
      return;
    }
    // /apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}[/status]]  or /apis/batch/v1/…
    const m = /^\/apis\/([^/]+)\/([^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?(?:\/(status))?$/.exec(u.pathname);
    if (!m) return this.status(res, 404, 'NotFound', `the server could not find the requested resource ${u.pathname}`);
    const [, group, version, ns, plural, name] = m as unknown as [string, string, string, string, string, string | undefined];
    const key = `${group}/${version}/${ns}/${plural}`;
    const method = req.method ?? 'GET';
    try {
      if (method === 'GET' && !name && u.searchParams.get('watch') === 'true') return this.watch(req, res, key, u);
      if (method === 'GET' && !name) {
        this.stats.lists++;
        const sel = matchSelector(u.searchParams.get('labelSelector') ?? '');
        return this.send(res, 200, { kind: 'List', apiVersion: `${group}/${version}`, metadata: { resourceVersion: String(this.rv) }, items: this.list(key).filter(sel) });
      }
      if (method === 'GET' && name) {
        this.stats.gets++;
        const o = this.get(key, name);
        return o ? this.send(res, 200, o) : this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
      }
      if (method === 'POST' && !name) {
        const o = (await this.body(req)) as Obj;
        if (!o?.metadata?.name) return this.status(res, 422, 'Invalid', 'metadata.name: Required value');
        if (this.get(key, o.metadata.name)) {
          this.stats.conflicts++;
          return this.status(res, 409, 'AlreadyExists', `${plural} "${o.metadata.name}" already exists`);
        }
        this.stats.creates++;
        const created = this.store(key, { ...o, metadata: { ...o.metadata, namespace: ns, uid: `uid-${this.rv}`, creationTimestamp: new Date().toISOString() } }, 'ADDED');
        return this.send(res, 201, created);
      }
      if (method === 'PATCH' && name) {
        const cur = this.get(key, name);
        if (!cur) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
        const ct = String(req.headers['content-type'] ?? '');
        const patch = await this.body(req);
        let next: Obj;
        if (ct.startsWith('application/merge-patch+json')) next = mergePatch(cur, patch) as Obj;
        else if (ct.startsWith('application/json-patch+json')) next = jsonPatch(cur, patch as { op: string; path: string }[]) as Obj;
        else return this.status(res, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${ct})`);
        this.stats.patches++;
        // the last finalizer of an object being deleted removed: it goes
        if (next.metadata.deletionTimestamp && !hasFinalizers(next)) return this.send(res, 200, this.store(key, next, 'DELETED'));
        return this.send(res, 200, this.store(key, next, 'MODIFIED'));
      }
      if (method === 'DELETE' && name) {
        const cur = this.get(key, name);
        if (!cur) return this.status(res, 404, 'NotFound', `${plural} "${name}" not found`);
        this.delete(key, cur);
        return this.send(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
      return this.status(res, 405, 'MethodNotAllowed', `${method} not allowed`);
    } catch (e) {
      if (e instanceof PatchTestFailed) return this.status(res, 422, 'Invalid', e.message);
      return this.status(res, 400, 'BadRequest', (e as Error).message);
    }
  }

  private watch(_req: IncomingMessage, res: ServerResponse, key: string, u: URL): void {
    this.stats.watches++;
    const sel = matchSelector(u.searchParams.get('labelSelector') ?? '');
    const from = Number(u.searchParams.get('resourceVersion') || this.rv);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // as the real API server: headers at once, events as they happen
    if (from < this.compactedRv) {
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `too old resource version: ${from} (${this.compactedRv})`, reason: 'Expired', code: 410 } }) + '\n');
      return;
    }
    for (const ev of this.events) if (ev.rv > from && ev.key === key && sel(ev.obj)) res.write(JSON.stringify({ type: ev.type, object: ev.obj }) + '\n');
    const w: Watcher = { res, key, selector: sel };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}

export const PROWJOBS = 'prow.k8s.io/v1/ci/prowjobs';
