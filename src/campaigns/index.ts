// Campaign duties (营销案闭环): lifecycle, complaint routing, the daily implementation monitoring
// report and the post-evaluation record. See docs/campaigns.md.

import type { CampaignDuty, DutyOutcome } from './duty.js';

export { campaignWindow, phaseAt, phaseOn, timeline, CAMPAIGN_PHASES, type CampaignPhase } from './lifecycle.js';
export type { CampaignDuty, DutyOutcome, EvaluationOutcome, ReportOutcome } from './duty.js';
export type { CampaignService } from './service.js';
export type { DailyReport, EvaluationRecord } from './figures.js';

/**
 * For the demo (and operators who want them now): yesterday's daily report of every live
 * campaign and the post-evaluation record of every campaign that ended within the retention,
 * made and queued for email at once, whatever the time of day and even if the export check
 * would make them wait. Idempotent: what was made already is not made or sent again.
 * `campaigns` limits it to these ids (e.g. ['C004', 'C003'] for the demo's console). Needs a
 * Lookout running the scheduler role (`lookout.campaignDuty`); returns one readable line per
 * report and evaluation.
 */
export async function campaignReportsNow(
  lookout: { readonly campaignDuty?: CampaignDuty },
  opts: { readonly campaigns?: readonly string[] } = {},
): Promise<{ outcome: DutyOutcome; lines: string[] }> {
  const duty = lookout.campaignDuty;
  if (!duty) throw new Error('campaignReportsNow needs a Lookout with the scheduler role');
  const outcome = await duty.run({ force: true, ...(opts.campaigns && { only: opts.campaigns }) });
  const lines = [
    ...outcome.reports.map((r) => `daily report ${r.campaign} ${r.date}: ${r.skipped ?? `to ${r.recipients.join(', ') || 'nobody (no contacts)'}`}`),
    ...outcome.evaluations.map((e) => `post-evaluation ${e.campaign}: ${e.skipped ?? (e.created ? 'recorded' : 'already recorded')}${e.records.length ? `, emailed (${e.records.length})` : ''}`),
  ];
  return { outcome, lines };
}
