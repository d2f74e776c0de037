// Alerts API: list with filters, get one, acknowledge (via = 'api'). Every alert answered carries
// the entity's and the rule's names (alert-names.ts).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ALERT_STATES } from '../../domain/alert.js';
import { SEVERITIES } from '../../domain/rule.js';
import { AlertSchema, namedAlert, namedAlerts, type NamedAlert } from '../alert-names.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { found, fromStore, HttpError } from '../errors.js';
import { pageBody, paginate } from '../paging.js';
import { errorResponses, IdParams, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

const ListQuery = z.strictObject({
  state: z.enum(ALERT_STATES).optional(),
  rule: z.string().min(1).optional(),
  entity: z.string().min(1).optional(),
  severity: z.enum(SEVERITIES).optional(),
  kind: z.string().min(1).max(100).optional().describe("the entity's kind"),
  region: z.string().min(1).max(200).optional(),
  district: z.string().min(1).max(200).optional(),
  q: z.string().min(1).max(200).optional().describe('free text, case-insensitive, over entity id and name and rule id and title'),
  ...pageQuery,
});
type NameFilter = Pick<z.infer<typeof ListQuery>, 'severity' | 'kind' | 'region' | 'district' | 'q'>;
const One = z.object({ alert: AlertSchema });
const List = z.object({ alerts: z.array(AlertSchema), next: z.string().optional().describe('cursor of the next page; absent on the last page') });

function matches(a: NamedAlert, f: NameFilter): boolean {
  if (f.severity && a.severity !== f.severity) return false;
  if (f.kind && a.kind !== f.kind) return false;
  if (f.region && a.region !== f.region) return false;
  if (f.district && a.district !== f.district) return false;
  if (f.q) {
    const q = f.q.trim().toLowerCase();
    if (![a.entity, a.name, a.rule, a.ruleTitle].some((s) => s.toLowerCase().includes(q))) return false;
  }
  return true;
}
const base = { tags: ['alerts'], security: operatorSecurity };

export function alertsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);

  app.get(
    '/api/v1/alerts',
    {
      onRequest: operator,
      schema: { ...base, summary: 'List alerts with their names, newest change first; filters combine with paging', querystring: ListQuery, response: { 200: List, ...errorResponses } },
    },
    async (request) => {
      const { limit, cursor, state, rule, entity, ...names } = request.query;
      const stored = await fromStore(deps.alerts.list({ state, rule, entity }), 'the alert store');
      const all = (await namedAlerts(deps, stored)).filter((a) => matches(a, names));
      const page = paginate(all, { key: (a) => [a.updatedAt, a.id], shape: ['number', 'string'], descending: [true, false], limit, cursor });
      return pageBody('alerts', page);
    },
  );

  app.get(
    '/api/v1/alerts/:id',
    { onRequest: operator, schema: { ...base, summary: 'One alert', params: IdParams, querystring: NoQuery, response: { 200: One, ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      const alert = found(await fromStore(deps.alerts.get(id), 'the alert store'), 'alert', id);
      return { alert: await namedAlert(deps, alert) };
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
      if (result.ok) return { alert: await namedAlert(deps, result.alert) };
      if (result.code === 'not_found') throw new HttpError(404, 'not_found', `no alert ${JSON.stringify(id)}`);
      const state = result.alert?.state ?? 'not firing';
      throw new HttpError(409, 'not_ackable', `alert ${id} is ${state}; only a firing alert can be acknowledged`);
    },
  );
}
