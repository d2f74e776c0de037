// Own halls' monthly SMS-satisfaction ranking per grade (docs/duties.md): JSON or HTML, and a
// manual (re-)send of the monthly email. Operator scope.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DutiesApi } from '../../duties/index.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { dutiesOf, dutyWork } from '../duties.js';
import { errorResponses, Item, NoQuery, operatorSecurity, Text } from '../schemas.js';

const WHAT = 'the satisfaction report';
const MONTH = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
const base = { tags: ['reports'], security: operatorSecurity };

export function hallsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);
  const channelDuties = (): DutiesApi => dutiesOf(deps, 'reports');
  const run = <T>(work: Promise<T>): Promise<T> => dutyWork(work, WHAT);

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
      const duties = channelDuties();
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
      const duties = channelDuties();
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
