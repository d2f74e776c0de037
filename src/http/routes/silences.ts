// Silences API: create, list (by state), get one, end one (DELETE). Every silence is returned
// with its `state` at the time of the request.

import type { FastifyInstance } from 'fastify';
import { parseNewSilence, silenceState } from '../../route/silences.js';
import type { Silence } from '../../route/types.js';
import type { SilenceState, SilenceStore } from '../../state/ports.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { fromStore, HttpError } from '../errors.js';

const SILENCE_STATES: readonly SilenceState[] = ['active', 'pending', 'expired'];
const WHAT = 'the silence store';

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const withState = (s: Silence, now: number) => ({ ...s, state: silenceState(s, now) });
const noSilence = (id: string) => new HttpError(404, 'not_found', `no silence ${JSON.stringify(id)}`);
const alreadyEnded = (s: Silence) => new HttpError(409, 'conflict', `silence ${s.id} already ended at ${new Date(s.endsAt).toISOString()}`);

export function silencesRoutes(app: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const operator = requireScope(tokens, ['operator']);
  const store = (): SilenceStore => {
    if (!deps.silences) throw new HttpError(503, 'not_ready', 'silences are not available in this process (no silence store)');
    return deps.silences;
  };

  app.post('/api/v1/silences', { onRequest: operator }, async (request, reply) => {
    const silences = store();
    const now = deps.clock.now();
    const parsed = parseNewSilence(request.body, now);
    if (!parsed.ok) throw new HttpError(400, 'bad_request', parsed.message);
    const silence = await fromStore(silences.create(parsed.silence, now), WHAT);
    return reply.code(201).send({ silence: withState(silence, now) });
  });

  app.get(
    '/api/v1/silences',
    {
      onRequest: operator,
      schema: { querystring: { type: 'object', properties: { state: { type: 'string', enum: [...SILENCE_STATES] } } } },
    },
    async (request) => {
      const silences = store();
      const { state } = request.query as { state?: SilenceState };
      const now = deps.clock.now();
      const list = await fromStore(silences.list(now, state), WHAT);
      return { silences: list.map((s) => withState(s, now)) };
    },
  );

  app.get('/api/v1/silences/:id', { onRequest: operator, schema: { params: idParams } }, async (request) => {
    const silences = store();
    const { id } = request.params as { id: string };
    const silence = await fromStore(silences.get(id), WHAT);
    if (!silence) throw noSilence(id);
    return { silence: withState(silence, deps.clock.now()) };
  });

  app.delete('/api/v1/silences/:id', { onRequest: operator, schema: { params: idParams } }, async (request) => {
    const silences = store();
    const { id } = request.params as { id: string };
    const now = deps.clock.now();
    const prior = await fromStore(silences.get(id), WHAT);
    if (!prior) throw noSilence(id);
    if (silenceState(prior, now) === 'expired') throw alreadyEnded(prior);
    const ended = await fromStore(silences.expire(id, now), WHAT);
    if (!ended) throw noSilence(id);
    // Ended by another request between our read and our write.
    if (ended.endsAt !== now) throw alreadyEnded(ended);
    return { silence: withState(ended, now) };
  });
}
