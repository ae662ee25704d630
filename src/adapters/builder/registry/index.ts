// Registry payload builder (--builder registry): a payload is an OCI release image pushed to
// `<repository>:<tag>`, whose one layer holds `release-manifests/image-references` (ImageStream:
// component → repository@digest) and `release-manifests/release-metadata`
// (cincinnati-metadata-v0), as `oc adm release new` makes them; its config carries
// `io.openshift.release=<tag>`. Its pull spec is `<repository>@<manifest digest>`.
//
// Deterministic: the same request gives the same bytes (fixed tar and gzip headers, the payload's
// creation time as the image's). A tag already in the registry with the same image references is
// kept as it is (its release metadata too), so a rebuild after a crash gets the same digest.
// Registry errors are retried with backoff until the build timeout; then the payload fails with
// the last error.
//
// The mirror repository (upstream's per-release mirror stream, upstream-behavior.md §3.8): with
// BuildRequest.mirrorRepository, each build also writes `<mirror>:<component>` for every component,
// the component's manifest copied by digest (blobs mounted from the component's repository on the
// same registry, copied from another). Tags already at the component's digest are left alone, so
// a rebuild only writes what is missing. Jobs get it as IMAGE_FORMAT. With --registry-gc, remove()
// deletes the mirror's tags with the release image (the registry must allow deletes).
import { imageReferences, releaseMetadata } from '../local/index.ts';
import { MEDIA, RegistryError, sha256, type Descriptor, type ManifestJson, type RegistryClient } from '../../registry/client.ts';
import { parseImageRef, parseRepository, type ImageRef } from '../../registry/reference.ts';
import { gzip, tar, untar, type TarFile } from '../../registry/tar.ts';
import type { BuildRequest, BuildResult, InspectResult, MirrorOutcome, MirrorRequest, PayloadBuilder, ReleaseManifests } from '../../../ports/builder.ts';
import { releaseInfo, type ReleaseInfo } from '../../registry/info.ts';
import type { Credentials } from '../../registry/auth.ts';
import type { Component } from '../../../domain/types.ts';

export interface RegistryBuilderOptions {
  client: RegistryClient;
  /** give up on a build (payload Failed) after this long, default 10 min */
  buildTimeoutMs?: number;
  /** first retry delay, doubled up to 30 s; default 1 s */
  retryMs?: number;
  /** delete payload manifests from the registry on garbage collection (--registry-gc) */
  gc?: boolean;
  /** the target repository (`host/path`) of a stream, for remove() and manifests() */
  repositoryOf?: (stream: string) => string | null;
  /** every stream's target repository, for sweep() */
  repositories?: () => string[];
  /** the stream a live payload tag belongs to, for manifests() */
  streamOfTag?: (tag: string) => string | null;
  /** the pull spec of a live payload tag, for manifests() (by digest: where the release really is) */
  pullSpecOfTag?: (tag: string) => string | null;
  /** the mirror repository a build of `tag` writes (of the stream the tag is named after), for sweep() */
  mirrorOfTag?: (tag: string) => string | null;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  /** the auth-file entry an alternateImageRepositorySecretName names, null when there is none */
  credentialsNamed?: (name: string) => Credentials | null;
}

const SAFE_TAG = /^[\w][\w.-]{0,127}$/;
const REFS = 'release-manifests/image-references';
const META = 'release-manifests/release-metadata';

const CVO = 'cluster-version-operator';
/** blobs larger than this are uploaded in chunks of this size */
const CHUNK = 16 * 1024 * 1024;
/** components copied to a mirror repository at once */
const MIRROR_CONCURRENCY = 4;

interface ImageConfig {
  config?: { Labels?: Record<string, string> | null; Entrypoint?: string[]; Env?: string[] } & Record<string, unknown>;
  rootfs?: { diff_ids?: string[] };
}

class Permanent extends Error {}

