// Local payload builder (DESIGN.md §8): the payload is the canonical JSON manifest of its component
// snapshot; its digest is the sha256 of that manifest. The manifest files are written the way an
// OpenShift release image carries them (release-manifests/image-references, release-metadata).
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildRequest, BuildResult, PayloadBuilder } from '../../../ports/builder.ts';

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
  const text = JSON.stringify({ imageReferences: imageReferences(req), releaseMetadata: releaseMetadata(req) });
  return { text, digest: createHash('sha256').update(text).digest('hex') };
}

export class LocalBuilder implements PayloadBuilder {
  constructor(private readonly dir: string) {}

  async build(req: BuildRequest): Promise<BuildResult> {
    const names = Object.keys(req.components);
    if (names.length === 0) return { ok: false, reason: 'CreateReleaseFailed', message: 'the input stream has no components' };
    const bad = names.filter((n) => !PULL_SPEC.test(req.components[n].pullSpec));
    if (bad.length) {
      return {
        ok: false,
        reason: 'CreateReleaseFailed',
        message: `invalid pull spec for ${bad.sort().map((n) => `${n} (${JSON.stringify(req.components[n].pullSpec)})`).join(', ')}`,
      };
    }
    const { digest } = manifestDigest(req);
    try {
      const out = join(this.dir, req.tag, 'release-manifests');
      await mkdir(out, { recursive: true });
      for (const [file, body] of [
        ['image-references', imageReferences(req)],
        ['release-metadata', releaseMetadata(req)],
      ] as const) {
        const tmp = join(out, `.${file}.tmp`);
        await writeFile(tmp, JSON.stringify(body, null, 2) + '\n');
        await rename(tmp, join(out, file));
      }
    } catch (e) {
      return { ok: false, reason: 'CreateReleaseFailed', message: `could not write the release manifests: ${(e as Error).message}` };
    }
    return { ok: true, pullSpec: `${req.repository}:${req.tag}`, digest: `sha256:${digest}` };
  }
}
