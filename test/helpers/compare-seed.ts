// The compare dashboard's seed: the API seed (test/helpers/api-seed.ts, real SQLite store) plus two
// promoted 4.16 releases in 4-stable whose components differ (added, removed, changed, unchanged;
// a Kubernetes version change; a component version label that is hostile markup).
import { Controller } from '../../src/controller/controller.ts';
import { inputStreamOf } from '../../src/domain/config/schema.ts';
import { LABEL_COMMIT, LABEL_COMPONENT_VERSION, LABEL_SOURCE } from '../../src/domain/changelog.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Component, Payload } from '../../src/domain/types.ts';
import type { Store } from '../../src/ports/store.ts';
import { CONFIGS, IdleExecutor, STABLE, seedStore } from './api-seed.ts';

/** a component version label (no "=": a plain version of the image itself) that is markup */
export const HOSTILE_VERSION = `<script>alert('version')</script>`;

const comp = (digestChar: string, commit: string, repo: string, version?: string): Component => ({
  pullSpec: `quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:${digestChar.repeat(64)}`,
  labels: { [LABEL_COMMIT]: commit, [LABEL_SOURCE]: `https://github.com/openshift/${repo}`, ...(version ? { [LABEL_COMPONENT_VERSION]: version } : {}) },
});

/** 4.16.1 → 4.16.2: hyperkube changes (Kubernetes 1.29.1 → 1.29.2), cli changes (its version becomes HOSTILE_VERSION), gone is removed, fresh is added, same stays. */
export const STABLE_COMPONENTS = {
  '4.16.1': {
    hyperkube: comp('a', 'a'.repeat(40), 'kubernetes', 'kubernetes=1.29.1'),
    cli: comp('b', 'b'.repeat(40), 'oc', '4.16.1-cli'),
    gone: comp('c', 'c'.repeat(40), 'gone'),
    same: comp('d', 'd'.repeat(40), 'same'),
  },
  '4.16.2': {
    hyperkube: comp('e', 'e'.repeat(40), 'kubernetes', 'kubernetes=1.29.2'),
    cli: comp('f', 'f'.repeat(40), 'oc', HOSTILE_VERSION),
    fresh: comp('1', '1'.repeat(40), 'fresh'),
    same: comp('d', 'd'.repeat(40), 'same'),
  },
};

export const stablePayload = (tag: keyof typeof STABLE_COMPONENTS, createdAt: string): Payload => ({
  stream: STABLE, tag, phase: 'Accepted', createdAt, inputHash: `sha256:${tag}`, pullSpec: `registry.local/ocp/release:${tag}`, digest: `sha256:${'7'.repeat(60)}${tag.replace(/\D/g, '').padStart(4, '0').slice(-4)}`,
  components: STABLE_COMPONENTS[tag], reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: createdAt,
});

/** The seed plus 4.16.1 and 4.16.2 in 4-stable. */
export async function seedCompareStore(dir: string): Promise<Store> {
  const store = await seedStore(dir);
  await store.commit([
    { kind: 'putPayload', payload: stablePayload('4.16.1', '2024-05-02T12:00:00Z') },
    { kind: 'putPayload', payload: stablePayload('4.16.2', '2024-05-05T12:00:00Z') },
  ]);
  return store;
}

/** The real Controller over the compare seed (not started: writes reconcile on demand), as seededController. */
export async function compareController(dir: string): Promise<{ controller: Controller; store: Store }> {
  const store = await seedCompareStore(dir);
  const controller = await Controller.create({
    store,
    executor: new IdleExecutor(),
    builder: { build: async (r) => ({ ok: true, pullSpec: `${r.repository}@sha256:${'0'.repeat(64)}`, digest: `sha256:${'0'.repeat(64)}` }) },
    streams: (Object.keys(CONFIGS) as (keyof typeof CONFIGS)[]).map((name) => ({ name, config: CONFIGS[name], file: `${name}.json`, input: inputStreamOf(CONFIGS[name]) })),
    resyncMs: 0,
  });
  return { controller, store };
}
