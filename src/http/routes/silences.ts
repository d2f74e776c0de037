// Silences API: create, list (by state), get one, end one (DELETE). Every silence is returned
// with its `state` at the time of the request.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parseNewSilence, silenceState } from '../../route/silences.js';
import type { Silence } from '../../route/types.js';
import type { SilenceState, SilenceStore } from '../../state/ports.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { fromStore, HttpError } from '../errors.js';
import { paginate } from '../paging.js';
import { errorResponses, IdParams, Item, listResponse, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

const SILENCE_STATES = ['active', 'pending', 'expired'] as const satisfies readonly SilenceState[];
const WHAT = 'the silence store';

const ListQuery = z.strictObject({ state: z.enum(SILENCE_STATES).optional(), ...pageQuery });
const One = z.object({ silence: Item });
const base = { tags: ['silences'], security: operatorSecurity };

const withState = (s: Silence, now: number) => ({ ...s, state: silenceState(s, now) });
const noSilence = (id: string) => new HttpError(404, 'not_found', `no silence ${JSON.stringify(id)}`);
const alreadyEnded = (s: Silence) => new HttpError(409, 'conflict', `silence ${s.id} already ended at ${new Date(s.endsAt).toISOString()}`);

export function silencesRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);
  const store = (): SilenceStore => {
    if (!deps.silences) throw new HttpError(503, 'not_ready', 'silences are not available in this process (no silence store)');
    return deps.silences;
  };

  app.post(
    '/api/v1/silences',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: 'Create a silence (maintenance window)',
        querystring: NoQuery,
        body: z.unknown().describe('a silence as in docs/silences.md; checked by the silence parser, which names the bad field'),
        response: { 201: One, ...errorResponses },
      },
    },
    async (request, reply) => {
      const silences = store();
      const now = deps.clock.now();
      const parsed = parseNewSilence(request.body, now);
      if (!parsed.ok) throw new HttpError(400, 'bad_request', parsed.message);
      const silence = await fromStore(silences.create(parsed.silence, now), WHAT);
      return reply.code(201).send({ silence: withState(silence, now) });
    },
  );

  app.get(
    '/api/v1/silences',
    {
      onRequest: operator,
      schema: { ...base, summary: 'List silences, newest first; state filter combines with paging', querystring: ListQuery, response: { 200: listResponse('silences'), ...errorResponses } },
    },
    async (request) => {
      const silences = store();
      const { state, limit, cursor } = request.query;
      const now = deps.clock.now();
      const list = await fromStore(silences.list(now, state), WHAT);
      const page = paginate(list, { key: (s) => [s.createdAt, s.id], shape: ['number', 'string'], descending: [true, false], limit, cursor });
      return { silences: page.items.map((s) => withState(s, now)), ...(page.next !== undefined && { next: page.next }) };
    },
  );

  app.get(
    '/api/v1/silences/:id',
    { onRequest: operator, schema: { ...base, summary: 'One silence', params: IdParams, querystring: NoQuery, response: { 200: One, ...errorResponses } } },
    async (request) => {
      const silences = store();
      const { id } = request.params;
      const silence = await fromStore(silences.get(id), WHAT);
      if (!silence) throw noSilence(id);
      return { silence: withState(silence, deps.clock.now()) };
    },
  );

  app.delete(
    '/api/v1/silences/:id',
    { onRequest: operator, schema: { ...base, summary: 'End a silence now', params: IdParams, querystring: NoQuery, response: { 200: One, ...errorResponses } } },
    async (request) => {
      const silences = store();
      const { id } = request.params;
      const now = deps.clock.now();
      const prior = await fromStore(silences.get(id), WHAT);
      if (!prior) throw noSilence(id);
      if (silenceState(prior, now) === 'expired') throw alreadyEnded(prior);
      const ended = await fromStore(silences.expire(id, now), WHAT);
      if (!ended) throw noSilence(id);
      // Ended by another request between our read and our write.
      if (ended.endsAt !== now) throw alreadyEnded(ended);
      return { silence: withState(ended, now) };
    },
  );
}
