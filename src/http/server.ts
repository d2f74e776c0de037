// The fastify app: routes per group, bearer auth on /api/v1, one error shape, no header logging.

import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
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
import { consoleRoutes } from './routes/console.js';
import { consoleApiRoutes } from './routes/console-api.js';
import { shortLinkRoutes } from './routes/short-links.js';
import { errorResponses, NoQuery } from './schemas.js';

const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

export function buildHttpServer(deps: HttpDeps): FastifyInstance {
  const { config, logger } = deps;
  const app = Fastify({
    // fastify's own logger would serialise requests; we log one header-free line ourselves.
    logger: false,
    bodyLimit: config.maxBodyBytes,
    return503OnClosing: true,
  });
  const tokens = tokenIndex(config.apiTokens, { clock: deps.clock, secret: config.linkSecret, publicUrl: config.publicUrl });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
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

  // Registered first so that its onRoute hook sees every route below.
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Lookout', version: '1', description: 'Early-warning daemon: samples in, alerts and notifications out (docs/api.md).' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token of LOOKOUT_API_TOKENS (scope ingest, operator or viewer; viewers may GET what operators may); the console session cookie works too' } },
      },
    },
    transform: jsonSchemaTransform,
  });

  void app.register(async (api) => {
    healthRoutes(api, deps);
    void api.register(async (scope) => samplesRoutes(scope, deps, tokens));
    entitiesRoutes(api, deps, tokens);
    alertsRoutes(api, deps, tokens);
    silencesRoutes(api, deps, tokens);
    notificationsRoutes(api, deps, tokens);
    campaignsRoutes(api, deps, tokens);
    reportsRoutes(api, deps, tokens);
    broadcastsRoutes(api, deps, tokens);
    hallsRoutes(api, deps, tokens);
    ackLinkRoutes(api, deps);
    consoleRoutes(api, deps, tokens);
    consoleApiRoutes(api, deps, tokens);
    shortLinkRoutes(api);
    // Public like /healthz: it describes shapes only, and clients need it before they hold a token.
    api.withTypeProvider<ZodTypeProvider>().get(
      '/api/v1/openapi.json',
      {
        schema: {
          tags: ['meta'],
          summary: 'This OpenAPI 3 document (no token needed)',
          querystring: NoQuery,
          response: { 200: z.looseObject({ openapi: z.string() }), ...errorResponses },
        },
      },
      async () => app.swagger() as unknown as { openapi: string },
    );
  });
  return app;
}

/** Processes without the api role still answer /healthz, /readyz and /metrics (Prometheus scrapes every process). */
export function buildOpsServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false, return503OnClosing: true });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(makeErrorHandler(1024, deps.logger));
  app.setNotFoundHandler(notFoundHandler);
  healthRoutes(app, deps);
  return app;
}
