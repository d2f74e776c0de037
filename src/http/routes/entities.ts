// Entity registry API: PUT a JSON array (all or nothing), list, get one, unknown ids from samples.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { validateEntity } from '../../config/registry-loader.js';
import { ENTITY_KINDS, type Entity } from '../../domain/entity.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { found, fromStore, HttpError } from '../errors.js';
import { pageBody, paginate } from '../paging.js';
import { errorResponses, IdParams, Item, listResponse, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

export interface EntityProblem {
  readonly index: number;
  readonly field?: string;
  readonly message: string;
}

/** Validate a PUT body; every problem is reported, nothing is stored when there is one. */
export function checkEntityBatch(body: unknown, contactExists?: (id: string) => boolean): { entities: Entity[]; problems: EntityProblem[] } {
  if (!Array.isArray(body)) {
    return { entities: [], problems: [{ index: -1, message: 'expected a JSON array of entities' }] };
  }
  const entities: Entity[] = [];
  const problems: EntityProblem[] = [];
  const seen = new Map<string, number>();
  body.forEach((raw: unknown, index) => {
    const check = validateEntity(raw);
    if (!check.ok) {
      for (const e of check.errors) problems.push({ index, ...(e.field !== undefined && { field: e.field }), message: e.message });
      return;
    }
    const first = seen.get(check.entity.id);
    if (first !== undefined) {
      problems.push({ index, field: 'id', message: `entity ${check.entity.id} appears twice in this request (index ${first} and ${index})` });
      return;
    }
    seen.set(check.entity.id, index);
    // Who is paged must exist now, not be found missing at 3 a.m.
    const e = check.entity;
    if (contactExists && e.manager !== undefined && !contactExists(e.manager)) {
      problems.push({ index, field: 'manager', message: `manager ${e.manager} is not in contacts.csv` });
      return;
    }
    const owner = e.kind === 'campaign' ? e.attrs.owner : undefined;
    if (contactExists && typeof owner === 'string' && !contactExists(owner)) {
      problems.push({ index, field: 'attrs.owner', message: `owner ${owner} is not in contacts.csv` });
      return;
    }
    entities.push(e);
  });
  return { entities, problems };
}

const ListQuery = z.strictObject({
  kind: z.enum(ENTITY_KINDS).optional(),
  region: z.string().min(1).optional(),
  district: z.string().min(1).optional(),
  ...pageQuery,
});
const base = { tags: ['entities'], security: operatorSecurity };

export function entitiesRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);

  app.put(
    '/api/v1/entities',
    {
      onRequest: requireScope(tokens, ['ingest', 'operator']),
      schema: {
        ...base,
        summary: 'Upsert entities (a JSON array; all or nothing)',
        querystring: NoQuery,
        body: z.unknown().describe('a JSON array of entities (docs/api.md#entities); every problem is reported in error.details (invalid_entity)'),
        response: { 200: z.object({ upserted: z.number().int() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { entities, problems } = checkEntityBatch(request.body, deps.contactExists);
      if (problems.length > 0) {
        const bad = new Set(problems.map((p) => p.index)).size;
        const total = Array.isArray(request.body) ? request.body.length : 0;
        throw new HttpError(400, 'invalid_entity', `${bad} of ${total} entities are invalid; nothing was stored`, problems);
      }
      await fromStore(deps.registry.putMany(entities), 'the entity registry');
      return reply.code(200).send({ upserted: entities.length });
    },
  );

  app.get(
    '/api/v1/entities',
    {
      onRequest: operator,
      schema: { ...base, summary: 'List entities, by id; filters combine with paging', querystring: ListQuery, response: { 200: listResponse('entities'), ...errorResponses } },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      const all = await fromStore(deps.registry.list(filter), 'the entity registry');
      const page = paginate(all, { key: (e) => [e.id], shape: ['string'], limit, cursor });
      return pageBody('entities', page);
    },
  );

  app.get(
    '/api/v1/entities/unknown',
    {
      onRequest: operator,
      schema: { ...base, summary: 'Entity ids seen in samples but not registered, most samples first', querystring: z.strictObject(pageQuery), response: { 200: listResponse('unknown'), ...errorResponses } },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const all = await fromStore(deps.registry.unknown(), 'the entity registry');
      const page = paginate(all, { key: (u) => [u.samples, u.id], shape: ['number', 'string'], descending: [true, false], limit, cursor });
      return pageBody('unknown', page);
    },
  );

  app.get(
    '/api/v1/entities/:id',
    { onRequest: operator, schema: { ...base, summary: 'One entity', params: IdParams, querystring: NoQuery, response: { 200: z.object({ entity: Item }), ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      const entity = found(await fromStore(deps.registry.get(id), 'the entity registry'), 'entity', id);
      return { entity };
    },
  );
}
