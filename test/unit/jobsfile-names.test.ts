// The local executor's jobs file: job names that are Object.prototype members (`__proto__`,
// `constructor`, `toString`…) match only an entry written with that name or a glob covering it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchJob, parseJobsFile } from '../../src/adapters/jobs/local/jobsfile.ts';

const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];
const FILE = '/etc/rc/jobs.yaml';
const parse = (text: string) => parseJobsFile(text, FILE);

test('jobs file: without a matching pattern, a prototype-member job name matches nothing', () => {
  const jobs = parse('jobs:\n  periodic-ci-*: { command: ["bash", "e2e.sh"] }\n  e2e-aws: { command: ["true"] }\n');
  for (const n of PROTO_NAMES) assert.equal(matchJob(jobs, n), null, n);
  assert.equal(matchJob(jobs, 'e2e-aws')?.pattern, 'e2e-aws');
});

test('jobs file: a catch-all glob matches prototype-member job names like any other name', () => {
  const jobs = parse('jobs:\n  e2e-aws: { command: ["true"] }\n  "*": { command: ["bash", "-c", "exit 0"] }\n');
  for (const n of PROTO_NAMES) assert.equal(matchJob(jobs, n)?.pattern, '*', n);
  const partial = parse('jobs:\n  "__proto_?": { command: ["a"] }\n  "to*": { command: ["b"] }\n');
  assert.equal(matchJob(partial, '__proto__')?.pattern, '__proto_?');
  assert.equal(matchJob(partial, 'toString')?.pattern, 'to*');
  assert.equal(matchJob(partial, 'constructor'), null);
});

test('jobs file: an entry written as `__proto__` or `constructor` is kept, in file order, and matches only its name', () => {
  const jobs = parse(
    'jobs:\n  e2e-aws: { command: ["e2e"] }\n  __proto__: { command: ["./proto.sh"], timeout: 1m }\n  constructor: { command: ["ctor"] }\n  "*": { command: ["any"] }\n',
  );
  assert.deepEqual(jobs.entries.map((e) => e.pattern), ['e2e-aws', '__proto__', 'constructor', '*']);
  const proto = matchJob(jobs, '__proto__');
  assert.equal(proto?.pattern, '__proto__');
  assert.deepEqual(proto?.command, ['/etc/rc/proto.sh']);
  assert.equal(proto?.timeoutMs, 60_000);
  assert.equal(matchJob(jobs, 'constructor')?.pattern, 'constructor');
  assert.equal(matchJob(jobs, 'toString')?.pattern, '*');
  assert.equal(matchJob(jobs, 'e2e-aws')?.pattern, 'e2e-aws');
  // JSON-style quoting gives the same entries
  assert.deepEqual(parse('{"jobs": {"__proto__": {"command": ["x"]}}}').entries.map((e) => e.pattern), ['__proto__']);
});

test('jobs file: a `__proto__` entry is validated like any other', () => {
  assert.throws(() => parse('jobs:\n  __proto__: { command: [] }\n'), { message: `${FILE}: jobs.__proto__.command: must be a non-empty array of strings` });
  assert.throws(() => parse('jobs:\n  __proto__: { command: ["x"], extra: 1 }\n'), { message: `${FILE}: jobs.__proto__: unknown field "extra"` });
});

test('jobs file: an empty jobs mapping matches nothing, prototype names included', () => {
  const jobs = parse('jobs: {}\n');
  assert.deepEqual(jobs.entries, []);
  for (const n of PROTO_NAMES) assert.equal(matchJob(jobs, n), null, n);
});
