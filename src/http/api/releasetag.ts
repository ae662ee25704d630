// GET /releasetag/{tag}/json (upstream-behavior.md §6.17): upstream answers the raw JSON of
// `oc adm release info -o json` for the tag's image digest. The body is what the payload builder
// holds of the release image (DESIGN.md §8): image, digest, metadata (release-metadata) and
// references (image-references), in oc's field order. `config` is the image's config (labels incl.
// io.openshift.release) with `--builder registry`, null with the local builder, which makes no
// image; `listDigest` is empty (a payload is never a manifest list here).
// Errors are plain text, 400 as upstream (unknown tag, no pull spec, no image to read).
import type { FastifyInstance } from 'fastify';
import type { Payload } from '../../domain/types.ts';
import type { ReleaseManifests } from '../../ports/builder.ts';
import { upstreamError } from '../errors.ts';
import type { RouteRegistry } from '../openapi.ts';
import { param, sendJson, type ApiContext } from './shared.ts';

/** `repo@sha256:…` for a payload: its pull spec when it names a digest, else its repository at its digest. */
export function digestPullSpec(p: Pick<Payload, 'pullSpec' | 'digest'>): string {
  if (p.pullSpec.includes('@') || !p.digest) return p.pullSpec;
  const slash = p.pullSpec.lastIndexOf('/');
  const colon = p.pullSpec.lastIndexOf(':');
  const repo = colon > slash ? p.pullSpec.slice(0, colon) : p.pullSpec;
  return `${repo}@${p.digest}`;
}

/** oc's ReleaseInfo field order: image, digest, contentDigest, listDigest, config, metadata, references. */
export function releaseImageInfo(p: Pick<Payload, 'pullSpec' | 'digest'>, m: ReleaseManifests): Record<string, unknown> {
  return {
    image: digestPullSpec(p),
    digest: p.digest,
    contentDigest: p.digest,
    listDigest: '',
    config: m.config ?? null,
    metadata: m.releaseMetadata,
    references: m.imageReferences,
  };
}

export function releaseTagRoutes(app: FastifyInstance, reg: RouteRegistry, ctx: ApiContext): void {
  reg.route(
    app,
    {
      method: 'GET', url: '/releasetag/:tag/json', summary: "The release image's info as `oc adm release info -o json` shows it (from the manifests the payload builder wrote)", tag: 'upstream',
      produces: 'application/json', responses: { '200': 'release info of the image', '400': 'unknown tag, no pull spec, or no release image to read' },
    },
    async (req, reply) => {
      const tag = param(req, 'tag');
      const p = ctx.ops.state.findTag(tag);
      if (!p) throw upstreamError(400, `could not find tag: ${tag}`);
      if (!p.pullSpec) throw upstreamError(400, `release tag ${tag} has no pull spec (it is not built yet, or its build failed)`);
      const m = (await ctx.builder?.manifests?.(p.tag)) ?? null;
      if (!m) throw upstreamError(400, `unable to read the release image of ${tag}: the payload builder holds no release manifests for it`);
      return sendJson(reply, releaseImageInfo(p, m));
    },
  );
}
