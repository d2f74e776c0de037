// Short links to an alert's console page: `<LOOKOUT_PUBLIC_URL>/a/<alert id>` (consoleLink in
// src/notify/links.ts) answers 302 to `/alerts/<alert id>`. SMS carries the short form because
// every character counts; the redirect itself needs no token (the console page asks for sign-in).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { errorResponses, IdParams, NoQuery } from '../schemas.js';

export function shortLinkRoutes(fastify: FastifyInstance): void {
  fastify.withTypeProvider<ZodTypeProvider>().get(
    '/a/:id',
    {
      schema: {
        tags: ['console'],
        summary: "Short link to an alert's console page: 302 to /alerts/:id (no token needed for the redirect)",
        params: IdParams,
        querystring: NoQuery,
        response: { ...errorResponses },
      },
    },
    async (request, reply) => reply.header('cache-control', 'no-store').redirect(`/alerts/${encodeURIComponent(request.params.id)}`, 302),
  );
}
