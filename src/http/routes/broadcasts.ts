// Broadcasts (集群短信下行): one SMS to the managers of every channel a selector matches, rate-
// limited, with a per-recipient record and a summary (docs/duties.md). Operator scope.

import type { FastifyInstance } from 'fastify';
import { parseBroadcastRequest } from '../../duties/broadcast.js';
import type { DutiesApi } from '../../duties/index.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { ConfigError } from '../../errors/catalogue.js';
import { HttpError } from '../errors.js';

const WHAT = 'the broadcast store';

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

export function broadcastsRoutes(app: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const operator = requireScope(tokens, ['operator']);
  const duties = (): DutiesApi => {
    if (!deps.duties) throw new HttpError(503, 'not_ready', 'broadcasts are not available in this process');
    return deps.duties;
  };

  app.post('/api/v1/broadcasts', { onRequest: operator }, async (request, reply) => {
    const d = duties();
    const parsed = parseBroadcastRequest(request.body);
    if (!parsed.ok) throw new HttpError(400, 'bad_request', parsed.message);
    const out = await run(d.createBroadcast(parsed.value));
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
  });

  app.get(
    '/api/v1/broadcasts',
    { onRequest: operator, schema: { querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200 } } } } },
    async (request) => {
      const { limit } = request.query as { limit?: number };
      return { broadcasts: await run(duties().broadcasts(limit ?? 20)) };
    },
  );

  app.get(
    '/api/v1/broadcasts/:id',
    { onRequest: operator, schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } } },
    async (request) => {
      const { id } = request.params as { id: string };
      const b = await run(duties().broadcast(id));
      if (!b) throw new HttpError(404, 'not_found', `no broadcast ${JSON.stringify(id)}`);
      return { broadcast: b };
    },
  );
}
