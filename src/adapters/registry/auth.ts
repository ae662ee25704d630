// Registry credentials from a containers/Docker auth file: {"auths": {"HOST[:PORT]": {"auth": base64("user:pass")}}}.
import { readFileSync } from 'node:fs';

export interface Credentials {
  username: string;
  password: string;
}

/** host[:port] → credentials */
export type AuthMap = Map<string, Credentials>;

export function normalizeHost(key: string): string {
  // Docker's config.json may key entries by URL (https://index.docker.io/v1/)
  return key.replace(/^https?:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
}

export function parseAuthFile(text: string, file: string): AuthMap {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${(e as Error).message}`);
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (!auths || typeof auths !== 'object' || Array.isArray(auths)) throw new Error(`${file}: expected an object {"auths": {HOST: {"auth": …}}}`);
  const out: AuthMap = new Map();
  for (const [key, v] of Object.entries(auths as Record<string, unknown>)) {
    const e = v as { auth?: unknown; username?: unknown; password?: unknown } | null;
    let username: string | undefined;
    let password: string | undefined;
    if (e && typeof e.auth === 'string' && e.auth) {
      const plain = Buffer.from(e.auth, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i <= 0) throw new Error(`${file}: auths.${key}.auth: expected base64 of "user:password"`);
      username = plain.slice(0, i);
      password = plain.slice(i + 1);
    } else if (e && typeof e.username === 'string' && typeof e.password === 'string') {
      username = e.username;
      password = e.password;
    } else {
      throw new Error(`${file}: auths.${key}: expected "auth" (base64 of "user:password")`);
    }
    out.set(normalizeHost(key), { username, password });
  }
  return out;
}

export function loadAuthFile(file: string): AuthMap {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`registry auth file ${file}: ${(e as Error).message}`);
  }
  return parseAuthFile(text, file);
}

/** Parses a WWW-Authenticate header: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  const re = /(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]))) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}
