// The web console's pages, assets and sign-in (docs/console.md). Pages are one HTML shell whose
// script routes by path (History API); assets ship in the package (web/console/static and the
// compiled dist/web/console), nothing is fetched from elsewhere. With LOOKOUT_API_TOKENS set, a
// page without a session redirects to /login, where a viewer or operator token buys an HttpOnly,
// SameSite=Strict session cookie.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { packageRoot } from '../../config/paths.js';
import { sameOrigin, SESSION_COOKIE, SESSION_TTL_MS, sessionScopes, tokenScopes, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { errorResponses, NoQuery } from '../schemas.js';

/** Paths the console answers with its page (the script picks the view). */
export const CONSOLE_PAGES = ['/', '/alerts/:id', '/silences', '/entities/:id', '/campaigns/:id'] as const;

const STATIC_DIR = join(packageRoot(), 'web', 'console', 'static');
const SCRIPT_DIR = join(packageRoot(), 'dist', 'web', 'console');

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

// Everything the page loads comes from this server; inline styles are for the chart's SVG attributes only.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function shell(locale: 'zh' | 'en'): string {
  const file = join(STATIC_DIR, 'index.html');
  return readFileSync(file, 'utf8').replaceAll('{{lang}}', locale === 'zh' ? 'zh-CN' : 'en').replaceAll('{{locale}}', locale);
}

/** Scopes that may sign in (ingest tokens only post data). */
const CAN_SIGN_IN = ['operator', 'viewer'] as const;

/** Pages and assets answer HTML, CSS or JS; errors have the API's shape. */
const page_ = { tags: ['console'], response: { ...errorResponses } };

const LoginBody = z.object({ token: z.string().min(1).max(500) });

export function consoleRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { config } = deps;
  const auth = tokens.size > 0;
  const secure = config.publicUrl.startsWith('https:');
  let cached: string | undefined;
  const page = () => (cached ??= shell(config.locale));

  const signedIn = (request: FastifyRequest) => !auth || (sessionScopes(tokens, request)?.some((s) => (CAN_SIGN_IN as readonly string[]).includes(s)) ?? false);
  const html = (reply: FastifyReply) => reply.header('content-security-policy', CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page());

  for (const path of CONSOLE_PAGES) {
    app.get(path, { schema: { ...page_, summary: `Console page ${path} (HTML; without a session when sign-in is on: 302 to /login)` } }, async (request, reply) => {
      if (!signedIn(request)) {
        const next = request.url.startsWith('/') && !request.url.startsWith('//') ? request.url : '/';
        return reply.redirect(`/login?next=${encodeURIComponent(next)}`, 302);
      }
      return html(reply);
    });
  }

  app.get('/login', { schema: { ...page_, summary: 'Console sign-in page (HTML; 302 to / when LOOKOUT_API_TOKENS is unset)' } }, async (request, reply) => {
    if (!auth) return reply.redirect('/', 302);
    return html(reply);
  });

  app.post(
    '/login',
    { schema: { tags: ['console'], summary: 'Sign in to the console with a viewer or operator token (sets the session cookie)', querystring: NoQuery, body: LoginBody, response: { 200: z.object({ scopes: z.array(z.string()) }), ...errorResponses } } },
    async (request, reply) => {
      if (!auth) throw new HttpError(409, 'conflict', 'LOOKOUT_API_TOKENS is not set: the console needs no sign-in');
      if (request.headers.origin !== undefined && !sameOrigin(request, tokens.publicUrl)) {
        throw new HttpError(403, 'forbidden', 'sign in from the console itself (Origin header does not match)');
      }
      const scopes = tokenScopes(tokens, request.body.token.trim());
      if (!scopes) throw new HttpError(401, 'unauthorized', 'unknown token');
      if (!scopes.some((s) => (CAN_SIGN_IN as readonly string[]).includes(s))) {
        throw new HttpError(403, 'forbidden', 'an ingest token cannot sign in; use a viewer or operator token');
      }
      const session = tokens.sessions.issue(request.body.token.trim());
      const cookie = [`${SESSION_COOKIE}=${session.value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`, ...(secure ? ['Secure'] : [])];
      return reply.header('set-cookie', cookie.join('; ')).header('cache-control', 'no-store').send({ scopes: [...scopes] });
    },
  );

  fastify.post('/logout', { schema: { ...page_, summary: 'End the console session (clears the cookie)', querystring: NoQuery } }, async (_request, reply) => {
    return reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`).code(204).send();
  });

  app.get(
    '/api/v1/console/session',
    {
      schema: {
        tags: ['console'],
        summary: 'What the console needs first: server clock, locale, whether sign-in is on and what this session may do (no token needed)',
        querystring: NoQuery,
        response: {
          200: z.object({ now: z.number(), locale: z.enum(['zh', 'en']), timeZone: z.string(), auth: z.boolean(), signedIn: z.boolean(), scopes: z.array(z.string()), canAct: z.boolean(), publicUrl: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const scopes = auth ? [...(sessionScopes(tokens, request) ?? [])] : ['operator'];
      return {
        now: deps.clock.now(),
        locale: config.locale,
        timeZone: config.timeZone,
        auth,
        signedIn: signedIn(request),
        scopes,
        canAct: scopes.includes('operator'),
        publicUrl: config.publicUrl,
      };
    },
  );

  // Assets: the stylesheet from web/console/static, the compiled scripts from dist/web/console.
  const asset = async (rel: string, reply: FastifyReply) => {
    const ext = rel.slice(rel.lastIndexOf('.'));
    const type = TYPES[ext];
    const dir = ext === '.js' || ext === '.map' ? SCRIPT_DIR : STATIC_DIR;
    const file = join(dir, rel);
    if (!type || !/^(?:views\/)?[\w.-]+$/.test(rel) || rel.includes('..') || !existsSync(file)) {
      const hint = ext === '.js' ? ' (run `npm run build` to compile the console)' : '';
      throw new HttpError(404, 'not_found', `no console asset ${JSON.stringify(rel.slice(0, 100))}${hint}`);
    }
    return reply.type(type).header('cache-control', 'no-cache').send(readFileSync(file));
  };
  const assetSchema = { ...page_, summary: 'Console assets: scripts and stylesheet (public: they hold no data)', querystring: NoQuery };
  fastify.get('/console/:file', { schema: assetSchema }, async (request, reply) => asset((request.params as { file: string }).file, reply));
  fastify.get('/console/views/:file', { schema: assetSchema }, async (request, reply) => asset(`views/${(request.params as { file: string }).file}`, reply));
}
