// The real `serve --inputs … --builder registry` against a real docker-registry whose notification
// endpoint points at the server: component images pushed with skopeo become an input, the payload
// is an OCI release image checked with skopeo, a new digest pushed to a tag makes the next payload
// at once through the registry's notification, the tags API refuses to write into a polled input,
// and a registry outage (the registry process stopped) fails nothing: /readyz names it, the build
// (of a stream bound to an API-written input) retries and finishes when it is back.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { untar } from '../../src/adapters/registry/tar.ts';
import { cleanup, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { freePort, pushComponent, skopeo, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { BIN, startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.16.0-0.nightly';
/** bound to an input written through the tags API (not registry-polled) */
const STREAM2 = '4.16.0-0.ci';
const CI = 'ci-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';

interface Tag {
  name: string;
  phase: string;
  pullSpec: string;
}

async function tags(p: ServeProc, stream = STREAM): Promise<Tag[]> {
  const r = await fetch(`${p.url}/api/v1/releasestream/${stream}/tags`);
  return ((await r.json()) as { tags: Tag[] | null }).tags ?? [];
}

function imageReferences(pullSpec: string): Record<string, string> {
  const dir = tempDir('rc-oci-out-');
  skopeo(['copy', `docker://${pullSpec}`, `oci:${dir}:x`]);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const blob = (d: string) => readFileSync(join(dir, 'blobs', 'sha256', d.slice(7)));
  const m = JSON.parse(blob(index.manifests[0].digest).toString()) as { layers: { digest: string }[] };
  const files = Object.fromEntries(untar(blob(m.layers[0].digest)).map((f) => [f.path, f.content.toString()]));
  cleanup(dir);
  const refs = JSON.parse(files['release-manifests/image-references']) as { spec: { tags: { name: string; from: { name: string } }[] } };
  return Object.fromEntries(refs.spec.tags.map((t) => [t.name, t.from.name]));
}

test('serve --inputs --builder registry: payloads are release images in a real registry; notifications import at once; an outage fails nothing', async () => {
  const dir = tempDir('rc-registry-serve-');
  const port = await freePort();
  let reg: TestRegistry | undefined;
  let proc: ServeProc | undefined;
  try {
    reg = await startRegistry({ notify: { url: `http://127.0.0.1:${port}/api/v1/registry/notifications`, token: CI } });
    const host = reg.host;
    const d1 = {
      cli: pushComponent(host, 'ocp/4.16-art-latest', 'cli', { labels: { 'io.openshift.build.commit.id': 'aaa111', 'io.openshift.build.source-location': 'https://github.com/openshift/oc' } }),
      installer: pushComponent(host, 'ocp/4.16-art-latest', 'installer', { labels: { 'io.openshift.build.commit.id': 'bbb222', 'io.openshift.build.source-location': 'https://github.com/openshift/installer' } }),
      ignored: pushComponent(host, 'ocp/4.16-art-latest', 'debug-tools'),
    };
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } } } }));
    writeFileSync(join(releases, 'stream-ci.json'), JSON.stringify({ name: STREAM2, to: 'release-ci', source: 'api-input', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } } } }));
    const s = writeScripts(dir, { job: 'exit 0' });
    writeFileSync(join(dir, 'jobs.yaml'), `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
    writeFileSync(join(dir, 'tokens.yaml'), `- user: registry\n  token: ${CI}\n  roles: [ci]\n- user: admin\n  token: ${ADMIN}\n  roles: [admin]\n`);
    // a long interval: what happens after the first import comes through the notification
    writeFileSync(join(dir, 'inputs.yaml'), `inputs:\n  ${STREAM}:\n    repository: ${host}/ocp/4.16-art-latest\n    interval: 10m\n    exclude: ["debug-*"]\n`);
    const args = [
      '--releases', releases, '--jobs', join(dir, 'jobs.yaml'), '--tokens', join(dir, 'tokens.yaml'), '--data', join(dir, 'data'), '--port', String(port), '--host', '127.0.0.1',
      '--registry', `${host}/ocp`, '--builder', 'registry', '--registry-insecure', host, '--inputs', join(dir, 'inputs.yaml'), '--registry-gc',
    ];
    proc = await startServe(args);
    const p = proc;

    // 1. the first import makes a payload: a release image at <registry>/ocp/release
    const first = await waitFor('first payload Accepted', async () => (await tags(p)).find((t) => t.phase === 'Accepted'), 60_000);
    const digest = first.pullSpec.split('@')[1];
    assert.equal(first.pullSpec, `${host}/ocp/release@${digest}`);
    const seen = JSON.parse(skopeo(['inspect', `docker://${host}/ocp/release:${first.name}`])) as { Digest: string; Labels: Record<string, string> };
    assert.equal(seen.Digest, digest, 'the API digest is the registry manifest digest');
    assert.equal(seen.Labels['io.openshift.release'], first.name);
    assert.deepEqual(imageReferences(first.pullSpec), { cli: `${host}/ocp/4.16-art-latest@${d1.cli}`, installer: `${host}/ocp/4.16-art-latest@${d1.installer}` });

    // 2. a new digest pushed to the cli tag: the registry's notification imports it at once (the poll interval is 10m)
    const d2 = pushComponent(host, 'ocp/4.16-art-latest', 'cli', { labels: { 'io.openshift.build.commit.id': 'ccc333', 'io.openshift.build.source-location': 'https://github.com/openshift/oc' } });
    const second = await waitFor('second payload Accepted', async () => (await tags(p)).find((t) => t.phase === 'Accepted' && t.name !== first.name), 60_000);
    assert.deepEqual(imageReferences(second.pullSpec), { cli: `${host}/ocp/4.16-art-latest@${d2}`, installer: `${host}/ocp/4.16-art-latest@${d1.installer}` });
    const cl = await (await fetch(`${p.url}/changelog?from=${first.name}&to=${second.name}`)).text();
    assert.match(cl, /cli/);
    assert.match(cl, /ccc333/, cl);

    // /releasetag/{tag}/json reads the release manifests back from the registry
    const rt = (await (await fetch(`${p.url}/releasetag/${second.name}/json`)).json()) as {
      digest: string; metadata: { version: string }; references: { spec: { tags: { name: string; from: { name: string } }[] } }; config: { os: string; architecture: string; config: { Labels: Record<string, string> } };
    };
    assert.equal(rt.digest, second.pullSpec.split('@')[1]);
    // config: the pushed image's config, as skopeo reads it from the registry
    const rawConfig = JSON.parse(skopeo(['inspect', '--config', `docker://${second.pullSpec}`])) as unknown;
    assert.deepEqual(rt.config, rawConfig);
    assert.equal(rt.config.config.Labels['io.openshift.release'], second.name);
    assert.equal(rt.metadata.version, second.name);
    assert.equal(rt.references.spec.tags.find((t) => t.name === 'cli')?.from.name, `${host}/ocp/4.16-art-latest@${d2}`);

    // the CLI reads a release image back from the registry, like oc adm release info
    const info = JSON.parse(execFileSync(process.execPath, [BIN, 'release', 'info', `${host}/ocp/release:${second.name}`, '--registry-insecure', host, '-o', 'json'], { encoding: 'utf8' })) as {
      digest: string; metadata: { version: string }; references: { spec: { tags: { name: string }[] } }; config: { config: { Labels: Record<string, string> } };
    };
    assert.equal(info.digest, second.pullSpec.split('@')[1]);
    assert.equal(info.metadata.version, second.name);
    assert.deepEqual(info.references.spec.tags.map((t) => t.name), ['cli', 'installer']);
    assert.equal(info.config.config.Labels['io.openshift.release'], second.name);
    const text = execFileSync(process.execPath, [BIN, 'release', 'info', second.pullSpec, '--registry-insecure', host], { encoding: 'utf8' });
    assert.match(text, new RegExp(`Component Versions:\\n  cli        ${host.replace(/\./g, '\\.')}/ocp/4\\.16-art-latest@${d2}`));

    // a pull spec by tag given to the API is pinned to its digest; one the registry lacks is refused
    const putTagsTo = (srv: ServeProc, input: string, tags: unknown) =>
      fetch(`${srv.url}/api/v1/inputstreams/${input}/tags`, { method: 'PUT', headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags }) });
    const putTags = (tags: unknown) => putTagsTo(p, 'api-input', tags);
    const pinned = await putTags({ installer: `${host}/ocp/4.16-art-latest:installer` });
    assert.deepEqual(await pinned.json(), { input: 'api-input', tags: { installer: `${host}/ocp/4.16-art-latest@${d1.installer}` } });
    const missing = await putTags({ etcd: `${host}/ocp/4.16-art-latest:etcd` });
    assert.equal(missing.status, 400);
    assert.match(((await missing.json()) as { error: string }).error, /tags\.etcd: .*:etcd has no digest and is not in the registry/);
    const ci1 = await waitFor('the api-input payload Accepted', async () => (await tags(p, STREAM2)).find((t) => t.phase === 'Accepted'), 60_000);
    // a polled input is what its registry repository has: the tags API may not write into it
    const polled = await putTagsTo(p, STREAM, { extra: `${host}/ocp/4.16-art-latest@${d2}` });
    assert.equal(polled.status, 409);
    assert.equal(((await polled.json()) as { error: string }).error, `input stream ${STREAM} is imported from registry repository ${host}/ocp/4.16-art-latest (serve --inputs): push or delete the tag there`);

    // 3. outage: the registry process stops; a notification-triggered import fails (shown), the
    //    build of an input changed through the API retries, and both recover when it is back
    await reg.stop();
    const n = await fetch(`${p.url}/api/v1/registry/notifications`, {
      method: 'POST',
      headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/vnd.docker.distribution.events.v1+json' },
      body: JSON.stringify({ events: [{ action: 'push', target: { repository: 'ocp/4.16-art-latest', tag: 'cli', mediaType: 'application/vnd.oci.image.manifest.v1+json' }, request: { host } }] }),
    });
    assert.deepEqual(await n.json(), { triggered: [STREAM] });
    const anon = await fetch(`${p.url}/api/v1/registry/notifications`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"events": []}' });
    assert.equal(anon.status, 401, 'notifications need a ci token');
    const notEnvelope = await fetch(`${p.url}/api/v1/registry/notifications`, { method: 'POST', headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' }, body: '{"event": {}}' });
    assert.equal(notEnvelope.status, 400);
    const put = await putTags({ 'cli-artifacts': { pullSpec: `${host}/ocp/4.16-art-latest@${d2}`, labels: { 'io.openshift.build.commit.id': 'ccc333' } } });
    assert.equal(put.status, 200, await put.text());
    const degraded = await waitFor('/readyz names the registry problem', async () => {
      const r = await fetch(`${p.url}/readyz`);
      const t = await r.text();
      return r.status === 200 && t.includes(`degraded: input ${STREAM}: registry ${host}`) && t.includes('unreachable') ? t : null;
    }, 30_000);
    assert.ok(degraded.includes(host), degraded);
    const page = await (await fetch(`${p.url}/releasestream/${STREAM}`)).text();
    const notice = /<div class="box danger import-error" role="alert" data-import-error="[^"]+">(.*?)<\/div>/.exec(page);
    assert.ok(notice, 'the stream page shows the failing import');
    assert.match(notice[1].replace(/<[^>]+>/g, ''), new RegExp(`^Import failing: input ${STREAM.replace(/\./g, '\\.')} from ${host.replace(/\./g, '\\.')}/ocp/4\\.16-art-latest: registry .*unreachable.*\\(\\d+ attempts?, the first .*; retrying with backoff; the input last imported .* is kept\\)$`));
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`release_controller_registry_import_failures\\{input="${STREAM.replace(/\./g, '\\.')}",repository="[^"]+"\\} [1-9]`), metrics.split('\n').filter((l) => l.includes('registry')).join('\n'));
    const tagless = await putTags({ cli: `${host}/ocp/4.16-art-latest:cli` });
    assert.equal(tagless.status, 400, 'a pull spec without a digest is refused while the registry is down');
    assert.match(((await tagless.json()) as { error: string }).error, /cannot be resolved to one: .*unreachable/);
    const third = await waitFor('an api-input payload created (Pending while the registry is down)', async () => (await tags(p, STREAM2)).find((t) => t.name !== ci1.name), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await tags(p, STREAM2)).find((t) => t.name === third.name)!.phase, 'Pending', 'an outage does not fail the payload: its build retries');
    assert.match(await (await fetch(`${p.url}/readyz`)).text(), new RegExp(`building ${third.name}: .*unreachable`));
    await reg.start();
    const done = await waitFor('that payload Accepted after the registry is back', async () => (await tags(p, STREAM2)).find((t) => t.name === third.name && t.phase === 'Accepted'), 90_000);
    assert.equal(imageReferences(done.pullSpec)['cli-artifacts'], `${host}/ocp/4.16-art-latest@${d2}`);
    await waitFor('/readyz ok again', async () => (await (await fetch(`${p.url}/readyz`)).text()) === 'ok\n', 30_000);
    assert.ok(!(await (await fetch(`${p.url}/releasestream/${STREAM}`)).text()).includes('import-error'), 'the stream page no longer shows it');
    assert.match(await (await fetch(`${p.url}/metrics`)).text(), new RegExp(`release_controller_registry_import_failures\\{input="${STREAM.replace(/\./g, '\\.')}",repository="[^"]+"\\} 0`));
    assert.equal((await tags(p, STREAM2)).length, 2, 'nothing built twice');
    assert.equal((await tags(p)).length, 2, 'the re-import of the unchanged repository changed nothing');

    // 4. kill -9 while a build retries (registry down); the restarted server builds it once
    await reg.stop();
    const put4 = await putTags({ 'cli-artifacts': `${host}/ocp/4.16-art-latest@${d1.cli}` });
    assert.equal(put4.status, 200, await put4.text());
    const fourth = await waitFor('another api-input payload Pending', async () => (await tags(p, STREAM2)).find((t) => ![ci1.name, third.name].includes(t.name)), 30_000);
    await waitFor('its build retrying', async () => (await (await fetch(`${p.url}/readyz`)).text()).includes(`building ${fourth.name}`), 30_000);
    proc.child.kill('SIGKILL');
    await proc.exited;
    await reg.start();
    proc = await startServe(args);
    const q = proc;
    const built = await waitFor('that payload Accepted after the restart', async () => (await tags(q, STREAM2)).find((t) => t.name === fourth.name && t.phase === 'Accepted'), 90_000);
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${host}/ocp/release-ci:${fourth.name}`])).Digest, built.pullSpec.split('@')[1]);
    assert.equal((await tags(q, STREAM2)).length, 3);
    assert.equal((await tags(q)).length, 2);

    // 5. --registry-gc: a pruned payload's release image is deleted from the registry
    const del = await fetch(`${q.url}/api/v1/releasestream/${STREAM}/release/${first.name}`, {
      method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'registry gc test' }),
    });
    assert.equal(del.status, 200, await del.text());
    await waitFor('the release image deleted', () => {
      try {
        skopeo(['inspect', `docker://${host}/ocp/release:${first.name}`]);
        return false;
      } catch (e) {
        return /manifest unknown|not found/i.test(String((e as { stderr?: string }).stderr ?? e));
      }
    }, 20_000, 200);
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${host}/ocp/release:${second.name}`])).Digest, second.pullSpec.split('@')[1], 'others stay');
  } finally {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    await reg?.stop();
    cleanup(dir);
  }
});

test('serve refuses registry options it cannot use, naming the flag or file', () => {
  const dir = tempDir('rc-registry-flags-');
  try {
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(dir, 'jobs.yaml'), 'jobs: {}\n');
    writeFileSync(join(dir, 'bad-inputs.yaml'), 'inputs:\n  a:\n    repository: no-namespace\n');
    writeFileSync(join(dir, 'auth.json'), '{"auths": {"h": {"auth": "bm9jb2xvbg=="}}}');
    const run = (extra: string[]) =>
      spawnSync(process.execPath, [BIN, 'serve', '--releases', releases, '--jobs', join(dir, 'jobs.yaml'), '--data', join(dir, 'data'), '--port', '0', ...extra], { encoding: 'utf8', timeout: 30_000 });
    const a = run(['--builder', 'registry']);
    assert.equal(a.status, 2, a.stderr);
    assert.match(a.stderr, /--registry registry\.local: with --builder registry it must be HOST\[:PORT\]\/NAMESPACE/);
    const b = run(['--inputs', join(dir, 'bad-inputs.yaml')]);
    assert.equal(b.status, 2, b.stderr);
    assert.match(b.stderr, /bad-inputs\.yaml: inputs\.a\.repository/);
    const c = run(['--builder', 'registry', '--registry', '127.0.0.1:1/ocp', '--registry-auth', join(dir, 'auth.json')]);
    assert.equal(c.status, 2, c.stderr);
    assert.match(c.stderr, /auth\.json: auths\.h\.auth: expected base64 of "user:password"/);
  } finally {
    cleanup(dir);
  }
});

test('serve --registry-auth against a docker-registry with htpasswd Basic auth; a wrong password is shown naming the host', async () => {
  const dir = tempDir('rc-registry-auth-');
  let reg: TestRegistry | undefined;
  let proc: ServeProc | undefined;
  try {
    reg = await startRegistry({ users: { ci: 'right-password' } });
    const host = reg.host;
    const creds = 'ci:right-password';
    const cli = pushComponent(host, 'ocp/art', 'cli', { creds, labels: { 'io.openshift.build.commit.id': 'a1' } });
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', verify: {} }));
    writeFileSync(join(dir, 'jobs.yaml'), 'jobs: {}\n');
    writeFileSync(join(dir, 'inputs.yaml'), `inputs:\n  ${STREAM}:\n    repository: ${host}/ocp/art\n    interval: 1s\n`);
    const auth = (pass: string) => {
      const f = join(dir, `auth-${pass}.json`);
      writeFileSync(f, JSON.stringify({ auths: { [host]: { auth: Buffer.from(`ci:${pass}`).toString('base64') } } }));
      return f;
    };
    const args = (pass: string) => [
      '--releases', releases, '--jobs', join(dir, 'jobs.yaml'), '--data', join(dir, `data-${pass}`), '--port', '0', '--host', '127.0.0.1',
      '--registry', `${host}/ocp`, '--builder', 'registry', '--registry-insecure', host, '--inputs', join(dir, 'inputs.yaml'), '--registry-auth', auth(pass),
    ];
    proc = await startServe(args('wrong-password'));
    const bad = proc;
    const shown = await waitFor('the refused import on /readyz', async () => {
      const t = await (await fetch(`${bad.url}/readyz`)).text();
      return t.includes('credentials refused') ? t : null;
    }, 30_000);
    assert.match(shown, new RegExp(`input ${STREAM.replace(/\./g, '\\.')}: registry ${host.replace(/\./g, '\\.')}, repository ocp/art: tags list: HTTP 401 \\(credentials refused\\)`));
    assert.equal((await tags(bad)).length, 0);
    bad.child.kill('SIGTERM');
    await bad.exited;

    proc = await startServe(args('right-password'));
    const p = proc;
    const first = await waitFor('a payload Accepted', async () => (await tags(p)).find((t) => t.phase === 'Accepted'), 60_000);
    const seen = JSON.parse(skopeo(['inspect', `docker://${host}/ocp/release:${first.name}`], creds)) as { Digest: string };
    assert.equal(`${host}/ocp/release@${seen.Digest}`, first.pullSpec);
    assert.throws(() => skopeo(['inspect', `docker://${host}/ocp/release:${first.name}`]), /authentication required|unauthorized/i);
    assert.match(JSON.stringify(imageReferencesWith(first.pullSpec, creds)), new RegExp(cli));
  } finally {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    await reg?.stop();
    cleanup(dir);
  }
});

