// Reading a release image back (`release-controller release info PULLSPEC`): what
// `oc adm release info -o json` shows for it — the image and its digest, config (labels),
// release metadata and the image-references ImageStream — from any reachable registry.
import type { RegistryClient } from './client.ts';
import { formatRef, parseImageRef } from './reference.ts';
import { untar } from './tar.ts';

export interface ReleaseInfo {
  image: string;
  digest: string;
  contentDigest: string;
  config: { created?: string; architecture?: string; os?: string; config?: { Labels?: Record<string, string> } };
  metadata: unknown;
  references: unknown;
  /** release-manifests/ files besides image-references and release-metadata */
  manifests: string[];
}

export async function releaseInfo(client: RegistryClient, pullSpec: string): Promise<ReleaseInfo> {
  const ref = parseImageRef(pullSpec);
  let m = await client.getManifest(ref.host, ref.repository, ref.digest ?? ref.tag ?? 'latest');
  const top = m.digest;
  if (m.json.manifests) {
    const pick = m.json.manifests.find((d) => d.platform?.os === 'linux' && d.platform?.architecture === 'amd64') ?? m.json.manifests[0];
    if (!pick) throw new Error(`${pullSpec}: an empty image index`);
    m = await client.getManifest(ref.host, ref.repository, pick.digest);
  }
  if (!m.json.config) throw new Error(`${pullSpec}: not an image (no config)`);
  const config = JSON.parse((await client.getBlob(ref.host, ref.repository, m.json.config.digest)).toString('utf8')) as ReleaseInfo['config'];
  let metadata: unknown = null;
  let references: unknown = null;
  const manifests: string[] = [];
  const last = m.json.layers?.at(-1);
  if (last) {
    for (const f of untar(await client.getBlob(ref.host, ref.repository, last.digest))) {
      const p = f.path.replace(/^\.?\/+/, '');
      if (!p.startsWith('release-manifests/')) continue;
      const name = p.slice('release-manifests/'.length);
      if (name === 'image-references') references = JSON.parse(f.content.toString('utf8'));
      else if (name === 'release-metadata') metadata = JSON.parse(f.content.toString('utf8'));
      else manifests.push(name);
    }
  }
  if (!references || !metadata) throw new Error(`${pullSpec}: not a release image (no release-manifests/image-references and release-metadata in its last layer)`);
  return { image: formatRef({ host: ref.host, repository: ref.repository, tag: ref.tag, digest: ref.digest }), digest: top, contentDigest: m.digest, config, metadata, references, manifests: manifests.sort() };
}

/** A human summary like `oc adm release info` prints. */
export function formatReleaseInfo(i: ReleaseInfo): string {
  const meta = i.metadata as { version?: string; previous?: string[] };
  const refs = i.references as { spec?: { tags?: { name: string; from?: { name?: string } }[] } };
  const tags = refs.spec?.tags ?? [];
  const width = Math.max(0, ...tags.map((t) => t.name.length));
  return [
    `Name:      ${meta.version ?? ''}`,
    `Digest:    ${i.digest}`,
    `Created:   ${i.config.created ?? ''}`,
    `OS/Arch:   ${i.config.os ?? ''}/${i.config.architecture ?? ''}`,
    `Manifests: ${i.manifests.length}`,
    '',
    `Pull From: ${((r) => `${r.host}/${r.repository}`)(parseImageRef(i.image))}@${i.digest}`,
    '',
    'Release Metadata:',
    `  Version:  ${meta.version ?? ''}`,
    ...(meta.previous?.length ? [`  Upgrades: ${meta.previous.join(', ')}`] : []),
    '',
    'Component Versions:',
    ...tags.map((t) => `  ${t.name.padEnd(width)}  ${t.from?.name ?? ''}`),
  ].join('\n');
}
