// Mirrors of a payload (pure):
// - the per-release mirror stream (upstream-behavior.md §3.8): a repository holding one tag per
//   component, pinned to the component's digest, named after the release tag; jobs get it as
//   IMAGE_FORMAT / IMAGE_<NAME> (§4.5);
// - the alternate-repository mirror (upstream-behavior.md §3.10, §4.15).
// A stream with `alternateImageRepository` copies each Ready payload to `<repository>:<tag>`;
// only when `alternateImageRepositorySecretName` is set too does the verdict (and an override)
// wait until that copy finished. A failed copy does not reject the payload.
import type { ReleaseConfig } from './config/schema.ts';
import { inputStreamOf, isStable } from './config/schema.ts';
import { rfc3339 } from './tagname.ts';
import type { EventRecord, MirrorResult, Payload } from './types.ts';
import type { WorldView } from './world.ts';

/**
 * The name of a release tag's mirror stream (§3.8): a Stable stream's is the tag itself; an
 * integration stream's is `<mirrorPrefix, else the input stream name><tag without the config-name
 * prefix>`, e.g. 4.16.0-0.nightly-2024-05-01-123456 of input 4.16-art-latest →
 * 4.16-art-latest-2024-05-01-123456. A tag that does not start with the config name keeps its
 * whole name after the prefix (as upstream's TrimPrefix).
 */
export function mirrorStreamName(config: Pick<ReleaseConfig, 'name' | 'as' | 'mirrorPrefix' | 'source'>, tag: string): string {
  if (isStable(config)) return tag;
  const prefix = config.mirrorPrefix || inputStreamOf(config);
  return prefix + (tag.startsWith(config.name) ? tag.slice(config.name.length) : tag);
}

/**
 * The mirror repositories the payloads of `view` recorded. Streams that share a mirror prefix name
 * their payloads' mirrors alike when created within one second, so a deleted payload's mirror is
 * removed only when no live payload uses it.
 */
export function mirrorsInUse(view: Pick<WorldView, 'streams' | 'payloads'>): Set<string> {
  const out = new Set<string>();
  for (const s of view.streams()) for (const p of view.payloads(s.name)) if (p.mirrorRepository) out.add(p.mirrorRepository);
  return out;
}

/**
 * The value upstream gives an environment variable a job already declares, from the payload's
 * mirror repository (§4.5): `IMAGE_FORMAT` → `<repo>:${component}` (the literal text
 * `${component}`, which ci-operator substitutes), any other `IMAGE_<NAME>` → `<repo>:<name
 * lowercased, _ → ->` (IMAGE_CLUSTER_VERSION_OPERATOR → `<repo>:cluster-version-operator`); null
 * for every other variable (RELEASE_IMAGE_LATEST is not an IMAGE_ one) and when there is no mirror.
 */
export function imageEnvValue(name: string, mirrorRepository: string | undefined): string | null {
  if (!mirrorRepository || !name.startsWith('IMAGE_')) return null;
  if (name === 'IMAGE_FORMAT') return `${mirrorRepository}:\${component}`;
  const component = name.slice('IMAGE_'.length).toLowerCase().replace(/_/g, '-');
  return component ? `${mirrorRepository}:${component}` : null;
}

/** `<alternateImageRepository>:<tag>`, or null when the stream mirrors nothing */
export function mirrorTarget(config: Pick<ReleaseConfig, 'alternateImageRepository'>, tag: string): string | null {
  const repo = config.alternateImageRepository?.trim();
  return repo ? `${repo}:${tag}` : null;
}

/** whether acceptance waits for the mirror (both the repository and its secret are set, as upstream) */
export function mirrorGates(config: Pick<ReleaseConfig, 'alternateImageRepository' | 'alternateImageRepositorySecretName'>): boolean {
  return Boolean(config.alternateImageRepository?.trim() && config.alternateImageRepositorySecretName?.trim());
}

/**
 * The payload's verdict waits for its mirror: payloads are mirrored here (`mirroring`: the builder
 * makes images, --builder registry), the stream gates on it and no copy has finished yet.
 */
export function waitsForMirror(config: Pick<ReleaseConfig, 'alternateImageRepository' | 'alternateImageRepositorySecretName'>, p: Pick<Payload, 'jobs'>, mirroring: boolean): boolean {
  return mirroring && mirrorGates(config) && !p.jobs?.mirror;
}

/** a Ready payload of a mirroring stream whose copy has not finished: the controller copies it */
export function needsMirror(config: Pick<ReleaseConfig, 'alternateImageRepository'>, p: Pick<Payload, 'phase' | 'jobs' | 'tag' | 'pullSpec'>): boolean {
  return p.phase === 'Ready' && Boolean(p.pullSpec) && mirrorTarget(config, p.tag) !== null && !p.jobs?.mirror;
}

/** Records how the copy ended (PayloadMirrored / PayloadMirrorFailed); null when already recorded. */
export function applyMirror(p: Payload, result: { ok: true; to: string; digest: string } | { ok: false; to: string; message: string }, now: Date): { payload: Payload; event: EventRecord } | null {
  if (!p.jobs || p.jobs.mirror) return null;
  const at = rfc3339(now);
  const mirror: MirrorResult = result.ok
    ? { status: 'Success', to: result.to, message: `Release mirror Job completed: ${p.tag} copied to ${result.to} (${result.digest})`, at }
    : { status: 'Failed', to: result.to, message: `Release mirror Job failed: ${result.message}`, at };
  const payload: Payload = { ...p, jobs: { ...p.jobs, mirror } };
  const type = result.ok ? 'PayloadMirrored' : 'PayloadMirrorFailed';
  return { payload, event: { at, stream: p.stream, tag: p.tag, type, actor: 'controller', message: mirror.message, data: { to: result.to, status: mirror.status } } };
}
