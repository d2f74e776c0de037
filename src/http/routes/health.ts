// Open endpoints: liveness, readiness, Prometheus exposition.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HttpDeps } from '../deps.js';
import { HttpError } from '../errors.js';
import { errorResponses, NoQuery } from '../schemas.js';

const Ready = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.union([z.boolean(), z.string()])) });
const open = <R extends Record<number, z.ZodType>>(summary: string, response: R) => ({ schema: { tags: ['ops'], summary, querystring: NoQuery, response: { ...response, ...errorResponses } } });

export function healthRoutes(fastify: FastifyInstance, deps: HttpDeps): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.get('/healthz', open('Liveness (no token)', { 200: z.object({ status: z.literal('ok') }) }), async () => ({ status: 'ok' as const }));

  app.get('/readyz', open('Readiness: Redis reachable and rules loaded (no token)', { 200: Ready, 503: Ready }), async (_request, reply) => {
    let report;
    try {
      report = await deps.ready();
    } catch (err) {
      report = { ok: false, checks: { ready: err instanceof Error ? err.message : String(err) } };
    }
    return reply.code(report.ok ? 200 : 503).send({ status: report.ok ? 'ready' : 'not_ready', checks: report.checks });
  });

  app.get('/metrics', open('Prometheus text exposition (no token)', { 200: z.string() }), async (_request, reply) => {
    let text;
    try {
      text = await deps.metricsText();
    } catch (err) {
      throw new HttpError(500, 'internal_error', 'metrics could not be collected', undefined, { cause: err });
    }
    return reply.code(200).type(text.contentType).send(text.body);
  });
}
