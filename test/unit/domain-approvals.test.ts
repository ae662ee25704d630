// Table tests for team approvals (issue 16 item 6): reading `release.openshift.io/<team>_state`,
// the qe team derived from the QE verdict, and the approval operation (refusals, annotation, event).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { State } from '../../src/controller/state.ts';
import { isTeamApproved, sortApprovalTags, teamApprovals, teamApprovalState, teamNameProblem } from '../../src/domain/approvals.ts';
import { ReleaseConfigSchema } from '../../src/domain/config/schema.ts';
import { freezeJobs } from '../../src/domain/judging.ts';
import { setTeamApproval } from '../../src/domain/operations.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload, QEStatus } from '../../src/domain/types.ts';

const NOW = new Date('2026-01-01T12:00:00Z');
const AT = '2026-01-01T11:00:00Z';
const config = ReleaseConfigSchema.parse({ name: '4.18.0-0.nightly', to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } }, 'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } } } });
const S = config.name;

function payload(tag: string, o: Partial<Payload> = {}, qe: Partial<QEStatus> = {}): Payload {
  return {
    stream: S, tag, phase: 'Accepted', createdAt: AT, inputHash: `h-${tag}`, pullSpec: `r/release:${tag}`, digest: '', components: {}, reason: '', message: '',
    annotations: {}, override: null, qe: { ...emptyQEStatus(), ...qe }, phaseChangedAt: AT, jobs: freezeJobs(config), ...o,
  };
}
const ann = (a: Record<string, string>) => ({ annotations: a });

const STATE_ROWS: { name: string; p: Payload; team: string; want: 'Accepted' | 'Rejected' | null }[] = [
  { name: 'no annotation', p: payload('a'), team: 'trt', want: null },
  { name: 'Accepted annotation', p: payload('a', ann({ 'release.openshift.io/trt_state': 'Accepted' })), team: 'trt', want: 'Accepted' },
  { name: 'Rejected annotation', p: payload('a', ann({ 'release.openshift.io/trt_state': 'Rejected' })), team: 'trt', want: 'Rejected' },
  { name: 'team name lowercased as upstream', p: payload('a', ann({ 'release.openshift.io/trt_state': 'Accepted' })), team: 'TRT', want: 'Accepted' },
  { name: 'another value is no state', p: payload('a', ann({ 'release.openshift.io/trt_state': 'accepted' })), team: 'trt', want: null },
  { name: 'another team', p: payload('a', ann({ 'release.openshift.io/trt_state': 'Accepted' })), team: 'perf', want: null },
  { name: 'prototype name', p: payload('a'), team: '__proto__', want: null },
  { name: 'empty team', p: payload('a', ann({ 'release.openshift.io/_state': 'Accepted' })), team: '', want: null },
  { name: 'qe: QE accepted', p: payload('a', {}, { state: 'QEAccepted' }), team: 'qe', want: 'Accepted' },
  { name: 'qe: QE accepted but CI overridden to Rejected is not accepted', p: payload('a', { phase: 'Rejected' }, { state: 'QEAccepted' }), team: 'qe', want: null },
  { name: 'qe: QE rejected', p: payload('a', {}, { state: 'QERejected' }), team: 'qe', want: 'Rejected' },
  { name: 'qe: running', p: payload('a', {}, { state: 'QERunning' }), team: 'qe', want: null },
  { name: 'qe: an annotation is never a second truth', p: payload('a', ann({ 'release.openshift.io/qe_state': 'Accepted' }), { state: 'QERunning' }), team: 'qe', want: null },
  { name: 'qe: annotation Accepted does not override QE rejected', p: payload('a', ann({ 'release.openshift.io/qe_state': 'Accepted' }), { state: 'QERejected' }), team: 'QE', want: 'Rejected' },
];

for (const row of STATE_ROWS) {
  test(`teamApprovalState: ${row.name}`, () => {
    assert.equal(teamApprovalState(row.p, row.team), row.want);
  });
}

test('teamApprovals lists every team by name, qe derived, other annotations ignored', () => {
  const p = payload('a', ann({
    'release.openshift.io/trt_state': 'Accepted',
    'release.openshift.io/perf_state': 'Rejected',
    'release.openshift.io/qe_state': 'Rejected',
    'release.openshift.io/phase': 'Accepted',
    'release.openshift.io/odd_state': 'Maybe',
    'release.openshift.io/Bad Team_state': 'Accepted',
    'example.com/x_state': 'Accepted',
  }), { state: 'QEAccepted' });
  assert.deepEqual(teamApprovals(p), [
    { team: 'perf', state: 'Rejected' },
    { team: 'qe', state: 'Accepted' },
    { team: 'trt', state: 'Accepted' },
  ]);
  assert.deepEqual(teamApprovals(payload('b')), []);
});

test('isTeamApproved: by a team, or by any team without one (Accepted only)', () => {
  const trt = payload('a', ann({ 'release.openshift.io/trt_state': 'Accepted' }));
  const rejected = payload('b', ann({ 'release.openshift.io/trt_state': 'Rejected' }));
  const qe = payload('c', {}, { state: 'QEAccepted' });
  assert.equal(isTeamApproved(trt, 'trt'), true);
  assert.equal(isTeamApproved(trt, 'qe'), false);
  assert.equal(isTeamApproved(trt, ''), true);
  assert.equal(isTeamApproved(rejected, ''), false);
  assert.equal(isTeamApproved(rejected, 'trt'), false);
  assert.equal(isTeamApproved(qe, ''), true);
  assert.equal(isTeamApproved(qe, 'QE'), true);
});

