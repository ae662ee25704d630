// What the registry builder asks of the controller's state (adapters/registry/setup.ts stateView):
// the mirror repository of a payload tag, live or gone — a gone tag's by the stream whose name it
// starts with (the longest), none for a tag no integration stream names, and none when a live
// payload uses that repository (streams sharing a mirror prefix name mirrors alike within a second).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stateView } from '../../src/adapters/registry/setup.ts';
import { State } from '../../src/controller/state.ts';
import { inputStreamOf, ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload, StreamRecord } from '../../src/domain/types.ts';

const R = 'registry.local';
const rec = (raw: Record<string, unknown>): StreamRecord => {
  const config = ReleaseConfigSchema.parse(raw);
  return { name: config.name, config, sourceFile: `${config.name}.json`, input: inputStreamOf(config), errors: [], warnings: [], locked: false };
};
const payload = (stream: string, tag: string, mirrorRepository?: string): Payload => ({
  stream, tag, phase: 'Accepted', createdAt: '2026-12-04T19:58:54Z', inputHash: 'h', pullSpec: `${R}/release:${tag}`, digest: '', components: {}, reason: '', message: '',
  annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '2026-12-04T19:58:54Z', ...(mirrorRepository ? { mirrorRepository } : {}),
});

test('stateView.mirrorOfTag: recorded for a live tag; computed from the longest stream-name prefix for a gone one; none when unnamed or in use', () => {
  const state = State.fromSnapshot({
    streams: [
      rec({ name: '4.16.0-0.nightly', to: 'release', mirrorPrefix: '4.16-art-latest' }),
      rec({ name: '4.16.0-0.nightly-arm64', to: 'release-arm64', mirrorPrefix: '4.16-art-latest-arm64' }),
      // shares the nightly's mirror prefix
      rec({ name: '4.16.0-0.nightly-priv', to: 'release-priv', mirrorPrefix: '4.16-art-latest' }),
      rec({ name: '4-stable', to: 'release', as: 'Stable', source: '4-stable' }),
    ],
    inputTags: [],
    payloads: [
      payload('4.16.0-0.nightly', '4.16.0-0.nightly-2026-12-04-195854', `${R}/4.16-art-latest-2026-12-04-195854`),
      payload('4.16.0-0.nightly', '4.16.0-0.nightly-2026-12-04-100000'),
    ],
    jobRuns: [],
    upgrades: [],
    published: [],
  });
  const v = stateView(state, R);
  const rows: [string, string | null, string][] = [
    ['4.16.0-0.nightly-2026-12-04-195854', `${R}/4.16-art-latest-2026-12-04-195854`, 'live: the recorded one'],
    ['4.16.0-0.nightly-2026-12-04-100000', null, 'live without a record: none (remove() computes it when the payload is deleted)'],
    ['4.16.0-0.nightly-2026-12-03-080000', `${R}/4.16-art-latest-2026-12-03-080000`, 'gone: from the nightly'],
    ['4.16.0-0.nightly-arm64-2026-12-03-080000', `${R}/4.16-art-latest-arm64-2026-12-03-080000`, 'gone: the longest stream name wins'],
    ['4.16.0-0.nightly-priv-2026-12-04-195854', null, 'gone, but its name is the live nightly payload\'s mirror'],
    ['4.16.3', null, 'a version: no integration stream names it'],
    ['4.17.0-0.nightly-2026-12-03-080000', null, 'no such stream'],
  ];
  for (const [tag, want, why] of rows) assert.equal(v.mirrorOfTag(tag), want, `${tag}: ${why}`);
});
