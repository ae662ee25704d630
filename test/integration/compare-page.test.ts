// /dashboards/compare over state written through the real SQLite store (the API seed plus two
// promoted 4.16 releases with component changes): upstream's form (From / To over the Stable
// releases, highest version first; Format html/json), the changelog between the two (the same
// changelog /changelog serves), the image differences, upstream's "Unable to locate release(s)"
// as a 400 page, the other 400s, escaping of everything echoed, and the links to the page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { join } from 'node:path';
import { GitHistory } from '../../src/adapters/git/index.ts';
import { ChangelogService } from '../../src/controller/changelog.ts';
import { LABEL_COMMIT, LABEL_SOURCE } from '../../src/domain/changelog.ts';
import type { Payload } from '../../src/domain/types.ts';
import { NIGHTLY, ReadOps, STABLE, T, seedStore } from '../helpers/api-seed.ts';
import { HOSTILE_VERSION, stablePayload, seedCompareStore } from '../helpers/compare-seed.ts';
import { appendCommits, initBare } from '../helpers/git-repos.ts';
import { cleanup, tempDir, waitFor } from '../helpers/harness.ts';

const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
const options = (html: string, id: string) => {
  const m = new RegExp(`<select id="${id}"[^>]*>(.*?)</select>`, 's').exec(html);
  assert.ok(m, `select #${id}`);
  return [...m[1].matchAll(/<option value="([^"]*)"([^>]*)>/g)].map((o) => `${o[1]}${/\bselected\b/.test(o[2]) ? '*' : ''}`);
};
const section = (html: string, id: string) => new RegExp(`<section class="card" id="${id}"(.*?)</section>`, 's').exec(html)?.[1] ?? '';

