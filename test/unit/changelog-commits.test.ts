// Changelog commits (issue 18): subjects → PRs, bugs and issue keys; changeLogJson with commits,
// caps and notes; markdown and HTML rendering. Pure, table-tested.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  changeLog, changeLogHtml, changeLogMarkdown, commitRanges, compileIssuePattern, DEFAULT_CHANGELOG_SETTINGS, isComplete, LABEL_COMMIT, LABEL_COMMIT_OCI,
  LABEL_COMPONENT_VERSION, LABEL_SOURCE, LABEL_SOURCE_OCI, parseSubject, rangeKey, webRepo, type RangeHistory,
} from '../../src/domain/changelog.ts';
import { mirrorPath, parseLog } from '../../src/adapters/git/index.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Component, Payload } from '../../src/domain/types.ts';

const KEY = compileIssuePattern(DEFAULT_CHANGELOG_SETTINGS.issueKeyPattern) as RegExp;

const subjects: { name: string; subject: string; body?: string; want: ReturnType<typeof parseSubject> }[] = [
  { name: 'plain subject', subject: 'Fix a typo', want: { subject: 'Fix a typo', bugs: [], issues: [] } },
  { name: 'GitHub merge: PR number, title from the body', subject: 'Merge pull request #1320 from user/branch', body: 'OCPBUGS-5010: Remove must-gather pod\n\nmore text', want: { subject: 'Remove must-gather pod', pullID: 1320, bugs: [], issues: ['OCPBUGS-5010'] } },
  { name: 'merge without a body keeps the merge subject', subject: 'Merge pull request #7 from a/b', body: '', want: { subject: 'Merge pull request #7 from a/b', pullID: 7, bugs: [], issues: [] } },
  { name: 'squash: (#N) at the end', subject: 'Bump deps (#42)', want: { subject: 'Bump deps', pullID: 42, bugs: [], issues: [] } },
  { name: 'squash with a leading key', subject: 'OCPBUGS-1: fix it (#5)', want: { subject: 'fix it', pullID: 5, bugs: [], issues: ['OCPBUGS-1'] } },
  { name: 'several leading keys, comma separated', subject: 'OCPBUGS-1, CORS-22: both', want: { subject: 'both', bugs: [], issues: ['OCPBUGS-1', 'CORS-22'] } },
  { name: 'bracketed key', subject: '[ART-9] bump', want: { subject: 'bump', bugs: [], issues: ['ART-9'] } },
  { name: 'Bugzilla prefix → bugs', subject: 'Bug 2106736: Fix value', want: { subject: 'Fix value', bugs: ['2106736'], issues: [] } },
  { name: 'key inside the subject is collected, not stripped', subject: 'Revert the fix for OCPBUGS-77', want: { subject: 'Revert the fix for OCPBUGS-77', bugs: [], issues: ['OCPBUGS-77'] } },
  { name: 'a key repeated is listed once', subject: 'OCPBUGS-3: follow-up to OCPBUGS-3', want: { subject: 'follow-up to OCPBUGS-3', bugs: [], issues: ['OCPBUGS-3'] } },
  { name: 'lowercase is not a Jira key', subject: 'abc-12: nope', want: { subject: 'abc-12: nope', bugs: [], issues: [] } },
  { name: '(#N) not at the end is no PR', subject: 'see (#12) later', want: { subject: 'see (#12) later', bugs: [], issues: [] } },
  { name: 'subject that is only a key keeps it', subject: 'OCPBUGS-9:', want: { subject: 'OCPBUGS-9:', bugs: [], issues: ['OCPBUGS-9'] } },
];
for (const r of subjects) {
  test(`parseSubject: ${r.name}`, () => assert.deepEqual(parseSubject({ subject: r.subject, body: r.body ?? '' }, KEY), r.want));
}

test('parseSubject: a custom issue key pattern', () => {
  const re = compileIssuePattern('GH-[0-9]+') as RegExp;
  assert.deepEqual(parseSubject({ subject: 'GH-12: x OCPBUGS-1', body: '' }, re), { subject: 'x OCPBUGS-1', bugs: [], issues: ['GH-12'] });
});

test('compileIssuePattern: invalid and empty-matching patterns are refused with a reason', () => {
  assert.match(compileIssuePattern('[') as string, /not a valid regular expression/);
  assert.equal(compileIssuePattern('x*'), 'must not match the empty string');
});

const urls: [string, string][] = [
  ['https://github.com/openshift/oc', 'https://github.com/openshift/oc'],
  ['git@github.com:openshift/oc.git', 'https://github.com/openshift/oc'],
  ['https://example.com/x/y', ''],
  ['javascript:alert(1)', ''],
];
for (const [src, want] of urls) test(`webRepo(${src})`, () => assert.equal(webRepo(src), want));

