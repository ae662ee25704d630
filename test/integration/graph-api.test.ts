// GET /graph and GET /archive/graph over state written through the real SQLite store (the API
// seed plus two promoted 4.16 releases): upstream's ReleaseGraph shape ({nodes: [{version,
// payload}], edges: [[from, to]]}, our `metadata` after payload), field order, two-space
// indentation without a trailing newline, the Cincinnati content type, plain-text 400s, and the
// gzip archive.
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { AnnotationFromTag } from '../../src/domain/candidate.ts';
import { AnnotationPrevious } from '../../src/domain/graph.ts';
import { emptyQEStatus } from '../../src/domain/qe.ts';
import type { Payload } from '../../src/domain/types.ts';
import { buildApp } from '../../src/http/app.ts';
import type { Store } from '../../src/ports/store.ts';
import { EOL, NIGHTLY, ReadOps, STABLE, T, seedStore } from '../helpers/api-seed.ts';
import { cleanup, tempDir } from '../helpers/harness.ts';

const CINCINNATI = 'application/vnd.redhat.cincinnati.graph+json; version=1.0';
const stable = (tag: string, createdAt: string, annotations: Record<string, string> = {}): Payload => ({
  stream: STABLE, tag, phase: 'Accepted', createdAt, inputHash: `sha256:${tag}`, pullSpec: `registry.local/ocp/release:${tag}`, digest: `sha256:${'7'.repeat(60)}${tag.replace(/\D/g, '').padStart(4, '0').slice(-4)}`,
  components: {}, reason: '', message: '', annotations, override: null, qe: emptyQEStatus(), phaseChangedAt: createdAt,
});

interface Graph {
  nodes: { version: string; payload: string; metadata: Record<string, string> }[];
  edges: [number, number][];
}
const edgeNames = (g: Graph) => g.edges.map(([f, t]) => `${g.nodes[f].version} → ${g.nodes[t].version}`).sort();

