// own()/hasOwnKey(): lookups by an outside name see only own properties, and the domain and
// console lookups built on them treat Object.prototype member names as ordinary names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeLog } from '../../src/domain/changelog.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { hasOwnKey, own } from '../../src/domain/own.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Component, JobRun, Payload } from '../../src/domain/types.ts';
import { payloadResults } from '../../src/domain/views.ts';
import { diffComponents } from '../../src/http/pages/changelog.ts';
import { jobLabel, phaseLabel, qeLabel } from '../../src/http/pages/labels.ts';

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupGetter__'];

test('own: Object.prototype members are not found in a plain object', () => {
  const obj: Record<string, number> = { a: 1 };
  for (const k of PROTO_NAMES) {
    assert.equal(own(obj, k), undefined, k);
    assert.equal(hasOwnKey(obj, k), false, k);
  }
  assert.equal(own(obj, 'prototype'), undefined);
});

test('own: own keys are found, whatever their name (also keys that shadow prototype members)', () => {
  // JSON.parse makes `__proto__` an own key, like YAML does
  const obj = JSON.parse('{"a": 1, "__proto__": 2, "constructor": 3, "toString": 4, "hasOwnProperty": 5, "valueOf": 0}') as Record<string, number>;
  assert.equal(own(obj, 'a'), 1);
  assert.equal(own(obj, '__proto__'), 2);
  assert.equal(own(obj, 'constructor'), 3);
  assert.equal(own(obj, 'toString'), 4);
  assert.equal(own(obj, 'hasOwnProperty'), 5);
  assert.equal(own(obj, 'valueOf'), 0, 'a falsy own value is returned as is');
  assert.equal(hasOwnKey(obj, 'valueOf'), true);
  assert.equal(own(obj, 'b'), undefined);
  assert.equal(own({ u: undefined }, 'u'), undefined);
  assert.equal(hasOwnKey({ u: undefined }, 'u'), true);
});

test('own: null/undefined objects, null-prototype objects, inherited properties', () => {
  assert.equal(own(null, 'a'), undefined);
  assert.equal(own(undefined, 'constructor'), undefined);
  assert.equal(hasOwnKey(null, 'a'), false);
  assert.equal(hasOwnKey(undefined, '__proto__'), false);
  const bare = Object.create(null) as Record<string, string>;
  bare.x = 'y';
  assert.equal(own(bare, 'x'), 'y');
  assert.equal(own(bare, 'toString'), undefined);
  const child = Object.create({ inherited: 'no' }) as Record<string, string>;
  assert.equal(own(child, 'inherited'), undefined, 'inherited properties are not own');
  assert.equal(hasOwnKey(child, 'inherited'), false);
});

const img = (d: string): Component => ({ pullSpec: `quay.io/x/y@sha256:${d.repeat(64)}`, labels: {} });
const pay = (tag: string, components: Record<string, Component>): Payload => ({
  stream: 's', tag, phase: 'Accepted', createdAt: '2024-05-01T10:00:00Z', inputHash: '', pullSpec: `r/x:${tag}`, digest: `sha256:${tag}`, components,
  reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '',
});

test('changelog: a component named like a prototype member is added/removed, not "updated"', () => {
  const from = pay('a', { cli: img('1') });
  const to = pay('b', { cli: img('1'), constructor: img('2'), toString: img('3'), valueOf: img('4'), hasOwnProperty: img('5') });
  const cl = changeLog(from, to);
  assert.deepEqual(cl.newImages?.map((i) => i.name), ['constructor', 'hasOwnProperty', 'toString', 'valueOf']);
  assert.equal(cl.updatedImages, undefined);
  assert.deepEqual(changeLog(to, from).removedImages?.map((i) => i.name), ['constructor', 'hasOwnProperty', 'toString', 'valueOf']);
  const d = diffComponents(from.components, to.components);
  assert.deepEqual(d.changes.map((c) => `${c.kind} ${c.name}`), ['added constructor', 'added hasOwnProperty', 'added toString', 'added valueOf']);
  assert.equal(d.unchanged, 1);
  assert.deepEqual(diffComponents(to.components, from.components).changes.map((c) => c.kind), ['removed', 'removed', 'removed', 'removed']);
});

const run = (verifyName: string, kind: JobRun['kind'], state: JobRun['state']): JobRun => ({
  id: `t-${verifyName}`, stream: 's', tag: 't', verifyName, jobName: verifyName, kind, attempt: 0, generation: 0, state, url: `https://prow/${verifyName}`,
  upgradeFrom: '', upgradeFromPullSpec: '', createdAt: '2024-05-01T10:00:00Z', startedAt: '2024-05-01T10:00:00Z', finishedAt: '2024-05-01T11:00:00Z', reason: '', logPath: '',
});

test('release results: runs under a prototype-member name that the config lacks are not listed', () => {
  const config = ReleaseConfigSchema.parse({ name: 's', verify: { e2e: { prowJob: { name: 'e2e' } } } });
  const runs = ['__proto__', 'constructor', 'toString', 'e2e'].map((n) => run(n, 'blocking', 'Succeeded'));
  const r = payloadResults(config, pay('t', {}), runs);
  assert.deepEqual(Object.keys(r.blockingJobs), ['e2e']);
  assert.deepEqual([...Object.keys(r.informingJobs), ...Object.keys(r.asyncJobs), ...Object.keys(r.qeJobs)], []);
});

test('release results: a verify entry really named `constructor` is an ordinary entry', () => {
  const config = ReleaseConfigSchema.parse(JSON.parse('{"name": "s", "verify": {"constructor": {"optional": true, "prowJob": {"name": "c"}}}}'));
  const r = payloadResults(config, pay('t', {}), [run('constructor', 'informing', 'Failed')]);
  assert.deepEqual(Object.keys(r.informingJobs), ['constructor']);
  assert.equal(own(r.informingJobs, 'constructor')?.state, 'Failed');
  assert.deepEqual(Object.keys(r.blockingJobs), []);
});

test('console labels: a state named like a prototype member falls back to the default label', () => {
  for (const s of ['constructor', 'toString', '__proto__']) {
    assert.match(String(jobLabel(s)), /Not started/, s);
    assert.match(String(phaseLabel({ phase: s as Payload['phase'], override: null })), /Unknown/, s);
    assert.match(String(qeLabel({ qe: { ...emptyQEStatus(), state: s as Payload['qe']['state'] } })), /Unknown/, s);
  }
});
