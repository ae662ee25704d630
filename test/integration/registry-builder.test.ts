// The registry payload builder against a real docker-registry: the release image it pushes is
// checked with skopeo (inspect, and copy to an OCI layout whose layer is read back); mirror() copies
// a payload to an alternateImageRepository on the same registry and on another one with Basic auth
// (the auth-file entry the secret name names), checked with skopeo.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RegistryBuilder } from '../../src/adapters/builder/registry/index.ts';
import { RegistryClient } from '../../src/adapters/registry/client.ts';
import { untar } from '../../src/adapters/registry/tar.ts';
import type { BuildRequest, BuildResult } from '../../src/ports/builder.ts';
import { tempDir } from '../helpers/harness.ts';
import { pushComponent, skopeo, startRegistry, type TestRegistry } from '../helpers/registry.ts';

const ok = (r: BuildResult) => {
  assert.ok(r.ok, JSON.stringify(r));
  return r;
};

/** skopeo copy to an OCI layout, then the files of its last layer (the release manifests) */
function layerFiles(ref: string): Record<string, string> {
  const dir = tempDir('rc-oci-out-');
  skopeo(['copy', `docker://${ref}`, `oci:${dir}:x`]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const blob = (d: string) => readFileSync(join(dir, 'blobs', 'sha256', d.slice('sha256:'.length)));
  const m = JSON.parse(blob(index.manifests[0].digest).toString()) as { layers: { digest: string }[] };
  return Object.fromEntries(untar(blob(m.layers.at(-1)!.digest)).map((f) => [f.path, f.content.toString()]));
}

describe('registry builder on a real docker-registry', () => {
  let reg: TestRegistry;
  let client: RegistryClient;
  const digests: Record<string, string> = {};
  let req: BuildRequest;
  before(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ insecure: [reg.host], retries: 0, timeoutMs: 3000 });
    digests.cli = pushComponent(reg.host, 'ocp/art', 'cli', { labels: { 'io.openshift.build.commit.id': 'c1', 'io.openshift.build.source-location': 'https://github.com/openshift/oc' } });
    digests.installer = pushComponent(reg.host, 'ocp/art', 'installer', { labels: { 'io.openshift.build.commit.id': 'i1' } });
    req = {
      stream: '4.16.0-0.nightly',
      tag: '4.16.0-0.nightly-2026-01-01-000000',
      repository: `${reg.host}/ocp/release`,
      components: {
        cli: { pullSpec: `${reg.host}/ocp/art@${digests.cli}`, labels: { 'io.openshift.build.commit.id': 'c1', 'io.openshift.build.source-location': 'https://github.com/openshift/oc' } },
        installer: { pullSpec: `${reg.host}/ocp/art:installer` }, // a tag: pinned to its digest by the build
      },
      previous: ['4.16.0-0.nightly-2025-12-31-000000'],
      createdAt: '2026-01-01T00:00:00Z',
    };
  });
  after(async () => reg.stop());

  it('pushes an OCI release image whose layer holds image-references by digest and release-metadata, labelled io.openshift.release', async () => {
    const b = new RegistryBuilder({ client });
    const r = ok(await b.build(req));
    assert.equal(r.pullSpec, `${reg.host}/ocp/release@${r.digest}`);
    const seen = JSON.parse(skopeo(['inspect', `docker://${reg.host}/ocp/release:${req.tag}`])) as { Digest: string; Labels: Record<string, string>; Layers: string[] };
    assert.equal(seen.Digest, r.digest);
    assert.equal(seen.Layers.length, 1, 'no cluster-version-operator component: an empty base');
    assert.equal(seen.Labels['io.openshift.release.base-image-digest'], undefined);
    assert.equal(seen.Labels['io.openshift.release'], req.tag);
    const files = layerFiles(`${reg.host}/ocp/release@${r.digest}`);
    const refs = JSON.parse(files['release-manifests/image-references']) as { kind: string; apiVersion: string; spec: { tags: { name: string; from: { kind: string; name: string }; annotations: Record<string, string> }[] } };
    assert.equal(refs.kind, 'ImageStream');
    assert.equal(refs.apiVersion, 'image.openshift.io/v1');
    assert.deepEqual(
      refs.spec.tags.map((t) => [t.name, t.from.kind, t.from.name]),
      [
        ['cli', 'DockerImage', `${reg.host}/ocp/art@${digests.cli}`],
        ['installer', 'DockerImage', `${reg.host}/ocp/art@${digests.installer}`],
      ],
    );
    assert.equal(refs.spec.tags[0].annotations['io.openshift.build.commit.id'], 'c1');
    const meta = JSON.parse(files['release-manifests/release-metadata']) as { kind: string; version: string; previous: string[] };
    assert.deepEqual([meta.kind, meta.version, meta.previous], ['cincinnati-metadata-v0', req.tag, req.previous]);
    assert.deepEqual(await b.manifests('unknown-tag'), null);
  });

  it('is deterministic: the same request gives the same digest, a rebuild keeps the pushed image, another registry gets the same bytes', async () => {
    const a = ok(await new RegistryBuilder({ client }).build(req));
    const again = ok(await new RegistryBuilder({ client }).build({ ...req, previous: [...req.previous, 'another'] }));
    assert.equal(again.digest, a.digest, 'kept the image already pushed for the tag');
    const other = ok(await new RegistryBuilder({ client }).build({ ...req, repository: `${reg.host}/ocp/release-copy` }));
    assert.equal(other.digest, a.digest);
    const changed = ok(await new RegistryBuilder({ client }).build({ ...req, tag: `${req.tag}-b` }));
    assert.notEqual(changed.digest, a.digest);
  });

  it('fails with a reason naming the component when it is not in the registry, after the build timeout', async () => {
    const b = new RegistryBuilder({ client, buildTimeoutMs: 600, retryMs: 100 });
    const r = await b.build({ ...req, tag: 'missing-1', components: { ...req.components, etcd: { pullSpec: `${reg.host}/ocp/art:etcd` } } });
    assert.equal(r.ok, false);
    assert.ok(!r.ok && /gave up after .*component etcd: .*ocp\/art:etcd is not in the registry/.test(r.message), JSON.stringify(r));
    const bad = await b.build({ ...req, tag: 'bad-1', components: { cli: { pullSpec: 'no-host' } } });
    assert.ok(!bad.ok && /invalid pull spec for cli/.test(bad.message));
  });

  it('retries through a registry outage and finishes when the registry is back; problem() says what is wrong meanwhile', async () => {
    const b = new RegistryBuilder({ client, buildTimeoutMs: 60_000, retryMs: 200 });
    await reg.stop();
    const building = b.build({ ...req, tag: 'outage-1' });
    const t0 = Date.now();
    while (!b.problem() && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    assert.match(b.problem() ?? '', new RegExp(`building outage-1: registry ${reg.host.replace(/\./g, '\\.')}.*unreachable`));
    await new Promise((r) => setTimeout(r, 500));
    await reg.start();
    const r = ok(await building);
    assert.equal(b.problem(), null);
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${reg.host}/ocp/release:outage-1`])).Digest, r.digest);
  });

  it('with --registry-gc, remove() deletes the release image; manifests() reads a live one back', async () => {
    const repositoryOf = () => `${reg.host}/ocp/release`;
    const b = new RegistryBuilder({ client, gc: true, repositoryOf, streamOfTag: (t) => (t.startsWith('gc-') ? req.stream : null) });
    const r = ok(await b.build({ ...req, tag: 'gc-1' }));
    const m = await b.manifests('gc-1');
    assert.equal((m?.releaseMetadata as { version: string }).version, 'gc-1');
    await b.remove(req.stream, 'gc-1');
    assert.equal(await client.headManifest(reg.host, 'ocp/release', r.digest), null);
    assert.throws(() => skopeo(['inspect', `docker://${reg.host}/ocp/release:gc-1`]));
    const keep = new RegistryBuilder({ client, gc: false, repositoryOf });
    ok(await keep.build({ ...req, tag: 'gc-2' }));
    await keep.remove(req.stream, 'gc-2');
    assert.ok(await client.headManifest(reg.host, 'ocp/release', 'gc-2'), 'without --registry-gc nothing is deleted');
  });

  it('writes the mirror repository: one tag per component at its digest; a rebuild repairs a moved tag; an invalid name builds without a mirror; --registry-gc remove() empties it', async () => {
    const mirror = `${reg.host}/ocp/4.16-art-latest-2026-01-01-000000`;
    const repo = mirror.slice(reg.host.length + 1);
    const b = new RegistryBuilder({ client, gc: true, repositoryOf: () => `${reg.host}/ocp/release` });
    const r = ok(await b.build({ ...req, tag: 'mirrored-1', mirrorRepository: mirror }));
    assert.equal(r.mirrorRepository, mirror);
    assert.deepEqual((await client.listTags(reg.host, repo)).sort(), ['cli', 'installer']);
    for (const n of ['cli', 'installer']) assert.equal(JSON.parse(skopeo(['inspect', `docker://${mirror}:${n}`])).Digest, digests[n], n);
    // someone moves a mirror tag: the rebuild (the release image already there) puts it back
    pushComponent(reg.host, repo, 'cli', { labels: { moved: 'yes' } });
    assert.notEqual(JSON.parse(skopeo(['inspect', `docker://${mirror}:cli`])).Digest, digests.cli);
    const again = ok(await b.build({ ...req, tag: 'mirrored-1', mirrorRepository: mirror }));
    assert.deepEqual([again.digest, again.mirrorRepository], [r.digest, mirror]);
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${mirror}:cli`])).Digest, digests.cli);
    // no mirror asked for (or a name that is no repository): the payload builds all the same, recording none
    assert.equal('mirrorRepository' in ok(await b.build({ ...req, tag: 'mirrored-2' })), false);
    const invalid = ok(await b.build({ ...req, tag: 'mirrored-3', mirrorRepository: `${reg.host}/ocp/Not A Repository` }));
    assert.equal(invalid.mirrorRepository, undefined);
    // without --registry-gc the mirror stays; with it, its tags go (the components' repository keeps them)
    await new RegistryBuilder({ client, gc: false, repositoryOf: () => `${reg.host}/ocp/release` }).remove(req.stream, 'mirrored-1', mirror);
    assert.deepEqual((await client.listTags(reg.host, repo)).sort(), ['cli', 'installer']);
    await b.remove(req.stream, 'mirrored-1', mirror);
    assert.deepEqual(await client.listTags(reg.host, repo), []);
    assert.equal(await client.headManifest(reg.host, 'ocp/release', 'mirrored-1'), null);
    assert.equal((await client.headManifest(reg.host, 'ocp/art', 'cli'))?.digest, digests.cli);
    await b.remove(req.stream, 'mirrored-1', mirror); // already gone: no error
  });

  it('with --registry-gc, sweep() deletes release images of payloads that are gone, and their mirror repositories, and nothing else', async () => {
    const repositories = () => [`${reg.host}/ocp/sweep`];
    const mirrorOf = (t: string) => `${reg.host}/ocp/sweep-mirror-${t}`;
    const b = new RegistryBuilder({ client, gc: true, repositories, repositoryOf: () => `${reg.host}/ocp/sweep`, mirrorOfTag: mirrorOf });
    ok(await b.build({ ...req, repository: `${reg.host}/ocp/sweep`, tag: 'live-1', mirrorRepository: mirrorOf('live-1') }));
    ok(await b.build({ ...req, repository: `${reg.host}/ocp/sweep`, tag: 'gone-1', mirrorRepository: mirrorOf('gone-1') }));
    pushComponent(reg.host, 'ocp/sweep', 'someone-elses'); // not a release image of ours: never swept
    assert.deepEqual(await new RegistryBuilder({ client, gc: false, repositories, mirrorOfTag: mirrorOf }).sweep(() => false), []);
    assert.deepEqual(await b.sweep((t) => t === 'live-1'), [`${reg.host}/ocp/sweep:gone-1`]);
    assert.deepEqual((await client.listTags(reg.host, 'ocp/sweep')).sort(), ['live-1', 'someone-elses']);
    assert.deepEqual(await client.listTags(reg.host, 'ocp/sweep-mirror-gone-1'), [], 'the gone payload\'s mirror went with it');
    assert.deepEqual((await client.listTags(reg.host, 'ocp/sweep-mirror-live-1')).sort(), ['cli', 'installer'], 'the live one keeps its mirror');
    assert.equal((await client.headManifest(reg.host, 'ocp/art', 'cli'))?.digest, digests.cli, 'the components stay');
  });
  it('mirror() copies a payload to the alternate repository (same registry; another with the named credentials), same digest; a missing or refused secret fails naming it', async () => {
    const b = new RegistryBuilder({ client });
    const r = ok(await b.build({ ...req, tag: 'mirror-1' }));
    const same = await b.mirror({ pullSpec: r.pullSpec, to: `${reg.host}/ocp/dev-release:mirror-1` });
    assert.deepEqual(same, { ok: true, to: `${reg.host}/ocp/dev-release:mirror-1`, digest: r.digest });
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${reg.host}/ocp/dev-release:mirror-1`])).Digest, r.digest);
    assert.equal(JSON.parse(layerFiles(`${reg.host}/ocp/dev-release:mirror-1`)['release-manifests/release-metadata']).version, 'mirror-1');

    const other = await startRegistry({ users: { pusher: 'push-password' } });
    try {
      const both = new RegistryClient({ insecure: [reg.host, other.host], retries: 0, timeoutMs: 3000 });
      const named = (pass: string) => (name: string) => (name === other.host ? { username: 'pusher', password: pass } : null);
      const m = new RegistryBuilder({ client: both, credentialsNamed: named('push-password') });
      const to = `${other.host}/ocp/dev-release:mirror-1`;
      assert.deepEqual(await m.mirror({ pullSpec: r.pullSpec, to, secretName: other.host }), { ok: true, to, digest: r.digest });
      assert.equal(JSON.parse(skopeo(['inspect', `docker://${to}`], 'pusher:push-password')).Digest, r.digest);
      assert.equal(JSON.parse(layerFiles(`${reg.host}/ocp/release@${r.digest}`)['release-manifests/release-metadata']).version, 'mirror-1');

      const missing = await m.mirror({ pullSpec: r.pullSpec, to, secretName: 'quay-push' });
      assert.deepEqual(missing, { ok: false, to, message: 'alternateImageRepositorySecretName quay-push: no such entry in the --registry-auth file' });
      const refused = await new RegistryBuilder({ client: both, credentialsNamed: named('wrong'), buildTimeoutMs: 1500, retryMs: 200 }).mirror({ pullSpec: r.pullSpec, to: `${other.host}/ocp/dev-release:mirror-2`, secretName: other.host });
      assert.equal(refused.ok, false);
      assert.match(refused.ok ? '' : refused.message, new RegExp(`gave up after 2 s: .*${other.host.replace(/\./g, '\\.')}.*credentials refused`));
    } finally {
      await other.stop();
    }
  });
});

