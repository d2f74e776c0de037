// Campaigns (营销案): phase and headline figures, and their post-evaluation records (经验库).

import type { FastifyInstance } from 'fastify';
import { CAMPAIGN_PHASES, type CampaignPhase } from '../../campaigns/lifecycle.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { fromStore, HttpError } from '../errors.js';

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

export function needCampaigns(deps: HttpDeps): NonNullable<HttpDeps['campaigns']> {
  if (!deps.campaigns) throw new HttpError(503, 'not_ready', 'campaigns are not served by this process');
  return deps.campaigns;
}

export function campaignsRoutes(app: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const operator = requireScope(tokens, ['operator']);

  app.get(
    '/api/v1/campaigns',
    {
      onRequest: operator,
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { phase: { type: 'string', enum: [...CAMPAIGN_PHASES] } } } },
    },
    async (request) => {
      const { phase } = request.query as { phase?: CampaignPhase };
      return { campaigns: await fromStore(needCampaigns(deps).list(phase), 'the campaign store') };
    },
  );

  app.get('/api/v1/campaigns/:id', { onRequest: operator, schema: { params: idParams } }, async (request) => {
    const { id } = request.params as { id: string };
    const campaign = await fromStore(needCampaigns(deps).get(id), 'the campaign store');
    if (!campaign) throw new HttpError(404, 'not_found', `no campaign ${JSON.stringify(id)}`);
    return { campaign };
  });

  app.get('/api/v1/campaigns/:id/evaluation', { onRequest: operator, schema: { params: idParams } }, async (request) => {
    const { id } = request.params as { id: string };
    const service = needCampaigns(deps);
    const evaluation = await fromStore(service.evaluation(id), 'the campaign store');
    if (evaluation) return { evaluation };
    const campaign = await fromStore(service.campaign(id), 'the campaign store');
    if (!campaign) throw new HttpError(404, 'not_found', `no campaign ${JSON.stringify(id)} and no evaluation record of it`);
    throw new HttpError(404, 'not_evaluated', `campaign ${id} has no post-evaluation record yet: it is written by the scheduler the day after the campaign ends (${String(campaign.attrs.end ?? '?')})`);
  });

  app.get('/api/v1/evaluations', { onRequest: operator }, async () => ({ evaluations: await fromStore(needCampaigns(deps).evaluations(), 'the campaign store') }));
}
