// Bearer-token auth for /api/v1 (LOOKOUT_API_TOKENS). Tokens are compared as SHA-256 digests so a
// lookup does not leak timing about the secret, and they are never logged.

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { TokenScope } from '../config/env.js';
import { errorBody } from './errors.js';

export type TokenIndex = ReadonlyMap<string, readonly TokenScope[]>;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function tokenIndex(tokens: ReadonlyMap<string, readonly TokenScope[]>): TokenIndex {
  const out = new Map<string, readonly TokenScope[]>();
  for (const [token, scopes] of tokens) out.set(digest(token), scopes);
  return out;
}

/** The token of an `Authorization: Bearer <token>` header, if any. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const token = header.slice(space + 1).trim();
  return token === '' ? undefined : token;
}

/** An onRequest hook (runs before the body is read) allowing tokens holding any of `allowed`. */
export function requireScope(index: TokenIndex, allowed: readonly TokenScope[]): onRequestHookHandler {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    if (index.size === 0) return done();
    const token = bearerToken(request.headers.authorization);
    const scopes = token === undefined ? undefined : index.get(digest(token));
    if (!scopes) {
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="lookout"')
        .send(errorBody('unauthorized', token === undefined ? 'missing Authorization: Bearer <token> (LOOKOUT_API_TOKENS)' : 'unknown token'));
      return;
    }
    if (!allowed.some((s) => scopes.includes(s))) {
      void reply.code(403).send(errorBody('forbidden', `this endpoint needs a token with scope ${allowed.join(' or ')}`));
      return;
    }
    done();
  };
}
