// Demo input feeder: plays a build system that keeps publishing new component images, so the
// embedded default shows payloads being created without any other setup. Each tick updates a few
// components of one input stream through the same operation the input API uses.
import { createHash } from 'node:crypto';
import type { Operations } from '../../../controller/operations.ts';

export interface FeederOptions {
  ops: Operations;
  /** input streams to feed, with their components */
  inputs: { input: string; components: string[]; registry?: string }[];
  /** ms between updates (default 5000) */
  intervalMs?: number;
  log?: (msg: string) => void;
}

const REPOS: Record<string, string> = {
  cli: 'https://github.com/openshift/oc',
  installer: 'https://github.com/openshift/installer',
  'cluster-version-operator': 'https://github.com/openshift/cluster-version-operator',
  'machine-config-operator': 'https://github.com/openshift/machine-config-operator',
  'cluster-network-operator': 'https://github.com/openshift/cluster-network-operator',
  'hyperkube': 'https://github.com/openshift/kubernetes',
  'console': 'https://github.com/openshift/console',
  'etcd': 'https://github.com/openshift/etcd',
};

function digestOf(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

export class DemoFeeder {
  private handle: NodeJS.Timeout | null = null;
  private tick = 0;
  constructor(private readonly opts: FeederOptions) {}

  /** Seeds every input stream once (if empty), then updates one stream per interval. */
  async start(): Promise<void> {
    for (const i of this.opts.inputs) {
      if (this.opts.ops.state.inputTags(i.input).length === 0) await this.update(i, i.components);
    }
    this.handle = setInterval(() => void this.step(), this.opts.intervalMs ?? 5000);
    this.handle.unref();
  }

  stop(): void {
    if (this.handle) clearInterval(this.handle);
    this.handle = null;
  }

  private async step(): Promise<void> {
    const inputs = this.opts.inputs;
    if (inputs.length === 0) return;
    const i = inputs[this.tick % inputs.length];
    this.tick++;
    // one to three components change per update, as when a few PRs merge
    const n = 1 + (this.tick % 3);
    const start = this.tick % i.components.length;
    const changed = Array.from({ length: n }, (_, k) => i.components[(start + k) % i.components.length]);
    try {
      await this.update(i, [...new Set(changed)]);
    } catch (e) {
      this.opts.log?.(`demo feeder: ${(e as Error).message}`);
    }
  }

  private async update(i: FeederOptions['inputs'][number], components: string[]): Promise<void> {
    const tags: Record<string, string> = {};
    const labels: Record<string, Record<string, string>> = {};
    const registry = i.registry ?? 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
    for (const c of components) {
      const seed = `${i.input}/${c}/${Date.now()}/${this.tick}`;
      tags[c] = `${registry}@sha256:${digestOf(seed)}`;
      labels[c] = {
        'io.openshift.build.commit.id': digestOf('commit' + seed).slice(0, 40),
        'io.openshift.build.source-location': REPOS[c] ?? `https://github.com/openshift/${c}`,
      };
    }
    await this.opts.ops.setInputTags(i.input, tags, 'demo-feeder', labels);
  }
}
