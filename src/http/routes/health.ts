// Open endpoints: liveness, readiness, Prometheus exposition.

import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.js';
import { HttpError } from '../errors.js';

export function healthRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    let report;
    try {
      report = await deps.ready();
    } catch (err) {
      report = { ok: false, checks: { ready: err instanceof Error ? err.message : String(err) } };
    }
    return reply.code(report.ok ? 200 : 503).send({ status: report.ok ? 'ready' : 'not_ready', checks: report.checks });
  });

  app.get('/metrics', async (_request, reply) => {
    let text;
    try {
      text = await deps.metricsText();
    } catch (err) {
      throw new HttpError(500, 'internal_error', 'metrics could not be collected', undefined, { cause: err });
    }
    return reply.code(200).type(text.contentType).send(text.body);
  });
}
