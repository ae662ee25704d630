// The alternate-repository mirror (upstream-behavior.md §3.10, §4.15). Pure.
// A stream with `alternateImageRepository` copies each Ready payload to `<repository>:<tag>`;
// only when `alternateImageRepositorySecretName` is set too does the verdict (and an override)
// wait until that copy finished. A failed copy does not reject the payload.
import type { ReleaseConfig } from './config/schema.ts';
import { rfc3339 } from './tagname.ts';
import type { EventRecord, MirrorResult, Payload } from './types.ts';

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
