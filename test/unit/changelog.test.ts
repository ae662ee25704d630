import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeLog, changeLogHtml, emptyChangeLog, LABEL_COMMIT, LABEL_SOURCE, type ChangeLogJson } from '../../src/domain/changelog.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Component, Payload } from '../../src/domain/types.ts';

const C1 = 'a0c13fc4b7112da787fb93d7ecb2f10f8a0cbb0c';
const C2 = '983567b394f8d1efcc9c938b01af30d173c8fc5d';
const img = (d: string, commit?: string, source?: string): Component => ({
  pullSpec: `quay.io/x/y@sha256:${d.repeat(64)}`,
  labels: { ...(commit ? { [LABEL_COMMIT]: commit } : {}), ...(source !== undefined ? { [LABEL_SOURCE]: source } : {}) },
});
const pay = (tag: string, components: Record<string, Component>): Payload => ({
  stream: 's', tag, phase: 'Accepted', createdAt: '2024-05-01T10:00:00Z', inputHash: '', pullSpec: `r/x:${tag}`, digest: `sha256:${tag}`, components,
  reason: '', message: '', annotations: {}, override: null, qe: emptyQEStatus(), phaseChangedAt: '',
});

const rows: { name: string; from: Record<string, Component>; to: Record<string, Component>; want: Partial<ChangeLogJson> }[] = [
  { name: 'no change: no image lists at all', from: { a: img('1', C1) }, to: { a: img('1', C1) }, want: {} },
  {
    name: 'added component → newImages with path, 8-char shortCommit (upstream), commit, imageRef',
    from: {},
    to: { a: img('1', C1, 'https://github.com/openshift/oc') },
    want: { newImages: [{ name: 'a', path: 'https://github.com/openshift/oc', shortCommit: 'a0c13fc4', commit: C1, imageRef: `sha256:${'1'.repeat(64)}` }] },
  },
  {
    name: 'removed component → removedImages (the old image)',
    from: { a: img('1', C1, 'https://github.com/o/a') },
    to: {},
    want: { removedImages: [{ name: 'a', path: 'https://github.com/o/a', shortCommit: 'a0c13fc4', commit: C1, imageRef: `sha256:${'1'.repeat(64)}` }] },
  },
  {
    name: 'same commit, new digest → rebuiltImages',
    from: { a: img('1', C1, 'https://github.com/o/a') },
    to: { a: img('2', C1, 'https://github.com/o/a') },
    want: { rebuiltImages: [{ name: 'a', path: 'https://github.com/o/a', shortCommit: 'a0c13fc4', commit: C1, imageRef: `sha256:${'2'.repeat(64)}` }] },
  },
  {
    name: 'new commit → updatedImages with a compare link (GitHub source)',
    from: { a: img('1', C1, 'https://github.com/o/a/') },
    to: { a: img('2', C2, 'https://github.com/o/a/') },
    want: { updatedImages: [{ name: 'a', path: 'https://github.com/o/a', shortCommit: '983567b3', commit: C2, imageRef: `sha256:${'2'.repeat(64)}`, fullChangeLog: `https://github.com/o/a/compare/${C1}...${C2}` }] },
  },
  {
    name: 'no labels: empty path, no commit fields, no compare link',
    from: { a: img('1') },
    to: { a: img('2') },
    want: { updatedImages: [{ name: 'a', path: '', imageRef: `sha256:${'2'.repeat(64)}` }] },
  },
  {
    name: 'tag pull spec (no digest): no imageRef',
    from: {},
    to: { a: { pullSpec: 'quay.io/x/y:latest' } },
    want: { newImages: [{ name: 'a', path: '' }] },
  },
  {
    name: 'non-GitHub source: no compare link',
    from: { a: img('1', C1, 'https://example.com/a') },
    to: { a: img('2', C2, 'https://example.com/a') },
    want: { updatedImages: [{ name: 'a', path: 'https://example.com/a', shortCommit: '983567b3', commit: C2, imageRef: `sha256:${'2'.repeat(64)}` }] },
  },
  {
    name: 'several kinds at once, each list sorted by name',
    from: { b: img('1'), z: img('3', C1), m: img('4', C1) },
    to: { a: img('2'), z: img('5', C2), m: img('6', C1) },
    want: {
      newImages: [{ name: 'a', path: '', imageRef: `sha256:${'2'.repeat(64)}` }],
      removedImages: [{ name: 'b', path: '', imageRef: `sha256:${'1'.repeat(64)}` }],
      rebuiltImages: [{ name: 'm', path: '', shortCommit: 'a0c13fc4', commit: C1, imageRef: `sha256:${'6'.repeat(64)}` }],
      updatedImages: [{ name: 'z', path: '', shortCommit: '983567b3', commit: C2, imageRef: `sha256:${'5'.repeat(64)}` }],
    },
  },
];

