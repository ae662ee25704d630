// The local payload builder on a real directory: deterministic digests (a payload rebuilt after a
// crash between build and record gets the same digest, issue 13), removal of a deleted payload's
// manifests, and the sweep of manifests a crash left behind.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LocalBuilder } from '../../src/adapters/builder/local/index.ts';
import { openSqliteStore } from '../../src/adapters/store/sqlite/index.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { BuildRequest, BuildResult, PayloadBuilder } from '../../src/ports/builder.ts';
import { cleanup, config, pullSpec, tempDir, waitFor } from '../helpers/harness.ts';
import { FakeExecutor, JobWorld } from '../helpers/model.ts';

const request = (over: Partial<BuildRequest> = {}): BuildRequest => ({
  stream: '4.20.0-0.nightly',
  tag: '4.20.0-0.nightly-2024-05-01-120000',
  repository: 'registry.local/ocp/release',
  components: { installer: { pullSpec: pullSpec('installer') }, cli: { pullSpec: pullSpec('cli'), labels: { 'io.openshift.build.commit.id': 'abc' } } },
  previous: ['4.20.0-0.nightly-2024-04-30-000000'],
  createdAt: '2024-05-01T12:00:00Z',
  ...over,
});

const ok = (r: BuildResult) => {
  assert.ok(r.ok, JSON.stringify(r));
  return r;
};

const manifests = (dir: string, tag: string) => {
  const d = join(dir, tag, 'release-manifests');
  return { refs: readFileSync(join(d, 'image-references'), 'utf8'), meta: readFileSync(join(d, 'release-metadata'), 'utf8') };
};