describe('/dashboards/compare (seeded through the SQLite store)', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  const get = (url: string) => app.inject({ method: 'GET', url });

  before(async () => {
    dir = tempDir('rc-compare-page-');
    store = await seedCompareStore(dir);
    // a promoted release not built yet: listed, but it has no pull spec for a changelog
    await store.commit([{ kind: 'putPayload', payload: { ...stablePayload('4.16.2', '2024-05-06T12:00:00Z'), tag: '4.17.0-ec.0', phase: 'Pending', pullSpec: '', digest: '' } }]);
    const ops = await ReadOps.load(store);
    app = await buildApp({ ops, registerPages: createPages(ops) });
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('no parameters: the form over the Stable releases, highest version first, and no changelog', async () => {
    const r = await get('/dashboards/compare');
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /^text\/html/);
    assert.match(r.body, /<h1>Release Comparison Dashboard<\/h1>/);
    assert.match(r.body, /Quick links: <a href="\/">Index<\/a> \| <a href="\/dashboards\/overview">Overview<\/a> \| <a href="\/dashboards\/compare">Compare<\/a>/);
    const stable = ['4.17.0-ec.0', '4.16.2', '4.16.1', '4.16.0-rc.1', '4.15.10', '4.15.3'];
    assert.deepEqual(options(r.body, 'from'), ['*', ...stable]);
    assert.deepEqual(options(r.body, 'to'), ['*', ...stable]);
    assert.deepEqual(options(r.body, 'format'), ['html', 'json']);
    assert.ok(!r.body.includes(T(1)), 'nightly tags are not offered');
    assert.ok(!r.body.includes('id="changelog"'));
    assert.ok(!r.body.includes('compare-error'));
  });

  test('from=4.16.1&to=4.16.2: the changelog (components, images, commits section) and the image differences', async () => {
    const r = await get('/dashboards/compare?from=4.16.1&to=4.16.2');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(options(r.body, 'from').filter((o) => o.endsWith('*')), ['4.16.1*']);
    assert.deepEqual(options(r.body, 'to').filter((o) => o.endsWith('*')), ['4.16.2*']);
    const cl = section(r.body, 'changelog');
    assert.match(cl, /data-from="4\.16\.1" data-to="4\.16\.2" data-format="html"/);
    assert.match(cl, /<h2>Changes from <a target="_blank" href="\/releasetag\/4\.16\.1">4\.16\.1<\/a><\/h2>/);
    assert.match(cl, /<li>Kubernetes 1\.29\.2 \(from 1\.29\.1\)<\/li>/);
    assert.match(cl, /<h3>New images<\/h3>[\s\S]*fresh/);
    assert.match(cl, /<h3>Removed images<\/h3>[\s\S]*gone/);
    // a component version is data: shown as text, never markup
    assert.ok(!r.body.includes(HOSTILE_VERSION));
    assert.ok(cl.includes('<li>cli &lt;script&gt;alert(&#39;version&#39;)&lt;/script&gt; (from 4.16.1-cli)</li>'));
    assert.match(cl, /href="\/releasestream\/4-stable\/release\/4\.16\.1">4\.16\.1<\/a> \(4-stable, Accepted\) to <a href="\/releasestream\/4-stable\/release\/4\.16\.2">4\.16\.2<\/a>/);
    const diff = section(r.body, 'image-differences');
    assert.match(diff, /1 added, 1 removed, 2 changed; 1 unchanged\./);
    for (const [name, kind] of [['cli', 'Changed'], ['fresh', 'Added'], ['gone', 'Removed'], ['hyperkube', 'Changed']]) assert.match(diff, new RegExp(`<td><code>${name}</code></td><td>${kind}</td>`));
  });

  test('format=json: the changelog JSON /changelog serves, indented, in a <pre>', async () => {
    const r = await get('/dashboards/compare?from=4.16.1&to=4.16.2&format=json');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(options(r.body, 'format'), ['html', 'json*']);
    const m = /<pre class="changelog-json"><code>(.*?)<\/code><\/pre>/s.exec(r.body);
    assert.ok(m, 'the JSON block');
    const api = await get('/changelog?from=4.16.1&to=4.16.2&format=json');
    assert.equal(api.statusCode, 200);
    const shown = unescape(m[1]);
    assert.deepEqual(JSON.parse(shown), api.json());
    assert.equal(shown + '\n', api.body, 'the same bytes, two-space indentation');
    assert.ok(!section(r.body, 'changelog').includes('<h3>'), 'no rendered changelog next to the JSON');
    // the other direction works too (a downgrade changelog, as upstream)
    const back = await get('/dashboards/compare?from=4.16.2&to=4.16.1&format=JSON');
    assert.equal(back.statusCode, 200);
    assert.match(back.body, /data-from="4\.16\.2" data-to="4\.16\.1" data-format="json"/);
  });

  test('unknown releases: upstream’s "Unable to locate release(s)" as a 400 page, echoed names escaped; the form stays', async () => {
    const one = await get('/dashboards/compare?from=4.16.1&to=4.99.0');
    assert.equal(one.statusCode, 400);
    assert.match(one.body, /<p class="box danger compare-error" role="alert">Unable to locate release\(s\): 4\.99\.0<\/p>/);
    assert.ok(!one.body.includes('id="changelog"'));
    assert.deepEqual(options(one.body, 'from').filter((o) => o.endsWith('*')), ['4.16.1*'], 'the known half stays chosen');
    // a nightly exists, but is not a Stable release (upstream reads the Stable streams only)
    const nightly = await get(`/dashboards/compare?from=${T(1)}&to=4.16.2`);
    assert.equal(nightly.statusCode, 400);
    assert.ok(nightly.body.includes(`Unable to locate release(s): ${T(1)}</p>`));
    const evil = `<script>alert('x')</script>`;
    const both = await get(`/dashboards/compare?from=${encodeURIComponent(evil)}&to=${encodeURIComponent('"><b>')}`);
    assert.equal(both.statusCode, 400);
    assert.ok(!both.body.includes('<script>alert'));
    assert.ok(!both.body.includes('"><b>'));
    assert.ok(both.body.includes('Unable to locate release(s): &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;, &quot;&gt;&lt;b&gt;</p>'));
  });

  test('other bad input is a 400 naming it: a missing half, an unknown format; a repeated parameter counts once', async () => {
    const noTo = await get('/dashboards/compare?from=4.16.1');
    assert.equal(noTo.statusCode, 400);
    assert.ok(noTo.body.includes('Choose both releases: to is missing.</p>'));
    const noFrom = await get('/dashboards/compare?to=4.16.1&format=html');
    assert.equal(noFrom.statusCode, 400);
    assert.ok(noFrom.body.includes('Choose both releases: from is missing.</p>'));
    const fmt = await get('/dashboards/compare?from=4.16.1&to=4.16.2&format=%3Cyaml%3E');
    assert.equal(fmt.statusCode, 400);
    assert.ok(fmt.body.includes('Unrecognized format &lt;yaml&gt;: html and json are accepted.</p>'));
    const rep = await get('/dashboards/compare?from=4.16.1&from=nope&to=4.16.2');
    assert.equal(rep.statusCode, 200);
    assert.match(rep.body, /data-from="4\.16\.1" data-to="4\.16\.2"/);
  });

  test('a release not built yet: no changelog (it has no pull spec), the image differences still', async () => {
    const r = await get('/dashboards/compare?from=4.16.1&to=4.17.0-ec.0');
    assert.equal(r.statusCode, 200);
    assert.ok(section(r.body, 'changelog').includes('<p class="box danger" role="alert">Unable to show full changelog: 4.17.0-ec.0 has no pull spec yet (not built).</p>'));
    assert.match(section(r.body, 'image-differences'), /1 added, 1 removed, 2 changed; 1 unchanged\./);
  });

  test('links: the site navigation and the dashboard link to it; a Stable release page links to its comparison, a nightly’s does not', async () => {
    const index = await get('/');
    assert.match(index.body, /<nav aria-label="Site">.*<a href="\/dashboards\/compare">Compare<\/a>/);
    const dash = await get('/dashboards/overview');
    assert.match(dash.body, /<a href="\/dashboards\/compare">Compare<\/a><\/div>/);
    const rel = await get('/releasestream/4-stable/release/4.16.2');
    assert.equal(rel.statusCode, 200);
    assert.match(rel.body, /<a class="compare-link" href="\/dashboards\/compare\?from=4\.16\.1&amp;to=4\.16\.2">Compare 4\.16\.1 and 4\.16\.2 on the comparison dashboard<\/a>/);
    const night = await get(`/releasestream/${NIGHTLY}/release/${T(4)}`);
    assert.equal(night.statusCode, 200);
    assert.ok(!night.body.includes('compare-link'));
  });
});

