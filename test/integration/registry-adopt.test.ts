// Adoption on a real docker-registry (issue 16, item 2): release images "other tooling" pushed
// (built here with the registry builder into an ART-like repository, one re-tagged under another
// version) are the input of the Stable stream 4-stable; the real `serve --inputs … --builder
// registry` adopts each semver tag as a release, reads version, previous and components from
// the image, rebuilds the re-tagged one under its own name (upstream's rewrite) and verifies
// them; skopeo checks what was pushed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RegistryBuilder } from '../../src/adapters/builder/registry/index.ts';
import { RegistryClient } from '../../src/adapters/registry/client.ts';
import { cleanup, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { freePort, pushComponent, skopeo, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

interface Tag {
  name: string;
  phase: string;
  pullSpec: string;
}

test('serve --inputs --builder registry: a Stable stream adopts release images pushed by other tooling', async () => {
  const dir = tempDir('rc-registry-adopt-');
  let reg: TestRegistry | undefined;
  let proc: ServeProc | undefined;
  try {
    reg = await startRegistry();
    const host = reg.host;
    const cli = pushComponent(host, 'art/components', 'cli', { labels: { 'io.openshift.build.commit.id': 'c0ffee', 'io.openshift.build.source-location': 'https://github.com/openshift/oc' } });
    // other tooling: release images in its own repository
    const art = new RegistryBuilder({ client: new RegistryClient({ insecure: [host], retries: 0, timeoutMs: 5000 }), buildTimeoutMs: 5000 });
    const release = async (tag: string, previous: string[]) => {
      const r = await art.build({ stream: 'art', tag, repository: `${host}/art/ocp-release`, components: { cli: { pullSpec: `${host}/art/components@${cli}`, labels: { 'io.openshift.build.commit.id': 'c0ffee' } } }, previous, createdAt: '2026-12-01T00:00:00Z' });
      assert.ok(r.ok, JSON.stringify(r));
      return r.digest;
    };
    const d4 = await release('4.16.4', ['4.16.3', '4.15.20']);
    await release('4.16.7', []);
    // the same image re-tagged as 4.16.8: its metadata names 4.16.7
    skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${host}/art/ocp-release:4.16.7`, `docker://${host}/art/ocp-release:4.16.8`]);

    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'stable.json'), JSON.stringify({ name: '4-stable', as: 'Stable', verify: {} }));
    const s = writeScripts(dir, { job: 'exit 0' });
    writeFileSync(join(dir, 'jobs.yaml'), `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
    writeFileSync(join(dir, 'inputs.yaml'), `inputs:\n  4-stable:\n    repository: ${host}/art/ocp-release\n    interval: 1s\n`);
    const port = await freePort();
    proc = await startServe([
      '--releases', releases, '--jobs', join(dir, 'jobs.yaml'), '--data', join(dir, 'data'), '--port', String(port), '--host', '127.0.0.1',
      '--registry', `${host}/ocp`, '--builder', 'registry', '--registry-insecure', host, '--inputs', join(dir, 'inputs.yaml'),
    ]);
    const p = proc;
    const tags = async () => ((await (await fetch(`${p.url}/api/v1/releasestream/4-stable/tags`, { signal: AbortSignal.timeout(5000) })).json()) as { tags: Tag[] | null }).tags ?? [];
    const all = await waitFor('three adopted releases Accepted', async () => {
      const t = await tags();
      return t.length === 3 && t.every((x) => x.phase === 'Accepted') ? t : undefined;
    }, 60_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${p.output().slice(-6000)}`);
    });
    assert.deepEqual(all.map((t) => t.name), ['4.16.8', '4.16.7', '4.16.4'], 'semver descending, as a Stable stream lists them');

    // 4.16.4 is the image where it was pushed, by digest; its metadata and components were read
    const t4 = all.find((t) => t.name === '4.16.4')!;
    assert.equal(t4.pullSpec, `${host}/art/ocp-release@${d4}`);
    const info = (await (await fetch(`${p.url}/releasetag/4.16.4/json`)).json()) as { digest: string; metadata: { version: string; previous: string[] } };
    assert.equal(info.digest, d4);
    assert.deepEqual(info.metadata.previous, ['4.15.20', '4.16.3']);
    const graph = (await (await fetch(`${p.url}/graph?channel=candidate-4.16`)).json()) as { nodes: { version: string }[] };
    assert.deepEqual(graph.nodes.map((n) => n.version).sort(), ['4.16.4', '4.16.7', '4.16.8']);
    const page = await (await fetch(`${p.url}/releasestream/4-stable/release/4.16.4`)).text();
    assert.match(page, /Untested upgrades/, 'the declared previous versions nobody tested are listed');

    // 4.16.8 named 4.16.7 inside: rebuilt as 4.16.8 into the Stable stream's own repository
    const t8 = all.find((t) => t.name === '4.16.8')!;
    assert.match(t8.pullSpec, new RegExp(`^${host.replace(/\./g, '\\.')}/ocp/4-stable@sha256:`));
    const seen = JSON.parse(skopeo(['inspect', '--tls-verify=false', `docker://${t8.pullSpec}`])) as { Labels: Record<string, string> };
    assert.equal(seen.Labels['io.openshift.release'], '4.16.8');
    const history = (await (await fetch(`${p.url}/api/v1/releasestream/4-stable/release/4.16.8/events`)).json()) as { events?: { type: string; message: string }[] } | { type: string; message: string }[];
    const list = Array.isArray(history) ? history : (history.events ?? []);
    assert.ok(list.some((e) => /the image named version 4\.16\.7, so it was rebuilt as 4\.16\.8/.test(e.message)), JSON.stringify(list));
  } finally {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    await reg?.stop();
    cleanup(dir);
  }
});