for (const r of rows) {
  test(`changeLog: ${r.name}`, () => {
    const got = changeLog(pay('f', r.from), pay('t', r.to));
    assert.deepEqual(got, { from: { name: 'f', created: '2024-05-01T10:00:00Z', digest: 'sha256:f' }, to: { name: 't', created: '2024-05-01T10:00:00Z', digest: 'sha256:t' }, ...r.want });
  });
}

test('changeLog: key order of the image lists is upstream’s (new, removed, rebuilt, updated)', () => {
  const got = changeLog(pay('f', { b: img('1'), z: img('3', C1), m: img('4', C1) }), pay('t', { a: img('2'), z: img('5', C2), m: img('6', C1) }));
  assert.deepEqual(Object.keys(got), ['from', 'to', 'newImages', 'removedImages', 'rebuiltImages', 'updatedImages']);
  assert.deepEqual(Object.keys(got.newImages![0]), ['name', 'path', 'imageRef']);
  assert.deepEqual(Object.keys(got.updatedImages![0]), ['name', 'path', 'shortCommit', 'commit', 'imageRef']);
});

test('emptyChangeLog is Go’s zero value', () => {
  assert.equal(JSON.stringify(emptyChangeLog()), '{"from":{"name":"","created":"0001-01-01T00:00:00Z","digest":""},"to":{"name":"","created":"0001-01-01T00:00:00Z","digest":""}}');
});

test('changeLogHtml: upstream layout (heading link to the previous tag, Created in Go time format, digest, sections)', () => {
  const cl = changeLog(pay('4.16.0-0.nightly-2024-05-01-000000', { z: img('3', C1, 'https://github.com/o/z'), m: img('4', C1, 'https://github.com/o/m') }), pay('t', { z: img('5', C2, 'https://github.com/o/z'), m: img('6', C1, 'https://github.com/o/m') }));
  const html = changeLogHtml(cl);
  assert.ok(html.startsWith('<h2>Changes from <a target="_blank" href="/releasetag/4.16.0-0.nightly-2024-05-01-000000">4.16.0-0.nightly-2024-05-01-000000</a></h2>\n\n<p>Created: 2024-05-01 10:00:00 +0000 UTC</p>\n\n<p>Image Digest: <code>sha256:t</code></p>'), html);
  assert.match(html, /<h3>Rebuilt images without code change<\/h3>\n\n<ul>\n<li><a target="_blank" href="https:\/\/github.com\/o\/m">m<\/a> git <a target="_blank" href="https:\/\/github.com\/o\/m\/commit\/a0c13fc4b7112da787fb93d7ecb2f10f8a0cbb0c">a0c13fc4<\/a> <code>sha256:6{64}<\/code><\/li>\n<\/ul>/);
  assert.match(html, new RegExp(`<h3><a target="_blank" href="https://github.com/o/z/tree/${C2}">z</a></h3>`));
  assert.match(html, new RegExp(`<li><a target="_blank" href="https://github.com/o/z/compare/${C1}...${C2}">Full changelog</a></li>`));
  assert.ok(html.endsWith('\n'));
});

test('changeLogHtml: escapes names and refuses non-http links', () => {
  const cl = changeLog(pay('<b>', {}), pay('t', { '<script>': { pullSpec: 'x@sha256:1', labels: { [LABEL_SOURCE]: 'javascript:alert(1)', [LABEL_COMMIT]: '"onload' } } }));
  const html = changeLogHtml(cl);
  assert.ok(!html.includes('<script>'));
  assert.ok(!html.includes('<b>'));
  assert.ok(!html.includes('href="javascript:'));
  assert.ok(html.includes('&lt;script&gt;'));
});

test('changeLogHtml: no image change says so', () => {
  assert.match(changeLogHtml(changeLog(pay('f', {}), pay('t', {}))), /<p>No image changes\.<\/p>/);
});
