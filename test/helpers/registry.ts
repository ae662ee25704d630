// A real registry for tests: Debian's docker-registry (Distribution 2.8) on a free loopback port,
// its storage in a temp dir, deletes enabled; optionally htpasswd Basic auth. stop() and start()
// again keep the storage and the port (for outage tests).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzip, tar } from '../../src/adapters/registry/tar.ts';
import { tempDir } from './harness.ts';
import { freePort } from './ports.ts';

export { freePort };

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  dir: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRegistry(opts: { users?: Record<string, string>; notify?: { url: string; token: string } } = {}): Promise<TestRegistry> {
  const dir = tempDir('rc-registry-');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = '';
  if (opts.users) {
    const file = join(dir, 'htpasswd');
    writeFileSync(file, '');
    for (const [u, p] of Object.entries(opts.users)) execFileSync('htpasswd', ['-bB', file, u, p], { stdio: 'ignore' });
    auth = `auth:\n  htpasswd:\n    realm: test-registry\n    path: ${file}\n`;
  }
  let notifications = '';
  if (opts.notify) {
    notifications = `notifications:\n  endpoints:\n    - name: rc\n      url: ${opts.notify.url}\n      headers:\n        Authorization: [Bearer ${opts.notify.token}]\n      timeout: 2s\n      threshold: 3\n      backoff: 1s\n`;
  }
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${auth}${notifications}`,
  );
  let proc: ChildProcess | null = null;
  const reg: TestRegistry = {
    host,
    dir,
    async start() {
      proc = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      proc.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          const r = await fetch(`http://${host}/v2/`);
          await r.body?.cancel();
          if (r.status === 200 || r.status === 401) return;
        } catch {
          // not listening yet
        }
        if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start on ${host}: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      const p = proc;
      proc = null;
      if (!p || p.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      });
    },
  };
  await reg.start();
  return reg;
}

/** skopeo with TLS verification off for the loopback registry */
export function skopeo(args: string[], creds?: string): string {
  const tls = ['--tls-verify=false'];
  const [verb, ...rest] = args;
  const withCreds = creds ? [...(verb === 'copy' ? ['--src-creds', creds, '--dest-creds', creds] : ['--creds', creds])] : [];
  return execFileSync('skopeo', [verb, ...(verb === 'copy' ? ['--src-tls-verify=false', '--dest-tls-verify=false'] : tls), ...withCreds, ...rest], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Pushes a small component image with skopeo (not our client): a hand-built OCI layout with one
 * layer of `files` and a config carrying `labels`, copied to docker://HOST/REPO:TAG. Returns the
 * pushed manifest digest.
 */
export function pushComponent(
  host: string,
  repo: string,
  tag: string,
  opts: { labels?: Record<string, string>; files?: Record<string, string>; creds?: string; entrypoint?: string[]; /** push as Docker v2 schema 2 (skopeo converts) */ dockerV2?: boolean } = {},
): string {
  const layout = tempDir('rc-oci-');
  const blobs = join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => {
    const hex = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(blobs, hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const files = opts.files ?? { [`usr/share/${tag}/version`]: `${tag} ${JSON.stringify(opts.labels ?? {})}\n` };
  const raw = tar(Object.entries(files).map(([path, content]) => ({ path, content })));
  const layer = gzip(raw);
  const diffId = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: opts.labels ?? {}, ...(opts.entrypoint ? { Entrypoint: opts.entrypoint } : {}) },
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  const c = put(config);
  const l = put(layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...c },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l }],
    }),
  );
  const m = put(manifest);
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': tag } }] }),
  );
  if (opts.dockerV2) {
    skopeo(['copy', '--format', 'v2s2', `oci:${layout}:${tag}`, `docker://${host}/${repo}:${tag}`], opts.creds);
    rmSync(layout, { recursive: true, force: true });
    return (JSON.parse(skopeo(['inspect', `docker://${host}/${repo}:${tag}`], opts.creds)) as { Digest: string }).Digest;
  }
  skopeo(['copy', '--preserve-digests', `oci:${layout}:${tag}`, `docker://${host}/${repo}:${tag}`], opts.creds);
  rmSync(layout, { recursive: true, force: true });
  return m.digest;
}