describe('/graph (seeded through the SQLite store)', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

  before(async () => {
    dir = tempDir('rc-graph-api-');
    store = await seedStore(dir);
    await store.commit([
      { kind: 'putPayload', payload: stable('4.16.1', '2024-05-02T12:00:00Z', { [AnnotationFromTag]: T(1) }) },
      { kind: 'putPayload', payload: stable('4.16.2', '2024-05-05T12:00:00Z', { [AnnotationFromTag]: T(4), [AnnotationPrevious]: '4.15.10' }) },
      { kind: 'putUpgrade', result: { from: '4.16.1', to: '4.16.2', url: 'https://prow.example/u/161-162', state: 'Succeeded', runId: 'u-161-162' } },
      { kind: 'putUpgrade', result: { from: '4.16.0-rc.1', to: '4.16.1', url: 'https://prow.example/u/rc1-161', state: 'Failed', runId: 'u-rc1-161' } },
    ]);
    app = await buildApp({ ops: await ReadOps.load(store) });
  });
  after(async () => {
    await app.close();
    await store.close();
    cleanup(dir);
  });

  test('shape and field order of upstream’s ReleaseGraph; two-space indentation, no trailing newline; Cincinnati content type', async () => {
    const r = await get('/graph');
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], CINCINNATI);
    const g = r.json() as Graph;
    assert.equal(r.body, JSON.stringify(g, null, 2));
    assert.deepEqual(Object.keys(g), ['nodes', 'edges']);
    for (const node of g.nodes) assert.deepEqual(Object.keys(node), ['version', 'payload', 'metadata']);
    for (const e of g.edges) assert.ok(Array.isArray(e) && e.length === 2 && e.every((i) => Number.isInteger(i) && i >= 0 && i < g.nodes.length));
    const n161 = g.nodes.find((x) => x.version === '4.16.1')!;
    assert.match(n161.payload, /^registry\.local\/ocp\/release@sha256:7{60}\d{4}$/);
    // default channel: only edges with a success (upstream); the failed rc.1 → 4.16.1 is not one
    assert.ok(edgeNames(g).includes('4.16.1 → 4.16.2'));
    assert.ok(!edgeNames(g).includes('4.16.0-rc.1 → 4.16.1'));
    // end-of-life stream pruned
    assert.ok(!g.nodes.some((x) => x.version.startsWith(EOL)));
  });

  test('candidate-4.16: the Stable releases a cluster can follow, with tested and declared edges', async () => {
    const r = await get('/graph?channel=candidate-4.16&arch=amd64', { accept: CINCINNATI });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], CINCINNATI);
    const g = r.json() as Graph;
    assert.deepEqual(g.nodes.map((x) => x.version), ['4.16.2', '4.16.1', '4.16.0-rc.1', '4.15.10', '4.15.3']);
    assert.deepEqual(edgeNames(g), ['4.15.10 → 4.16.2', '4.16.1 → 4.16.2']);
    assert.equal(g.nodes[0].metadata['io.openshift.upgrades.graph.release.channels'], 'candidate-4.16');
  });

  test('fast-4.16 leaves pre-releases out; nightly-4.16 keeps every tested edge into a 4.16 nightly', async () => {
    const fast = (await get('/graph?channel=fast-4.16')).json() as Graph;
    assert.deepEqual(fast.nodes.map((x) => x.version), ['4.16.2', '4.16.1', '4.15.10', '4.15.3']);
    const nightly = (await get('/graph?channel=nightly-4.16')).json() as Graph;
    assert.deepEqual(edgeNames(nightly), [`4.15.10 → ${T(3)}`, `4.15.10 → ${T(4)}`, `4.15.3 → ${T(3)}`, `4.15.3 → ${T(4)}`, `${T(3)} → ${T(5)}`]);
    assert.ok(nightly.nodes.some((x) => x.version === T(1) && x.metadata['release.openshift.io/stream'] === NIGHTLY));
  });

  test('Accept: application/json alone gets application/json; same body', async () => {
    const a = await get('/graph?channel=stable-4.16', { accept: 'application/json' });
    const b = await get('/graph?channel=stable-4.16', { accept: 'text/html,*/*;q=0.8' });
    assert.equal(a.headers['content-type'], 'application/json');
    assert.equal(b.headers['content-type'], CINCINNATI);
    assert.equal(a.body, b.body);
  });

  test('bad channel, arch or format: plain-text 400 naming what is allowed (channel checked up front)', async () => {
    const c = await get('/graph?channel=eus-4.16');
    assert.equal(c.statusCode, 400);
    assert.match(String(c.headers['content-type']), /^text\/plain/);
    assert.match(c.body, /^Unsupported \?channel, must be '', 'prerelease', .*'candidate-<major\.minor>'\n$/);
    const a = await get('/graph?arch=x86');
    assert.equal(a.statusCode, 400);
    assert.match(a.body, /^Unsupported \?arch, must be one of 'amd64', 'arm64'/);
    const f = await get('/graph?format=dot');
    assert.equal(f.statusCode, 400);
    assert.equal(f.body, "Unsupported ?format, must be 'cincinnati' (default)\n");
    const arm = (await get('/graph?arch=arm64')).json() as Graph;
    assert.deepEqual(arm, { nodes: [], edges: [] });
  });

  test('/archive/graph: gzip JSON records by to, then from, results by URL', async () => {
    const r = await get('/archive/graph');
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['content-encoding'], 'gzip');
    const text = gunzipSync(r.rawPayload).toString('utf8');
    const records = JSON.parse(text) as { from: string; to: string; results: { state: string; url: string }[] }[];
    assert.equal(text, JSON.stringify(records));
    const keys = records.map((x) => `${x.to} ${x.from}`);
    assert.deepEqual(keys, [...keys].sort());
    const t4 = records.find((x) => x.to === T(4) && x.from === '4.15.3')!;
    assert.deepEqual(t4.results, [{ state: 'Failed', url: 'https://prow.example/u/6' }, { state: 'Pending', url: 'https://prow.example/u/7' }]);
    assert.deepEqual(Object.keys(records[0]), ['from', 'to', 'results']);
    assert.ok(records.some((x) => x.from === '4.16.1' && x.to === '4.16.2'));
  });

  test('both routes are in /openapi.json', async () => {
    const doc = (await get('/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
    assert.ok(doc.paths['/graph']?.get);
    assert.ok(doc.paths['/archive/graph']?.get);
  });
});