describe('registry builder: operator manifests and the cluster-version-operator base', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => reg.stop());

  it('copies /manifests of io.openshift.release.operator images named as oc adm release new does, and builds on the CVO (layers shared, entrypoint kept), a Docker v2 base too', async () => {
    const client = new RegistryClient({ insecure: [reg.host], retries: 0 });
    const h = reg.host;
    const cvo = pushComponent(h, 'ocp/art', 'cluster-version-operator', {
      labels: { 'io.openshift.release.operator': 'true', 'io.openshift.build.commit.id': 'cvo1' },
      files: { 'usr/bin/cluster-version-operator': '#!/bin/sh\n', 'manifests/0000_00_cluster-version-operator_01_deployment.yaml': 'kind: Deployment\n' },
      entrypoint: ['/usr/bin/cluster-version-operator'],
      dockerV2: true, // a Docker v2 schema 2 base: its layers are referenced with OCI media types
    });
    const netop = pushComponent(h, 'ocp/art', 'cluster-network-operator', {
      labels: { 'io.openshift.release.operator': 'true' },
      files: { 'manifests/0000_70_cluster-network-operator_01_crd.yaml': 'kind: CustomResourceDefinition\n', 'manifests/config.yaml': 'kind: ConfigMap\n', 'manifests/image-references': '{}', 'manifests/sub/x.yaml': 'nested\n' },
    });
    const other = pushComponent(h, 'ocp/art', 'other-operator', { labels: { 'io.openshift.release.operator': 'true' }, files: { 'manifests/0000_70_cluster-network-operator_01_crd.yaml': 'duplicate\n' } });
    const plain = pushComponent(h, 'ocp/art', 'cli', { files: { 'manifests/ignored.yaml': 'not an operator\n' } });
    const req: BuildRequest = {
      stream: 's',
      tag: '4.16.0-0.nightly-2026-02-02-000000',
      repository: `${h}/ocp/release`,
      components: Object.fromEntries(Object.entries({ 'cluster-version-operator': cvo, 'cluster-network-operator': netop, 'other-operator': other, cli: plain }).map(([n, d]) => [n, { pullSpec: `${h}/ocp/art@${d}` }])),
      previous: [],
      createdAt: '2026-02-02T00:00:00Z',
    };
    const r = ok(await new RegistryBuilder({ client }).build(req));
    const cvoManifest = (await client.getManifest(h, 'ocp/art', cvo)).json;
    const inspect = JSON.parse(skopeo(['inspect', `docker://${h}/ocp/release@${r.digest}`])) as { Layers: string[]; Labels: Record<string, string> };
    assert.deepEqual(inspect.Layers.slice(0, -1), cvoManifest.layers!.map((l) => l.digest), 'the CVO layers come first and are the same blobs');
    assert.equal(inspect.Labels['io.openshift.release'], req.tag);
    assert.equal(inspect.Labels['io.openshift.release.base-image-digest'], cvo);
    const cfg = JSON.parse(skopeo(['inspect', '--config', `docker://${h}/ocp/release@${r.digest}`])) as { config: { Entrypoint: string[] } };
    assert.deepEqual(cfg.config.Entrypoint, ['/usr/bin/cluster-version-operator']);
    const files = layerFiles(`${h}/ocp/release@${r.digest}`);
    assert.deepEqual(Object.keys(files).sort(), [
      'release-manifests/0000_00_cluster-version-operator_01_deployment.yaml',
      'release-manifests/0000_70_cluster-network-operator_01_crd.yaml',
      'release-manifests/0000_70_cluster-network-operator_01_crd_2.yaml',
      'release-manifests/99_cluster-network-operator_config.yaml',
      'release-manifests/image-references',
      'release-manifests/release-metadata',
    ]);
    assert.equal(files['release-manifests/0000_70_cluster-network-operator_01_crd.yaml'], 'kind: CustomResourceDefinition\n', 'components in name order: cluster-network-operator before other-operator');
    assert.equal(files['release-manifests/0000_70_cluster-network-operator_01_crd_2.yaml'], 'duplicate\n');
    // the whole image is pullable: skopeo copies it with every layer
    const dir = tempDir('rc-oci-full-');
    skopeo(['copy', `docker://${h}/ocp/release@${r.digest}`, `oci:${dir}:full`]);
    const again = ok(await new RegistryBuilder({ client }).build({ ...req, repository: `${h}/ocp/release-2` }));
    assert.equal(again.digest, r.digest, 'deterministic with a base too');
  });

});