const mirrors: [string, string | null][] = [
  ['https://github.com/openshift/installer', '/c/github.com/openshift/installer.git'],
  ['https://github.com/openshift/installer.git', '/c/github.com/openshift/installer.git'],
  ['git@github.com:openshift/oc.git', '/c/github.com/openshift/oc.git'],
  ['https://gitlab.com/group/sub/repo', '/c/gitlab.com/group/sub/repo.git'],
  ['https://github.com/../../etc', null],
  ['https://github.com/a/..', null],
  ['https://github.com/only', null],
  ['file:///etc/passwd', null],
  ['https://github.com/a/b?x=1', null],
  ['not a url', null],
];
for (const [src, want] of mirrors) test(`mirrorPath(${src})`, () => assert.equal(mirrorPath('/c', src), want));

test('parseLog: records and fields, multi-line bodies', () => {
  const out = 'a1\x1fMerge pull request #1 from x/y\x1fTitle\n\nbody\x1e\nb2\x1fplain\x1f\x1e\n';
  assert.deepEqual(parseLog(out), [
    { id: 'a1', subject: 'Merge pull request #1 from x/y', body: 'Title\n\nbody' },
    { id: 'b2', subject: 'plain', body: '' },
  ]);
});

// ---------------------------------------------------------------------------------------------

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const img = (d: string, commit: string, source = 'https://github.com/o/r', labels: Record<string, string> = {}): Component => ({
  pullSpec: `quay.io/x/y@sha256:${d.repeat(64)}`,
  labels: { [LABEL_COMMIT]: commit, [LABEL_SOURCE]: source, ...labels },
});
const pay = (tag: string, components: Record<string, Component>): Payload => ({
  stream: 's', tag, phase: 'Accepted', createdAt: '2024-05-01T10:00:00Z', inputHash: '', pullSpec: `r/x:${tag}`, digest: `sha256:${tag}`, components,
  reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '',
});
const hist = (...pairs: [string, RangeHistory][]) => new Map(pairs);

test('commitRanges: one range per repository and commit pair (images built from one repo share it)', () => {
  const from = pay('f', { cli: img('1', A, 'https://github.com/o/oc'), tools: img('2', A, 'https://github.com/o/oc'), x: img('3', A, 'https://github.com/o/x') });
  const to = pay('t', { cli: img('4', B, 'https://github.com/o/oc'), tools: img('5', B, 'https://github.com/o/oc'), x: img('6', C, 'https://github.com/o/x') });
  assert.deepEqual(commitRanges(from, to).map((r) => [r.source, r.from, r.to]), [['https://github.com/o/oc', A, B], ['https://github.com/o/x', A, C]]);
  const cl = changeLog(from, to);
  assert.deepEqual(cl.updatedImages!.map((i) => i.name), ['cli, tools', 'x']);
});

test('changeLog with histories: commits with PR, issue and commit links in upstream field order; notes for missing ones', () => {
  const from = pay('f', { a: img('1', A), m: img('2', A, 'https://github.com/o/m'), n: img('3', A, 'https://github.com/o/n') });
  const to = pay('t', { a: img('4', B), m: img('5', B, 'https://github.com/o/m'), n: img('6', B, 'https://github.com/o/n') });
  const h = hist(
    [rangeKey('https://github.com/o/r', A, B), { commits: [
      { id: '1'.repeat(40), subject: 'Merge pull request #9 from u/b', body: 'OCPBUGS-1: fix' },
      { id: '2'.repeat(40), subject: 'direct commit', body: '' },
    ], capped: false }],
    [rangeKey('https://github.com/o/m', A, B), { missing: 'no mirror of https://github.com/o/m in the git cache' }],
    [rangeKey('https://github.com/o/n', A, B), { error: 'git log timed out' }],
  );
  const cl = changeLog(from, to, h, DEFAULT_CHANGELOG_SETTINGS);
  const [a, m, n] = cl.updatedImages!;
  assert.deepEqual(a.commits, [
    { issues: { 'OCPBUGS-1': 'https://issues.redhat.com/browse/OCPBUGS-1' }, subject: 'fix', pullID: 9, pullURL: 'https://github.com/o/r/pull/9', commitID: '1'.repeat(40), commitURL: `https://github.com/o/r/commit/${'1'.repeat(40)}` },
    { subject: 'direct commit', commitID: '2'.repeat(40), commitURL: `https://github.com/o/r/commit/${'2'.repeat(40)}` },
  ]);
  assert.deepEqual(Object.keys(a), ['name', 'path', 'shortCommit', 'commit', 'imageRef', 'commits', 'fullChangeLog']);
  assert.equal(m.note, 'no mirror of https://github.com/o/m in the git cache');
  assert.equal(m.fullChangeLog, `https://github.com/o/m/compare/${A}...${B}`, 'a missing mirror keeps the compare link');
  assert.equal(m.commits, undefined);
  assert.equal(n.note, 'git failed: git log timed out');
  assert.equal(isComplete(cl), false);
  assert.equal(isComplete(changeLog(from, to)), true);
});

