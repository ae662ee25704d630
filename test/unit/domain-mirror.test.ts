// The alternate-repository mirror (upstream-behavior.md §3.10, §4.15) on a pure in-memory State:
// a Ready payload of a stream with alternateImageRepository is to be mirrored; with the secret set
// too its verdict (and an override) waits until the copy finished, success or failure; without the
// secret, or when this deployment mirrors nothing (local builder), nothing waits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planChanges } from '../../src/controller/controller.ts';
import { State } from '../../src/controller/state.ts';
import { inputStreamOf, ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { freezeJobs } from '../../src/domain/judging.ts';
import { applyMirror, mirrorGates, mirrorTarget } from '../../src/domain/mirror.ts';
import { overridePhase } from '../../src/domain/operations.ts';
import { planStream } from '../../src/domain/plan.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload } from '../../src/domain/types.ts';

const NOW = new Date('2026-01-01T12:00:00Z');
const TAG = '4.16.0-0.nightly-2026-01-01-110000';

function world(extra: Record<string, unknown>): { state: State; payload: () => Payload } {
  const config = ReleaseConfigSchema.parse({ name: '4.16.0-0.nightly', to: 'release', verify: {}, ...extra });
  const p: Payload = {
    stream: config.name, tag: TAG, phase: 'Ready', createdAt: '2026-01-01T11:00:00Z', inputHash: 'h', pullSpec: 'reg:5000/ocp/release@sha256:aa', digest: 'sha256:aa', components: {},
    reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '2026-01-01T11:00:00Z', jobs: freezeJobs(config),
  };
  const state = State.fromSnapshot({
    streams: [{ name: config.name, config, sourceFile: 'x.json', input: inputStreamOf(config), errors: [], warnings: [], locked: false }],
    inputTags: [], payloads: [p], jobRuns: [], upgrades: [], published: [],
  });
  return { state, payload: () => state.payload(config.name, TAG)! };
}

const GATED = { alternateImageRepository: 'reg:5000/ocp/dev-release', alternateImageRepositorySecretName: 'reg:5000' };

test('mirror: target and gate follow upstream (both fields set to gate)', () => {
  assert.equal(mirrorTarget({ alternateImageRepository: 'quay.io/x/dev' }, 't1'), 'quay.io/x/dev:t1');
  assert.equal(mirrorTarget({ alternateImageRepository: '' }, 't1'), null);
  assert.equal(mirrorGates({ alternateImageRepository: 'quay.io/x/dev' }), false);
  assert.equal(mirrorGates({ alternateImageRepositorySecretName: 'push' }), false);
  assert.equal(mirrorGates(GATED), true);
});

test('mirror gate: a Ready payload waits for its mirror (message shown, override refused); a finished copy — even a failed one — lets the verdict through', () => {
  const w = world(GATED);
  const plan = planStream(w.state, '4.16.0-0.nightly', NOW, { mirroring: true });
  assert.deepEqual(plan.mirrors, [TAG]);
  w.state.apply(planChanges(plan));
  assert.equal(w.payload().phase, 'Ready', 'no verdict before the mirror finished');
  assert.equal(w.payload().message, `waiting for the mirror to reg:5000/ocp/dev-release:${TAG}`);
  const again = planStream(w.state, '4.16.0-0.nightly', NOW, { mirroring: true });
  assert.equal(planChanges(again).length, 0, 'idempotent while waiting');
  assert.deepEqual(again.mirrors, [TAG], 'still to be mirrored (the controller runs one copy at a time per tag)');
  const o = overridePhase(w.state, { stream: '4.16.0-0.nightly', tag: TAG, phase: 'Accepted', reason: 'r', user: 'u', mirroring: true }, NOW);
  assert.ok(!o.ok && o.refusal.code === 'conflict' && /waiting for its mirror to reg:5000\/ocp\/dev-release:/.test(o.refusal.message));

  const failed = applyMirror(w.payload(), { ok: false, to: `reg:5000/ocp/dev-release:${TAG}`, message: 'HTTP 401 (credentials refused)' }, NOW)!;
  assert.equal(failed.event.type, 'PayloadMirrorFailed');
  assert.equal(failed.event.message, 'Release mirror Job failed: HTTP 401 (credentials refused)');
  w.state.apply([{ kind: 'putPayload', payload: failed.payload }]);
  assert.equal(applyMirror(w.payload(), { ok: true, to: 'x', digest: 'sha256:aa' }, NOW), null, 'recorded once');
  const after = planStream(w.state, '4.16.0-0.nightly', NOW, { mirroring: true });
  assert.deepEqual(after.mirrors, []);
  w.state.apply(planChanges(after));
  assert.equal(w.payload().phase, 'Accepted', 'a failed mirror does not reject the payload');
});

test('mirror: without the secret the payload is mirrored but nothing waits; with a local builder nothing is mirrored or waited for', () => {
  const w = world({ alternateImageRepository: 'reg:5000/ocp/dev-release' });
  const plan = planStream(w.state, '4.16.0-0.nightly', NOW, { mirroring: true });
  assert.deepEqual(plan.mirrors, [TAG]);
  w.state.apply(planChanges(plan));
  assert.equal(w.payload().phase, 'Accepted');
  const ok = applyMirror(w.payload(), { ok: true, to: `reg:5000/ocp/dev-release:${TAG}`, digest: 'sha256:aa' }, NOW)!;
  assert.equal(ok.event.type, 'PayloadMirrored');
  assert.equal(ok.payload.jobs?.mirror?.status, 'Success');

  const local = world(GATED);
  const lp = planStream(local.state, '4.16.0-0.nightly', NOW, {});
  assert.deepEqual(lp.mirrors, []);
  local.state.apply(planChanges(lp));
  assert.equal(local.payload().phase, 'Accepted');
});
