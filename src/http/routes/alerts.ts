// Alerts API: list with filters, get one, acknowledge (via = 'api').

import type { FastifyInstance } from 'fastify';
import { ALERT_STATES } from '../../domain/alert.js';
import type { AlertFilter } from '../../state/ports.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { fromStore, HttpError } from '../errors.js';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

export function alertsRoutes(app: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const operator = requireScope(tokens, ['operator']);

  app.get(
    '/api/v1/alerts',
    {
      onRequest: operator,
      schema: {
        querystring: {
          type: 'object',
          properties: {
            state: { type: 'string', enum: [...ALERT_STATES] },
            rule: { type: 'string', minLength: 1 },
            entity: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    async (request) => {
      const filter = request.query as AlertFilter;
      return { alerts: await fromStore(deps.alerts.list(filter), 'the alert store') };
    },
  );

  app.get('/api/v1/alerts/:id', { onRequest: operator, schema: { params: idParams } }, async (request) => {
    const { id } = request.params as { id: string };
    const alert = await fromStore(deps.alerts.get(id), 'the alert store');
    if (!alert) throw new HttpError(404, 'not_found', `no alert ${JSON.stringify(id)}`);
    return { alert };
  });

  app.post(
    '/api/v1/alerts/:id/ack',
    {
      onRequest: operator,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          required: ['by'],
          properties: { by: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } },
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const { by } = request.body as { by: string };
      const result = await fromStore(deps.alerts.ack(id, by.trim(), 'api', deps.clock.now()), 'the alert store');
      if (result.ok) return { alert: result.alert };
      if (result.code === 'not_found') throw new HttpError(404, 'not_found', `no alert ${JSON.stringify(id)}`);
      const state = result.alert?.state ?? 'not firing';
      throw new HttpError(409, 'not_ackable', `alert ${id} is ${state}; only a firing alert can be acknowledged`);
    },
  );
}
