// GET /api/v1/releasetag/{tag}/qualifiers (issue 16 item 7) on state written through the real
// SQLite store: upstream's QualifiersSummary bytes (two-space indentation, field order, omitted
// empty fields, `{}` when nothing applies), approval qualifiers from the payload's `<id>_state`,
// the 404 text, a replaced qualifiers file changing cached answers, and the console's badges.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { QualifiersConfig } from '../../src/controller/qualifiers.ts';
import { parseQualifiersFile } from '../../src/domain/qualifiers.ts';
import { buildApp } from '../../src/http/app.ts';
import { createPages } from '../../src/http/pages/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { ReadOps, T } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';
import { QUALIFIERS, STREAM, TAG, seedQualifiersStore } from '../helpers/qualifiers-seed.ts';

describe('GET /api/v1/releasetag/{tag}/qualifiers (seeded through the SQLite store)', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  const qualifiers = new QualifiersConfig(parseQualifiersFile(QUALIFIERS, 'release-qualifiers.yaml'));
  const get = (url: string) => app.inject({ method: 'GET', url });

  before(async () => {
    dir = tempDir('rc-qualifiers-api-');
    store = await seedQualifiersStore(dir);
    const ops = await ReadOps.load(store);
    app = await buildApp({ ops, qualifiers, registerPages: createPages(ops, { qualifiers }) });
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('the summary as upstream writes it: bytes, field order, omitted empty fields', async () => {
    const r = await get(`/api/v1/releasetag/${TAG(1)}/qualifiers`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(
      r.body,
      `{
  "failureLabels": [
    "needs-triage",
    "rt-broken"
  ],
  "qualifiers": {
    "fips": {
      "jobs": [
        {
          "ciConfigurationName": "e2e-aws-fips",
          "ciConfigurationJobName": "periodic-e2e-aws-fips"
        },
        {
          "ciConfigurationName": "e2e-metal-fips",
          "ciConfigurationJobName": "periodic-e2e-metal-fips"
        }
      ],
      "aggregateState": "Success",
      "badgeName": "FIPS!",
      "badgeEarned": true,
      "badgePropagated": true,
      "failureLabels": [
        "fips-broken",
        "needs-triage"
      ]
    },
    "rt": {
      "jobs": [
        {
          "ciConfigurationName": "e2e-rt",
          "ciConfigurationJobName": "e2e-rt-release-openshift-release-analysis-aggregator"
        },
        {
          "ciConfigurationName": "e2e-rt",
          "ciConfigurationJobName": "periodic-e2e-rt"
        }
      ],
      "aggregateState": "Failure",
      "badgeName": "RT",
      "badgePropagated": true,
      "failureLabels": [
        "needs-triage",
        "rt-broken"
      ]
    },
    "trt": {
      "jobs": null,
      "aggregateState": "Success",
      "badgeName": "TRT",
      "badgeEarned": true,
      "badgePropagated": true,
      "approval": true
    }
  }
}
`,
    );
  });

  test('pending jobs: Pending, nothing earned; a Rejected approval fails', async () => {
    const body = (await get(`/api/v1/releasetag/${TAG(2)}/qualifiers`)).json() as { failureLabels?: string[]; qualifiers: Record<string, Record<string, unknown>> };
    assert.equal(body.failureLabels, undefined, 'an approval qualifier without failureLabels adds none');
    assert.deepEqual(Object.keys(body.qualifiers), ['fips', 'rt', 'trt']);
    assert.deepEqual(Object.keys(body.qualifiers.fips), ['jobs', 'aggregateState', 'badgeName', 'failureLabels']);
    assert.equal(body.qualifiers.fips.aggregateState, 'Pending');
    assert.equal(body.qualifiers.rt.aggregateState, 'Unknown', 'no aggregator run, analysis runs missing');
    assert.deepEqual(body.qualifiers.trt, { jobs: null, aggregateState: 'Failure', badgeName: 'TRT', badgePropagated: true, approval: true });
  });

  test('a payload no qualifier applies to: {}', async () => {
    const r = await get(`/api/v1/releasetag/${T(1)}/qualifiers`);
    assert.equal(r.statusCode, 200);
    assert.equal(r.body, '{}\n');
  });

  test('unknown tag: upstream\'s 404 text', async () => {
    const r = await get('/api/v1/releasetag/4.18.0-0.nightly-nope/qualifiers');
    assert.equal(r.statusCode, 404);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.body, 'No release payload found for tag "4.18.0-0.nightly-nope"\n');
  });

  test('a replaced qualifiers file changes the cached answer at once', async () => {
    const url = `/api/v1/releasetag/${TAG(2)}/qualifiers`;
    await get(url);
    const cached = await get(url);
    assert.equal(cached.headers['x-cache'], 'hit');
    qualifiers.set(parseQualifiersFile('qualifiers:\n  fips:\n    enabled: false\n', 'release-qualifiers.yaml'));
    try {
      const r = await get(url);
      assert.equal(r.headers['x-cache'], undefined);
      assert.deepEqual(Object.keys(r.json().qualifiers), ['fips']);
      qualifiers.set({});
      assert.equal((await get(url)).body, '{}\n');
    } finally {
      qualifiers.set(parseQualifiersFile(QUALIFIERS, 'release-qualifiers.yaml'));
    }
  });

  /** the badges (id, state, text) inside `html` */
  const badges = (html: string) => [...html.matchAll(/<span class="label [^"]* qualifier-badge" data-qualifier="([^"]*)" data-qualifier-state="([^"]*)"[^>]*>(.*?)<\/span><\/span>/g)].map((m) => `${m[1]} ${m[2]} ${m[3].replace(/<[^>]*>/g, '').trim()}`);
  const row = (html: string, tag: string) => new RegExp(`<tr data-tag="${tag.replace(/\./g, '\\.')}"[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';

  test('release page: every qualifier as a badge, with the status api link and the failure labels', async () => {
    const r = await get(`/releasestream/${STREAM}/release/${TAG(1)}`);
    assert.equal(r.statusCode, 200);
    const dd = /<dt>Qualifiers<\/dt><dd id="qualifiers">([\s\S]*?)<\/dd>/.exec(r.body)?.[1] ?? '';
    assert.deepEqual(badges(dd), ['fips Success ✓ FIPS!: Passed', 'rt Failure ✗ RT: Failed', 'trt Success ✓ TRT: Accepted']);
    assert.ok(dd.includes(`<a href="/api/v1/releasetag/${TAG(1)}/qualifiers">status api</a>`));
    assert.match(dd, /Failure labels: <code>needs-triage<\/code> <code>rt-broken<\/code>/);
    const none = await get(`/releasestream/4.16.0-0.nightly/release/${T(1)}`);
    assert.match(none.body, /<dt>Qualifiers<\/dt><dd id="qualifiers">None <span class="small">\(<a href="\/api\/v1\/releasetag\/[^"]+\/qualifiers">status api<\/a>\)<\/span><\/dd>/);
  });

  test('stream page: a row shows only the propagated badges', async () => {
    const html = (await get(`/releasestream/${STREAM}`)).body;
    assert.deepEqual(badges(row(html, TAG(1))), ['fips Success ✓ FIPS!: Passed', 'rt Failure ✗ RT: Failed', 'trt Success ✓ TRT: Accepted']);
    // fips pending (OnSuccess) and rt unknown (OnFailure) do not propagate; the rejected TRT (Yes) does
    assert.deepEqual(badges(row(html, TAG(2))), ['trt Failure ✗ TRT: Rejected']);
  });

  test('badge names from the file are escaped', async () => {
    qualifiers.set(parseQualifiersFile('qualifiers:\n  trt:\n    enabled: true\n    approval: true\n    payloadBadgeStatus: "Yes"\n    badgeName: "<img src=x onerror=alert(1)>"\n', 'release-qualifiers.yaml'));
    try {
      for (const url of [`/releasestream/${STREAM}/release/${TAG(1)}`, `/releasestream/${STREAM}`]) {
        const html = (await get(url)).body;
        assert.ok(!html.includes('<img src=x'), url);
        assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), url);
      }
    } finally {
      qualifiers.set(parseQualifiersFile(QUALIFIERS, 'release-qualifiers.yaml'));
    }
  });
});
