// Notification records (who was told what, on which channel, and what became of it) and the
// callbacks of HTTP SMS gateways: inbound replies (acks) and delivery receipts.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NOTIFICATION_STATES } from '../../domain/notification.js';
import { CHANNEL_NAMES } from '../../domain/notification.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { found, fromStore, HttpError } from '../errors.js';
import { pageBody, paginate } from '../paging.js';
import { errorResponses, IdParams, Item, listResponse, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

const RECEIPT_STATUSES = ['delivered', 'failed', 'expired', 'rejected', 'unknown'] as const;
/** The store scans at most this many newest records per request; paging walks within them. */
export const NOTIFICATION_WINDOW = 5000;

const ListQuery = z.strictObject({
  state: z.enum(NOTIFICATION_STATES).optional(),
  alert: z.string().min(1).optional(),
  contact: z.string().min(1).optional(),
  channel: z.enum(CHANNEL_NAMES).optional(),
  ...pageQuery,
});

export function notificationsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);
  const gateway = requireScope(tokens, ['ingest', 'operator']);
  const need = <T>(v: T | undefined): T => {
    if (!v) throw new HttpError(503, 'not_ready', 'the notifier does not run in this process (role worker)');
    return v;
  };
  const base = { tags: ['notifications'], security: operatorSecurity };

  app.get(
    '/api/v1/notifications',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: `List notification records, newest first (among the newest ${NOTIFICATION_WINDOW} matching)`,
        querystring: ListQuery,
        response: { 200: listResponse('notifications'), ...errorResponses },
      },
    },
    async (request) => {
      const store = need(deps.notifications);
      const { limit, cursor, ...filter } = request.query;
      const all = await fromStore(store.list({ ...filter, limit: NOTIFICATION_WINDOW }), 'the notification store');
      const page = paginate(all, { key: (n) => [n.createdAt, n.id], shape: ['number', 'string'], descending: [true, false], limit, cursor });
      return pageBody('notifications', page);
    },
  );

  app.get(
    '/api/v1/notifications/:id',
    { onRequest: operator, schema: { ...base, summary: 'One notification record', params: IdParams, querystring: NoQuery, response: { 200: z.object({ notification: Item }), ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      const n = found(await fromStore(need(deps.notifications).get(id), 'the notification store'), 'notification', id);
      return { notification: n };
    },
  );

  app.post(
    '/api/v1/sms/inbound',
    {
      onRequest: gateway,
      schema: {
        tags: ['sms gateway'],
        security: operatorSecurity,
        summary: 'An SMS reply from a contact (token scope ingest or operator)',
        querystring: NoQuery,
        body: z.object({ from: z.string().min(3).max(32), text: z.string().max(1000) }),
        response: { 200: Item, ...errorResponses },
      },
    },
    async (request) => {
      const { from, text } = request.body;
      return await fromStore(need(deps.sms).reply({ from, text, via: 'http' }), 'the notifier');
    },
  );

  app.post(
    '/api/v1/sms/receipts',
    {
      onRequest: gateway,
      schema: {
        tags: ['sms gateway'],
        security: operatorSecurity,
        summary: 'A delivery receipt (token scope ingest or operator)',
        querystring: NoQuery,
        body: z.object({
          id: z.string().min(1).max(200),
          status: z.enum(RECEIPT_STATUSES),
          stat: z.string().max(40).optional(),
          err: z.string().max(40).optional(),
        }),
        response: { 202: z.object({ ok: z.literal(true) }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const b = request.body;
      await fromStore(need(deps.sms).receipt({ providerId: b.id, status: b.status, stat: b.stat ?? b.status.toUpperCase(), err: b.err }), 'the notifier');
      return reply.code(202).send({ ok: true as const });
    },
  );
}
