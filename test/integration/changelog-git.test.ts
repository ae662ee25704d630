// Changelogs from real git mirrors (issue 18): real repositories written by git, a real controller
// on a real SQLite file creating real payloads from input updates with image labels, the real
// HTTP app. Checks the exact commits, PRs and issue links in release info and /changelog
// (markdown, HTML, JSON), degrading for a missing mirror and a force-pushed-away commit, the
// wait/202/429 behaviour, --git-fetch, and that the persistent cache survives a restart.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GitHistory } from '../../src/adapters/git/index.ts';
import { ChangelogService } from '../../src/controller/changelog.ts';
import { LABEL_COMMIT, LABEL_COMPONENT_VERSION, LABEL_SOURCE, type ChangeLogJson } from '../../src/domain/changelog.ts';
import { previousPayload } from '../../src/domain/releaseinfo.ts';
import type { Payload } from '../../src/domain/types.ts';
import { listenApp } from '../helpers/api-seed.ts';
import { appendCommits, git, initBare } from '../helpers/git-repos.ts';
import { cleanup, config, pullSpec, startHarness, tempDir, waitFor, type Harness } from '../helpers/harness.ts';

const STREAM = '4.20.0-0.nightly';
const TOKEN = 'ci-token-0123456789abcdef';
const GH = 'https://github.com/openshift';

interface World {
  dir: string;
  cache: string;
  installer: { base: string; tip: string; tip2: string; ids: string[] };
  oc: { base: string; tip: string; ids: string[] };
  mco: { doomed: string; replacement: string };
}

/** The repositories: installer and oc mirrored; mco mirrored after a force push; etcd not at all. */
function makeRepos(dir: string): World {
  const cache = join(dir, 'git');
  const inst = join(cache, 'github.com/openshift/installer.git');
  initBare(inst);
  const [ibase] = appendCommits(inst, [{ subject: 'installer base' }]);
  const ids = appendCommits(inst, [
    { subject: 'Merge pull request #101 from dev/fix', body: 'OCPBUGS-11: fix the install', side: 'side work OCPBUGS-999 (never listed: not first-parent)' },
    { subject: 'CORS-7: bump deps (#102)' },
    { subject: 'plain fix without a PR' },
    { subject: 'Merge pull request #103 from dev/feature', body: 'Add a <feature> & more', side: 'feature work' },
  ]);
  const [itip2] = appendCommits(inst, [{ subject: 'OCPBUGS-30: after (#104)' }]);
  const oc = join(cache, 'github.com/openshift/oc.git');
  initBare(oc);
  const [obase] = appendCommits(oc, [{ subject: 'oc base' }]);
  const ocIds = appendCommits(oc, [{ subject: 'OCPBUGS-20, OCPBUGS-21: oc thing (#55)' }, { subject: 'Merge pull request #56 from a/b', body: 'Bug 123: old-style bug', side: 's' }]);
  // mco: a commit a payload was built from, then force-pushed away; the mirror is cloned after
  const origin = join(dir, 'origin/mco.git');
  initBare(origin);
  const [mbase] = appendCommits(origin, [{ subject: 'mco base' }]);
  const [doomed] = appendCommits(origin, [{ subject: 'doomed commit' }]);
  const [replacement] = appendCommits(origin, [{ subject: 'replacement commit' }], { parent: mbase });
  git(['clone', '--quiet', '--mirror', '--no-local', origin, join(cache, 'github.com/openshift/mco.git')]);
  return { dir, cache, installer: { base: ibase, tip: ids[ids.length - 1], tip2: itip2, ids }, oc: { base: obase, tip: ocIds[1], ids: ocIds }, mco: { doomed, replacement } };
}

const comp = (commit: string, repo: string, extra: Record<string, string> = {}) => ({ pullSpec: pullSpec(repo), labels: { [LABEL_COMMIT]: commit, [LABEL_SOURCE]: `${GH}/${repo}`, ...extra } });

