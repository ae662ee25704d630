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
}

export type BuildResult =
  | { ok: true; pullSpec: string; digest: string }
  | { ok: false; reason: string; message: string };

export interface PayloadBuilder {
  build(req: BuildRequest): Promise<BuildResult>;
}
