// Image references: HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST], as the Distribution API addresses them.

export interface ImageRef {
  /** registry host with optional port, e.g. 127.0.0.1:5000 */
  host: string;
  /** repository path inside the registry, e.g. ocp/release */
  repository: string;
  tag?: string;
  digest?: string;
}

const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::\d{1,5})?$/i;
const PATH = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses `host/repo[:tag][@digest]`; the host part is required (no implicit docker.io). */
export function parseImageRef(s: string): ImageRef {
  const at = s.indexOf('@');
  let rest = at >= 0 ? s.slice(0, at) : s;
  const digest = at >= 0 ? s.slice(at + 1) : undefined;
  if (digest !== undefined && !DIGEST.test(digest)) throw new Error(`image reference ${JSON.stringify(s)}: invalid digest`);
  const slash = rest.indexOf('/');
  if (slash < 0) throw new Error(`image reference ${JSON.stringify(s)}: expected HOST[:PORT]/REPOSITORY`);
  const host = rest.slice(0, slash);
  rest = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw new Error(`image reference ${JSON.stringify(s)}: invalid tag`);
  }
  if (!HOST.test(host)) throw new Error(`image reference ${JSON.stringify(s)}: invalid registry host ${JSON.stringify(host)}`);
  if (!PATH.test(rest)) throw new Error(`image reference ${JSON.stringify(s)}: invalid repository ${JSON.stringify(rest)}`);
  return { host, repository: rest, tag, digest };
}

/** Parses `host/repo` (no tag or digest), as --registry and input repositories are given. */
export function parseRepository(s: string): { host: string; repository: string } {
  const r = parseImageRef(s);
  if (r.tag || r.digest) throw new Error(`repository ${JSON.stringify(s)}: must not carry a tag or digest`);
  return { host: r.host, repository: r.repository };
}

export function formatRef(r: ImageRef): string {
  return `${r.host}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
