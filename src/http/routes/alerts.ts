// Alerts API: list with filters, get one, acknowledge (via = 'api').

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALERT_STATES } from '../../domain/alert.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { fromStore, HttpError } from '../errors.js';
import { paginate } from '../paging.js';
import { errorResponses, IdParams, Item, listResponse, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

const ListQuery = z.strictObject({
  state: z.enum(ALERT_STATES).optional(),
  rule: z.string().min(1).optional(),
  entity: z.string().min(1).optional(),
  ...pageQuery,
});
const One = z.object({ alert: Item });
const base = { tags: ['alerts'], security: operatorSecurity };

export function alertsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);

  app.get(
    '/api/v1/alerts',
    {
      onRequest: operator,
      schema: { ...base, summary: 'List alerts, newest change first; filters combine with paging', querystring: ListQuery, response: { 200: listResponse('alerts'), ...errorResponses } },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      const all = await fromStore(deps.alerts.list(filter), 'the alert store');
      const page = paginate(all, { key: (a) => [a.updatedAt, a.id], shape: ['number', 'string'], descending: [true, false], limit, cursor });
      return { alerts: page.items, ...(page.next !== undefined && { next: page.next }) };
    },
  );

  app.get(
    '/api/v1/alerts/:id',
    { onRequest: operator, schema: { ...base, summary: 'One alert', params: IdParams, querystring: NoQuery, response: { 200: One, ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      const alert = await fromStore(deps.alerts.get(id), 'the alert store');
      if (!alert) throw new HttpError(404, 'not_found', `no alert ${JSON.stringify(id)}`);
      return { alert };
    },
  );

  app.post(
    '/api/v1/alerts/:id/ack',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: 'Acknowledge a firing alert (stops its escalation)',
        params: IdParams,
        querystring: NoQuery,
        body: z.object({ by: z.string().min(1).max(200).regex(/\S/) }),
        response: { 200: One, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { by } = request.body;
      const result = await fromStore(deps.alerts.ack(id, by.trim(), 'api', deps.clock.now()), 'the alert store');
      if (result.ok) return { alert: result.alert };
      if (result.code === 'not_found') throw new HttpError(404, 'not_found', `no alert ${JSON.stringify(id)}`);
      const state = result.alert?.state ?? 'not firing';
      throw new HttpError(409, 'not_ackable', `alert ${id} is ${state}; only a firing alert can be acknowledged`);
    },
  );
}