async function put(port: number, tags: Record<string, unknown>): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/inputstreams/${STREAM}/tags`, {
    method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags }),
  });
  assert.equal(r.status, 200, await r.text());
}

async function start(dir: string, service: ChangelogService, prewarm = false): Promise<{ h: Harness; port: number; close: () => Promise<void> }> {
  const h = await startHarness({ dir, configs: [config({ name: STREAM, to: 'release', minCreationIntervalSeconds: 0 })], jobsYaml: 'jobs:\n  "*": { command: ["true"] }\n' });
  // as serve wires it: each payload that becomes Ready gets its changelog against its default previous release
  const off = prewarm ? service.attach((l) => h.controller.subscribe(l), (st, t) => h.controller.state.payload(st, t), (p) => previousPayload(h.controller.state, p)) : () => {};
  const { app, port } = await listenApp({ ops: h.controller, tokens: [{ user: 'ci', token: TOKEN, roles: ['ci'] }], changelog: service });
  return { h, port, close: async () => { off(); await app.close(); await h.close(); } };
}

const ready = (h: Harness, n: number) => waitFor(`${n} payloads ready`, () => {
  const list = h.controller.state.payloads(STREAM).filter((p) => p.pullSpec && p.phase !== 'Pending');
  return list.length >= n ? [...list].reverse() : null;
}, 20_000);

test('changelog from real git mirrors: commits, PRs, issue links; missing mirror and force-pushed commit degrade; cache survives a restart', async () => {
  const dir = tempDir('rc-changelog-');
  const w = makeRepos(dir);
  const cacheDir = join(dir, 'changelog-cache');
  const newService = (history: GitHistory) => new ChangelogService({ history, cacheDir, settings: { issueUrlTemplate: 'https://issues.example/browse/{key}' }, waitMs: 10_000 });
  const history1 = new GitHistory({ cacheDir: w.cache });
  const service1 = newService(history1);
  let s = await start(dir, service1, true);
  try {
    const url = (path: string) => `http://127.0.0.1:${s.port}${path}`;
    await put(s.port, {
      installer: comp(w.installer.base, 'installer'),
      cli: comp(w.oc.base, 'oc'), tools: comp(w.oc.base, 'oc'),
      'machine-config-operator': comp(w.mco.doomed, 'mco'),
      etcd: comp('e'.repeat(40), 'etcd'),
      hyperkube: comp('f'.repeat(40), 'kubernetes', { [LABEL_COMPONENT_VERSION]: 'kubernetes=1.29.3' }),
    });
    const [p1] = await ready(s.h, 1);
    await put(s.port, {
      installer: comp(w.installer.tip, 'installer'),
      cli: comp(w.oc.tip, 'oc'), tools: comp(w.oc.tip, 'oc'),
      'machine-config-operator': comp(w.mco.replacement, 'mco'),
      etcd: comp('d'.repeat(40), 'etcd'),
      hyperkube: comp('f'.repeat(40), 'kubernetes', { [LABEL_COMPONENT_VERSION]: 'kubernetes=1.29.4' }),
    });
    const [, p2] = await ready(s.h, 2);
    // pre-warmed when p2 became Ready (against p1, its previous Accepted payload), before anyone asked
    await waitFor('pre-warmed changelog', () => service1.stats.computed >= 1);

    // ---- release info: changeLogJson with the commits, changeLog = base64 HTML
    const info = await (await fetch(url(`/api/v1/releasestream/${STREAM}/release/${p2.tag}?from=${p1.tag}`))).json() as { changeLog: string; changeLogJson: ChangeLogJson };
    const cl = info.changeLogJson;
    assert.deepEqual(cl.from, { name: p1.tag, created: p1.createdAt, digest: p1.digest });
    assert.deepEqual(cl.components, [{ name: 'Kubernetes', version: '1.29.4', from: '1.29.3' }]);
    assert.deepEqual(cl.rebuiltImages?.map((i) => i.name), ['hyperkube']);
    const byName = new Map(cl.updatedImages!.map((i) => [i.name, i]));
    assert.deepEqual([...byName.keys()], ['cli, tools', 'etcd', 'installer', 'machine-config-operator']);
    const I = w.installer.ids;
    const iurl = `${GH}/installer`;
    assert.deepEqual(byName.get('installer')!.commits, [
      { subject: 'Add a <feature> & more', pullID: 103, pullURL: `${iurl}/pull/103`, commitID: I[3], commitURL: `${iurl}/commit/${I[3]}` },
      { subject: 'plain fix without a PR', commitID: I[2], commitURL: `${iurl}/commit/${I[2]}` },
      { issues: { 'CORS-7': 'https://issues.example/browse/CORS-7' }, subject: 'bump deps', pullID: 102, pullURL: `${iurl}/pull/102`, commitID: I[1], commitURL: `${iurl}/commit/${I[1]}` },
      { issues: { 'OCPBUGS-11': 'https://issues.example/browse/OCPBUGS-11' }, subject: 'fix the install', pullID: 101, pullURL: `${iurl}/pull/101`, commitID: I[0], commitURL: `${iurl}/commit/${I[0]}` },
    ]);
    assert.equal(byName.get('installer')!.fullChangeLog, `${iurl}/compare/${w.installer.base}...${w.installer.tip}`);
    const O = w.oc.ids;
    assert.deepEqual(byName.get('cli, tools')!.commits, [
      { bugs: { 123: 'https://bugzilla.redhat.com/show_bug.cgi?id=123' }, subject: 'old-style bug', pullID: 56, pullURL: `${GH}/oc/pull/56`, commitID: O[1], commitURL: `${GH}/oc/commit/${O[1]}` },
      { issues: { 'OCPBUGS-20': 'https://issues.example/browse/OCPBUGS-20', 'OCPBUGS-21': 'https://issues.example/browse/OCPBUGS-21' }, subject: 'oc thing', pullID: 55, pullURL: `${GH}/oc/pull/55`, commitID: O[0], commitURL: `${GH}/oc/commit/${O[0]}` },
    ]);
    // degraded, never an error: the compare link stays, a note says why
    assert.equal(byName.get('etcd')!.note, `no mirror of ${GH}/etcd in the git cache`);
    assert.equal(byName.get('etcd')!.fullChangeLog, `${GH}/etcd/compare/${'e'.repeat(40)}...${'d'.repeat(40)}`);
    assert.equal(byName.get('machine-config-operator')!.note, `commit ${w.mco.doomed} is not in the mirror of ${GH}/mco (fetching is off: --git-fetch)`);
    assert.equal(byName.get('machine-config-operator')!.commits, undefined);
    const html = Buffer.from(info.changeLog, 'base64').toString('utf8');
    assert.ok(html.includes(`<li><a target="_blank" href="https://issues.example/browse/OCPBUGS-11">OCPBUGS-11</a>: fix the install <a target="_blank" href="${iurl}/pull/101">#101</a></li>`), html);
    assert.ok(html.includes(`<li>Add a &lt;feature&gt; &amp; more <a target="_blank" href="${iurl}/pull/103">#103</a></li>`));
    assert.ok(!html.includes('OCPBUGS-999'), 'side-branch commits are not first-parent history');

    // ---- /changelog in its three formats, CORS *
    const md = await fetch(url(`/changelog?from=${p1.tag}&to=${p2.tag}`));
    assert.equal(md.status, 200);
    assert.equal(md.headers.get('access-control-allow-origin'), '*');
    assert.match(md.headers.get('content-type')!, /^text\/plain/);
    const mdText = await md.text();
    assert.ok(mdText.includes(`### [installer](${iurl}/tree/${w.installer.tip})\n\n` +
      `* Add a \\<feature\\> & more [#103](${iurl}/pull/103)\n` +
      `* plain fix without a PR [${I[2].slice(0, 8)}](${iurl}/commit/${I[2]})\n` +
      `* [CORS-7](https://issues.example/browse/CORS-7): bump deps [#102](${iurl}/pull/102)\n` +
      `* [OCPBUGS-11](https://issues.example/browse/OCPBUGS-11): fix the install [#101](${iurl}/pull/101)\n` +
      `* [Full changelog](${iurl}/compare/${w.installer.base}...${w.installer.tip})\n`), mdText);
    assert.ok(mdText.includes(`### [etcd](${GH}/etcd/tree/${'d'.repeat(40)})\n\n* _no mirror of ${GH}/etcd in the git cache_\n`), mdText);
    const js = await fetch(url(`/changelog?from=${p1.tag}&to=${p2.tag}&format=json`));
    assert.equal(js.headers.get('access-control-allow-origin'), '*');
    assert.deepEqual(await js.json(), cl);
    const page = await fetch(url(`/changelog?from=${p1.tag}&to=${p2.tag}&format=html`));
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    const pageText = await page.text();
    assert.match(pageText, new RegExp(`<title>Change log for ${p2.tag}</title>`));
    assert.ok(pageText.includes('Add a &lt;feature&gt; &amp; more'));
    // upstream's errors, plain text, CORS too
    for (const [q, status, text] of [
      ['?to=x', 400, 'from must be set to a valid tag'],
      [`?from=${p1.tag}`, 400, 'to must be set to a valid tag'],
      [`?from=${p1.tag}&to=nope`, 400, 'could not find tag: nope'],
      [`?from=${p1.tag}&to=${p2.tag}&format=yaml`, 400, 'unrecognized format= string: html, json, markdown, empty accepted'],
    ] as const) {
      const r = await fetch(url(`/changelog${q}`));
      assert.equal(r.status, status, q);
      assert.equal(await r.text(), `${text}\n`);
      assert.equal(r.headers.get('access-control-allow-origin'), '*');
    }

    // ---- a complete changelog (all mirrored) goes to the disk cache
    await put(s.port, { installer: comp(w.installer.tip2, 'installer') });
    const [, , p3] = await ready(s.h, 3);
    await waitFor('p3 pre-warmed', () => service1.stats.computed >= 2);
    const before = history1.invocations;
    const c23 = await fetch(url(`/changelog?from=${p2.tag}&to=${p3.tag}&format=json`));
    assert.equal(c23.headers.get('x-changelog-source'), 'memory');
    assert.equal(history1.invocations, before, 'memoised: no git process');
    const j23 = await c23.json() as ChangeLogJson;
    assert.deepEqual(j23.updatedImages!.map((i) => [i.name, i.commits?.map((c) => c.subject)]), [['installer', ['after']]]);
    await s.close();

    // ---- restart: the same data directory, a new service and controller
    const history2 = new GitHistory({ cacheDir: w.cache });
    s = await start(dir, newService(history2));
    const again = await fetch(`http://127.0.0.1:${s.port}/changelog?from=${p2.tag}&to=${p3.tag}&format=json`);
    assert.equal(again.headers.get('x-changelog-source'), 'disk');
    assert.deepEqual(await again.json(), j23);
    const info23 = await (await fetch(`http://127.0.0.1:${s.port}/api/v1/releasestream/${STREAM}/release/${p3.tag}?from=${p2.tag}`)).json() as { changeLogJson: ChangeLogJson };
    assert.deepEqual(info23.changeLogJson, j23);
    assert.equal(history2.invocations, 0, 'nothing recomputed after the restart');
    // the incomplete one (missing mirror, missing commit) was never written: computed again
    await fetch(`http://127.0.0.1:${s.port}/changelog?from=${p1.tag}&to=${p2.tag}`);
    assert.ok(history2.invocations > 0);
  } finally {
    await s.close();
    cleanup(dir);
  }
});

