// The registry client against a real docker-registry (Distribution 2.8) on loopback; component
// images are pushed with skopeo, what the client pushes is checked with skopeo.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { parseAuthFile } from '../../src/adapters/registry/auth.ts';
import { MEDIA, RegistryClient, RegistryError, sha256 } from '../../src/adapters/registry/client.ts';
import { parseImageRef } from '../../src/adapters/registry/reference.ts';
import { pushComponent, skopeo, startRegistry, type TestRegistry } from '../helpers/registry.ts';

function authFile(host: string, user: string, pass: string) {
  return parseAuthFile(JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } } }), 'auth.json');
}

describe('registry client on a real docker-registry', () => {
  let reg: TestRegistry;
  let client: RegistryClient;
  before(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ insecure: [reg.host], retries: 1, backoffMs: 10, timeoutMs: 5000 });
  });
  after(async () => reg.stop());

  it('lists every tag across pages and reads manifests and configs pushed by skopeo, digests verified', async () => {
    const digests: Record<string, string> = {};
    for (const t of ['cli', 'installer', 'etcd', 'console', 'hyperkube']) digests[t] = pushComponent(reg.host, 'ocp/art', t, { labels: { 'io.openshift.build.commit.id': `c-${t}` } });
    const tags = await client.listTags(reg.host, 'ocp/art', 2); // 3 pages through Link headers
    assert.deepEqual(tags.sort(), Object.keys(digests).sort());
    const m = await client.getManifest(reg.host, 'ocp/art', 'cli');
    assert.equal(m.digest, digests.cli);
    assert.equal(m.mediaType, MEDIA.ociManifest);
    const byDigest = await client.getManifest(reg.host, 'ocp/art', digests.cli);
    assert.equal(byDigest.digest, digests.cli);
    const cfg = JSON.parse((await client.getBlob(reg.host, 'ocp/art', m.json.config!.digest)).toString()) as { config: { Labels: Record<string, string> } };
    assert.equal(cfg.config.Labels['io.openshift.build.commit.id'], 'c-cli');
    assert.deepEqual(await client.headManifest(reg.host, 'ocp/art', 'etcd'), { digest: digests.etcd, mediaType: MEDIA.ociManifest });
    assert.equal(await client.headManifest(reg.host, 'ocp/art', 'nope'), null);
    assert.deepEqual(await client.listTags(reg.host, 'ocp/never-pushed'), []);
  });

  it('reads Docker v2 schema 2 manifests (skopeo --format v2s2) and verifies their digest', async () => {
    const d = pushComponent(reg.host, 'ocp/docker', 'cli', { dockerV2: true, labels: { 'vcs-ref': 'abc' } });
    const m = await client.getManifest(reg.host, 'ocp/docker', 'cli');
    assert.equal(m.mediaType, MEDIA.dockerManifest);
    assert.equal(m.digest, d);
    assert.equal(m.json.layers![0].mediaType, MEDIA.dockerLayer);
    const cfg = JSON.parse((await client.getBlob(reg.host, 'ocp/docker', m.json.config!.digest)).toString()) as { config: { Labels: Record<string, string> } };
    assert.equal(cfg.config.Labels['vcs-ref'], 'abc');
  });

  it('uploads blobs monolithically and in chunks, mounts across repositories, pushes a manifest skopeo reads, and deletes it', async () => {
    const small = Buffer.from('{"architecture":"amd64","os":"linux","config":{"Labels":{"a":"b"}},"rootfs":{"type":"layers","diff_ids":[]}}');
    const big = Buffer.alloc(300_000, 7);
    for (let i = 0; i < big.length; i += 1000) big[i] = i % 251;
    const cd = await client.pushBlob(reg.host, 'ocp/pushed', small);
    const ld = await client.pushBlob(reg.host, 'ocp/pushed', big, { chunkSize: 64 * 1024 });
    assert.equal(ld, sha256(big));
    assert.ok(await client.hasBlob(reg.host, 'ocp/pushed', ld));
    assert.deepEqual(await client.getBlob(reg.host, 'ocp/pushed', ld), big);
    assert.equal(await client.hasBlob(reg.host, 'ocp/other', ld), false);
    assert.equal(await client.mountBlob(reg.host, 'ocp/other', ld, 'ocp/pushed'), true);
    assert.ok(await client.hasBlob(reg.host, 'ocp/other', ld));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: cd, size: small.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: ld, size: big.length }],
      }),
    );
    const md = await client.putManifest(reg.host, 'ocp/pushed', 'v1', manifest, MEDIA.ociManifest);
    const seen = JSON.parse(skopeo(['inspect', `docker://${reg.host}/ocp/pushed:v1`])) as { Digest: string; Labels: Record<string, string> };
    assert.equal(seen.Digest, md);
    assert.deepEqual(seen.Labels, { a: 'b' });
    assert.equal(await client.deleteManifest(reg.host, 'ocp/pushed', md), true);
    assert.equal(await client.headManifest(reg.host, 'ocp/pushed', md), null);
    assert.equal(await client.deleteManifest(reg.host, 'ocp/pushed', md), false);
  });

  it('names host, repository and status when a manifest is missing, and status 0 when the registry is down', async () => {
    await assert.rejects(client.getManifest(reg.host, 'ocp/art', 'missing'), (e: RegistryError) => {
      assert.equal(e.status, 404);
      assert.equal(e.code, 'MANIFEST_UNKNOWN');
      assert.match(e.message, new RegExp(`registry ${reg.host.replace(/\./g, '\\.')}, repository ocp/art: manifest missing: HTTP 404`));
      return true;
    });
    await reg.stop();
    try {
      await assert.rejects(client.listTags(reg.host, 'ocp/art'), (e: RegistryError) => {
        assert.equal(e.status, 0);
        assert.match(e.message, /unreachable/);
        assert.ok(e.message.includes(reg.host));
        return true;
      });
    } finally {
      await reg.start();
    }
    assert.equal((await client.listTags(reg.host, 'ocp/art')).length, 5);
  });
});

