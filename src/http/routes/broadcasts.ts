// Broadcasts (集群短信下行): one SMS to the managers of every channel a selector matches, rate-
// limited, with a per-recipient record and a summary (docs/duties.md). Operator scope.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseBroadcastRequest } from '../../duties/broadcast.js';
import type { DutiesApi } from '../../duties/index.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { found, HttpError } from '../errors.js';
import { dutiesOf, dutyWork } from '../duties.js';
import { pageBody, paginate } from '../paging.js';
import { errorResponses, IdParams, Item, listResponse, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

const WHAT = 'the broadcast store';
/** Paging walks the newest this many broadcasts (they are manual, so few). */
export const BROADCAST_WINDOW = 10_000;
const base = { tags: ['broadcasts'], security: operatorSecurity };

export function broadcastsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);
  const channelDuties = (): DutiesApi => dutiesOf(deps, 'broadcasts');
  const run = <T>(work: Promise<T>): Promise<T> => dutyWork(work, WHAT);

  app.post(
    '/api/v1/broadcasts',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: 'Send (or preview with dry_run) one SMS to the managers of the channels a selector matches',
        querystring: NoQuery,
        body: z.unknown().describe('a broadcast request as in docs/duties.md; checked by the broadcast parser, which names the bad field'),
        response: { 200: z.union([z.object({ broadcast: Item }), z.object({ preview: Item })]), 202: z.object({ broadcast: Item }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const duties = channelDuties();
      const parsed = parseBroadcastRequest(request.body);
      if (!parsed.ok) throw new HttpError(400, 'bad_request', parsed.message);
      const out = await run(duties.createBroadcast(parsed.value));
      switch (out.status) {
        case 'created':
          return reply.code(202).send({ broadcast: out.broadcast });
        case 'existing':
          return reply.code(200).send({ broadcast: out.broadcast });
        case 'dry_run':
          return reply.code(200).send({ preview: out.preview });
        case 'empty':
          throw new HttpError(422, 'empty_broadcast', `nobody to send to: ${out.message}`, out.preview.unreachableEntities);
        case 'conflict':
          throw new HttpError(409, 'conflict', out.message);
      }
    },
  );

  app.get(
    '/api/v1/broadcasts',
    {
      onRequest: operator,
      schema: { ...base, summary: 'Broadcast summaries, newest first', querystring: z.strictObject(pageQuery), response: { 200: listResponse('broadcasts'), ...errorResponses } },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const all = await run(channelDuties().broadcasts(BROADCAST_WINDOW));
      const page = paginate(all, { key: (b) => [b.createdAt, b.id], shape: ['number', 'string'], descending: [true, false], limit, cursor });
      return pageBody('broadcasts', page);
    },
  );

  app.get(
    '/api/v1/broadcasts/:id',
    { onRequest: operator, schema: { ...base, summary: 'One broadcast with per-recipient states', params: IdParams, querystring: NoQuery, response: { 200: z.object({ broadcast: Item }), ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      const b = found(await run(channelDuties().broadcast(id)), 'broadcast', id);
      return { broadcast: b };
    },
  );
}