test('changelog off the request path: a slow git → release info without changeLog (computing), /changelog 202 then 200; a full queue → 429; a timeout is not cached', async () => {
  const dir = tempDir('rc-changelog-slow-');
  const w = makeRepos(dir);
  // a git that takes its time (real git behind a sleep)
  const slowGit = join(dir, 'slow-git.sh');
  writeFileSync(slowGit, '#!/bin/sh\nsleep "${SLOW:-0.6}"\nexec git "$@"\n', { mode: 0o755 });
  const history = new GitHistory({ cacheDir: w.cache, git: slowGit });
  const service = new ChangelogService({ history, cacheDir: join(dir, 'cc'), waitMs: 100, workers: 1, maxQueue: 0 });
  const s = await start(dir, service);
  try {
    const url = (path: string) => `http://127.0.0.1:${s.port}${path}`;
    await put(s.port, { installer: comp(w.installer.base, 'installer'), cli: comp(w.oc.base, 'oc') });
    await ready(s.h, 1);
    await put(s.port, { installer: comp(w.installer.tip, 'installer'), cli: comp(w.oc.tip, 'oc') });
    const [p1, p2] = await ready(s.h, 2);
    // the Ready payload pre-warmed nothing here (the harness does not attach the service): request it
    const t0 = Date.now();
    const info = await (await fetch(url(`/api/v1/releasestream/${STREAM}/release/${p2.tag}?from=${p1.tag}`))).json() as Record<string, unknown>;
    assert.ok(Date.now() - t0 < 1500, 'answered within the wait, not after git');
    assert.equal(info.changeLog, undefined);
    assert.equal(info.changeLogStatus, 'computing');
    assert.equal((info.changeLogJson as ChangeLogJson).from.name, '', 'upstream’s zero value while not ready');
    const first = await fetch(url(`/changelog?from=${p1.tag}&to=${p2.tag}`));
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('retry-after'), '1');
    assert.equal(first.headers.get('access-control-allow-origin'), '*');
    // another changelog while the only worker is busy and the queue holds none → 429
    const busy = await fetch(url(`/changelog?from=${p2.tag}&to=${p1.tag}`));
    assert.equal(busy.status, 429);
    assert.ok(Number(busy.headers.get('retry-after')) >= 1);
    const done = await waitFor('changelog computed', async () => {
      const r = await fetch(url(`/changelog?from=${p1.tag}&to=${p2.tag}&format=json`));
      return r.status === 200 ? (await r.json()) as ChangeLogJson : null;
    }, 20_000, 200);
    assert.deepEqual(done.updatedImages!.map((i) => [i.name, i.commits!.length]), [['cli', 2], ['installer', 4]]);
    // the release info now carries it (the computing answer was not kept by the response cache)
    const info2 = await (await fetch(url(`/api/v1/releasestream/${STREAM}/release/${p2.tag}?from=${p1.tag}`))).json() as Record<string, unknown>;
    assert.equal(info2.changeLogStatus, undefined);
    assert.deepEqual(info2.changeLogJson, done);

    // a git that times out: a note, and nothing kept (the next request runs git again)
    const stuck = new GitHistory({ cacheDir: w.cache, git: slowGit, timeoutMs: 100 });
    const svc = new ChangelogService({ history: stuck, cacheDir: join(dir, 'cc2'), waitMs: 5000 });
    const r1 = await svc.get(p1 as Payload, p2 as Payload);
    assert.equal(r1.state, 'ready');
    assert.match(r1.state === 'ready' ? r1.json.updatedImages![0].note ?? '' : '', /^git failed: git log timed out/);
    const n = stuck.invocations;
    await svc.get(p1, p2);
    assert.ok(stuck.invocations > n, 'errors are never cached');
  } finally {
    await s.close();
    cleanup(dir);
  }
});