export class RegistryBuilder implements PayloadBuilder {
  /** tag → the last error of its build while it retries */
  private readonly retrying = new Map<string, string>();
  private readonly timeoutMs: number;
  private readonly retryMs: number;

  constructor(private readonly o: RegistryBuilderOptions) {
    this.timeoutMs = o.buildTimeoutMs ?? 600_000;
    this.retryMs = o.retryMs ?? 1000;
  }

  /** the last registry errors of builds still retrying, or null when none is */
  problem(): string | null {
    return this.retrying.size ? [...this.retrying.values()].join('; ') : null;
  }

  async build(req: BuildRequest): Promise<BuildResult> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.buildOnce(req);
        this.retrying.delete(req.tag);
        return r;
      } catch (e) {
        const message = (e as Error).message;
        if (e instanceof Permanent) {
          this.retrying.delete(req.tag);
          return { ok: false, reason: 'CreateReleaseFailed', message };
        }
        this.retrying.set(req.tag, `building ${req.tag}: ${message}`);
        const wait = Math.min(this.retryMs * 2 ** attempt, 30_000);
        if (Date.now() + wait > deadline) {
          this.retrying.delete(req.tag);
          return { ok: false, reason: 'CreateReleaseFailed', message: `gave up after ${Math.round(this.timeoutMs / 1000)} s: ${message}` };
        }
        this.o.log?.warn({ tag: req.tag, attempt: attempt + 1 }, `building ${req.tag} failed, retrying in ${wait} ms: ${message}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * Copies a payload image to `to` (alternateImageRepository:<tag>), as upstream's
   * `oc image mirror`: every blob the target lacks is mounted from the source repository when both
   * are on one registry, else copied; then the manifest (an index's images first). The copy has
   * the source's digest. Registry errors are retried with backoff until the build timeout.
   */
  async mirror(req: MirrorRequest): Promise<MirrorOutcome> {
    const deadline = Date.now() + this.timeoutMs;
    const key = `mirror ${req.to}`;
    for (let attempt = 0; ; attempt++) {
      try {
        const digest = await this.mirrorOnce(req);
        this.retrying.delete(key);
        return { ok: true, to: req.to, digest };
      } catch (e) {
        const message = (e as Error).message;
        const wait = Math.min(this.retryMs * 2 ** attempt, 30_000);
        if (e instanceof Permanent || Date.now() + wait > deadline) {
          this.retrying.delete(key);
          return { ok: false, to: req.to, message: e instanceof Permanent ? message : `gave up after ${Math.round(this.timeoutMs / 1000)} s: ${message}` };
        }
        this.retrying.set(key, `mirroring to ${req.to}: ${message}`);
        this.o.log?.warn({ to: req.to, attempt: attempt + 1 }, `mirroring ${req.pullSpec} to ${req.to} failed, retrying in ${wait} ms: ${message}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /**
   * Copies the image `src`@`digest` (an index's images first, then the blobs the target lacks:
   * mounted from the source repository on one registry, else copied) into `dst` with client `to`;
   * returns the top manifest for the caller to put under its tag.
   */
  private async copyImage(src: { host: string; repository: string }, digest: string, to: RegistryClient, dst: { host: string; repository: string }): Promise<{ body: Buffer; mediaType: string }> {
    const m = await this.o.client.getManifest(src.host, src.repository, digest);
    for (const child of m.json.manifests ?? []) {
      const c = await this.copyImage(src, child.digest, to, dst);
      await to.putManifest(dst.host, dst.repository, child.digest, c.body, c.mediaType);
    }
    for (const b of [...(m.json.config ? [m.json.config] : []), ...(m.json.layers ?? [])]) {
      if (await to.hasBlob(dst.host, dst.repository, b.digest)) continue;
      if (src.host === dst.host && (await to.mountBlob(dst.host, dst.repository, b.digest, src.repository))) continue;
      await to.pushBlob(dst.host, dst.repository, await this.o.client.getBlob(src.host, src.repository, b.digest), { chunkSize: CHUNK });
    }
    return { body: m.body, mediaType: m.mediaType };
  }

  /**
   * Writes the payload's mirror repository: `<mirror>:<component>` → the component's image, by
   * digest (components are pinned by then). A tag already at that digest is kept. Returns the
   * repository, or undefined (with a warning, the payload still builds) when the mirror name is
   * not a valid repository or a component name not a valid tag.
   */
  private async writeMirror(tag: string, mirror: string, components: Record<string, Component>): Promise<string | undefined> {
    let dst: { host: string; repository: string };
    try {
      dst = parseRepository(mirror);
    } catch (e) {
      this.o.log?.warn({ tag, mirror }, `no mirror repository for ${tag}: ${(e as Error).message}; its jobs get no IMAGE_FORMAT`);
      return undefined;
    }
    const names = Object.keys(components).sort();
    const bad = names.filter((n) => !SAFE_TAG.test(n));
    if (bad.length) {
      this.o.log?.warn({ tag, mirror }, `no mirror repository for ${tag}: component names ${bad.join(', ')} are not valid image tags; its jobs get no IMAGE_FORMAT`);
      return undefined;
    }
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const n = names[next++]!;
        const src = parseImageRef(components[n].pullSpec);
        const digest = src.digest!;
        const have = await this.o.client.headManifest(dst.host, dst.repository, n);
        if (have?.digest === digest) continue;
        const top = await this.copyImage(src, digest, this.o.client, dst);
        const pushed = await this.o.client.putManifest(dst.host, dst.repository, n, top.body, top.mediaType);
        if (pushed !== digest) throw new Permanent(`mirror ${mirror}:${n}: the registry stored digest ${pushed}, not the component's ${digest}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(MIRROR_CONCURRENCY, names.length) }, worker));
    return mirror;
  }

  private async mirrorOnce(req: MirrorRequest): Promise<string> {
    let src: ImageRef;
    let dst: ImageRef;
    try {
      src = parseImageRef(req.pullSpec);
      dst = parseImageRef(req.to);
    } catch (e) {
      throw new Permanent((e as Error).message);
    }
    if (!src.digest) throw new Permanent(`${req.pullSpec}: the payload has no digest to mirror`);
    if (!dst.tag || dst.digest) throw new Permanent(`${req.to}: expected <alternateImageRepository>:<tag>`);
    let to = this.o.client;
    if (req.secretName) {
      const creds = this.o.credentialsNamed?.(req.secretName) ?? null;
      if (!creds) throw new Permanent(`alternateImageRepositorySecretName ${req.secretName}: no such entry in the --registry-auth file`);
      to = to.withCredentials(dst.host, creds);
    }
    const top = await this.copyImage(src, src.digest, to, dst);
    const pushed = await to.putManifest(dst.host, dst.repository, dst.tag, top.body, top.mediaType);
    if (pushed !== src.digest) throw new Permanent(`${req.to}: the registry stored digest ${pushed}, not the payload's ${src.digest}`);
    return pushed;
  }

  private async buildOnce(req: BuildRequest): Promise<BuildResult> {
    const names = Object.keys(req.components);
    if (names.length === 0) throw new Permanent('the input stream has no components');
    if (!SAFE_TAG.test(req.tag)) throw new Permanent(`invalid tag ${JSON.stringify(req.tag)}: not a valid image tag`);
    let target: { host: string; repository: string };
    try {
      target = parseRepository(req.repository);
    } catch (e) {
      throw new Permanent(`target repository: ${(e as Error).message}`);
    }
    const refs: Record<string, ImageRef> = {};
    const bad: string[] = [];
    for (const n of names.sort()) {
      try {
        refs[n] = parseImageRef(req.components[n].pullSpec);
      } catch {
        bad.push(`${n} (${JSON.stringify(req.components[n].pullSpec)})`);
      }
    }
    if (bad.length) throw new Permanent(`invalid pull spec for ${bad.join(', ')}`);
    // every component must be in its registry; one given by tag is pinned to its digest now
    const components: Record<string, Component> = {};
    for (const n of names) {
      const r = refs[n];
      const head = await this.o.client.headManifest(r.host, r.repository, r.digest ?? r.tag ?? 'latest');
      if (!head) throw new RegistryError(`component ${n}: ${req.components[n].pullSpec} is not in the registry`, r.host, r.repository, 404, 'MANIFEST_UNKNOWN');
      components[n] = { ...req.components[n], pullSpec: `${r.host}/${r.repository}@${head.digest}` };
    }
    const pinned: BuildRequest = { ...req, components };
    const imageRefs = imageReferences(pinned);
    const mirrored = async () => (req.mirrorRepository ? { mirrorRepository: await this.writeMirror(req.tag, req.mirrorRepository, components) } : {});
    const existing = await this.existing(target, req.tag, imageRefs);
    if (existing) return { ok: true, pullSpec: `${target.host}/${target.repository}@${existing}`, digest: existing, ...(await mirrored()) };

    const { host, repository } = target;
    // component images: their configs (operator label) and, for the CVO, the base to build on
    const images: Record<string, { manifest: ManifestJson; config: ImageConfig; digest: string }> = {};
    for (const n of names) images[n] = await this.image(refs[n], components[n].pullSpec.split('@')[1]);
    const operatorFiles = await this.operatorManifests(names, refs, images);
    const refsText = JSON.stringify(imageRefs, null, 2) + '\n';
    const metaText = JSON.stringify(releaseMetadata(pinned), null, 2) + '\n';
    const raw = tar([{ path: REFS, content: refsText }, { path: META, content: metaText }, ...operatorFiles]);
    const layer = gzip(raw);

    const base = images[CVO];
    const baseLayers: Descriptor[] = [];
    if (base) {
      const from = refs[CVO];
      for (const l of base.manifest.layers ?? []) {
        // the CVO's layers are shared with the payload: mounted (same registry) or copied
        const mounted = from.host === host && (await this.o.client.mountBlob(host, repository, l.digest, from.repository));
        if (!mounted && !(await this.o.client.hasBlob(host, repository, l.digest))) {
          // another registry: copied, in chunks when large
          const blob = await this.o.client.getBlob(from.host, from.repository, l.digest);
          await this.o.client.pushBlob(host, repository, blob, { chunkSize: blob.length > CHUNK ? CHUNK : undefined });
        }
        baseLayers.push({ mediaType: l.mediaType === MEDIA.dockerLayer ? MEDIA.ociLayer : l.mediaType, digest: l.digest, size: l.size });
      }
    }
    const baseCfg = base?.config.config ?? {};
    const labels: Record<string, string> = { ...(baseCfg.Labels ?? {}), 'io.openshift.release': req.tag };
    if (base) labels['io.openshift.release.base-image-digest'] = base.digest;
    const config = Buffer.from(
      JSON.stringify({
        created: req.createdAt,
        architecture: 'amd64',
        os: 'linux',
        // the CVO's entrypoint and environment are kept, its history dropped (as oc image append --drop-history)
        config: { ...baseCfg, Labels: labels },
        rootfs: { type: 'layers', diff_ids: [...(base?.config.rootfs?.diff_ids ?? []), sha256(raw)] },
      }),
    );
    const layerDigest = await this.o.client.pushBlob(host, repository, layer);
    const configDigest = await this.o.client.pushBlob(host, repository, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: configDigest, size: config.length },
        layers: [...baseLayers, { mediaType: MEDIA.ociLayer, digest: layerDigest, size: layer.length }],
        annotations: { 'io.openshift.release': req.tag },
      }),
    );
    const digest = await this.o.client.putManifest(host, repository, req.tag, manifest, MEDIA.ociManifest);
    this.o.log?.info({ tag: req.tag, digest }, `pushed release image ${host}/${repository}:${req.tag}`);
    return { ok: true, pullSpec: `${host}/${repository}@${digest}`, digest, ...(await mirrored()) };
  }

  /** a component's image manifest (the linux/amd64 one of an index) and config */
  private async image(r: ImageRef, digest: string): Promise<{ manifest: ManifestJson; config: ImageConfig; digest: string }> {
    let m = await this.o.client.getManifest(r.host, r.repository, digest);
    if (m.json.manifests) {
      const pick = m.json.manifests.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === 'amd64') ?? m.json.manifests[0];
      if (!pick) throw new Permanent(`${r.host}/${r.repository}@${digest}: an empty image index`);
      m = await this.o.client.getManifest(r.host, r.repository, pick.digest);
    }
    if (!m.json.config) throw new Permanent(`${r.host}/${r.repository}@${digest}: not an image manifest (no config)`);
    const config = JSON.parse((await this.o.client.getBlob(r.host, r.repository, m.json.config.digest)).toString('utf8')) as ImageConfig;
    return { manifest: m.json, config, digest: m.digest };
  }

  /**
   * The files of `/manifests` in the last layer of each component labelled
   * io.openshift.release.operator, in component order, named as `oc adm release new` names them:
   * a file without a number prefix becomes `99_<component>_<file>`, a name seen before gets `_<n>`
   * before its extension; `image-references` of an operator is not copied.
   */
  private async operatorManifests(names: string[], refs: Record<string, ImageRef>, images: Record<string, { manifest: ManifestJson; config: ImageConfig }>): Promise<TarFile[]> {
    const out: TarFile[] = [];
    const seen = new Map<string, number>();
    for (const n of names) {
      const img = images[n];
      if (!img.config.config?.Labels?.['io.openshift.release.operator']) continue;
      const last = img.manifest.layers?.at(-1);
      if (!last) continue;
      const files = untar(await this.o.client.getBlob(refs[n].host, refs[n].repository, last.digest))
        .map((f) => ({ ...f, path: f.path.replace(/^\.?\/+/, '') }))
        .filter((f) => /^manifests\/[^/]+$/.test(f.path) && f.path !== 'manifests/image-references')
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      for (const f of files) {
        let name = f.path.slice('manifests/'.length);
        if (!/^\d+_/.test(name)) name = `99_${n}_${name}`;
        const count = seen.get(name);
        if (count !== undefined) {
          seen.set(name, count + 1);
          const ext = /\.[^./]*$/.exec(name)?.[0] ?? '';
          name = `${name.slice(0, name.length - ext.length)}_${count + 1}${ext}`;
        }
        seen.set(name, count === undefined ? 1 : count + 1);
        out.push({ path: `release-manifests/${name}`, content: f.content, mode: 0o444 });
      }
    }
    return out;
  }

  /** the digest of `repo:tag` when it is already a release image with these image references */
  private async existing(target: { host: string; repository: string }, tag: string, imageRefs: unknown): Promise<string | null> {
    const found = await this.read(target, tag);
    if (!found) return null;
    return JSON.stringify(found.manifests.imageReferences) === JSON.stringify(imageRefs) ? found.digest : null;
  }

  /** reads the release manifests of `repo:tag` (with `withConfig`, its image config too), null when the tag is not there or not a release image */
  private async read(target: { host: string; repository: string }, tag: string, withConfig = false): Promise<{ digest: string; manifests: ReleaseManifests } | null> {
    const head = await this.o.client.headManifest(target.host, target.repository, tag);
    if (!head) return null;
    const m = await this.o.client.getManifest(target.host, target.repository, head.digest);
    let refs: unknown = null;
    let meta: unknown = null;
    for (const l of (m.json.layers ?? []).slice(-1)) {
      const files = untar(await this.o.client.getBlob(target.host, target.repository, l.digest));
      for (const f of files) {
        const p = f.path.replace(/^\/+/, '');
        if (p === REFS) refs = JSON.parse(f.content.toString());
        if (p === META) meta = JSON.parse(f.content.toString());
      }
    }
    if (!refs || !meta) return null;
    const manifests: ReleaseManifests = { imageReferences: refs, releaseMetadata: meta };
    if (withConfig && m.json.config) manifests.config = JSON.parse((await this.o.client.getBlob(target.host, target.repository, m.json.config.digest)).toString('utf8')) as unknown;
    return { digest: m.digest, manifests };
  }

  /**
   * Reads a release image other tooling pushed (adoption): version and previous from its
   * release-metadata, components from its image-references. Unreachable registries and 5xx are
   * retried until the build timeout; anything else fails the adoption with the reason.
   */
  async inspect(pullSpec: string): Promise<InspectResult> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const info = await releaseInfo(this.o.client, pullSpec);
        this.retrying.delete(pullSpec);
        return adoptedRelease(pullSpec, info);
      } catch (e) {
        const message = (e as Error).message;
        const transient = e instanceof RegistryError && (e.status === 0 || e.status === 429 || e.status >= 500);
        const wait = Math.min(this.retryMs * 2 ** attempt, 30_000);
        if (!transient || Date.now() + wait > deadline) {
          this.retrying.delete(pullSpec);
          return { ok: false, reason: 'AdoptReleaseFailed', message: transient ? `gave up after ${Math.round(this.timeoutMs / 1000)} s: ${message}` : message };
        }
        this.retrying.set(pullSpec, `reading ${pullSpec}: ${message}`);
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  async manifests(tag: string): Promise<ReleaseManifests | null> {
    const pulled = this.o.pullSpecOfTag?.(tag);
    if (pulled?.includes('@')) {
      try {
        const r = parseImageRef(pulled);
        return (await this.read({ host: r.host, repository: r.repository }, r.digest!, true))?.manifests ?? null;
      } catch {
        return null;
      }
    }
    const stream = this.o.streamOfTag?.(tag);
    const repo = stream ? this.o.repositoryOf?.(stream) : null;
    if (!repo || !SAFE_TAG.test(tag)) return null;
    try {
      return (await this.read(parseRepository(repo), tag, true))?.manifests ?? null;
    } catch {
      return null;
    }
  }

  /**
   * With --registry-gc: deletes release images this builder pushed (manifest annotation
   * io.openshift.release equal to the tag) whose payloads are gone, left behind by a crash between
   * a payload's deletion and remove(). Tags anyone else pushed are never touched.
   */
  async sweep(isLive: (tag: string) => boolean): Promise<string[]> {
    if (!this.o.gc || !this.o.repositories) return [];
    const removed: string[] = [];
    for (const repo of [...new Set(this.o.repositories())]) {
      const { host, repository } = parseRepository(repo);
      const tags = await this.o.client.listTags(host, repository);
      for (const tag of tags) {
        if (!SAFE_TAG.test(tag) || isLive(tag)) continue;
        const m = await this.o.client.getManifest(host, repository, tag).catch(() => null);
        if (!m || m.json.annotations?.['io.openshift.release'] !== tag) continue;
        await this.removeRelease(this.o.streamOfTag?.(tag) ?? '', tag, repo);
        removed.push(`${repo}:${tag}`);
        // its mirror repository, left behind by the same crash (named after the tag)
        const mirror = this.o.mirrorOfTag?.(tag);
        if (mirror) await this.removeMirror(tag, mirror);
      }
    }
    return removed;
  }

  /**
   * With --registry-gc: deletes the payload's manifest (and so its tag) from the registry, and every
   * tag of its mirror repository (`mirrorRepository`, when the payload recorded one; deleting a
   * manifest there removes it from that repository only, never from the component's own).
   */
  async remove(stream: string, tag: string, mirrorRepository?: string): Promise<void> {
    await this.removeRelease(stream, tag);
    if (this.o.gc && mirrorRepository) await this.removeMirror(tag, mirrorRepository);
  }

  private async removeRelease(stream: string, tag: string, repoOverride?: string): Promise<void> {
    if (!this.o.gc || !SAFE_TAG.test(tag)) return;
    const repo = repoOverride ?? this.o.repositoryOf?.(stream);
    if (!repo) return;
    const { host, repository } = parseRepository(repo);
    const head = await this.o.client.headManifest(host, repository, tag);
    if (!head) return;
    if (await this.deleteRefused(host, repository, head.digest)) {
      this.o.log?.warn({ tag }, `registry ${host} refuses deletes (enable storage.delete); release image ${repository}:${tag} stays`);
      return;
    }
    this.o.log?.info({ tag, digest: head.digest }, `deleted release image ${host}/${repository}:${tag} (${head.digest})`);
  }

  private async removeMirror(tag: string, mirror: string): Promise<void> {
    const { host, repository } = parseRepository(mirror);
    const tags = await this.o.client.listTags(host, repository);
    let deleted = 0;
    for (const t of tags) {
      const head = await this.o.client.headManifest(host, repository, t);
      if (!head) continue; // a component sharing a digest with one deleted before
      if (await this.deleteRefused(host, repository, head.digest)) {
        this.o.log?.warn({ tag }, `registry ${host} refuses deletes (enable storage.delete); the mirror repository ${repository} of ${tag} stays`);
        return;
      }
      deleted++;
    }
    if (tags.length) this.o.log?.info({ tag, tags: tags.length, manifests: deleted }, `deleted the mirror repository ${host}/${repository} of ${tag}`);
  }

  /** DELETE a manifest by digest; true when the registry refuses deletes (405 / UNSUPPORTED) */
  private async deleteRefused(host: string, repository: string, digest: string): Promise<boolean> {
    try {
      await this.o.client.deleteManifest(host, repository, digest);
      return false;
    } catch (e) {
      const err = e as RegistryError;
      if (err.status === 405 || err.code === 'UNSUPPORTED') return true;
      throw e;
    }
  }
}

