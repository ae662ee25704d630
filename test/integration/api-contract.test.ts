// The upstream wire contract of the read API on state seeded through the real SQLite store:
// shapes compared with a real upstream response (test/fixtures/.../api-responses), orderings,
// null-vs-[] choices, indentation and the exact error texts of upstream-behavior.md §6.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.ts';
import type { Store } from '../../src/ports/store.ts';
import { EMPTY, EOL, NIGHTLY, P, PLAIN, ReadOps, STABLE, T, seedStore } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

const FIXTURES = 'test/fixtures/openshift-release/api-responses';
const fixtureFile = readdirSync(FIXTURES).find((f) => f.includes('-release-'))!;
const fixture = JSON.parse(readFileSync(join(FIXTURES, fixtureFile), 'utf8')) as Record<string, unknown>;

/** Upstream's APIReleaseInfo field order (Go struct order). */
const UPSTREAM_ORDER = ['name', 'phase', 'results', 'upgradesTo', 'upgradesFrom', 'changeLog', 'changeLogJson', 'nodeImageStreams'];
const OURS = new Set(['qePhase', 'qe']);

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Every key the fixture has at `path` exists in ours with the same JSON type, recursively; maps (`*`) compare entry shapes. */
function assertSameShape(ours: unknown, theirs: unknown, path: string, maps: Set<string>): void {
  assert.equal(typeOf(ours), typeOf(theirs), `${path}: type`);
  if (Array.isArray(theirs)) {
    assert.ok((ours as unknown[]).length > 0, `${path}: ours is empty, cannot compare element shapes`);
    for (const t of theirs.slice(0, 3)) assertSameShape((ours as unknown[])[0], t, `${path}[]`, maps);
    return;
  }
  if (typeOf(theirs) !== 'object') return;
  const o = ours as Record<string, unknown>;
  const t = theirs as Record<string, unknown>;
  if (maps.has(path)) {
    const ourEntries = Object.values(o);
    assert.ok(ourEntries.length > 0, `${path}: ours has no entries`);
    for (const te of Object.values(t)) {
      // compare each of their entries against the one of ours with the most keys in common
      const best = ourEntries.reduce((a, b) => (common(b, te) > common(a, te) ? b : a));
      assertSameShape(best, te, `${path}.*`, maps);
    }
    return;
  }
  for (const k of Object.keys(t)) {
    if (!(k in o)) continue; // optional fields (e.g. retries) may be absent on a given entry
    assertSameShape(o[k], t[k], `${path}.${k}`, maps);
  }
  // relative key order of shared keys is the same
  const shared = Object.keys(t).filter((k) => k in o);
  assert.deepEqual(Object.keys(o).filter((k) => shared.includes(k)), shared, `${path}: key order`);
}
function common(a: unknown, b: unknown): number {
  if (typeOf(a) !== 'object' || typeOf(b) !== 'object') return 0;
  return Object.keys(b as object).filter((k) => k in (a as object)).length;
}

