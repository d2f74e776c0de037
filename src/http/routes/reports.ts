// Reports: a campaign's daily implementation monitoring report (实施监测报告) for any stored day,
// as JSON or as the HTML the 09:00 email carries (its chart PNG as a data: URL).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Calendar } from '../../domain/clock.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { found, fromStore, HttpError } from '../errors.js';
import { errorResponses, IdParams, Item, operatorSecurity, Text } from '../schemas.js';
import { webHtml } from '../../campaigns/render.js';
import { needCampaigns } from './campaigns.js';

export function reportsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);

  app.get(
    '/api/v1/reports/campaigns/:id/daily',
    {
      onRequest: operator,
      schema: {
        tags: ['reports'],
        security: operatorSecurity,
        summary: "A campaign's daily monitoring report (default: yesterday), as JSON, HTML or text",
        params: IdParams,
        querystring: z.strictObject({
          date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).optional(),
          format: z.enum(['json', 'html', 'text']).optional(),
        }),
        response: { 200: z.union([z.object({ report: Item }), Text]), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { date, format = 'json' } = request.query;
      const service = needCampaigns(deps);
      const today = deps.calendar.dayOf(deps.clock.now());
      const day = date === undefined ? today - 1 : Calendar.parseIsoDay(date);
      if (day === undefined) throw new HttpError(400, 'bad_request', `date: ${JSON.stringify(date)} is not a calendar date (YYYY-MM-DD)`);
      if (day > today) throw new HttpError(400, 'bad_request', `date: ${date} is in the future (today is ${Calendar.isoDay(today)} in ${deps.calendar.timeZone})`);
      if (day < service.oldestDay()) throw new HttpError(400, 'bad_request', `date: ${date} is older than the daily retention (LOOKOUT_RETENTION_DAYS): its figures are gone`);
      const campaign = found(await fromStore(service.campaign(id), 'the campaign store'), 'campaign', id);
      const report = await fromStore(service.dailyReport(campaign, day), 'the campaign store');
      if (format === 'json') return { report };
      const mail = await service.renderReport(report);
      if (format === 'html') return reply.type('text/html; charset=utf-8').send(webHtml(mail));
      return reply.type('text/plain; charset=utf-8').send(mail.text);
    },
  );
}
