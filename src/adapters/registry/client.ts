// A small client of the Distribution (OCI registry) HTTP API over fetch: manifests (Docker v2
// schema 2, OCI image manifest and index), blobs (existence, monolithic and chunked upload,
// cross-repository mount), tags with pagination, manifest delete. Auth from an auth file with the
// Basic and Bearer-token (WWW-Authenticate challenge) flows; plain HTTP for --registry-insecure
// hosts; per-request timeouts; retries with backoff on network errors, 5xx and 429 (Retry-After).
import { createHash } from 'node:crypto';
import { parseChallenge, type AuthMap, type Credentials } from './auth.ts';
import { DIGEST } from './reference.ts';
import { timeoutSignal } from '../timeout-signal.ts';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

const MANIFEST_ACCEPT = [MEDIA.ociManifest, MEDIA.ociIndex, MEDIA.dockerManifest, MEDIA.dockerList].join(', ');

export interface RegistryClientOptions {
  auth?: AuthMap;
  /** hosts (host or host:port) spoken to over plain HTTP */
  insecure?: string[];
  /** per request, default 30 s */
  timeoutMs?: number;
  /** retries after the first attempt on network errors, 5xx and 429; default 4 */
  retries?: number;
  /** first backoff, doubled per retry (capped at 30 s); default 250 ms */
  backoffMs?: number;
}

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly host: string,
    readonly repository: string,
    /** HTTP status, 0 when the registry could not be reached */
    readonly status: number,
    /** Distribution error code when the registry sent one (MANIFEST_UNKNOWN, UNAUTHORIZED, …) */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export interface Manifest {
  mediaType: string;
  digest: string;
  body: Buffer;
  json: ManifestJson;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string };
}

export interface ManifestJson {
  schemaVersion: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Req {
  host: string;
  repository: string;
  method: string;
  /** path after /v2/, or an absolute URL (upload locations) */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** additional repositories the token must cover (pull), for cross-repository mounts */
  alsoPull?: string[];
  push?: boolean;
  /** a chunk upload is not idempotent: not retried */
  noRetry?: boolean;
}

export class RegistryClient {
  private readonly tokens = new Map<string, string>();
  /** hosts known to want Basic auth on every request */
  private readonly basicHosts = new Set<string>();
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  /** a client like this one that authenticates to `host` with `creds` (e.g. the auth-file entry a mirror names) */
  withCredentials(host: string, creds: Credentials): RegistryClient {
    const auth: AuthMap = new Map(this.opts.auth ?? []);
    auth.set(host, creds);
    return new RegistryClient({ ...this.opts, auth });
  }

  constructor(private readonly opts: RegistryClientOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
  }

  baseUrl(host: string): string {
    const insecure = (this.opts.insecure ?? []).some((h) => h === host || h === host.replace(/:\d+$/, ''));
    return `${insecure ? 'http' : 'https'}://${host}/v2/`;
  }

  // ---- manifests

