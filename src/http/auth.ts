// Bearer-token authentication for write routes. Tokens come from a YAML file; comparison is
// constant-time over SHA-256 digests (so token length leaks nothing); tokens are never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { apiError } from './errors.ts';

export const ROLES = ['admin', 'qe', 'ci'] as const;
export type Role = (typeof ROLES)[number];

const str = { required_error: 'is required', invalid_type_error: 'must be a string' };
const role = z.enum(ROLES, {
  errorMap: (i) => ({ message: `must be one of ${ROLES.join(', ')}${i.code === 'invalid_enum_value' ? ` (got ${JSON.stringify(i.received)})` : ''}` }),
});
const TokensSchema = z.array(
  z
    .object(
      {
        user: z.string(str).min(1, 'must not be empty'),
        token: z.string(str).min(16, 'must be at least 16 characters'),
        roles: z.array(role, { required_error: 'is required', invalid_type_error: 'must be a list of roles' }).nonempty('must list at least one role'),
      },
      { invalid_type_error: 'must be a mapping with user, token and roles' },
    )
    .strict(),
  { invalid_type_error: 'must be a list of {user, token, roles}' },
);

export interface TokenEntry {
  user: string;
  token: string;
  roles: Role[];
}

export function parseTokens(text: string, file: string): TokenEntry[] {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: (root): invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const r = TokensSchema.safeParse(doc.toJS() ?? []);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.code === 'unrecognized_keys' ? `unknown field ${i.keys.join(', ')}` : i.message}`);
  }
  const seen = new Set<string>();
  r.data.forEach((t, i) => {
    if (seen.has(t.token)) throw new Error(`${file}: ${i}.token: the same token is listed twice`);
    seen.add(t.token);
  });
  return r.data.map((t) => ({ user: t.user, token: t.token, roles: [...t.roles] }));
}

export function loadTokensFile(path: string): TokenEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${path}: (root): cannot read the tokens file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseTokens(text, path);
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export interface Principal {
  user: string;
  roles: Role[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export class Authenticator {
  private entries: { digest: Buffer; user: string; roles: Role[] }[] = [];
  constructor(tokens: TokenEntry[]) {
    this.setTokens(tokens);
  }

  /** Replaces the token list (a reload of the tokens file); requests from now on use the new list. */
  setTokens(tokens: TokenEntry[]): void {
    this.entries = tokens.map((t) => ({ digest: digest(t.token), user: t.user, roles: [...t.roles] }));
  }

  identify(header: string | undefined): Principal | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return null;
    const d = digest(m[1]);
    let found: Principal | null = null;
    // compare against every entry so timing does not depend on which one matches
    for (const e of this.entries) if (timingSafeEqual(d, e.digest)) found = { user: e.user, roles: e.roles };
    return found;
  }

  /** onRequest hook: 401 without a valid token, 403 without one of the roles. */
  require(...roles: Role[]) {
    return async (req: FastifyRequest, _reply: FastifyReply) => {
      const header = req.headers.authorization;
      if (!header) throw apiError(401, 'authentication required: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer' });
      const p = this.identify(header);
      if (!p) throw apiError(401, 'invalid token', { 'www-authenticate': 'Bearer error="invalid_token"' });
      if (!p.roles.some((r) => roles.includes(r))) throw apiError(403, `user ${p.user} lacks a required role (${roles.join(' or ')})`);
      req.principal = p;
    };
  }
}
