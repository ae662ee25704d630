// Local payload builder (DESIGN.md §8): the payload is the canonical JSON manifest of its component
// snapshot; its digest is the sha256 of that manifest. The manifest files are written the way an
// OpenShift release image carries them (release-manifests/image-references, release-metadata).
// It makes no images, so it writes no mirror repository (BuildRequest.mirrorRepository is ignored):
// its payloads record none and their jobs get no IMAGE_FORMAT.
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildRequest, BuildResult, PayloadBuilder, ReleaseManifests } from '../../../ports/builder.ts';

const PULL_SPEC = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?:@sha256:[a-f0-9]{64}|:[\w][\w.-]{0,127})$/i;

export function imageReferences(req: BuildRequest): unknown {
  return {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: req.tag, creationTimestamp: req.createdAt, annotations: { 'release.openshift.io/from-stream': req.stream } },
    spec: {
      tags: Object.keys(req.components)
        .sort()
        .map((name) => {
          const c = req.components[name];
          const annotations: Record<string, string> = {};
          const l = c.labels ?? {};
          if (l['io.openshift.build.commit.id']) annotations['io.openshift.build.commit.id'] = l['io.openshift.build.commit.id'];
          if (l['io.openshift.build.source-location']) annotations['io.openshift.build.source-location'] = l['io.openshift.build.source-location'];
          return { name, annotations, from: { kind: 'DockerImage', name: c.pullSpec } };
        }),
    },
  };
}

export function releaseMetadata(req: BuildRequest): unknown {
  return { kind: 'cincinnati-metadata-v0', version: req.tag, previous: [...req.previous].sort(), metadata: { stream: req.stream } };
}

/** Canonical manifest text (sorted keys via construction order) and its sha256. */
export function manifestDigest(req: BuildRequest): { text: string; digest: string } {
  return digestOf(imageReferences(req), releaseMetadata(req));
}

function digestOf(refs: unknown, meta: unknown): { text: string; digest: string } {
  const text = JSON.stringify({ imageReferences: refs, releaseMetadata: meta });
  return { text, digest: createHash('sha256').update(text).digest('hex') };
}

/** a tag that is one plain path segment (release tags and versions are) */
const SAFE_TAG = /^[A-Za-z0-9][\w.+-]*$/;
const MANIFESTS = 'release-manifests';

/**
 * Writes each payload's manifests to `<dir>/<tag>/release-manifests/`. The digest depends only on
 * the request, never on the time of the build; a tag whose manifests are already there with the
 * same image references is not built again (its recorded release metadata is kept), so a payload
 * rebuilt after a crash between the build and its record gets the same digest even when the
 * stream's Accepted payloads (`previous`) changed in between.
 */
export class LocalBuilder implements PayloadBuilder {
  constructor(private readonly dir: string) {}

  async build(req: BuildRequest): Promise<BuildResult> {
    const names = Object.keys(req.components);
    if (names.length === 0) return { ok: false, reason: 'CreateReleaseFailed', message: 'the input stream has no components' };
    if (!SAFE_TAG.test(req.tag)) return { ok: false, reason: 'CreateReleaseFailed', message: `invalid tag ${JSON.stringify(req.tag)}: not a plain name` };
    const bad = names.filter((n) => !PULL_SPEC.test(req.components[n].pullSpec));
    if (bad.length) {
      return {
        ok: false,
        reason: 'CreateReleaseFailed',
        message: `invalid pull spec for ${bad.sort().map((n) => `${n} (${JSON.stringify(req.components[n].pullSpec)})`).join(', ')}`,
      };
    }
    const refs = imageReferences(req);
    const out = join(this.dir, req.tag, MANIFESTS);
    let meta = await this.builtMetadata(out, req.tag, refs);
    try {
      if (!meta) {
        meta = releaseMetadata(req);
        await mkdir(out, { recursive: true });
        // image-references first: release-metadata present means both are complete
        for (const [file, body] of [
          ['image-references', refs],
          ['release-metadata', meta],
        ] as const) {
          const tmp = join(out, `.${file}.tmp`);
          await writeFile(tmp, JSON.stringify(body, null, 2) + '\n');
          await rename(tmp, join(out, file));
        }
      }
    } catch (e) {
      return { ok: false, reason: 'CreateReleaseFailed', message: `could not write the release manifests: ${(e as Error).message}` };
    }
    return { ok: true, pullSpec: `${req.repository}:${req.tag}`, digest: `sha256:${digestOf(refs, meta).digest}` };
  }

  /** the release metadata of an earlier complete build of this tag with the same image references, or null */
  private async builtMetadata(out: string, tag: string, refs: unknown): Promise<unknown> {
    try {
      const [r, m] = await Promise.all([readFile(join(out, 'image-references'), 'utf8'), readFile(join(out, 'release-metadata'), 'utf8')]);
      if (JSON.stringify(JSON.parse(r)) !== JSON.stringify(refs)) return null;
      const meta = JSON.parse(m) as { kind?: unknown; version?: unknown };
      return meta && meta.kind === 'cincinnati-metadata-v0' && meta.version === tag ? meta : null;
    } catch {
      return null; // not built yet, or unreadable (e.g. cut short by a power loss): build it
    }
  }

  /** The manifests written for `tag`, null when there are none (never built, removed, or unreadable). */
  async manifests(tag: string): Promise<ReleaseManifests | null> {
    if (!SAFE_TAG.test(tag)) return null;
    const out = join(this.dir, tag, MANIFESTS);
    try {
      const [r, m] = await Promise.all([readFile(join(out, 'image-references'), 'utf8'), readFile(join(out, 'release-metadata'), 'utf8')]);
      return { imageReferences: JSON.parse(r), releaseMetadata: JSON.parse(m) };
    } catch {
      return null;
    }
  }

  /** Removes the manifest directory of a deleted payload (the directory is per tag). */
  async remove(_stream: string, tag: string): Promise<void> {
    if (!SAFE_TAG.test(tag)) return;
    await rm(join(this.dir, tag), { recursive: true, force: true });
  }

  /** Removes manifest directories of tags that are not live (left behind by a crash after a delete). */
  async sweep(isLive: (tag: string) => boolean): Promise<string[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const removed: string[] = [];
    for (const e of entries) {
      if (!e.isDirectory() || !SAFE_TAG.test(e.name) || isLive(e.name)) continue;
      // only what this builder writes: a tag directory holding release-manifests (or nothing)
      const inside = await readdir(join(this.dir, e.name)).catch(() => null);
      if (!inside || inside.some((n) => n !== MANIFESTS)) continue;
      await rm(join(this.dir, e.name), { recursive: true, force: true });
      removed.push(e.name);
    }
    return removed;
  }
}