test('--git-fetch: a commit the mirror lacks is fetched from its origin; without it, a note', async () => {
  const dir = tempDir('rc-changelog-fetch-');
  try {
    const origin = join(dir, 'origin/repo.git');
    initBare(origin);
    const [base] = appendCommits(origin, [{ subject: 'base' }]);
    const cache = join(dir, 'git');
    const mirror = join(cache, 'github.com/org/repo.git');
    git(['clone', '--quiet', '--mirror', '--no-local', origin, mirror]);
    const [tip] = appendCommits(origin, [{ subject: 'ABC-1: new work (#9)' }]);
    const off = await new GitHistory({ cacheDir: cache }).commits('https://github.com/org/repo', base, tip, 10);
    assert.deepEqual(off, { missing: `commit ${tip} is not in the mirror of https://github.com/org/repo (fetching is off: --git-fetch)` });
    const on = new GitHistory({ cacheDir: cache, fetch: true });
    const got = await on.commits('https://github.com/org/repo', base, tip, 10);
    assert.deepEqual(got, { commits: [{ id: tip, subject: 'ABC-1: new work (#9)', body: '' }], capped: false });
    // a bad label can never become a git option
    assert.deepEqual(await on.commits('https://github.com/org/repo', '--output=/tmp/x', tip, 10), { missing: `commit ids --output=/tmp/x, ${tip} are not hexadecimal object names` });
    // the per-image cap: more commits than asked → capped
    const more = appendCommits(origin, Array.from({ length: 5 }, (_, i) => ({ subject: `c${i}` })));
    const capped = await on.commits('https://github.com/org/repo', base, more[4], 3);
    assert.ok('commits' in capped && capped.capped && capped.commits.length === 3);
  } finally {
    cleanup(dir);
  }
});