  /** GET a manifest by tag or digest; a digest reference (or the registry's digest header) is verified. */
  async getManifest(host: string, repository: string, reference: string): Promise<Manifest> {
    const res = await this.send({ host, repository, method: 'GET', path: `${repository}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT } });
    await this.expect(res, [200], host, repository, `manifest ${reference}`);
    const body = Buffer.from(await res.arrayBuffer());
    const digest = sha256(body);
    const claimed = DIGEST.test(reference) ? reference : res.headers.get('docker-content-digest');
    if (claimed && claimed !== digest) throw new RegistryError(`${host}/${repository}: manifest ${reference}: content digest ${digest} does not match ${claimed}`, host, repository, res.status, 'DIGEST_INVALID');
    let json: ManifestJson;
    try {
      json = JSON.parse(body.toString('utf8')) as ManifestJson;
    } catch (e) {
      throw new RegistryError(`${host}/${repository}: manifest ${reference} is not JSON: ${(e as Error).message}`, host, repository, res.status, 'MANIFEST_INVALID');
    }
    const mediaType = json.mediaType ?? res.headers.get('content-type')?.split(';')[0] ?? '';
    if (!json || typeof json !== 'object' || json.schemaVersion !== 2) throw new RegistryError(`${host}/${repository}: manifest ${reference}: unsupported (schemaVersion ${String(json?.schemaVersion)})`, host, repository, res.status, 'MANIFEST_INVALID');
    return { mediaType, digest, body, json };
  }

  /** HEAD a manifest: its digest and media type, or null when the registry does not have it. */
  async headManifest(host: string, repository: string, reference: string): Promise<{ digest: string; mediaType: string } | null> {
    const res = await this.send({ host, repository, method: 'HEAD', path: `${repository}/manifests/${reference}`, headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return null;
    await this.expect(res, [200], host, repository, `manifest ${reference}`);
    const digest = res.headers.get('docker-content-digest');
    if (!digest) return { ...(await this.getManifest(host, repository, reference)) };
    return { digest, mediaType: res.headers.get('content-type')?.split(';')[0] ?? '' };
  }

  /** PUT a manifest under a tag or its digest; returns the digest of `body`. */
  async putManifest(host: string, repository: string, reference: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.send({ host, repository, method: 'PUT', path: `${repository}/manifests/${reference}`, headers: { 'Content-Type': mediaType }, body, push: true });
    await this.expect(res, [201, 200], host, repository, `manifest ${reference} upload`);
    await res.body?.cancel();
    const digest = sha256(body);
    const got = res.headers.get('docker-content-digest');
    if (got && got !== digest) throw new RegistryError(`${host}/${repository}: manifest ${reference}: registry stored ${got}, expected ${digest}`, host, repository, res.status, 'DIGEST_INVALID');
    return digest;
  }

  /** DELETE a manifest by digest; false when it was not there. Refusal (405 when deletes are off) throws. */
  async deleteManifest(host: string, repository: string, digest: string): Promise<boolean> {
    const res = await this.send({ host, repository, method: 'DELETE', path: `${repository}/manifests/${digest}`, push: true });
    if (res.status === 404) {
      await res.body?.cancel();
      return false;
    }
    await this.expect(res, [202, 200], host, repository, `manifest ${digest} delete`);
    await res.body?.cancel();
    return true;
  }

  // ---- blobs

  async hasBlob(host: string, repository: string, digest: string): Promise<boolean> {
    const res = await this.send({ host, repository, method: 'HEAD', path: `${repository}/blobs/${digest}` });
    if (res.status === 404) return false;
    await this.expect(res, [200], host, repository, `blob ${digest}`);
    return true;
  }

  async getBlob(host: string, repository: string, digest: string): Promise<Buffer> {
    const res = await this.send({ host, repository, method: 'GET', path: `${repository}/blobs/${digest}` });
    await this.expect(res, [200], host, repository, `blob ${digest}`);
    const body = Buffer.from(await res.arrayBuffer());
    const got = sha256(body);
    if (got !== digest) throw new RegistryError(`${host}/${repository}: blob ${digest}: content digest is ${got}`, host, repository, res.status, 'DIGEST_INVALID');
    return body;
  }

  /**
   * Uploads a blob unless the repository has it: monolithic (POST then PUT with the content) or,
   * with `chunkSize`, chunked (PATCH per chunk, then PUT). Returns its digest.
   */
  async pushBlob(host: string, repository: string, data: Buffer, opts: { chunkSize?: number } = {}): Promise<string> {
    const digest = sha256(data);
    if (await this.hasBlob(host, repository, digest)) return digest;
    let location = await this.startUpload(host, repository);
    const chunk = opts.chunkSize;
    if (chunk && chunk > 0 && data.length > chunk) {
      for (let off = 0; off < data.length; off += chunk) {
        const part = data.subarray(off, Math.min(off + chunk, data.length));
        const res = await this.send({
          host,
          repository,
          method: 'PATCH',
          path: location,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${off}-${off + part.length - 1}` },
          body: Buffer.from(part),
          push: true,
          noRetry: true,
        });
        await this.expect(res, [202], host, repository, `blob ${digest} chunk at ${off}`);
        await res.body?.cancel();
        location = this.location(res, location, host, repository);
      }
      const res = await this.send({ host, repository, method: 'PUT', path: withQuery(location, { digest }), push: true, headers: { 'Content-Length': '0' } });
      await this.expect(res, [201], host, repository, `blob ${digest} upload`);
      await res.body?.cancel();
    } else {
      const res = await this.send({
        host,
        repository,
        method: 'PUT',
        path: withQuery(location, { digest }),
        headers: { 'Content-Type': 'application/octet-stream' },
        body: data,
        push: true,
      });
      await this.expect(res, [201], host, repository, `blob ${digest} upload`);
      await res.body?.cancel();
    }
    return digest;
  }

  /**
   * Mounts a blob of `from` (same registry) into `repository` without copying it. True when
   * mounted (or already there); false when the registry declined (it then opened an upload, which
   * is cancelled).
   */
  async mountBlob(host: string, repository: string, digest: string, from: string): Promise<boolean> {
    if (await this.hasBlob(host, repository, digest)) return true;
    const res = await this.send({
      host,
      repository,
      method: 'POST',
      path: `${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      push: true,
      alsoPull: [from],
    });
    if (res.status === 201) {
      await res.body?.cancel();
      return true;
    }
    await this.expect(res, [202], host, repository, `blob ${digest} mount from ${from}`);
    await res.body?.cancel();
    const loc = this.location(res, `${repository}/blobs/uploads/`, host, repository);
    const del = await this.send({ host, repository, method: 'DELETE', path: loc, push: true });
    await del.body?.cancel();
    return false;
  }

  private async startUpload(host: string, repository: string): Promise<string> {
    const res = await this.send({ host, repository, method: 'POST', path: `${repository}/blobs/uploads/`, push: true, headers: { 'Content-Length': '0' } });
    await this.expect(res, [202], host, repository, 'blob upload start');
    await res.body?.cancel();
    return this.location(res, `${repository}/blobs/uploads/`, host, repository);
  }

  private location(res: Response, fallbackPath: string, host: string, repository: string): string {
    const loc = res.headers.get('location');
    if (!loc) throw new RegistryError(`${host}/${repository}: upload answer without a Location header`, host, repository, res.status);
    return new URL(loc, new URL(fallbackPath, this.baseUrl(host))).toString();
  }

  // ---- tags

  /** Every tag of the repository, following Link-header pagination; [] when the repository is unknown. */
  async listTags(host: string, repository: string, pageSize = 100): Promise<string[]> {
    const out: string[] = [];
    let path: string | null = `${repository}/tags/list?n=${pageSize}`;
    for (let pages = 0; path && pages < 10_000; pages++) {
      const res = await this.send({ host, repository, method: 'GET', path, headers: { Accept: 'application/json' } });
      if (res.status === 404 && out.length === 0) {
        const e = await errorOf(res);
        if (e.code === 'NAME_UNKNOWN') return [];
        throw new RegistryError(`${host}/${repository}: tags list: ${res.status}${e.text ? ` ${e.text}` : ''}`, host, repository, res.status, e.code);
      }
      await this.expect(res, [200], host, repository, 'tags list');
      const doc = (await res.json()) as { tags?: string[] | null };
      out.push(...(doc.tags ?? []));
      const link = res.headers.get('link');
      const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
      path = m ? new URL(m[1], this.baseUrl(host)).toString() : null;
    }
    return out;
  }

  // ---- transport

  private async expect(res: Response, ok: number[], host: string, repository: string, what: string): Promise<void> {
    if (ok.includes(res.status)) return;
    const e = await errorOf(res);
    const hint =
      res.status === 401 ? (this.opts.auth?.has(host) ? ' (credentials refused)' : ' (no credentials for this host in the auth file)') : res.status === 403 ? ' (access denied)' : '';
    throw new RegistryError(`registry ${host}, repository ${repository}: ${what}: HTTP ${res.status}${hint}${e.text ? `: ${e.text}` : ''}`, host, repository, res.status, e.code);
  }

  private scope(r: Req): string[] {
    return [`repository:${r.repository}:${r.push ? 'pull,push' : 'pull'}`, ...(r.alsoPull ?? []).map((p) => `repository:${p}:pull`)];
  }

  /** Sends with auth, retrying on network errors, 5xx and 429 with backoff (Retry-After honoured). */
  private async send(r: Req): Promise<Response> {
    const url = /^https?:/.test(r.path) ? r.path : this.baseUrl(r.host) + r.path;
    const scopeKey = `${r.host} ${this.scope(r).join(' ')}`;
    let authed = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...(r.headers ?? {}) };
      const token = this.tokens.get(scopeKey);
      const creds = this.opts.auth?.get(r.host);
      if (token) headers.Authorization = `Bearer ${token}`;
      else if (creds && this.basicHosts.has(r.host)) headers.Authorization = basic(creds.username, creds.password);
      let res: Response;
      try {
        res = await fetch(url, { method: r.method, headers, body: r.body ? new Uint8Array(r.body) : undefined, redirect: 'follow', signal: timeoutSignal(this.timeoutMs) });
      } catch (e) {
        const err = e as Error;
        const why = err.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : `${err.message}${(err.cause as Error | undefined)?.message ? ` (${(err.cause as Error).message})` : ''}`;
        if (!r.noRetry && attempt < this.retries) {
          await sleep(this.backoff(attempt));
          continue;
        }
        throw new RegistryError(`registry ${r.host}, repository ${r.repository}: ${r.method} ${redact(url)}: unreachable: ${why}`, r.host, r.repository, 0);
      }
      if (res.status === 401 && !authed) {
        authed = true;
        const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
        if (challenge.scheme === 'bearer' && challenge.params.realm) {
          await res.body?.cancel();
          this.tokens.set(scopeKey, await this.fetchToken(r, challenge.params, creds));
          attempt--;
          continue;
        }
        if (challenge.scheme === 'basic' && creds && !this.basicHosts.has(r.host)) {
          await res.body?.cancel();
          this.basicHosts.add(r.host);
          attempt--;
          continue;
        }
        return res;
      }
      if ((res.status >= 500 || res.status === 429) && !r.noRetry && attempt < this.retries) {
        const wait = retryAfter(res.headers.get('retry-after')) ?? this.backoff(attempt);
        await res.body?.cancel();
        await sleep(Math.min(wait, 60_000));
        continue;
      }
      return res;
    }
  }

  private backoff(attempt: number): number {
    const base = Math.min(this.backoffMs * 2 ** attempt, 30_000);
    return base / 2 + Math.random() * (base / 2);
  }

  private async fetchToken(r: Req, params: Record<string, string>, creds: { username: string; password: string } | undefined): Promise<string> {
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set('service', params.service);
    for (const s of this.scope(r)) u.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (creds) headers.Authorization = basic(creds.username, creds.password);
    let res: Response;
    try {
      res = await fetch(u, { headers, signal: timeoutSignal(this.timeoutMs) });
    } catch (e) {
      throw new RegistryError(`registry ${r.host}, repository ${r.repository}: token server ${u.host} unreachable: ${(e as Error).message}`, r.host, r.repository, 0);
    }
    if (res.status !== 200) {
      const e = await errorOf(res);
      throw new RegistryError(
        `registry ${r.host}, repository ${r.repository}: token server ${u.host} answered HTTP ${res.status}${res.status === 401 ? (creds ? ' (credentials refused)' : ' (no credentials for this host in the auth file)') : ''}${e.text ? `: ${e.text}` : ''}`,
        r.host,
        r.repository,
        res.status === 401 ? 401 : res.status,
        'UNAUTHORIZED',
      );
    }
    const doc = (await res.json()) as { token?: string; access_token?: string };
    const t = doc.token ?? doc.access_token;
    if (!t) throw new RegistryError(`registry ${r.host}: token server ${u.host} sent no token`, r.host, r.repository, res.status, 'UNAUTHORIZED');
    return t;
  }
}

function basic(u: string, p: string): string {
  return `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
}

function withQuery(url: string, q: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
  return u.toString();
}

function redact(url: string): string {
  return url.replace(/([?&])(_state|state)=[^&]*/g, '$1$2=…');
}

/** seconds or an HTTP date → ms */
export function retryAfter(h: string | null): number | null {
  if (!h) return null;
  if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  const t = Date.parse(h);
  return Number.isNaN(t) ? null : Math.max(0, t - Date.now());
}

async function errorOf(res: Response): Promise<{ code?: string; text: string }> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    return { text: '' };
  }
  try {
    const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const e = doc.errors?.[0];
    if (e) return { code: e.code, text: `${e.code ?? ''}${e.message ? ` ${e.message}` : ''}`.trim() };
  } catch {
    // not a Distribution error body
  }
  return { text: text.trim().slice(0, 200) };
}
