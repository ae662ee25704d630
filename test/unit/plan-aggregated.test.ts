// An aggregated upgrade entry with no upgrade source: it used to be recorded as a synthetic
// "Succeeded" run (a blocking job passing without running). Now the stream's first payload shows it
// as not run (non-gating), and nothing is recorded pass after pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { State } from '../../src/controller/state.ts';
import { planChanges } from '../../src/controller/controller.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { planStream } from '../../src/domain/plan.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';

test('aggregated upgrade entry without an upgrade source on the first payload: no run, the payload is decided, a second pass is empty', () => {
  const config = ReleaseConfigSchema.parse({
    name: '4.16.0-0.ci',
    to: 'release',
    verify: { 'aggregated-upgrade': { upgrade: true, prowJob: { name: 'e2e-upgrade' }, aggregatedProwJob: { analysisJobCount: 3 } } },
  });
  const at = '2026-01-01T00:00:00Z';
  const state = State.fromSnapshot({
    streams: [{ name: config.name, config, sourceFile: 'x.json', input: config.name, errors: [], warnings: [], locked: false }],
    inputTags: [],
    payloads: [{ stream: config.name, tag: '4.16.0-0.ci-2026-01-01-000000', phase: 'Ready', createdAt: at, inputHash: 'h', pullSpec: 'r:t', digest: '', components: {}, reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: at }],
    jobRuns: [],
    upgrades: [],
    published: [],
  });
  const now = new Date('2026-01-01T00:01:00Z');
  const first = planStream(state, config.name, now);
  assert.equal(first.runs.length, 0, 'nothing runs, nothing is recorded as run');
  assert.equal(first.launches.length, 0);
  assert.equal(first.payloads.find((p) => p.tag === '4.16.0-0.ci-2026-01-01-000000')?.phase, 'Accepted');
  state.apply(planChanges(first));
  const second = planStream(state, config.name, now);
  assert.equal(second.runs.length + second.payloads.length + second.events.length, 0, 'a second pass changes nothing');
});
