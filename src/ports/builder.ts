// Payload builder port (DESIGN.md §8).
import type { Component } from '../domain/types.ts';

export interface BuildRequest {
  stream: string;
  tag: string;
  /** target repository, e.g. registry.local/ocp/release */
  repository: string;
  components: Record<string, Component>;
  previous: string[];
  createdAt: string;
  /**
   * The payload's mirror repository (`host/path`, upstream's mirror stream, upstream-behavior.md
   * §3.8) a builder that makes images writes: one tag per component (`<component>`), pinned to the
   * component's digest. A builder that makes no images ignores it.
   */
  mirrorRepository?: string;
}

export type BuildResult =
  /** `mirrorRepository`: the mirror repository written, absent when the builder wrote none (jobs then get no IMAGE_FORMAT) */
  | { ok: true; pullSpec: string; digest: string; mirrorRepository?: string }
  | { ok: false; reason: string; message: string };

/** What an existing release image says about itself (adoption of a release other tooling pushed). */
export type InspectResult =
  | { ok: true; pullSpec: string; digest: string; version: string; previous: string[]; components: Record<string, Component> }
  | { ok: false; reason: string; message: string };

export interface PayloadBuilder {
  /**
   * Builds (or finds already built) the payload image of `req`. Deterministic: a tag built again
   * (e.g. after a crash between the build and its record) gets the same digest and pull spec.
   */
  build(req: BuildRequest): Promise<BuildResult>;
  /**
   * garbage collection deleted this payload: remove what the builder keeps of it (best effort),
   * including the tags of its mirror repository when the payload recorded one
   */
  remove?(stream: string, tag: string, mirrorRepository?: string): Promise<void>;
  /**
   * Removes what the builder keeps of payloads that are gone (left behind by a crash between the
   * delete and remove()). `isLive` is asked after the builder has listed what it has, so a payload
   * created meanwhile is never swept. Returns the tags removed.
   */
  sweep?(isLive: (tag: string) => boolean): Promise<string[]>;
  /**
   * The release manifests of a built payload as an OpenShift release image carries them
   * (`release-manifests/image-references`, `release-manifests/release-metadata`), for
   * /releasetag/{tag}/json; null when the builder has none for the tag.
   */
  manifests?(tag: string): Promise<ReleaseManifests | null>;
  /**
   * Reads an existing release image (`pullSpec`, by digest) back: its version and `previous`
   * (release-metadata) and components (image-references). Absent when the builder cannot read
   * images (the local builder).
   */
  inspect?(pullSpec: string): Promise<InspectResult>;
  /**
   * Copies a built payload image (`pullSpec`, by digest) to `to` (`repository:tag`), pushing with
   * the auth-file entry `secretName` when given (alternateImageRepository / …SecretName). Absent
   * when the builder makes no images.
   */
  mirror?(req: MirrorRequest): Promise<MirrorOutcome>;
}

export interface MirrorRequest {
  pullSpec: string;
  to: string;
  secretName?: string;
}

export type MirrorOutcome = { ok: true; to: string; digest: string } | { ok: false; to: string; message: string };

export interface ReleaseManifests {
  imageReferences: unknown;
  releaseMetadata: unknown;
  /** the release image's config (its labels include io.openshift.release); absent when the builder makes no image */
  config?: unknown;
}