const NAME_ROWS: [string, RegExp | null][] = [
  ['trt', null],
  ['team-42', null],
  ['a', null],
  ['qe', /QE verdict.*\/qe/],
  ['admin', /built-in role/],
  ['ci', /built-in role/],
  ['TRT', /lowercase/],
  ['-trt', /lowercase/],
  ['trt-', /lowercase/],
  ['a_b', /lowercase/],
  ['', /lowercase/],
  ['x'.repeat(57), null],
  ['x'.repeat(58), /at most 57/],
];
for (const [team, want] of NAME_ROWS) {
  test(`teamNameProblem(${JSON.stringify(team.length > 20 ? `${team.length} characters` : team)})`, () => {
    const got = teamNameProblem(team);
    if (want === null) assert.equal(got, null);
    else assert.match(got ?? '', want);
  });
}

const TRT = payload('4.18.0-0.nightly-2026-01-01-000000', ann({ 'release.openshift.io/trt_state': 'Accepted', 'release.openshift.io/phase': 'Accepted' }));
const PLAIN = payload('4.18.0-0.nightly-2026-01-01-010000', { phase: 'Ready' });
const state = State.fromSnapshot({
  streams: [{ name: S, config, sourceFile: 's.json', input: S, errors: [], warnings: [], locked: false }],
  inputTags: [], payloads: [TRT, PLAIN], jobRuns: [], upgrades: [], published: [],
});
const req = (tag: string, team: string, st: string, o: Record<string, string> = {}) => ({ stream: S, tag, team, state: st, reason: 'looked at the dashboards', user: 'tess', ...o });

const OP_REFUSALS: { name: string; r: ReturnType<typeof req>; status: number; message: RegExp }[] = [
  { name: 'qe team', r: req(PLAIN.tag, 'qe', 'Accepted'), status: 400, message: /QE verdict/ },
  { name: 'bad team name', r: req(PLAIN.tag, 'Trt!', 'Accepted'), status: 400, message: /lowercase/ },
  { name: 'bad state', r: req(PLAIN.tag, 'trt', 'Approved'), status: 400, message: /Accepted or Rejected/ },
  { name: 'empty reason', r: req(PLAIN.tag, 'trt', 'Accepted', { reason: '  ' }), status: 400, message: /reason is required/ },
  { name: 'unknown stream', r: req(PLAIN.tag, 'trt', 'Accepted', { stream: 'nope' }), status: 404, message: /unknown release stream nope/ },
  { name: 'unknown tag', r: req('constructor', 'trt', 'Accepted'), status: 404, message: /unknown release tag constructor/ },
  { name: 'same state again', r: req(TRT.tag, 'trt', 'Accepted'), status: 409, message: /already Accepted by team trt/ },
];
for (const row of OP_REFUSALS) {
  test(`setTeamApproval refused: ${row.name}`, () => {
    const r = setTeamApproval(state, row.r, NOW);
    assert.ok(!r.ok, 'refused');
    assert.equal(r.refusal.status, row.status);
    assert.match(r.refusal.message, row.message);
  });
}

test('setTeamApproval: writes the annotation and an audited event, phase unchanged', () => {
  const r = setTeamApproval(state, req(PLAIN.tag, 'perf', 'Accepted'), NOW);
  assert.ok(r.ok, r.ok ? '' : r.refusal.message);
  const p = r.changes.payload!;
  assert.equal(p.annotations['release.openshift.io/perf_state'], 'Accepted');
  assert.equal(p.phase, 'Ready');
  assert.equal(teamApprovalState(p, 'perf'), 'Accepted');
  assert.deepEqual(r.changes.events.map((e) => [e.type, e.actor, e.tag, e.data]), [
    ['TeamApprovalSet', 'tess', PLAIN.tag, { team: 'perf', state: 'Accepted', previous: null, reason: 'looked at the dashboards' }],
  ]);
  assert.match(r.changes.events[0].message, /^team perf: Accepted: looked at the dashboards$/);
});

test('setTeamApproval: Accepted → Rejected names the previous state and keeps other annotations', () => {
  const r = setTeamApproval(state, req(TRT.tag, 'trt', 'Rejected'), NOW);
  assert.ok(r.ok);
  const p = r.changes.payload!;
  assert.equal(p.annotations['release.openshift.io/trt_state'], 'Rejected');
  assert.equal(p.annotations['release.openshift.io/phase'], 'Accepted');
  assert.equal(r.changes.events[0].data.previous, 'Accepted');
  assert.match(r.changes.events[0].message, /\(was Accepted\)/);
});

test('sortApprovalTags: tolerant semver descending, names that do not parse by name', () => {
  const names = ['4.16.1', 'v4.17', '4.16.0-0.nightly-2026-01-02-000000', '4.16.10', '4.16.0-0.nightly-2026-01-01-000000', '4.16.2'];
  assert.deepEqual(sortApprovalTags(names, (n) => n), ['v4.17', '4.16.10', '4.16.2', '4.16.1', '4.16.0-0.nightly-2026-01-02-000000', '4.16.0-0.nightly-2026-01-01-000000']);
  assert.deepEqual(sortApprovalTags(['b-tag', 'a-tag', 'c-tag'], (n) => n), ['c-tag', 'b-tag', 'a-tag']);
});
