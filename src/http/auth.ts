// Auth for /api/v1 (LOOKOUT_API_TOKENS): a bearer token, or the console's session cookie that a
// token sign-in at /login gives. Tokens are compared as SHA-256 digests so a lookup does not leak
// timing about the secret, and they are never logged.
//
// Scopes: ingest (samples, entities), operator (read and act), viewer (read only). A route that
// allows operators also allows viewers on GET/HEAD: viewers read what operators read, never act.
// A cookie-authorised request that changes state must come from our own origin (CSRF: the cookie
// is SameSite=Strict, and the Origin header is checked on top).

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { TokenScope } from '../config/env.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { errorBody } from './errors.js';

export const SESSION_COOKIE = 'lookout_session';
/** How long a console session lasts after sign-in. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface TokenIndex extends ReadonlyMap<string, readonly TokenScope[]> {
  /** Sessions: signed cookies naming a token by a keyed digest (never the token itself). */
  readonly sessions: SessionCodec;
  /** LOOKOUT_PUBLIC_URL: an Origin naming it is our own (besides the request's Host). */
  readonly publicUrl?: string;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Signs and checks session cookies; the key derives from every configured token (and the link secret). */
export class SessionCodec {
  private readonly key: Buffer;
  private readonly byTokenId = new Map<string, readonly TokenScope[]>();

  constructor(
    tokens: ReadonlyMap<string, readonly TokenScope[]>,
    private readonly clock: Clock,
    secret = '',
  ) {
    const h = createHash('sha256').update('lookout-session\0').update(secret);
    for (const t of [...tokens.keys()].sort()) h.update('\0').update(t);
    this.key = h.digest();
    for (const [token, scopes] of tokens) this.byTokenId.set(this.tokenId(token), scopes);
  }

  private tokenId(token: string): string {
    return createHmac('sha256', this.key).update(`id\0${token}`).digest('base64url').slice(0, 22);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(`session\0${body}`).digest('base64url');
  }

  /** A cookie value for a sign-in with `token` (the caller checked the token's scopes). */
  issue(token: string): { value: string; expiresAt: number } {
    const expiresAt = this.clock.now() + SESSION_TTL_MS;
    const body = `v1.${expiresAt.toString(36)}.${this.tokenId(token)}`;
    return { value: `${body}.${this.sign(body)}`, expiresAt };
  }

  /** The scopes of a valid, unexpired session whose token is still configured. */
  scopes(value: string | undefined): readonly TokenScope[] | undefined {
    if (!value) return undefined;
    const parts = value.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') return undefined;
    const body = parts.slice(0, 3).join('.');
    const want = Buffer.from(this.sign(body));
    const got = Buffer.from(parts[3]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    if (!(parseInt(parts[1]!, 36) > this.clock.now())) return undefined;
    return this.byTokenId.get(parts[2]!);
  }
}

export function tokenIndex(tokens: ReadonlyMap<string, readonly TokenScope[]>, opts: { clock?: Clock; secret?: string; publicUrl?: string } = {}): TokenIndex {
  const out = new Map<string, readonly TokenScope[]>();
  for (const [token, scopes] of tokens) out.set(digest(token), scopes);
  const sessions = new SessionCodec(tokens, opts.clock ?? systemClock, opts.secret);
  return Object.assign(out, { sessions, publicUrl: opts.publicUrl });
}

/** The scopes of a token (undefined: not a configured token). */
export function tokenScopes(index: TokenIndex, token: string): readonly TokenScope[] | undefined {
  return index.get(digest(token));
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(space + 1).trim();
  return token === '' ? undefined : token;
}

/** One cookie of a `Cookie:` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The scopes of the console session a request carries, if any. */
export function sessionScopes(index: TokenIndex, request: FastifyRequest): readonly TokenScope[] | undefined {
  return index.sessions.scopes(cookieValue(request.headers.cookie, SESSION_COOKIE));
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Does the request's Origin name this server (its Host, or LOOKOUT_PUBLIC_URL)? */
export function sameOrigin(request: FastifyRequest, publicUrl?: string): boolean {
  const origin = request.headers.origin;
  if (!origin || origin === 'null') return false;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  if (host === request.headers.host) return true;
  try {
    return publicUrl !== undefined && host === new URL(publicUrl).host;
  } catch {
    return false;
  }
}

/** Scopes `allowed` grant on this method: viewers may read wherever operators may. */
function grants(scopes: readonly TokenScope[], allowed: readonly TokenScope[], method: string): boolean {
  if (allowed.some((s) => scopes.includes(s))) return true;
  return SAFE_METHODS.has(method) && allowed.includes('operator') && scopes.includes('viewer');
}

/**
 * An onRequest hook (runs before the body is read) allowing a bearer token or a console session
 * holding any of `allowed`.
 */
export function requireScope(index: TokenIndex, allowed: readonly TokenScope[]): onRequestHookHandler {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (index.size === 0) return done();
    const token = bearerToken(request.headers.authorization);
    let scopes = token === undefined ? undefined : index.get(digest(token));
    if (token === undefined) {
      scopes = sessionScopes(index, request);
      if (scopes && !SAFE_METHODS.has(request.method) && !sameOrigin(request, index.publicUrl)) {
        void reply.code(403).send(errorBody('forbidden', 'a signed-in change must come from the console itself (Origin header does not match)'));
        return;
      }
    }
    if (!scopes) {
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="lookout"')
        .send(errorBody('unauthorized', token === undefined ? 'missing Authorization: Bearer <token> (LOOKOUT_API_TOKENS) or a console session' : 'unknown token'));
      return;
    }
    if (!grants(scopes, allowed, request.method)) {
      void reply.code(403).send(errorBody('forbidden', `this endpoint needs a token with scope ${allowed.join(' or ')}`));
      return;
    }
    done();
  };
}