function imageReferencesWith(pullSpec: string, creds: string): unknown {
  const dir = tempDir('rc-oci-out-');
  try {
    skopeo(['copy', `docker://${pullSpec}`, `oci:${dir}:x`], creds);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const blob = (d: string) => readFileSync(join(dir, 'blobs', 'sha256', d.slice(7)));
    const m = JSON.parse(blob(index.manifests[0].digest).toString()) as { layers: { digest: string }[] };
    const f = untar(blob(m.layers.at(-1)!.digest)).find((x) => x.path === 'release-manifests/image-references');
    return JSON.parse(f!.content.toString());
  } finally {
    cleanup(dir);
  }
}

test('serve --builder registry with alternateImageRepository and its secret: acceptance waits for the mirror, which retries while the alternate registry is down, then copies the payload (same digest)', async () => {
  const dir = tempDir('rc-registry-mirror-');
  let reg: TestRegistry | undefined;
  let alt: TestRegistry | undefined;
  let proc: ServeProc | undefined;
  try {
    reg = await startRegistry();
    alt = await startRegistry({ users: { mirror: 'mirror-password' } });
    await alt.stop(); // down until the payload is seen waiting
    const host = reg.host;
    pushComponent(host, 'ocp/art', 'cli', { labels: { 'io.openshift.build.commit.id': 'm1' } });
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', verify: {}, alternateImageRepository: `${alt.host}/ocp/dev-release`, alternateImageRepositorySecretName: alt.host }));
    writeFileSync(join(dir, 'jobs.yaml'), 'jobs: {}\n');
    writeFileSync(join(dir, 'inputs.yaml'), `inputs:\n  ${STREAM}:\n    repository: ${host}/ocp/art\n    interval: 10m\n`);
    writeFileSync(join(dir, 'auth.json'), JSON.stringify({ auths: { [alt.host]: { auth: Buffer.from('mirror:mirror-password').toString('base64') } } }));
    proc = await startServe([
      '--releases', releases, '--jobs', join(dir, 'jobs.yaml'), '--data', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1', '--registry', `${host}/ocp`, '--builder', 'registry',
      '--registry-insecure', `${host},${alt.host}`, '--inputs', join(dir, 'inputs.yaml'), '--registry-auth', join(dir, 'auth.json'), '--build-timeout', '2m',
    ]);
    const p = proc;
    const ready = await waitFor('the payload Ready, waiting for its mirror', async () => (await tags(p)).find((t) => t.phase === 'Ready'), 60_000);
    const page = await waitFor('the release page says what it waits for', async () => {
      const t = await (await fetch(`${p.url}/releasestream/${STREAM}/release/${ready.name}`)).text();
      return t.includes(`waiting for the mirror to ${alt!.host}/ocp/dev-release:${ready.name}`) ? t : null;
    }, 10_000);
    assert.ok(page);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await tags(p)).find((t) => t.name === ready.name)!.phase, 'Ready', 'no verdict while the mirror cannot finish (verify is empty: it would be Accepted at once)');
    await alt.start();
    const accepted = await waitFor('Accepted once mirrored', async () => (await tags(p)).find((t) => t.name === ready.name && t.phase === 'Accepted'), 60_000);
    const mirrored = JSON.parse(skopeo(['inspect', `docker://${alt.host}/ocp/dev-release:${ready.name}`], 'mirror:mirror-password')) as { Digest: string; Labels: Record<string, string> };
    assert.equal(mirrored.Digest, accepted.pullSpec.split('@')[1], 'the mirror has the payload digest');
    assert.equal(mirrored.Labels['io.openshift.release'], ready.name);
    const events = (await (await fetch(`${p.url}/api/v1/releasestream/${STREAM}/release/${ready.name}/events`)).json()) as { type: string; message: string }[];
    const ev = events.find((e) => e.type === 'PayloadMirrored');
    assert.ok(ev, JSON.stringify(events.map((e) => e.type)));
    assert.match(ev.message, new RegExp(`^Release mirror Job completed: ${ready.name.replace(/\./g, '\\.')} copied to ${alt.host.replace(/\./g, '\\.')}/ocp/dev-release:`));
    assert.ok(events.findIndex((e) => e.type === 'PayloadMirrored') < events.findIndex((e) => e.type === 'PhaseChanged' && /Accepted/.test(e.message)), 'mirrored before accepted');
  } finally {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    await reg?.stop();
    await alt?.stop();
    cleanup(dir);
  }
});