describe('registry client with htpasswd Basic auth on a real docker-registry', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ users: { alice: 's3cret' } });
  });
  after(async () => reg.stop());

  it('authenticates with the auth file and refuses a wrong password with an error naming the host', async () => {
    pushComponent(reg.host, 'ocp/sec', 'cli', { creds: 'alice:s3cret' });
    const ok = new RegistryClient({ insecure: [reg.host], auth: authFile(reg.host, 'alice', 's3cret') });
    assert.deepEqual(await ok.listTags(reg.host, 'ocp/sec'), ['cli']);
    const d = await ok.pushBlob(reg.host, 'ocp/sec', Buffer.from('hello'));
    assert.ok(await ok.hasBlob(reg.host, 'ocp/sec', d));
    const bad = new RegistryClient({ insecure: [reg.host], auth: authFile(reg.host, 'alice', 'wrong') });
    await assert.rejects(bad.listTags(reg.host, 'ocp/sec'), (e: RegistryError) => {
      assert.equal(e.status, 401);
      assert.match(e.message, new RegExp(`registry ${reg.host.replace(/\./g, '\\.')}.*HTTP 401 \\(credentials refused\\)`));
      return true;
    });
    const none = new RegistryClient({ insecure: [reg.host] });
    await assert.rejects(none.listTags(reg.host, 'ocp/sec'), /no credentials for this host/);
  });
});

// A token server written in the test (said so): a front that demands Bearer tokens, issues them at
// /token for Basic credentials and the requested scope, and forwards to the real docker-registry.
// It also answers 503 with Retry-After to the first N requests, to check retries.
describe('registry client Bearer-token flow (token server in the test) and retries on 503', () => {
  let reg: TestRegistry;
  let front: Server;
  let frontHost: string;
  let fail503 = 0;
  const issued: string[] = [];
  before(async () => {
    reg = await startRegistry();
    front = createServer((req: IncomingMessage, res) => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/token') {
          const auth = req.headers.authorization ?? '';
          if (auth !== `Basic ${Buffer.from('bob:pw').toString('base64')}`) {
            res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
            return;
          }
          const token = `tok-${issued.length}`;
          issued.push(`${token} ${url.searchParams.getAll('scope').join(' ')}`);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
          return;
        }
        if (fail503 > 0) {
          fail503--;
          res.writeHead(503, { 'retry-after': '1' }).end();
          return;
        }
        const tok = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (!issued.some((i) => i.startsWith(`${tok} `))) {
          res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${frontHost}/token",service="test-registry"`, 'content-type': 'application/json' });
          res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
          return;
        }
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && !['host', 'authorization', 'connection'].includes(k)) headers[k] = v;
        const up = await fetch(`http://${reg.host}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined, redirect: 'manual' });
        const out: Record<string, string> = {};
        up.headers.forEach((v, k) => {
          if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') out[k] = k === 'location' ? v.replace(reg.host, frontHost) : v;
        });
        const body = Buffer.from(await up.arrayBuffer());
        res.writeHead(up.status, out).end(req.method === 'HEAD' ? undefined : body);
      })();
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    frontHost = `127.0.0.1:${(front.address() as { port: number }).port}`;
  });
  after(async () => {
    front.close();
    await reg.stop();
  });

  it('fetches a token for the challenged scope with the auth file credentials, pushes and reads', async () => {
    const c = new RegistryClient({ insecure: [frontHost], auth: authFile(frontHost, 'bob', 'pw'), backoffMs: 10 });
    const d = await c.pushBlob(frontHost, 'ocp/tok', Buffer.from('token-protected'));
    assert.deepEqual(await c.getBlob(frontHost, 'ocp/tok', d), Buffer.from('token-protected'));
    assert.ok(issued.some((i) => i.endsWith('repository:ocp/tok:pull,push')), issued.join('\n'));
    const bad = new RegistryClient({ insecure: [frontHost], auth: authFile(frontHost, 'bob', 'nope') });
    await assert.rejects(bad.hasBlob(frontHost, 'ocp/tok', d), (e: RegistryError) => {
      assert.equal(e.status, 401);
      assert.ok(e.message.includes(`registry ${frontHost}`) && /token server .* 401 \(credentials refused\)/.test(e.message), e.message);
      return true;
    });
  });

  it('retries 503 honouring Retry-After, then gives up naming the status', async () => {
    const c = new RegistryClient({ insecure: [frontHost], auth: authFile(frontHost, 'bob', 'pw'), retries: 2, backoffMs: 10 });
    fail503 = 2;
    const t0 = Date.now();
    assert.deepEqual(await c.listTags(frontHost, 'ocp/none'), []);
    assert.ok(Date.now() - t0 >= 1900, 'waited Retry-After twice');
    fail503 = 10;
    const quick = new RegistryClient({ insecure: [frontHost], retries: 0 });
    await assert.rejects(quick.listTags(frontHost, 'ocp/none'), /HTTP 503/);
    fail503 = 0;
  });
});

describe('image references', () => {
  it('parses host, port, repository, tag and digest', () => {
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseImageRef(`127.0.0.1:5000/ocp/release:4.16.0@${d}`), { host: '127.0.0.1:5000', repository: 'ocp/release', tag: '4.16.0', digest: d });
    assert.throws(() => parseImageRef('release:latest'), /HOST/);
    assert.throws(() => parseImageRef('h/Upper'), /invalid repository/);
  });
});
