// Notification records (who was told what, on which channel, and what became of it) and the
// callbacks of HTTP SMS gateways: inbound replies (acks) and delivery receipts.

import type { FastifyInstance } from 'fastify';
import { NOTIFICATION_STATES } from '../../notify/records.js';
import { CHANNEL_NAMES } from '../../route/types.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { fromStore, HttpError } from '../errors.js';

const RECEIPT_STATUSES = ['delivered', 'failed', 'expired', 'rejected', 'unknown'] as const;

export function notificationsRoutes(app: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const operator = requireScope(tokens, ['operator']);
  const gateway = requireScope(tokens, ['ingest', 'operator']);
  const need = <T>(v: T | undefined): T => {
    if (!v) throw new HttpError(503, 'not_ready', 'the notifier does not run in this process (role worker)');
    return v;
  };

  app.get(
    '/api/v1/notifications',
    {
      onRequest: operator,
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...NOTIFICATION_STATES] },
            alert: { type: 'string', minLength: 1 },
            contact: { type: 'string', minLength: 1 },
            channel: { type: 'string', enum: [...CHANNEL_NAMES] },
            limit: { type: 'integer', minimum: 1, maximum: 5000 },
          },
        },
      },
    },
    async (request) => {
      const store = need(deps.notifications);
      const q = request.query as Parameters<typeof store.list>[0];
      return { notifications: await fromStore(store.list(q), 'the notification store') };
    },
  );

  app.get('/api/v1/notifications/:id', { onRequest: operator, schema: { params: { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } } }, async (request) => {
    const { id } = request.params as { id: string };
    const n = await fromStore(need(deps.notifications).get(id), 'the notification store');
    if (!n) throw new HttpError(404, 'not_found', `no notification ${JSON.stringify(id)}`);
    return { notification: n };
  });

  app.post(
    '/api/v1/sms/inbound',
    {
      onRequest: gateway,
      schema: {
        body: {
          type: 'object',
          required: ['from', 'text'],
          properties: { from: { type: 'string', minLength: 3, maxLength: 32 }, text: { type: 'string', maxLength: 1000 } },
        },
      },
    },
    async (request) => {
      const { from, text } = request.body as { from: string; text: string };
      return await fromStore(need(deps.sms).reply({ from, text, via: 'http' }), 'the notifier');
    },
  );

  app.post(
    '/api/v1/sms/receipts',
    {
      onRequest: gateway,
      schema: {
        body: {
          type: 'object',
          required: ['id', 'status'],
          properties: {
            id: { type: 'string', minLength: 1, maxLength: 200 },
            status: { type: 'string', enum: [...RECEIPT_STATUSES] },
            stat: { type: 'string', maxLength: 40 },
            err: { type: 'string', maxLength: 40 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body as { id: string; status: (typeof RECEIPT_STATUSES)[number]; stat?: string; err?: string };
      await fromStore(need(deps.sms).receipt({ providerId: b.id, status: b.status, stat: b.stat ?? b.status.toUpperCase(), err: b.err }), 'the notifier');
      return reply.code(202).send({ ok: true });
    },
  );
}
