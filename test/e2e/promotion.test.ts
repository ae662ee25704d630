// Promotion end to end (issue 16, "Done when"): a real controller on a real SQLite file, real
// child processes for every job, the real HTTP API. Nightly payloads are Accepted and QE
// accepted → promoted into 4-stable as 4.16.1 and 4.16.2 → the Stable releases are built and
// verified (4.16.2's blocking upgrade job upgrades from 4.16.1) → a later nightly's PreviousPatch
// upgrade job starts from 4.16.2's pull spec → /graph?channel=candidate-4.16 has both releases
// and the tested edge → /candidate offers the nightly QE accepted after the last promotion →
// promoting a payload QE did not accept is refused with 409 (and allowed with force).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { TokenEntry } from '../../src/http/auth.ts';
import { cleanup, config, pullSpec, startHarness, tempDir, waitFor, writeScripts, type Harness } from '../helpers/harness.ts';

const TOKENS: TokenEntry[] = [
  { user: 'rita-admin', token: 'admin-token-0123456789abcdef', roles: ['admin'] },
  { user: 'quinn-qe', token: 'qe-token-0123456789abcdef', roles: ['qe'] },
];

test('promote QE-accepted nightlies into 4-stable; upgrade sources, the graph and the candidate follow', async () => {
  const dir = tempDir('rc-promotion-');
  const st = join(dir, 'st');
  const s = writeScripts(dir, {
    ok: 'sleep 0.1; exit 0',
    // records the release it upgrades from, per payload
    upgrade: `echo "$RELEASE_IMAGE_INITIAL" > "${st}-initial-$PAYLOAD_TAG"; exit 0`,
    qe: `if [ -e "${st}-qe-fail" ]; then exit 1; fi; exit 0`,
    // a Stable release's sampled upgrade test (upgrade.<platform>)
    sampled: `echo "$RELEASE_IMAGE_INITIAL $RELEASE_IMAGE_LATEST" > "${st}-sampled-$PAYLOAD_TAG"; exit 0`,
  });
  const jobsYaml = `
jobs:
  "e2e": { command: ["bash", "${s.ok}"] }
  "up": { command: ["bash", "${s.upgrade}"] }
  "qe-e2e": { command: ["bash", "${s.qe}"] }
  "up-aws": { command: ["bash", "${s.sampled}"] }
`;
  const nightly = config({
    name: '4.16.0-0.nightly', to: 'release',
    verify: {
      e2e: { prowJob: { name: 'e2e' } },
      'upgrade-patch': { optional: true, upgrade: true, upgradeFrom: 'PreviousPatch', prowJob: { name: 'up' } },
      'qe-e2e': { qe: true, prowJob: { name: 'qe-e2e' } },
    },
  });
  const stable = config({ name: '4-stable', as: 'Stable', verify: { upgrade: { upgrade: true, prowJob: { name: 'up' } } }, upgrade: { aws: { prowJob: { name: 'up-aws' } } } });
  const N = nightly.name;
  let h: Harness | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;
  try {
    h = await startHarness({ dir, configs: [nightly, stable], jobsYaml });
    const c = h.controller;
    app = await buildApp({ ops: c, tokens: TOKENS, logger: false, builder: new LocalBuilder(join(dir, 'payloads')), registerPages: createPages(c) });
    const a = app;
    const promote = async (version: string, from: string, o: Record<string, unknown> = {}, token = TOKENS[0].token) => {
      const r = await a.inject({
        method: 'PUT', url: `/api/v1/releasestream/4-stable/release/${version}`, payload: JSON.stringify({ from: `${N}/${from}`, reason: 'release train', ...o }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      });
      await c.idle();
      return r;
    };
    const known = new Set<string>();
    const nextNightly = async (what: string, done: (p: { phase: string; qe: { state: string } }) => boolean) => {
      await waitFor('a new second for the tag name', () => c.state.payloads(N).every((p) => p.tag !== nameNow()), 5000);
      await c.setInputTags(N, { cli: pullSpec('cli') }, 'test');
      const p = await waitFor(what, () => c.state.payloads(N).find((x) => !known.has(x.tag) && done(x)), 30_000);
      known.add(p.tag);
      return p;
    };
    const nameNow = () => `4.16.0-0.nightly-${new Date().toISOString().slice(0, 19).replace('T', '-').replace(/:/g, '')}`;
    const qeAccepted = (p: { phase: string; qe: { state: string } }) => p.phase === 'Accepted' && p.qe.state === 'QEAccepted';
    const accepted = (tag: string) =>
      waitFor(`${tag} Accepted`, () => {
        const p = c.state.payload('4-stable', tag);
        return p?.phase === 'Accepted' ? p : undefined;
      }, 30_000);

    // ---- nightly 1 → 4.16.1 (its own PreviousPatch job has no source yet and does not run)
    const n1 = await nextNightly('nightly 1 QE accepted', qeAccepted);
    assert.equal(existsSync(`${st}-initial-${n1.tag}`), false);
    const r1 = await promote('4.16.1', n1.tag);
    assert.equal(r1.statusCode, 201, r1.body);
    assert.deepEqual(r1.json(), { name: '4.16.1', phase: 'Pending', pullSpec: r1.json().pullSpec, downloadURL: r1.json().downloadURL, qePhase: '' });
    const s1 = await accepted('4.16.1');
    assert.equal(s1.annotations['release.openshift.io/from-tag'], n1.tag);
    assert.deepEqual(s1.components, n1.components, 'the release carries the promoted components');
    assert.ok(s1.digest, 'built');

    // ---- nightly 2 upgrades from 4.16.1, then becomes 4.16.2, whose own upgrade job tests 4.16.1 → 4.16.2
    const n2 = await nextNightly('nightly 2 QE accepted', qeAccepted);
    assert.equal(readFileSync(`${st}-initial-${n2.tag}`, 'utf8').trim(), s1.pullSpec);
    const r2 = await promote('4.16.2', n2.tag);
    assert.equal(r2.statusCode, 201, r2.body);
    const s2 = await accepted('4.16.2');
    assert.equal(s2.annotations['release.openshift.io/previous'], '4.16.1', 'declares the Stable release its source was tested from');
    assert.equal(readFileSync(`${st}-initial-4.16.2`, 'utf8').trim(), s1.pullSpec, "4.16.2's blocking upgrade job ran from 4.16.1");
    // the sampled upgrade test from its declared previous version ran too (upstream §5.2)
    const sampled = await waitFor('4.16.2 sampled upgrade test', () => c.state.runs('4-stable', '4.16.2').find((r) => r.id === '4.16.2-upgrade-from-4.16.1-aws' && r.state === 'Succeeded'), 30_000);
    assert.equal(sampled.upgradeFrom, '4.16.1');
    assert.equal(readFileSync(`${st}-sampled-4.16.2`, 'utf8').trim(), `${sampled.upgradeFromPullSpec} ${s2.pullSpec}`);
    assert.match(sampled.upgradeFromPullSpec, /^registry\.local\/4-stable@sha256:/, 'our own 4.16.1, by digest');
    const page = await a.inject({ url: '/releasestream/4-stable/release/4.16.2' });
    assert.equal(page.statusCode, 200);
    const text = page.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    assert.match(text, /Upgrades from 4\.16\.1 — 2 of 2 succeeded/, 'the verify upgrade job and the sampled test both count');
    assert.match(text, /ReleasePromoted rita-admin 4\.16\.2 promoted from 4\.16\.0-0\.nightly\//, 'the promotion is in the history');
    assert.equal(existsSync(`${st}-sampled-4.16.1`), false, '4.16.1 declares no previous version: nothing to sample');
    const info = await a.inject({ url: '/releasetag/4.16.2/json' });
    assert.equal(info.statusCode, 200, info.body);
    const meta = info.json().metadata as { version: string; previous: string[] };
    assert.deepEqual({ version: meta.version, previous: meta.previous }, { version: '4.16.2', previous: ['4.16.1'] }, 'release-metadata carries the version and its upgrade sources');
    assert.match(info.json().image, /^registry\.local\/4-stable@sha256:/, 'a Stable release is pushed to the Stable stream\'s own repository');

    // ---- nightly 3's PreviousPatch upgrade job starts from 4.16.2
    const n3 = await nextNightly('nightly 3 QE accepted', qeAccepted);
    assert.equal(readFileSync(`${st}-initial-${n3.tag}`, 'utf8').trim(), s2.pullSpec);

    // ---- the graph: both releases, the tested edge
    const g = await a.inject({ url: '/graph?channel=candidate-4.16' });
    assert.equal(g.statusCode, 200, g.body);
    const graph = g.json() as { nodes: { version: string; payload: string }[]; edges: [number, number][] };
    assert.deepEqual(graph.nodes.map((n) => n.version).sort(), ['4.16.1', '4.16.2']);
    const edges = graph.edges.map(([f, t]) => `${graph.nodes[f].version} → ${graph.nodes[t].version}`);
    assert.deepEqual(edges, ['4.16.1 → 4.16.2']);
    assert.ok(graph.nodes.every((n) => n.payload.includes('@sha256:')), 'nodes are pulled by digest');

    // ---- the candidate for 4.16.3 is nightly 3 (QE accepted after 4.16.2's source)
    const cand = await a.inject({ url: `/api/v1/releasestream/${N}/candidate` });
    assert.equal(cand.statusCode, 200, cand.body);
    assert.deepEqual(cand.json(), { candidate: { fromTag: n3.tag, name: '4.16.3', upgradeFrom: ['4.16.2'] } }, cand.body);

    // ---- a payload QE rejected cannot be promoted; force overrides, audited
    writeFileSync(`${st}-qe-fail`, '');
    const n4 = await nextNightly('nightly 4 QE rejected', (p) => p.phase === 'Accepted' && p.qe.state === 'QERejected');
    const refused = await promote('4.16.3', n4.tag);
    assert.equal(refused.statusCode, 409, refused.body);
    assert.match(refused.json().error, /its QE verdict is QERejected, not QEAccepted/);
    assert.equal(c.state.payload('4-stable', '4.16.3'), undefined, 'nothing was created');
    const noRole = await promote('4.16.3', n3.tag, {}, TOKENS[1].token);
    assert.equal(noRole.statusCode, 403, noRole.body);
    const dup = await promote('4.16.2', n3.tag);
    assert.equal(dup.statusCode, 409);
    assert.match(dup.json().error, /4\.16\.2 already exists in stream 4-stable/);
    const forced = await promote('4.16.3', n4.tag, { force: true, reason: 'CVE fix, QE failure understood' });
    assert.equal(forced.statusCode, 201, forced.body);
    const events = await c.listEvents({ stream: '4-stable', tag: '4.16.3' } as never);
    const ev = events.find((e) => e.type === 'ReleasePromoted');
    assert.ok(ev, JSON.stringify(events));
    assert.equal(ev.actor, 'rita-admin');
    assert.equal(ev.data.force, true);
    assert.match(ev.message, /forced: its QE verdict is QERejected.*CVE fix/);
    await accepted('4.16.3');
  } finally {
    await app?.close();
    await h?.close();
    cleanup(dir);
  }
});

test('adoption: a release image given to the Stable stream\'s input by other tooling becomes a release upgrade jobs start from', async () => {
  const dir = tempDir('rc-adopt-');
  const st = join(dir, 'st');
  const s = writeScripts(dir, { ok: 'exit 0', upgrade: `echo "$RELEASE_IMAGE_INITIAL" > "${st}-initial-$PAYLOAD_TAG"; exit 0` });
  const nightly = config({ name: '4.16.0-0.nightly', to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } }, 'upgrade-patch': { upgrade: true, upgradeFrom: 'PreviousPatch', prowJob: { name: 'up' } } } });
  const stable = config({ name: '4-stable', as: 'Stable', verify: {} });
  const official = `quay.io/openshift-release-dev/ocp-release@sha256:${'5'.repeat(64)}`;
  let h: Harness | undefined;
  try {
    h = await startHarness({ dir, configs: [nightly, stable], jobsYaml: `jobs:\n  "e2e": { command: ["bash", "${s.ok}"] }\n  "up": { command: ["bash", "${s.upgrade}"] }\n` });
    const c = h.controller;
    // the official 4.16.5 (and a non-version tag, which is no release) handed to 4-stable's input
    await c.setInputTags('4-stable', { '4.16.5': official, 'cli': pullSpec('cli') }, 'art-bot');
    const r = await waitFor('4.16.5 adopted and Accepted', () => (c.state.payload('4-stable', '4.16.5')?.phase === 'Accepted' ? c.state.payload('4-stable', '4.16.5') : undefined), 20_000);
    assert.equal(r.pullSpec, official);
    assert.equal(r.digest, `sha256:${'5'.repeat(64)}`);
    assert.equal(r.annotations['release.openshift.io/adopted-from'], official);
    assert.deepEqual(c.state.payloads('4-stable').map((p) => p.tag), ['4.16.5']);
    const events = await c.listEvents({ stream: '4-stable', tag: '4.16.5' } as never);
    assert.ok(events.some((e) => e.type === 'ReleaseAdopted'), JSON.stringify(events.map((e) => e.type)));
    // a nightly's blocking PreviousPatch job now has a source: the adopted release
    await c.setInputTags(nightly.name, { cli: pullSpec('cli') }, 'test');
    const n = await waitFor('nightly Accepted', () => c.state.payloads(nightly.name).find((p) => p.phase === 'Accepted'), 20_000);
    assert.equal(readFileSync(`${st}-initial-${n.tag}`, 'utf8').trim(), official);
  } finally {
    await h?.close();
    cleanup(dir);
  }
});
