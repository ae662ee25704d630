// Inputs imported from a real docker-registry (issue 14): every tag (include/exclude) is one
// component by digest with its provenance labels, one setInputTags per import, polling picks up a
// new digest within the interval, an image index gives its linux/amd64 image's labels, and a
// registry outage keeps the last good input, names the host and recovers; a tag deleted in the
// registry leaves the input of a real controller at the next poll (include/exclude still apply),
// and the tags API refuses to write into a polled input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MEDIA, RegistryClient } from '../../src/adapters/registry/client.ts';
import { parseInputsFile, RegistryImporter, type ImportSink } from '../../src/adapters/sources/registry/importer.ts';
import { cleanup, config, startHarness, waitFor, type Harness } from '../helpers/harness.ts';
import { pushComponent, startRegistry, type TestRegistry } from '../helpers/registry.ts';

class Recorder implements ImportSink {
  calls: { input: string; tags: Record<string, string>; labels: Record<string, Record<string, string>> }[] = [];
  replaces: boolean[] = [];
  async setInputTags(input: string, tags: Record<string, string>, _user: string, labels: Record<string, Record<string, string>>, opts: { replace: true }): Promise<void> {
    this.calls.push({ input, tags, labels });
    this.replaces.push(opts.replace);
  }
}

describe('registry inputs', () => {
  let reg: TestRegistry;
  let client: RegistryClient;
  before(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ insecure: [reg.host], retries: 0, timeoutMs: 3000 });
  });
  after(async () => reg.stop());

  it('parses the inputs file and names what is wrong', () => {
    const ok = parseInputsFile('inputs:\n  4.16-art-latest:\n    repository: 127.0.0.1:5000/ocp/4.16-art-latest\n    interval: 30s\n    include: [cli, installer]\n', 'inputs.yaml');
    assert.deepEqual(ok, [{ name: '4.16-art-latest', host: '127.0.0.1:5000', repository: 'ocp/4.16-art-latest', intervalMs: 30_000, include: ['cli', 'installer'], exclude: [] }]);
    assert.equal(parseInputsFile('inputs:\n  a:\n    repository: h:1/r\n', 'f')[0].intervalMs, 60_000);
    assert.throws(() => parseInputsFile('inputs:\n  a:\n    repository: r\n', 'f'), /f: inputs\.a\.repository: .*HOST/);
    assert.throws(() => parseInputsFile('inputs:\n  a:\n    repository: h/r:tag\n', 'f'), /must not carry a tag/);
    assert.throws(() => parseInputsFile('inputs:\n  a:\n    repository: h/r\n    interval: soon\n', 'f'), /inputs\.a\.interval/);
    assert.throws(() => parseInputsFile('inputs:\n  a:\n    repository: h/r\n    inclde: [x]\n', 'f'), /unknown field "inclde"/);
    assert.throws(() => parseInputsFile('streams: {}\n', 'f'), /expected "inputs:"/);
  });

  it('imports every included tag by digest with its labels in one change; polling picks up a new digest; an outage keeps the last good input', async () => {
    const repo = 'ocp/art-a';
    const d = {
      cli: pushComponent(reg.host, repo, 'cli', { labels: { 'io.openshift.build.commit.id': 'c1', 'org.opencontainers.image.source': 'https://github.com/openshift/oc', unrelated: 'x' } }),
      installer: pushComponent(reg.host, repo, 'installer', { labels: { 'vcs-ref': 'i1' } }),
      debug: pushComponent(reg.host, repo, 'debug-shell'),
    };
    const sink = new Recorder();
    const imp = new RegistryImporter({ client, sink, inputs: [{ name: 'art', host: reg.host, repository: repo, intervalMs: 1000, include: [], exclude: ['debug-*'] }], retryMs: 100 });
    imp.start();
    try {
      await waitFor('first import', () => sink.calls.length >= 1, 10_000);
      assert.deepEqual(sink.calls[0], {
        input: 'art',
        tags: { cli: `${reg.host}/${repo}@${d.cli}`, installer: `${reg.host}/${repo}@${d.installer}` },
        labels: { cli: { 'io.openshift.build.commit.id': 'c1', 'org.opencontainers.image.source': 'https://github.com/openshift/oc' }, installer: { 'vcs-ref': 'i1' } },
      });
      const cli2 = pushComponent(reg.host, repo, 'cli', { labels: { 'io.openshift.build.commit.id': 'c2' } });
      const t0 = Date.now();
      await waitFor('the new digest imported', () => sink.calls.some((c) => c.tags.cli.endsWith(cli2)), 5000);
      assert.ok(Date.now() - t0 < 2500, 'within about one poll interval');
      assert.deepEqual(sink.calls.at(-1)!.labels.cli, { 'io.openshift.build.commit.id': 'c2' });
      assert.equal(imp.problem(), null);

      await reg.stop();
      const before = sink.calls.length;
      await waitFor('the outage is shown', () => imp.problem(), 10_000);
      assert.match(imp.problem()!, new RegExp(`input art: registry ${reg.host.replace(/\./g, '\\.')}, repository ${repo}: .*unreachable`));
      const st = imp.status()[0];
      assert.ok(st.failures >= 1 && st.errorSince && st.lastImport);
      assert.equal(sink.calls.length, before, 'the last good input is kept');
      await reg.start();
      await waitFor('recovered', () => imp.problem() === null && sink.calls.length > before, 15_000);
      assert.ok(sink.calls.at(-1)!.tags.cli.endsWith(cli2));
    } finally {
      imp.stop();
    }
  });

  it('takes the labels of the linux/amd64 image of an image index, and records the index digest', async () => {
    const repo = 'ocp/art-b';
    const amd = pushComponent(reg.host, repo, 'amd64-only', { labels: { 'io.openshift.build.commit.id': 'amd' } });
    const arm = pushComponent(reg.host, repo, 'arm64-only', { labels: { 'io.openshift.build.commit.id': 'arm' } });
    const size = async (dg: string) => (await client.getManifest(reg.host, repo, dg)).body.length;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [
          { mediaType: MEDIA.ociManifest, digest: arm, size: await size(arm), platform: { os: 'linux', architecture: 'arm64' } },
          { mediaType: MEDIA.ociManifest, digest: amd, size: await size(amd), platform: { os: 'linux', architecture: 'amd64' } },
        ],
      }),
    );
    const idx = await client.putManifest(reg.host, repo, 'multi', index, MEDIA.ociIndex);
    const sink = new Recorder();
    const imp = new RegistryImporter({ client, sink, inputs: [{ name: 'b', host: reg.host, repository: repo, intervalMs: 60_000, include: ['multi'], exclude: [] }] });
    await imp.importNow('b');
    imp.stop();
    assert.deepEqual(sink.calls, [{ input: 'b', tags: { multi: `${reg.host}/${repo}@${idx}` }, labels: { multi: { 'io.openshift.build.commit.id': 'amd' } } }]);
    assert.deepEqual(imp.trigger(reg.host, repo), ['b']);
    assert.deepEqual(imp.trigger(reg.host, 'ocp/other'), []);
  });

  it('a tag deleted in the registry leaves the input at the next poll; excluded tags stay out; the importer names the inputs it polls', async () => {
    const repo = 'ocp/art-del';
    const cli = pushComponent(reg.host, repo, 'cli', { labels: { 'io.openshift.build.commit.id': 'c1' } });
    const installer = pushComponent(reg.host, repo, 'installer');
    pushComponent(reg.host, repo, 'debug-shell');
    const cfg = config({ name: '4.19.0-0.nightly', to: 'release', source: 'art-del', verify: {}, minCreationIntervalSeconds: 0 });
    let h: Harness | undefined;
    // retries as slow as the interval: only importNow() imports here, so failure counts are exact
    const imp = () => new RegistryImporter({ client, sink: h!.controller, retryMs: 60_000, inputs: [{ name: 'art-del', host: reg.host, repository: repo, intervalMs: 60_000, include: [], exclude: ['debug-*'] }] });
    try {
      h = await startHarness({ configs: [cfg], jobsYaml: 'jobs: {}\n' });
      const c = h.controller;
      const input = () => Object.fromEntries(c.state.inputTags('art-del').map((t) => [t.component, t.pullSpec]));
      const i = imp();
      await i.importNow('art-del');
      assert.deepEqual(input(), { cli: `${reg.host}/${repo}@${cli}`, installer: `${reg.host}/${repo}@${installer}` });
      await waitFor('the first payload', () => c.state.payloads(cfg.name).length === 1, 10_000);
      assert.equal(i.polled('art-del'), `${reg.host}/${repo}`);
      assert.equal(i.polled('other'), null);

      assert.equal(await client.deleteManifest(reg.host, repo, installer), true, 'the registry deletes the manifest');
      await i.importNow('art-del');
      assert.deepEqual(input(), { cli: `${reg.host}/${repo}@${cli}` }, 'the deleted tag left the input');
      assert.equal(i.problem(), null);
      const ev = (await h.store.listEvents({ stream: cfg.name })).find((e) => e.type === 'InputUpdated' && /removed/.test(e.message));
      assert.equal(ev?.message, 'input stream art-del removed: installer');
      await waitFor('a payload without installer', () => c.state.payloads(cfg.name).some((p) => !('installer' in p.components) && 'cli' in p.components), 10_000);
      const n = c.state.payloads(cfg.name).length;
      await i.importNow('art-del');
      assert.equal(c.state.payloads(cfg.name).length, n, 'an unchanged registry changes nothing');

      // an image whose config does not parse: the import fails naming it, the last good input is kept; cleared once it is gone
      const cfgBlob = await client.pushBlob(reg.host, repo, Buffer.from('not json'));
      const broken = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: cfgBlob, size: 8 }, layers: [] }));
      const brokenDigest = await client.putManifest(reg.host, repo, 'broken', broken, MEDIA.ociManifest);
      await i.importNow('art-del');
      assert.match(i.problem() ?? '', new RegExp(`^input art-del: ${reg.host.replace(/\./g, '\\.')}/${repo}: tag broken: image config ${cfgBlob} is not JSON: `));
      assert.ok(i.status()[0].failures >= 1, 'the failure is counted');
      assert.deepEqual(input(), { cli: `${reg.host}/${repo}@${cli}` }, 'the last good input is kept');
      assert.equal(await client.deleteManifest(reg.host, repo, brokenDigest), true);
      await i.importNow('art-del');
      assert.equal(i.problem(), null, 'cleared by a good import');
      assert.equal(i.status()[0].failures, 0);
      i.stop();
    } finally {
      await h?.close();
      if (h) cleanup(h.dir);
    }
  });
});
