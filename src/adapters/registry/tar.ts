// Deterministic ustar archives (mtime 0, uid/gid 0, sorted entries) and a reader, for image layers.
import { gunzipSync, gzipSync } from 'node:zlib';

export interface TarFile {
  path: string;
  content: Buffer | string;
  mode?: number;
}

function header(name: string, size: number, type: '0' | '5', mode: number): Buffer {
  const h = Buffer.alloc(512, 0);
  let prefix = '';
  let n = name;
  if (Buffer.byteLength(n) > 100) {
    const i = n.lastIndexOf('/', 155);
    if (i <= 0 || Buffer.byteLength(n.slice(i + 1)) > 100) throw new Error(`tar: path too long: ${name}`);
    prefix = n.slice(0, i);
    n = n.slice(i + 1);
  }
  h.write(n, 0, 100, 'utf8');
  h.write(mode.toString(8).padStart(7, '0') + '\0', 100, 8, 'ascii');
  h.write('0000000\0', 108, 8, 'ascii');
  h.write('0000000\0', 116, 8, 'ascii');
  h.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  h.write('00000000000\0', 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write(type, 156, 1, 'ascii');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** A tar of `files` with their parent directories; same files → same bytes. */
export function tar(files: TarFile[]): Buffer {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/') + '/');
  }
  const entries: { path: string; dir: boolean; f?: TarFile }[] = [...[...dirs].map((d) => ({ path: d, dir: true })), ...files.map((f) => ({ path: f.path, dir: false, f }))];
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: Buffer[] = [];
  for (const e of entries) {
    if (e.dir) {
      out.push(header(e.path, 0, '5', 0o755));
      continue;
    }
    const body = Buffer.isBuffer(e.f!.content) ? e.f!.content : Buffer.from(e.f!.content, 'utf8');
    out.push(header(e.path, body.length, '0', e.f!.mode ?? 0o644), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** gzip with a fixed header (Node writes mtime 0), so the same tar gives the same layer digest */
export function gzip(b: Buffer): Buffer {
  return gzipSync(b, { level: 9 });
}

/** The regular files of a (possibly gzipped) tar. */
export function untar(layer: Buffer): TarFile[] {
  const b = layer[0] === 0x1f && layer[1] === 0x8b ? gunzipSync(layer) : layer;
  const out: TarFile[] = [];
  let longName: string | null = null;
  for (let off = 0; off + 512 <= b.length; ) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const str = (s: number, l: number) => h.subarray(s, s + l).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const type = str(156, 1) || '0';
    const prefix = str(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    longName = null;
    const body = b.subarray(off + 512, off + 512 + size);
    if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '');
    else if (type === '0' || type === '7') {
      name = name.replace(/^\.\//, '');
      out.push({ path: name, content: Buffer.from(body), mode: parseInt(str(100, 8).trim() || '644', 8) });
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
