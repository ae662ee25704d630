// Bearer-token authentication for write routes. Tokens come from a YAML file; comparison is
// constant-time over SHA-256 digests (so token length leaks nothing); tokens are never logged.
//
// Tokens file: a YAML list of `{ user, token, roles: [admin | qe | ci | <team>] }` (a team name
// role may set that team's approvals). `token` is either the
// token itself (at least 16 characters) or its hash, `sha256:<64 hex digits>` (the SHA-256 of the
// token's UTF-8 bytes, as `release-controller token hash` prints it), so the file need not hold the
// secret. A value starting with `sha256:` is always read as a hash.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { RESERVED_TEAMS, TEAM_NAME } from '../domain/approvals.ts';
import { apiError } from './errors.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

export const ROLES = ['admin', 'qe', 'ci'] as const;
export type Role = (typeof ROLES)[number];

const str = { required_error: 'is required', invalid_type_error: 'must be a string' };
const HASH_PREFIX = 'sha256:';
const HASH = /^sha256:[0-9a-fA-F]{64}$/;
const tokenField = z
  .string(str)
  .superRefine((t, ctx) => {
    if (t.startsWith(HASH_PREFIX)) {
      if (!HASH.test(t)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `a token hash must be sha256: followed by 64 hex digits (got ${t.length - HASH_PREFIX.length} characters after sha256:)` });
    } else if (t.length < 16) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be at least 16 characters' });
  });
/** A role: a built-in one, or a team name (it may set that team's approvals, issue 16 item 6). */
const role = z.string({ invalid_type_error: 'must be a role name' }).superRefine((r, ctx) => {
  if ((ROLES as readonly string[]).includes(r) || (TEAM_NAME.test(r) && !RESERVED_TEAMS.includes(r))) return;
  ctx.addIssue({ code: z.ZodIssueCode.custom, message: `must be one of ${ROLES.join(', ')} or a team name (lowercase letters, digits and '-') (got ${JSON.stringify(r)})` });
});
const TokensSchema = z.array(
  z
    .object(
      {
        user: z.string(str).min(1, 'must not be empty'),
        token: tokenField,
        roles: z.array(role, { required_error: 'is required', invalid_type_error: 'must be a list of roles' }).nonempty('must list at least one role'),
      },
      { invalid_type_error: 'must be a mapping with user, token and roles' },
    )
    .strict(),
  { invalid_type_error: 'must be a list of {user, token, roles}' },
);

export interface TokenEntry {
  user: string;
  /** the token, or its hash `sha256:<hex>` */
  token: string;
  /** built-in roles (Role) and team names */
  roles: string[];
}

/** The SHA-256 digest a token entry stands for (of the token, or the hash it holds). */
function entryDigest(token: string): Buffer {
  return HASH.test(token) ? Buffer.from(token.slice(HASH_PREFIX.length), 'hex') : digest(token);
}

/** The tokens-file form of a token's hash: `sha256:<hex>`. */
export function hashToken(token: string): string {
  return HASH_PREFIX + digest(token).toString('hex');
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
    // a token and its hash are the same token
    const d = entryDigest(t.token).toString('hex');
    if (seen.has(d)) throw new Error(`${file}: ${i}.token: the same token is listed twice`);
    seen.add(d);
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


export interface Principal {
  user: string;
  /** built-in roles (Role) and team names */
  roles: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export class Authenticator {
  private entries: { digest: Buffer; user: string; roles: string[] }[] = [];
  constructor(tokens: TokenEntry[]) {
    this.setTokens(tokens);
  }

  /** Replaces the token list (a reload of the tokens file); requests from now on use the new list. */
  setTokens(tokens: TokenEntry[]): void {
    this.entries = tokens.map((t) => ({ digest: entryDigest(t.token), user: t.user, roles: [...t.roles] }));
  }

  /** The principal of an `Authorization: Bearer <token>` header, or null. */
  identify(header: string | undefined): Principal | null {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!m) return null;
    return this.identifyToken(m[1]);
  }

  /**
   * Like identify(), and also HTTP Basic credentials whose password is a token (the user name is
   * ignored): what a browser sends after a `WWW-Authenticate: Basic` challenge (serve --private-logs).
   */
  identifyAny(header: string | undefined): Principal | null {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!m) return this.identify(header);
    const creds = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = creds.indexOf(':');
    return colon < 0 ? null : this.identifyToken(creds.slice(colon + 1));
  }

  private identifyToken(token: string): Principal | null {
    if (token === '') return null;
    const d = digest(token);
    let found: Principal | null = null;
    // compare against every entry so timing does not depend on which one matches
    for (const e of this.entries) if (timingSafeEqual(d, e.digest)) found = { user: e.user, roles: e.roles };
    return found;
  }

  /** onRequest hook: 401 without a valid token, 403 without one of the roles. */
  require(...roles: Role[]) {
    return async (req: FastifyRequest, _reply: FastifyReply) => {
      const p = this.authenticate(req);
      Authenticator.check(p, roles);
      req.principal = p;
    };
  }

  /**
   * onRequest hook: 401 without a valid token; the handler checks the roles its request needs with
   * check() (a team approval: admin or the team named in the body).
   */
  authenticated() {
    return async (req: FastifyRequest, _reply: FastifyReply) => {
      req.principal = this.authenticate(req);
    };
  }

  /** 403 unless the principal has one of the roles (built-in roles or team names). */
  static check(p: Principal, roles: readonly string[]): void {
    if (!p.roles.some((r) => roles.includes(r))) throw apiError(403, `user ${p.user} lacks a required role (${roles.join(' or ')})`);
  }

  private authenticate(req: FastifyRequest): Principal {
    const header = req.headers.authorization;
    if (!header) throw apiError(401, 'authentication required: send Authorization: Bearer <token>', { 'www-authenticate': 'Bearer' });
    const p = this.identify(header);
    if (!p) throw apiError(401, 'invalid token', { 'www-authenticate': 'Bearer error="invalid_token"' });
    return p;
  }
}