test('changeLog: caps per image and per changelog, marked capped', () => {
  const many = (n: number, p: string) => Array.from({ length: n }, (_, i) => ({ id: `${p}${String(i).padStart(39, '0')}`, subject: `c${i}`, body: '' }));
  const from = pay('f', { a: img('1', A, 'https://github.com/o/a'), b: img('2', A, 'https://github.com/o/b') });
  const to = pay('t', { a: img('3', B, 'https://github.com/o/a'), b: img('4', B, 'https://github.com/o/b') });
  const h = hist([rangeKey('https://github.com/o/a', A, B), { commits: many(5, 'a'), capped: true }], [rangeKey('https://github.com/o/b', A, B), { commits: many(5, 'b'), capped: false }]);
  const cl = changeLog(from, to, h, { ...DEFAULT_CHANGELOG_SETTINGS, maxCommitsPerImage: 5, maxCommits: 7 });
  assert.equal(cl.updatedImages![0].commits!.length, 5);
  assert.equal(cl.updatedImages![0].capped, true, 'the git adapter said there were more');
  assert.equal(cl.updatedImages![1].commits!.length, 2, 'the changelog budget (7) leaves 2');
  assert.equal(cl.updatedImages![1].capped, true);
  assert.equal(cl.capped, true);
  assert.deepEqual(Object.keys(cl).slice(-1), ['capped']);
  assert.match(changeLogMarkdown(cl), /capped at 2 commits/);
});

test('changeLog: OCI labels are used when the OpenShift ones are absent; component versions with their previous value', () => {
  const oci = (d: string, commit: string, v: string): Component => ({ pullSpec: `q/x@sha256:${d.repeat(64)}`, labels: { [LABEL_COMMIT_OCI]: commit, [LABEL_SOURCE_OCI]: 'https://github.com/o/k.git', [LABEL_COMPONENT_VERSION]: v } });
  const cl = changeLog(pay('f', { hyperkube: oci('1', A, 'kubernetes=1.29.3'), etcd: oci('2', A, '3.5.1') }), pay('t', { hyperkube: oci('3', B, 'kubernetes=1.29.4'), etcd: oci('4', A, '3.5.1') }));
  assert.deepEqual(cl.components, [{ name: 'etcd', version: '3.5.1' }, { name: 'Kubernetes', version: '1.29.4', from: '1.29.3' }]);
  assert.equal(cl.updatedImages![0].path, 'https://github.com/o/k');
  assert.equal(cl.updatedImages![0].fullChangeLog, `https://github.com/o/k/compare/${A}...${B}`);
  assert.equal(cl.rebuiltImages![0].name, 'etcd');
});

test('markdown and HTML: commit lines as upstream (keys: subject #PR), full changelog, escaping everything', () => {
  const from = pay('f', { a: img('1', A) });
  const to = pay('t', { a: img('2', B) });
  const h = hist([rangeKey('https://github.com/o/r', A, B), { commits: [
    { id: '1'.repeat(40), subject: 'OCPBUGS-1: <script>alert(1)</script> [x](javascript:y) (#3)', body: '' },
    { id: '2'.repeat(40), subject: 'plain', body: '' },
  ], capped: false }]);
  const cl = changeLog(from, to, h, { ...DEFAULT_CHANGELOG_SETTINGS, issueUrlTemplate: 'https://jira.example/browse/{key}' });
  const md = changeLogMarkdown(cl);
  assert.ok(md.startsWith('## Changes from [f](/releasetag/f)\n\nCreated: 2024-05-01 10:00:00 +0000 UTC\n\nImage Digest: `sha256:t`\n\n'), md);
  assert.ok(md.includes(`### [a](https://github.com/o/r/tree/${B})\n\n* [OCPBUGS-1](https://jira.example/browse/OCPBUGS-1): \\<script\\>alert(1)\\</script\\> \\[x\\](javascript:y) [#3](https://github.com/o/r/pull/3)\n* plain [22222222](https://github.com/o/r/commit/${'2'.repeat(40)})\n* [Full changelog](https://github.com/o/r/compare/${A}...${B})\n`), md);
  const html = changeLogHtml(cl);
  assert.ok(!html.includes('<script>'));
  assert.ok(html.includes('<li><a target="_blank" href="https://jira.example/browse/OCPBUGS-1">OCPBUGS-1</a>: &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:y) <a target="_blank" href="https://github.com/o/r/pull/3">#3</a></li>'), html);
  assert.ok(html.includes(`<li>plain <a target="_blank" href="https://github.com/o/r/commit/${'2'.repeat(40)}">22222222</a></li>`));
});

test('issue URL template "" lists keys without links', () => {
  const cl = changeLog(pay('f', { a: img('1', A) }), pay('t', { a: img('2', B) }), hist([rangeKey('https://github.com/o/r', A, B), { commits: [{ id: '1'.repeat(40), subject: 'ABC-1: x', body: '' }], capped: false }]), { ...DEFAULT_CHANGELOG_SETTINGS, issueUrlTemplate: '' });
  assert.deepEqual(cl.updatedImages![0].commits![0].issues, { 'ABC-1': '' });
  assert.match(changeLogMarkdown(cl), /\* ABC-1: x \[#?1{8}\]/);
});
