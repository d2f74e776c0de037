// Campaigns (营销案): phase and headline figures, and their post-evaluation records (经验库).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CAMPAIGN_PHASES } from '../../campaigns/lifecycle.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { found, fromStore, HttpError } from '../errors.js';
import { pageBody, paginate } from '../paging.js';
import { nameAlert } from '../alert-names.js';
import { errorResponses, IdParams, Item, listResponse, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

export const idParams = IdParams;

export function needCampaigns(deps: HttpDeps): NonNullable<HttpDeps['campaigns']> {
  if (!deps.campaigns) throw new HttpError(503, 'not_ready', 'campaigns are not served by this process');
  return deps.campaigns;
}

const base = { tags: ['campaigns'], security: operatorSecurity };

export function campaignsRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const operator = requireScope(tokens, ['operator']);

  app.get(
    '/api/v1/campaigns',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: 'List campaigns with phase and headline figures, by id',
        querystring: z.strictObject({ phase: z.enum(CAMPAIGN_PHASES).optional(), ...pageQuery }),
        response: { 200: listResponse('campaigns'), ...errorResponses },
      },
    },
    async (request) => {
      const { phase, limit, cursor } = request.query;
      const all = await fromStore(needCampaigns(deps).list(phase), 'the campaign store');
      const page = paginate(all, { key: (c) => [c.id], shape: ['string'], limit, cursor });
      return pageBody('campaigns', page);
    },
  );

  app.get(
    '/api/v1/campaigns/:id',
    { onRequest: operator, schema: { ...base, summary: 'One campaign', params: IdParams, querystring: NoQuery, response: { 200: z.object({ campaign: Item }), ...errorResponses } } },
    async (request) => {
      const { id } = request.params;
      const campaign = found(await fromStore(needCampaigns(deps).get(id), 'the campaign store'), 'campaign', id);
      // Its open alerts as the alerts API shows them (entity name, rule title).
      const alerts = campaign.alerts.map((a) => nameAlert(a, campaign.entity, deps.ruleTitle?.(a.rule)));
      return { campaign: { ...campaign, alerts } };
    },
  );

  app.get(
    '/api/v1/campaigns/:id/evaluation',
    {
      onRequest: operator,
      schema: { ...base, summary: "A campaign's post-evaluation record", params: IdParams, querystring: NoQuery, response: { 200: z.object({ evaluation: Item }), ...errorResponses } },
    },
    async (request) => {
      const { id } = request.params;
      const service = needCampaigns(deps);
      const evaluation = await fromStore(service.evaluation(id), 'the campaign store');
      if (evaluation) return { evaluation };
      const campaign = await fromStore(service.campaign(id), 'the campaign store');
      if (!campaign) throw new HttpError(404, 'not_found', `no campaign ${JSON.stringify(id)} and no evaluation record of it`);
      throw new HttpError(404, 'not_evaluated', `campaign ${id} has no post-evaluation record yet: it is written by the scheduler the day after the campaign ends (${String(campaign.attrs.end ?? '?')})`);
    },
  );

  app.get(
    '/api/v1/evaluations',
    {
      onRequest: operator,
      schema: { ...base, summary: 'Post-evaluation records, latest window end first', querystring: z.strictObject(pageQuery), response: { 200: listResponse('evaluations'), ...errorResponses } },
    },
    async (request) => {
      const { limit, cursor } = request.query;
      const all = await fromStore(needCampaigns(deps).evaluations(), 'the campaign store');
      const page = paginate(all, { key: (e) => [e.window.end, e.campaign.id], shape: ['string', 'string'], descending: [true, false], limit, cursor });
      return pageBody('evaluations', page);
    },
  );
}