/** The commit labels of a component as image-references annotations carry them. */
const COMMIT_KEYS = ['io.openshift.build.commit.id', 'io.openshift.build.commit.ref', 'io.openshift.build.commit.url', 'io.openshift.build.source-location'];

/** An adopted release from what its image says: pulled by digest, its metadata and components. */
export function adoptedRelease(pullSpec: string, info: ReleaseInfo): InspectResult {
  const meta = info.metadata as { version?: unknown; previous?: unknown };
  if (typeof meta.version !== 'string' || !meta.version) return { ok: false, reason: 'AdoptReleaseFailed', message: `${pullSpec}: release-metadata has no version` };
  const previous = Array.isArray(meta.previous) ? meta.previous.filter((v): v is string => typeof v === 'string') : [];
  const refs = info.references as { spec?: { tags?: { name?: unknown; annotations?: Record<string, unknown> | null; from?: { name?: unknown } | null }[] | null } | null };
  const components: Record<string, Component> = Object.create(null) as Record<string, Component>;
  for (const t of refs.spec?.tags ?? []) {
    if (typeof t.name !== 'string' || typeof t.from?.name !== 'string') continue;
    const labels: Record<string, string> = {};
    for (const k of COMMIT_KEYS) {
      const v = t.annotations?.[k];
      if (typeof v === 'string' && v) labels[k] = v;
    }
    components[t.name] = { pullSpec: t.from.name, labels };
  }
  const ref = parseImageRef(pullSpec);
  return { ok: true, pullSpec: `${ref.host}/${ref.repository}@${info.digest}`, digest: info.digest, version: meta.version, previous, components: { ...components } };
}
