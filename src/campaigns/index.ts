// Campaigns (营销案闭环): lifecycle, complaint routing, the daily implementation monitoring
// report and the post-evaluation record. See docs/campaigns.md.

import type { CampaignReporter, ReportRunOutcome } from './reporter.js';

export { campaignWindow, phaseAt, phaseOn, timeline, CAMPAIGN_PHASES, type CampaignPhase } from './lifecycle.js';
export type { CampaignReporter, ReportRunOutcome, EvaluationOutcome, ReportOutcome } from './reporter.js';
export type { CampaignService } from './service.js';
export type { DailyReport, EvaluationRecord } from './figures.js';

/**
 * For the demo (and operators who want them now): yesterday's daily report of every live
 * campaign and the post-evaluation record of every campaign that ended within the retention,
 * made and queued for email at once, whatever the time of day and even if the export check
 * would make them wait. Idempotent: what was made already is not made or sent again.
 * `campaigns` limits it to these ids (e.g. ['C004', 'C003'] for the demo's console). Needs a
 * Lookout running the scheduler role (`lookout.campaignReporter`); returns one readable line per
 * report and evaluation.
 */
export async function campaignReportsNow(
  lookout: { readonly campaignReporter?: CampaignReporter },
  opts: { readonly campaigns?: readonly string[] } = {},
): Promise<{ outcome: ReportRunOutcome; lines: string[] }> {
  const reporter = lookout.campaignReporter;
  if (!reporter) throw new Error('campaignReportsNow needs a Lookout with the scheduler role');
  const outcome = await reporter.run({ force: true, ...(opts.campaigns && { only: opts.campaigns }) });
  const lines = [
    ...outcome.reports.map((r) => `daily report ${r.campaign} ${r.date}: ${r.skipped ?? `to ${r.recipients.join(', ') || 'nobody (no contacts)'}`}`),
    ...outcome.evaluations.map((e) => `post-evaluation ${e.campaign}: ${e.skipped ?? (e.created ? 'recorded' : 'already recorded')}${e.records.length ? `, emailed (${e.records.length})` : ''}`),
  ];
  return { outcome, lines };
}