test('the same request builds to the same digest and pull spec, in another directory too, with no build-time timestamp', async () => {
  const dir = tempDir('rc-builder-');
  try {
    const req = request();
    const a = ok(await new LocalBuilder(join(dir, 'a')).build(req));
    const files = manifests(join(dir, 'a'), req.tag);
    // a later build elsewhere (another machine, another time) of the same request
    const b = ok(await new LocalBuilder(join(dir, 'b')).build(structuredClone(req)));
    assert.deepEqual(b, a);
    assert.deepEqual(manifests(join(dir, 'b'), req.tag), files);
    assert.match(a.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(a.pullSpec, `registry.local/ocp/release:${req.tag}`);
    // the only time in the manifests is the payload's creation time
    const times = `${files.refs}${files.meta}`.match(/\d{4}-\d\d-\d\dT[\d:.]+Z/g) ?? [];
    assert.deepEqual([...new Set(times)], [req.createdAt]);
    // component order in the request does not matter
    const reordered = { ...req, components: { cli: req.components.cli, installer: req.components.installer } };
    assert.deepEqual(ok(await new LocalBuilder(join(dir, 'c')).build(reordered)), a);
  } finally {
    cleanup(dir);
  }
});

test('a rebuild after a crash between build and record keeps the first digest, even when the Accepted payloads changed meanwhile', async () => {
  const dir = tempDir('rc-builder-');
  try {
    const builder = new LocalBuilder(dir);
    const req = request();
    const first = ok(await builder.build(req));
    const files = manifests(dir, req.tag);
    const mtime = statSync(join(dir, req.tag, 'release-manifests', 'release-metadata')).mtimeMs;
    // the controller crashed before recording `first`; after the restart another payload was
    // accepted, so the rebuild's request lists other previous releases
    const again = ok(await new LocalBuilder(dir).build({ ...req, previous: ['4.20.0-0.nightly-2024-05-01-110000', ...req.previous] }));
    assert.deepEqual(again, first);
    assert.deepEqual(manifests(dir, req.tag), files, 'the manifests are the first build\'s');
    assert.equal(statSync(join(dir, req.tag, 'release-manifests', 'release-metadata')).mtimeMs, mtime, 'not rewritten');
    // a fresh build of that other request would have had another digest
    const other = ok(await new LocalBuilder(join(dir, 'elsewhere')).build({ ...req, previous: ['x'] }));
    assert.notEqual(other.digest, first.digest);
  } finally {
    cleanup(dir);
  }
});

test('manifests of the same tag with other components, or cut short, are built again', async () => {
  const dir = tempDir('rc-builder-');
  try {
    const builder = new LocalBuilder(dir);
    const req = request();
    const first = ok(await builder.build(req));
    const changed = { ...req, components: { ...req.components, console: { pullSpec: pullSpec('console') } } };
    const second = ok(await builder.build(changed));
    assert.notEqual(second.digest, first.digest);
    assert.match(manifests(dir, req.tag).refs, /console/);
    // a power loss left a truncated file: it is rebuilt, to the digest a fresh build gives
    writeFileSync(join(dir, req.tag, 'release-manifests', 'release-metadata'), '{"kind": "cincinn');
    const third = ok(await builder.build(changed));
    assert.deepEqual(third, ok(await new LocalBuilder(join(dir, 'fresh')).build(changed)));
    assert.doesNotThrow(() => JSON.parse(manifests(dir, req.tag).meta));
  } finally {
    cleanup(dir);
  }
});

test('remove() deletes a payload\'s manifest directory; sweep() removes those of tags that are not live, and nothing else', async () => {
  const dir = tempDir('rc-builder-');
  try {
    const builder = new LocalBuilder(dir);
    const tags = ['s-1', 's-2', 's-3', 's-4'];
    for (const tag of tags) ok(await builder.build(request({ tag })));
    await builder.remove('s', 's-1');
    assert.equal(existsSync(join(dir, 's-1')), false);
    await builder.remove('s', 's-1'); // already gone: no error
    await builder.remove('s', '../outside'); // not a tag: ignored
    // things the builder did not write are left alone
    mkdirSync(join(dir, 'notes'));
    writeFileSync(join(dir, 'notes', 'README'), 'mine');
    writeFileSync(join(dir, 'file'), 'x');
    mkdirSync(join(dir, 'empty-left-by-a-crash'));
    const asked: string[] = [];
    const removed = await builder.sweep((tag) => {
      asked.push(tag);
      return tag === 's-2';
    });
    assert.deepEqual(removed.sort(), ['empty-left-by-a-crash', 's-3', 's-4']);
    assert.deepEqual(readdirSync(dir).sort(), ['file', 'notes', 's-2']);
    assert.ok(asked.includes('s-2'));
    assert.deepEqual(await builder.sweep(() => true), []);
    assert.deepEqual(await new LocalBuilder(join(dir, 'missing')).sweep(() => false), [], 'no directory yet: nothing to sweep');
  } finally {
    cleanup(dir);
  }
});

/** The real builder, whose result for one tag is never recorded: the controller "crashes" after the build. */
class CrashAfterBuild implements PayloadBuilder {
  readonly built = new Map<string, BuildResult>();
  readonly requests: BuildRequest[] = [];
  constructor(
    private readonly real: LocalBuilder,
    private readonly crashOn: (req: BuildRequest) => boolean,
  ) {}
  async build(req: BuildRequest): Promise<BuildResult> {
    this.requests.push(req);
    const r = await this.real.build(req);
    this.built.set(req.tag, r);
    if (this.crashOn(req)) return new Promise<BuildResult>(() => {}); // never recorded
    return r;
  }
}

test('controller: a payload rebuilt after a crash between build and record gets the digest of its first build', async () => {
  const dir = tempDir('rc-rebuild-');
  const stream = '4.20.0-0.nightly';
  let now = Date.parse('2024-05-01T12:00:00Z');
  const clock = { now: () => new Date(now) };
  const world = new JobWorld(clock.now);
  const cfg = config({ name: stream, to: 'release', verify: { e2e: { prowJob: { name: 'e2e' } } } });
  const streams = [{ name: stream, config: cfg, file: 'x.json', input: stream }];
  const manifestsDir = join(dir, 'payloads');
  let store = openSqliteStore(join(dir, 'rc.db'));
  let controller: Controller | undefined;
  try {
    const exec1 = new FakeExecutor(world, 'detach', (id) => controller?.state.run(id));
    let p1 = '';
    const crashing = new CrashAfterBuild(new LocalBuilder(manifestsDir), (req) => p1 !== '' && req.tag !== p1);
    controller = await Controller.create({ store, executor: exec1, builder: crashing, streams, clock, resyncMs: 0 });
    await controller.start();
    await controller.setInputTags(stream, { cli: pullSpec('cli') }, 'test');
    await waitFor('the first payload built and its job running', () => world.running.size === 1);
    p1 = controller.state.payloads(stream)[0]!.tag;
    // a second payload while the first one's job still runs: built, but the process dies before recording it
    now += 60_000;
    await controller.setInputTags(stream, { cli: pullSpec('cli') }, 'test');
    const p2 = await waitFor('the second payload built', () => [...crashing.built.keys()].find((t) => t !== p1));
    const first = crashing.built.get(p2)!;
    assert.ok(first.ok);
    assert.deepEqual(crashing.requests.find((r) => r.tag === p2)!.previous, [], 'nothing was Accepted at the first build');
    assert.equal(controller.state.payload(stream, p2)!.digest, '', 'the build result was not recorded');
    exec1.detach();
    // while the controller is down the first payload's job succeeds: it is Accepted at the restart,
    // so the rebuild's request lists it as a previous release
    world.endUnwatched(world.running.keys().next().value as string, 'Succeeded');
    await store.close();
    now += 60_000;
    store = openSqliteStore(join(dir, 'rc.db'));
    const observing = new CrashAfterBuild(new LocalBuilder(manifestsDir), () => false);
    const exec2 = new FakeExecutor(world, 'detach', (id) => controller?.state.run(id));
    controller = await Controller.create({ store, executor: exec2, builder: observing, streams, clock, resyncMs: 0 });
    await controller.start();
    await waitFor('the second payload rebuilt and recorded', () => controller!.state.payload(stream, p2)?.digest);
    assert.equal(controller.state.payload(stream, p1)!.phase, 'Accepted');
    assert.deepEqual(observing.requests.find((r) => r.tag === p2)!.previous, [p1], 'the rebuild was asked with other previous releases');
    const p = controller.state.payload(stream, p2)!;
    assert.equal(p.digest, first.digest);
    assert.equal(p.pullSpec, first.pullSpec);
    exec2.detach();
    await controller.stop();
  } finally {
    await store.close();
    cleanup(dir);
  }
});
