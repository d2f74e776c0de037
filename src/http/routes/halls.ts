// Own halls' monthly SMS-satisfaction ranking per grade (docs/duties.md): JSON or HTML, and a
// manual (re-)send of the monthly email. Operator scope.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DutiesApi } from '../../duties/index.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { ConfigError } from '../../errors/catalogue.js';
import { HttpError } from '../errors.js';
import { errorResponses, Item, NoQuery, operatorSecurity, Text } from '../schemas.js';

const WHAT = 'the satisfaction report';

/** Redis trouble is 503 (retry later); a message template broken since start-up is a 500 naming it. */
async function run<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof ConfigError) throw new HttpError(500, 'internal_error', err.format(), undefined, { cause: err });
    throw new HttpError(503, 'not_ready', `${WHAT} is unavailable (Redis unreachable?); retry later`, undefined, { cause: err });
  }
}
const MONTH = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
const base = { tags: ['reports'], security: operatorSecurity };

export function hallsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);
  const dutiesApi = (): DutiesApi => {
    if (!deps.duties) throw new HttpError(503, 'not_ready', 'reports are not available in this process');
    return deps.duties;
  };

  app.get(
    '/api/v1/reports/halls/satisfaction',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: "Own halls' monthly SMS-satisfaction ranking per grade (default: last complete month)",
        querystring: z.strictObject({ month: z.string().regex(MONTH).optional(), format: z.enum(['json', 'html']).optional() }),
        response: { 200: z.union([z.object({ ranking: Item }), Text]), ...errorResponses },
      },
    },
    async (request, reply) => {
      const duties = dutiesApi();
      const q = request.query;
      const res = await run(duties.ranking(q.month ?? duties.defaultMonth()));
      if (!res.ok) throw new HttpError(400, 'bad_request', res.message);
      if (q.format === 'html') return reply.type('text/html; charset=utf-8').send(await run(Promise.resolve().then(() => duties.rankingHtml(res.ranking))));
      return { ranking: res.ranking };
    },
  );

  app.post(
    '/api/v1/reports/halls/satisfaction/send',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: 'Send the monthly ranking email now (body {"month": "YYYY-MM"} optional)',
        querystring: NoQuery,
        body: z.unknown().describe('{"month": "YYYY-MM"} or no body'),
        response: { 202: Item, ...errorResponses },
      },
    },
    async (request, reply) => {
      const duties = dutiesApi();
      // The body is optional ({"month": "YYYY-MM"}); without one, the last complete month.
      const body: unknown = request.body ?? {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'bad_request', 'expected a JSON object {"month": "YYYY-MM"} or no body');
      const { month, ...rest } = body as { month?: unknown };
      if (Object.keys(rest).length) throw new HttpError(400, 'bad_request', `${Object.keys(rest)[0]}: unknown field (expected month)`);
      if (month !== undefined && (typeof month !== 'string' || !MONTH.test(month))) throw new HttpError(400, 'bad_request', 'month: expected YYYY-MM');
      const res = await run(duties.sendRanking((month as string | undefined) ?? duties.defaultMonth()));
      if ('error' in res) throw new HttpError(400, 'bad_request', res.error);
      return reply.code(202).send(res);
    },
  );
}