describe('API contract (seeded through the SQLite store)', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  const get = (url: string) => app.inject({ method: 'GET', url });

  before(async () => {
    dir = tempDir('rc-api-contract-');
    store = await seedStore(dir);
    app = await buildApp({ ops: await ReadOps.load(store), artifactsUrl: 'https://openshift-release-artifacts.example.com' });
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  describe('release info', () => {
    let body: Record<string, unknown>;
    let raw: string;
    before(async () => {
      const r = await get(`/api/v1/releasestream/${NIGHTLY}/release/${T(3)}`);
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['content-type'], 'application/json');
      raw = r.body;
      body = r.json();
    });

    test('two-space indentation and a trailing newline', () => {
      assert.equal(raw, JSON.stringify(body, null, 2) + '\n');
    });

    test('top-level keys: upstream’s, in upstream’s order, plus ours (qePhase after phase, qe last)', () => {
      const keys = Object.keys(body);
      assert.deepEqual(keys, ['name', 'phase', 'qePhase', 'results', 'upgradesTo', 'upgradesFrom', 'changeLog', 'changeLogJson', 'qe']);
      const upstreamKeys = keys.filter((k) => !OURS.has(k));
      assert.deepEqual(upstreamKeys, UPSTREAM_ORDER.filter((k) => upstreamKeys.includes(k)));
      // every key of the real response is one of ours, in the same relative order
      const fixtureKeys = Object.keys(fixture);
      assert.deepEqual(keys.filter((k) => fixtureKeys.includes(k)), fixtureKeys);
    });

    test('same keys and JSON types as the real upstream response, recursively', () => {
      const maps = new Set(['$.results.blockingJobs', '$.results.informingJobs', '$.upgradesTo[].History']);
      assertSameShape(body, fixture, '$', maps);
    });

    test('results: verification statuses grouped as upstream, with our qeJobs', () => {
      const results = body.results as Record<string, Record<string, Record<string, unknown>>>;
      assert.deepEqual(Object.keys(results), ['blockingJobs', 'informingJobs', 'asyncJobs', 'qeJobs']);
      const serial = results.blockingJobs['aws-serial'];
      assert.deepEqual(Object.keys(serial), ['state', 'url', 'retries', 'previousAttemptURLs', 'transitionTime']);
      assert.equal(serial.state, 'Succeeded');
      assert.equal(serial.retries, 2);
      assert.match(serial.transitionTime as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const fixtureSerial = (fixture.results as Record<string, Record<string, Record<string, unknown>>>).blockingJobs['aws-sdn-serial'];
      for (const k of Object.keys(fixtureSerial)) assert.equal(typeOf(serial[k]), typeOf(fixtureSerial[k]), k);
      assert.deepEqual(Object.keys(results.informingJobs).sort(), ['gcp', 'upgrade-minor']);
      assert.deepEqual(results.asyncJobs.agent, { state: 'Pending', url: results.asyncJobs.agent.url });
      assert.deepEqual(Object.keys(results.qeJobs['qe-e2e']), ['state', 'url', 'transitionTime']);
      assert.equal(results.qeJobs['qe-e2e'].state, 'Failed');
      assert.ok(!('old-job' in results.blockingJobs), 'disabled entries never appear');
      assert.ok(!('pendingJobs' in results), 'pendingJobs is never populated upstream');
    });

    test('upgradesTo / upgradesFrom: capitalised Go fields in Go order', () => {
      const to = body.upgradesTo as Record<string, unknown>[];
      const fixtureTo = (fixture.upgradesTo as Record<string, unknown>[])[0];
      for (const u of to) assert.deepEqual(Object.keys(u), Object.keys(fixtureTo));
      const from3 = to.find((u) => u.From === '4.15.3')!;
      assert.deepEqual([from3.Success, from3.Failure, from3.Total], [1, 1, 2]);
      assert.deepEqual(Object.keys(Object.values(from3.History as object)[0]), ['state', 'url']);
      assert.deepEqual((body.upgradesFrom as Record<string, unknown>[]).map((u) => [u.From, u.To]), [[T(3), T(5)]]);
    });

    test('changeLogJson: from = newest older Accepted tag (Rejected skipped), image lists from the component snapshots', () => {
      const cl = body.changeLogJson as Record<string, unknown>;
      const fcl = fixture.changeLogJson as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(cl.from as object), Object.keys(fcl.from));
      assert.deepEqual(Object.keys(cl.to as object), Object.keys(fcl.to));
      assert.equal((cl.from as Record<string, string>).name, T(1));
      assert.equal((cl.to as Record<string, string>).name, T(3));
      const names = (k: string) => ((cl[k] as { name: string }[] | undefined) ?? []).map((i) => i.name);
      assert.deepEqual([names('newImages'), names('removedImages'), names('rebuiltImages'), names('updatedImages')], [['fresh'], ['gone'], ['installer'], ['cli']]);
      const rebuilt = (cl.rebuiltImages as Record<string, string>[])[0];
      const frebuilt = (fcl.rebuiltImages as unknown as Record<string, string>[])[0];
      assert.deepEqual(Object.keys(rebuilt), Object.keys(frebuilt));
      assert.equal(rebuilt.shortCommit, frebuilt.shortCommit, 'same commit, same 8-character short commit as upstream');
      assert.equal(rebuilt.path, 'https://github.com/openshift/installer');
      const cli = (cl.updatedImages as Record<string, string>[])[0];
      assert.equal(cli.fullChangeLog, (fcl.updatedImages as unknown as Record<string, string>[])[0].fullChangeLog, 'same commits, same compare link as upstream');
    });

    test('changeLog: base64 of an HTML changelog laid out like upstream’s', () => {
      const html = Buffer.from(body.changeLog as string, 'base64').toString('utf8');
      const fhtml = Buffer.from(fixture.changeLog as string, 'base64').toString('utf8');
      const head = (s: string) => s.split('\n\n').slice(0, 1)[0].replace(/\d{4}-\d\d-\d\d-\d{6}/g, 'DATE').replace(/4\.1\d\.0-0/g, 'V');
      assert.equal(head(html), head(fhtml));
      assert.match(html, /<p>Created: 2024-05-03 00:00:00 \+0000 UTC<\/p>/);
      assert.match(html, /<h3>Rebuilt images without code change<\/h3>/);
    });

    test('our QE fields', () => {
      assert.equal(body.qePhase, 'QERejected');
      assert.deepEqual(Object.keys(body.qe as object), ['phase', 'reason', 'startedAt', 'deadline']);
      assert.deepEqual(body.qe, { phase: 'QERejected', reason: 'QEJobsFailed', startedAt: '2024-05-03T05:00:00Z', deadline: '2024-05-04T05:00:00Z' });
    });
  });

  test('release info: a stream without QE jobs still carries qePhase "" and the qe block; no previous → zero changelog', async () => {
    const r = await get(`/api/v1/releasestream/${PLAIN}/release/${P(1)}`);
    const b = r.json();
    assert.equal(b.qePhase, '');
    assert.deepEqual(b.qe, { phase: '', reason: '', startedAt: null, deadline: null });
    assert.equal(b.changeLog, undefined);
    assert.deepEqual(b.changeLogJson, { from: { name: '', created: '0001-01-01T00:00:00Z', digest: '' }, to: { name: '', created: '0001-01-01T00:00:00Z', digest: '' } });
    assert.deepEqual(b.results, {});
  });

  test('release info: ?from= overrides the previous release; format=short skips the changelog', async () => {
    const b = (await get(`/api/v1/releasestream/${NIGHTLY}/release/${T(4)}?from=${T(2)}`)).json();
    assert.equal(b.changeLogJson.from.name, T(2));
    const s = (await get(`/api/v1/releasestream/${NIGHTLY}/release/${T(4)}?format=SHORT`)).json();
    assert.equal(s.changeLog, undefined);
    assert.equal(s.changeLogJson.from.name, '');
  });

  test('tags: every phase, descending semver, tag objects {name, phase, pullSpec, downloadURL, qePhase}', async () => {
    const r = await get(`/api/v1/releasestream/${STABLE}/tags`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, JSON.stringify(r.json(), null, 2) + '\n');
    const b = r.json();
    assert.deepEqual(Object.keys(b), ['name', 'tags']);
    assert.deepEqual(b.tags.map((t: { name: string }) => t.name), ['4.16.0-rc.1', '4.15.10', '4.15.3']);
    assert.deepEqual(b.tags[1], { name: '4.15.10', phase: 'Accepted', pullSpec: 'quay.io/openshift-release-dev/ocp-release:4.15.10-x86_64', downloadURL: 'https://openshift-release-artifacts.example.com/4.15.10', qePhase: '' });
    const n = (await get(`/api/v1/releasestream/${NIGHTLY}/tags`)).json();
    assert.deepEqual(n.tags.map((t: { name: string }) => t.name), [7, 6, 5, 4, 3, 2, 1].map(T));
  });

  test('tags: repeatable phase filter (upstream phases and our QE phases); no match → "tags": null', async () => {
    const b = (await get(`/api/v1/releasestream/${NIGHTLY}/tags?phase=Rejected&phase=Failed`)).json();
    assert.deepEqual(b.tags.map((t: { name: string }) => t.name), [T(7), T(2)]);
    const q = (await get(`/api/v1/releasestream/${NIGHTLY}/tags?phase=QEAccepted`)).json();
    assert.deepEqual(q.tags.map((t: { name: string }) => t.name), [T(4), T(1)]);
    const none = await get(`/api/v1/releasestream/${NIGHTLY}/tags?phase=Pending`);
    assert.equal(none.body, `{\n  "name": "${NIGHTLY}",\n  "tags": null\n}\n`);
    assert.equal((await get(`/api/v1/releasestream/${NIGHTLY}/tags?phase=`)).json().tags, null, 'upstream: an empty phase matches nothing');
    const empty = await get(`/api/v1/releasestream/${EMPTY}/tags`);
    assert.equal(empty.json().tags, null);
  });

  test('latest: Accepted by default; QEAccepted/QERejected pick on the QE phase; prefix; json default', async () => {
    const l = await get(`/api/v1/releasestream/${NIGHTLY}/latest`);
    assert.equal(l.json().name, T(5));
    assert.deepEqual(Object.keys(l.json()), ['name', 'phase', 'pullSpec', 'downloadURL', 'qePhase']);
    assert.equal((await get(`/api/v1/releasestream/${NIGHTLY}/latest?phase=QEAccepted`)).json().name, T(4));
    assert.equal((await get(`/api/v1/releasestream/${NIGHTLY}/latest?phase=QERejected`)).json().name, T(3));
    assert.equal((await get(`/api/v1/releasestream/${STABLE}/latest?prefix=4.15.`)).json().name, '4.15.10');
    const name = await get(`/api/v1/releasestream/${STABLE}/latest?format=name`);
    assert.equal(name.body, '4.16.0-rc.1\n');
    assert.equal(name.headers['content-type'], 'text/plain');
    assert.equal((await get(`/api/v1/releasestream/${STABLE}/latest?format=downloadURL`)).body, 'https://openshift-release-artifacts.example.com/4.16.0-rc.1\n');
  });

  test('candidate: QE stream → newest QE-accepted tag after the promoted one, with good upgrade sources', async () => {
    const r = await get(`/api/v1/releasestream/${NIGHTLY}/candidate`);
    assert.equal(r.body, `{\n  "candidate": {\n    "fromTag": "${T(4)}",\n    "name": "4.16.0-rc.2",\n    "upgradeFrom": [\n      "4.15.10"\n    ]\n  }\n}\n`);
    assert.deepEqual((await get(`/api/v1/releasestream/${EMPTY}/candidate`)).json(), { candidate: null });
  });

  test('releasestreams/accepted: one-space indentation, keys sorted, null for none, end-of-life omitted', async () => {
    const r = await get('/api/v1/releasestreams/accepted');
    assert.equal(r.statusCode, 200);
    const want = {
      [STABLE]: ['4.16.0-rc.1', '4.15.10', '4.15.3'],
      [PLAIN]: [P(3), P(1)],
      [NIGHTLY]: [T(5), T(4), T(3), T(1)],
      [EMPTY]: null,
    };
    assert.equal(r.body, JSON.stringify(want, null, 1) + '\n');
    assert.ok(!(EOL in r.json()));
  });

  test('releasestreams/rejected|ready|all and ours qeaccepted|qerejected', async () => {
    assert.deepEqual((await get('/api/v1/releasestreams/rejected')).json(), { [STABLE]: null, [PLAIN]: [P(2)], [NIGHTLY]: [T(2)], [EMPTY]: null });
    assert.deepEqual((await get('/api/v1/releasestreams/ready')).json()[NIGHTLY], [T(6)]);
    assert.deepEqual((await get('/api/v1/releasestreams/all')).json()[NIGHTLY], [7, 6, 5, 4, 3, 2, 1].map(T));
    assert.deepEqual((await get('/api/v1/releasestreams/qeaccepted')).json(), { [STABLE]: null, [PLAIN]: null, [NIGHTLY]: [T(4), T(1)], [EMPTY]: null });
    assert.deepEqual((await get('/api/v1/releasestreams/qerejected')).json()[NIGHTLY], [T(3)]);
  });

  test('config: whole config with expires in nanoseconds; {} without verify entries; jobType subsets', async () => {
    const c = (await get(`/api/v1/releasestream/${EMPTY}/config`)).json();
    assert.equal(c.expires, 72 * 3600 * 1e9);
    assert.equal(c.name, EMPTY);
    const none = await get(`/api/v1/releasestream/${PLAIN}/config`);
    assert.equal(none.body, '{}\n');
    assert.equal((await get(`/api/v1/releasestream/${PLAIN}/config?jobType=nonsense`)).body, '{}\n', 'upstream quirk kept: no verify → {} whatever jobType');
    assert.deepEqual(Object.keys((await get(`/api/v1/releasestream/${EMPTY}/config?jobType=informing`)).json()), ['e2e-gcp']);
    assert.deepEqual(Object.keys((await get(`/api/v1/releasestream/${EMPTY}/config?jobType=blocking`)).json()), ['e2e-aws']);
    assert.deepEqual(Object.keys((await get(`/api/v1/releasestream/${NIGHTLY}/config?jobType=disabled`)).json()), ['old-job']);
    assert.deepEqual(Object.keys((await get(`/api/v1/releasestream/${NIGHTLY}/config?jobType=periodic`)).json()), ['upgrade-nightly']);
  });

  test('config: every upstream field with its zero value on the wire; QE entries only under jobType=qe', async () => {
    const r = await get(`/api/v1/releasestream/${NIGHTLY}/config`);
    const c = r.json();
    assert.equal(r.body, JSON.stringify(c, null, 2).replace(/[<>&]/g, (x) => `\\u${x.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n');
    assert.deepEqual(Object.keys(c).slice(0, 3), ['name', 'message', 'hide']);
    assert.equal(c.hide, false);
    assert.equal(c.expires, 0, 'no expires → Go zero duration');
    assert.equal(c.verify['aws-serial'].optional, false, 'a tool indexing .verify[x].optional gets false, not a missing key');
    assert.ok(!('maxRetries' in c.verify.gcp), 'maxRetries is omitempty upstream: a zero is left out');
    assert.equal(c.verify.gcp.upgradeFromRelease, null);
    assert.equal(c.verify['qe-e2e'].qe, true);
    assert.equal(c.upgrade, null);
    assert.deepEqual(Object.keys(c.verify), ['agent', 'aws-serial', 'gcp', 'old-job', 'qe-e2e', 'upgrade-minor'], 'map keys sorted');
    const blocking = (await get(`/api/v1/releasestream/${NIGHTLY}/config?jobType=blocking`)).json();
    assert.deepEqual(Object.keys(blocking), ['aws-serial', 'old-job'], 'QE entries are not blocking');
    assert.deepEqual(Object.keys((await get(`/api/v1/releasestream/${NIGHTLY}/config?jobType=informing`)).json()), ['agent', 'gcp', 'upgrade-minor']);
    const qe = (await get(`/api/v1/releasestream/${NIGHTLY}/config?jobType=qe`)).json();
    assert.deepEqual(Object.keys(qe), ['qe-e2e']);
    assert.equal(qe['qe-e2e'].optional, false);
    assert.deepEqual(Object.keys((await get(`/api/v1/releasestream/${EMPTY}/config?jobType=qe`)).json()), []);
    assert.equal((await get(`/api/v1/releasestream/${EMPTY}/config?jobType=periodic`)).body, 'null\n', 'Go encodes a nil periodic map as null');
  });

  test('qualifiers: {} for a known payload without a qualifiers file (qualifiers-api.test.ts has the rest)', async () => {
    const r = await get(`/api/v1/releasetag/${T(1)}/qualifiers`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '{}\n');
  });

  test('redirects', async () => {
    const r = await get(`/releasestream/${NIGHTLY}/latest?phase=QEAccepted`);
    assert.equal(r.statusCode, 302);
    assert.equal(r.headers.location, `/releasestream/${NIGHTLY}/release/${T(4)}`);
    const d = await get(`/releasestream/${STABLE}/release/4.15.3/download`);
    assert.equal(d.statusCode, 302);
    assert.equal(d.headers.location, 'https://openshift-release-artifacts.example.com/4.15.3');
  });

  const PLAIN_TEXT = 'text/plain; charset=utf-8';
  const errors: [string, number, string][] = [
    [`/api/v1/releasestream/nope/tags`, 404, 'Unable to find release nope\n'],
    [`/api/v1/releasestream/${NIGHTLY}/tags?format=yaml`, 400, "error: Must specify one of '', 'json', 'pullSpec', 'name', or 'downloadURL\n"],
    [`/api/v1/releasestream/nope/latest`, 404, 'no release configuration exists with the requested name\n'],
    [`/api/v1/releasestream/${EMPTY}/latest`, 404, 'no tags exist within the release that satisfy the request\n'],
    [`/api/v1/releasestream/${STABLE}/latest?rel=3`, 404, 'no tags exist within the release that satisfy the request\n'],
    [`/api/v1/releasestream/${STABLE}/latest?rel=abc`, 400, 'error: ?rel must be non-negative integer: strconv.Atoi: parsing "abc": invalid syntax\n'],
    [`/api/v1/releasestream/${STABLE}/latest?rel=99999999999999999999`, 400, 'error: ?rel must be non-negative integer: strconv.Atoi: parsing "99999999999999999999": value out of range\n'],
    [`/api/v1/releasestream/${STABLE}/latest?rel=-1`, 400, 'error: ?rel must be non-negative integer\n'],
    // upstream checks in and rel before the stream
    [`/api/v1/releasestream/nope/latest?rel=-1`, 400, 'error: ?rel must be non-negative integer\n'],
    [`/api/v1/releasestream/${STABLE}/latest?format=xml`, 400, "error: Must specify one of '', 'json', 'pullSpec', 'name', or 'downloadURL\n"],
    [`/api/v1/releasestream/${NIGHTLY}/release/nope`, 404, 'unable to find release tag nope, it may have been deleted\n'],
    [`/api/v1/releasestream/${NIGHTLY}/release/${T(1)}?from=nope`, 404, `unable to find release tag ${T(1)}, it may have been deleted\n`],
    [`/api/v1/releasestream/${PLAIN}/release/${T(1)}`, 404, `release tag ${T(1)} does not belong to release ${PLAIN}\n`],
    [`/api/v1/releasestream/nope/config`, 404, 'error: unknown release stream specified: nope\n'],
    [`/api/v1/releasestream/${NIGHTLY}/config?jobType=nonsense`, 400, "error: jobType must be one of '', 'informing', 'blocking', 'disabled' or 'periodic'\n"],
    [`/api/v1/releasestream/nope/candidate`, 404, 'no release configuration exists with the requested name\n'],
    [`/api/v1/releasetag/nope/qualifiers`, 404, 'No release payload found for tag "nope"\n'],
    [`/api/v1/releasestreams/approvals?index=x`, 400, 'error: ?index must be non-negative integer: strconv.Atoi: parsing "x": invalid syntax\n'],
    [`/releasestream/nope/latest`, 404, 'no release configuration exists with the requested name\n'],
    [`/releasestream/${STABLE}/latest/download`, 404, 'No artifacts download URL is configured, cannot show download link\n'],
    [`/releasestream/${STABLE}/release/nope/download`, 404, 'Unable to find release tag nope, it may have been deleted\n'],
    [`/releasestream/${PLAIN}/release/4.15.3/download`, 404, `Release tag 4.15.3 does not belong to release ${PLAIN}\n`],
    ['/no/such/path', 404, '404 page not found\n'],
    ['/api/v1/releasestream', 404, '404 page not found\n'],
  ];
  for (const [url, status, text] of errors) {
    test(`error text: ${url} → ${status}`, async () => {
      // the download redirect errors need an app without an artifacts server
      const a = url.includes('/latest/download') ? await buildApp({ ops: await ReadOps.load(store) }) : app;
      try {
        const r = await a.inject({ url });
        assert.equal(r.statusCode, status);
        assert.equal(r.headers['content-type'], PLAIN_TEXT);
        assert.equal(r.body, text);
      } finally {
        if (a !== app) await a.close();
      }
    });
  }

  test('latest: an invalid ?in range is a 400 naming the parameter', async () => {
    const r = await get(`/api/v1/releasestream/${STABLE}/latest?in=${encodeURIComponent('>=banana')}`);
    assert.equal(r.statusCode, 400);
    assert.match(r.body, /^error: \?in must be a valid semantic version range: .+\n$/);
  });

  test('Go-style escaping of <, >, & in JSON strings', async () => {
    const r = await get(`/api/v1/releasestream/${NIGHTLY}/latest?in=${encodeURIComponent('>4.16.0-0 <4.17.0-0')}`);
    assert.equal(r.statusCode, 200);
    const c = await get(`/api/v1/releasestream/${NIGHTLY}/config`);
    assert.ok(!/[<>&]/.test(c.body), 'no raw <, >, & on the wire');
    assert.ok(c.body.includes('see \\u003chttps://docs.example.com\\u003e \\u0026 ask'));
    assert.equal(c.json().message, 'Nightly builds of **4.16** — see <https://docs.example.com> & ask');
  });
});