describe('/dashboards/compare with real git mirrors: the commits between two releases', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let ids: string[];
  const get = (url: string) => app.inject({ method: 'GET', url });

  before(async () => {
    dir = tempDir('rc-compare-git-');
    const cache = join(dir, 'git');
    const oc = join(cache, 'github.com/openshift/oc.git');
    initBare(oc);
    const [base] = appendCommits(oc, [{ subject: 'oc base' }]);
    ids = appendCommits(oc, [{ subject: 'OCPBUGS-20: <b>bold</b> fix (#55)' }, { subject: 'Merge pull request #56 from a/b', body: 'OCPBUGS-21: second fix', side: 's' }]);
    const cli = (commit: string, digest: string) => ({ pullSpec: `quay.io/ocp/cli@sha256:${digest.repeat(64)}`, labels: { [LABEL_COMMIT]: commit, [LABEL_SOURCE]: 'https://github.com/openshift/oc' } });
    const rel = (tag: string, createdAt: string, commit: string, digest: string): Payload => ({ ...stablePayload('4.16.1', createdAt), stream: STABLE, tag, components: { cli: cli(commit, digest) }, pullSpec: `registry.local/ocp/release:${tag}` });
    store = await seedStore(dir);
    await store.commit([
      { kind: 'putPayload', payload: rel('4.18.1', '2024-06-01T00:00:00Z', base, 'a') },
      { kind: 'putPayload', payload: rel('4.18.2', '2024-06-02T00:00:00Z', ids[1], 'b') },
    ]);
    const ops = await ReadOps.load(store);
    // waitMs 0: the first request never waits for git, so it is answered while the changelog is computed
    const changelog = new ChangelogService({ history: new GitHistory({ cacheDir: cache }), settings: { issueUrlTemplate: 'https://issues.example/browse/{key}' }, waitMs: 0 });
    app = await buildApp({ ops, registerPages: createPages(ops, { changelog }) });
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('first "still being computed", then the commits with their pull requests and issues; subjects escaped', async () => {
    const first = await get('/dashboards/compare?from=4.18.1&to=4.18.2');
    assert.equal(first.statusCode, 200);
    assert.ok(first.body.includes('<p class="box info changelog-pending" role="status">The changelog from 4.18.1 to 4.18.2 is still being computed; reload in a few seconds.</p>'));
    assert.match(section(first.body, 'image-differences'), /<td><code>cli<\/code><\/td><td>Changed<\/td>/, 'the image differences need no git');
    const done = await waitFor('the changelog computed', async () => {
      const r = await get('/dashboards/compare?from=4.18.1&to=4.18.2');
      return r.body.includes('changelog-pending') ? undefined : r;
    }, 20_000);
    const cl = section(done.body, 'changelog');
    assert.ok(cl.includes('<a target="_blank" href="https://issues.example/browse/OCPBUGS-20">OCPBUGS-20</a>: &lt;b&gt;bold&lt;/b&gt; fix <a target="_blank" href="https://github.com/openshift/oc/pull/55">#55</a>'), cl);
    assert.ok(cl.includes('<a target="_blank" href="https://issues.example/browse/OCPBUGS-21">OCPBUGS-21</a>: second fix <a target="_blank" href="https://github.com/openshift/oc/pull/56">#56</a>'), cl);
    assert.ok(!done.body.includes('<b>bold</b>'));
    const json = await get('/dashboards/compare?from=4.18.1&to=4.18.2&format=json');
    const shown = JSON.parse(unescape(/<pre class="changelog-json"><code>(.*?)<\/code><\/pre>/s.exec(json.body)![1])) as { updatedImages: { name: string; commits: { commitID: string }[] }[] };
    assert.deepEqual(shown.updatedImages.map((i) => [i.name, i.commits.map((c) => c.commitID)]), [['cli', [ids[1], ids[0]]]]);
  });
});
