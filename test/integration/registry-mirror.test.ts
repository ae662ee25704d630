// The per-release mirror repository (upstream's mirror stream, upstream-behavior.md §3.8) with the
// real `serve --builder registry` and two real docker-registry processes: a payload built from
// components on the controller's registry (blobs mounted) and on another one (blobs copied) has a
// mirror repository `<registry>/<mirrorPrefix><tag suffix>` whose tags are exactly the components,
// each at the component's digest (skopeo inspect); its job, run by the local executor as a real
// child process, gets IMAGE_FORMAT = `<mirror>:${component}` (§4.5); with --registry-gc a pruned
// payload's mirror tags are deleted, the components' own repositories untouched, also when its
// record lost the mirror's name (a crash between the push and the record: edited in the database).
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanup, tempDir, waitFor, writeScripts } from '../helpers/harness.ts';
import { pushComponent, skopeo, startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { startServe, type ServeProc } from '../helpers/serve-proc.ts';

const STREAM = '4.16.0-0.nightly';
const CI = 'ci-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';

interface Tag {
  name: string;
  phase: string;
  pullSpec: string;
}

async function tags(p: ServeProc): Promise<Tag[]> {
  const r = await fetch(`${p.url}/api/v1/releasestream/${STREAM}/tags`);
  return ((await r.json()) as { tags: Tag[] | null }).tags ?? [];
}

/** the tags of a repository as skopeo lists them ([] once it has none) */
function listTags(repo: string): string[] {
  try {
    return ((JSON.parse(skopeo(['list-tags', `docker://${repo}`])) as { Tags: string[] | null }).Tags ?? []).sort();
  } catch (e) {
    if (/name unknown|repository name not known/i.test(String((e as { stderr?: string }).stderr ?? e))) return [];
    throw e;
  }
}

test('serve --builder registry: a payload has a mirror repository with one tag per component at its digest; its job gets IMAGE_FORMAT; --registry-gc deletes the mirror with the payload', async () => {
  const dir = tempDir('rc-registry-mirror-');
  let reg: TestRegistry | undefined;
  let other: TestRegistry | undefined;
  let proc: ServeProc | undefined;
  try {
    reg = await startRegistry();
    other = await startRegistry();
    const host = reg.host;
    const digests = {
      cli: pushComponent(host, 'ocp/art', 'cli', { labels: { 'io.openshift.build.commit.id': 'c1' } }),
      installer: pushComponent(host, 'ocp/art', 'installer'),
      // on another registry: its blobs cannot be mounted, they are copied
      tests: pushComponent(other.host, 'elsewhere/tests', 'latest', { files: { 'usr/bin/tests': '#!/bin/sh\n' } }),
    };
    const releases = join(dir, 'releases');
    mkdirSync(releases);
    // mirrorPrefix names the mirror (not the input stream, `source`)
    writeFileSync(join(releases, 'stream.json'), JSON.stringify({ name: STREAM, to: 'release', source: 'api-input', mirrorPrefix: '4.16-art-latest', verify: { 'e2e-aws': { prowJob: { name: 'e2e-aws' } } } }));
    const out = join(dir, 'seen');
    mkdirSync(out);
    // the job writes what it got ("unset" when the variable is not set at all)
    const s = writeScripts(dir, { job: `printf '%s' "\${IMAGE_FORMAT-unset}" > "${out}/$PAYLOAD_TAG.tmp" && mv "${out}/$PAYLOAD_TAG.tmp" "${out}/$PAYLOAD_TAG"` });
    writeFileSync(join(dir, 'jobs.yaml'), `jobs:\n  "*": { command: ["bash", "${s.job}"] }\n`);
    writeFileSync(join(dir, 'tokens.yaml'), `- user: ci\n  token: ${CI}\n  roles: [ci]\n- user: admin\n  token: ${ADMIN}\n  roles: [admin]\n`);
    const args = [
      '--releases', releases, '--jobs', join(dir, 'jobs.yaml'), '--tokens', join(dir, 'tokens.yaml'), '--data', join(dir, 'data'), '--port', '0', '--host', '127.0.0.1',
      '--registry', `${host}/ocp`, '--builder', 'registry', '--registry-insecure', `${host},${other.host}`, '--registry-gc',
    ];
    proc = await startServe(args);
    let p = proc;
    const putInput = async (tags: Record<string, string>) => {
      const put = await fetch(`${p.url}/api/v1/inputstreams/api-input/tags`, { method: 'PUT', headers: { authorization: `Bearer ${CI}`, 'content-type': 'application/json' }, body: JSON.stringify({ tags }) });
      assert.equal(put.status, 200, await put.text());
    };
    await putInput({ cli: `${host}/ocp/art@${digests.cli}`, installer: `${host}/ocp/art:installer`, tests: `${other.host}/elsewhere/tests@${digests.tests}` });

    const accepted = await waitFor('the payload Accepted', async () => (await tags(p)).find((t) => t.phase === 'Accepted'), 90_000);
    const mirror = `${host}/ocp/4.16-art-latest${accepted.name.slice(STREAM.length)}`;
    assert.match(mirror, /\/ocp\/4\.16-art-latest-\d{4}-\d{2}-\d{2}-\d{6}$/);

    // the mirror repository: exactly the components, each at the component's digest
    assert.deepEqual(listTags(mirror), ['cli', 'installer', 'tests']);
    for (const [name, digest] of Object.entries(digests)) {
      const seen = JSON.parse(skopeo(['inspect', `docker://${mirror}:${name}`])) as { Digest: string };
      assert.equal(seen.Digest, digest, `${mirror}:${name}`);
    }
    // the copied component's layer is really in the mirror repository (pulled from it, not from the other registry)
    const layout = tempDir('rc-oci-mirror-');
    skopeo(['copy', `docker://${mirror}:tests`, `oci:${layout}:x`]);
    cleanup(layout);

    // the job (a real child process of the local executor) got the mirror as IMAGE_FORMAT, with the literal ${component}
    const seenFile = join(out, accepted.name);
    await waitFor('the job wrote what it got', () => existsSync(seenFile), 30_000);
    assert.equal(readFileSync(seenFile, 'utf8'), `${mirror}:\${component}`);

    // a second payload (another cli digest) whose record lost its mirror repository, as a crash
    // between the push and the record leaves it: the mirror is named after the tag, so it goes too
    const cli2 = pushComponent(host, 'ocp/art', 'cli', { labels: { 'io.openshift.build.commit.id': 'c2' } });
    await putInput({ cli: `${host}/ocp/art@${cli2}` });
    const second = await waitFor('the second payload Accepted', async () => (await tags(p)).find((t) => t.phase === 'Accepted' && t.name !== accepted.name), 90_000);
    const mirror2 = `${host}/ocp/4.16-art-latest${second.name.slice(STREAM.length)}`;
    assert.deepEqual(listTags(mirror2), ['cli', 'installer', 'tests']);
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 0);
    const db = new Database(join(dir, 'data', 'release-controller.db'));
    assert.equal(db.prepare('UPDATE payloads SET mirror_repository = ? WHERE tag = ?').run('', second.name).changes, 1);
    db.close();
    proc = await startServe(args);
    p = proc;

    // --registry-gc: pruning a payload deletes its release image and its mirror's tags; the components stay.
    // The stream is locked first: its input still holds these tags, so it would build the payload
    // again at once (under a new name) and push its release image.
    const lock = await fetch(`${p.url}/api/v1/releasestream/${STREAM}/lock`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ locked: true, reason: 'mirror gc test' }),
    });
    assert.equal(lock.status, 200, await lock.text());
    for (const t of [accepted.name, second.name]) {
      const del = await fetch(`${p.url}/api/v1/releasestream/${STREAM}/release/${t}`, {
        method: 'DELETE', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'mirror gc test' }),
      });
      assert.equal(del.status, 200, await del.text());
    }
    await waitFor('both mirror repositories emptied', () => listTags(mirror).length === 0 && listTags(mirror2).length === 0, 20_000, 200);
    assert.deepEqual(listTags(`${host}/ocp/release`), [], 'the release images went too');
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${host}/ocp/art:cli`])).Digest, cli2, 'the component repositories are untouched');
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${host}/ocp/art:installer`])).Digest, digests.installer);
    assert.equal(JSON.parse(skopeo(['inspect', `docker://${other.host}/elsewhere/tests:latest`])).Digest, digests.tests);
  } finally {
    proc?.child.kill('SIGTERM');
    await proc?.exited;
    await reg?.stop();
    await other?.stop();
    cleanup(dir);
  }
});
