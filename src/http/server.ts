// The fastify app: routes per group, bearer auth on /api/v1, one error shape, no header logging.

import Fastify, { type FastifyInstance } from 'fastify';
import { tokenIndex } from './auth.js';
import type { HttpDeps } from './deps.js';
import { makeErrorHandler, notFoundHandler } from './errors.js';
import { alertsRoutes } from './routes/alerts.js';
import { entitiesRoutes } from './routes/entities.js';
import { healthRoutes } from './routes/health.js';
import { samplesRoutes } from './routes/samples.js';
import { silencesRoutes } from './routes/silences.js';
import { ackLinkRoutes } from './routes/ack-link.js';
import { notificationsRoutes } from './routes/notifications.js';
import { campaignsRoutes } from './routes/campaigns.js';
import { reportsRoutes } from './routes/reports.js';
import { broadcastsRoutes } from './routes/broadcasts.js';
import { hallsRoutes } from './routes/halls.js';

const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const { config, logger } = deps;
  const app = Fastify({
    // fastify's own logger would serialise requests; we log one header-free line ourselves.
    logger: false,
    bodyLimit: config.maxBodyBytes,
    return503OnClosing: true,
  });
  const tokens = tokenIndex(config.apiTokens);

  app.setErrorHandler(makeErrorHandler(config.maxBodyBytes, logger));
  app.setNotFoundHandler(notFoundHandler);

  if (logger) {
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const line = { method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
      if (QUIET_ROUTES.has(route)) logger.debug(line, 'http');
      else logger.info(line, 'http');
      done();
    });
  }

  healthRoutes(app, deps);
  void app.register(async (scope) => samplesRoutes(scope, deps, tokens));
  entitiesRoutes(app, deps, tokens);
  alertsRoutes(app, deps, tokens);
  silencesRoutes(app, deps, tokens);
  notificationsRoutes(app, deps, tokens);
  campaignsRoutes(app, deps, tokens);
  reportsRoutes(app, deps, tokens);
  broadcastsRoutes(app, deps, tokens);
  hallsRoutes(app, deps, tokens);
  ackLinkRoutes(app, deps);
  return app;
}

/** Processes without the api role still answer /healthz, /readyz and /metrics (Prometheus scrapes every process). */
export function buildOpsServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true });
  app.setErrorHandler(makeErrorHandler(1024, deps.logger));
  app.setNotFoundHandler(notFoundHandler);
  healthRoutes(app, deps);
  return app;
}
