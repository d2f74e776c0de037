// `lookout report campaign ID [--json]`: print a campaign's post-evaluation record (后评估) from
// the deployment's Redis (REDIS_URL, or the embedded one recorded under LOOKOUT_DATA_DIR, as
// `lookout import` finds it): Markdown by default, the stored JSON with --json.
// `lookout report campaigns` lists the records.

import { parseArgs } from 'node:util';
import type { AppConfig } from '../config/env.js';
import { connectRedis } from '../redis/connect.js';
import { findRunningEmbedded } from '../redis/locate.js';
import type { EvaluationRecord } from './figures.js';
import { campaignKeys } from './ledger.js';
import { evaluationMarkdown } from './render.js';
import { readEvaluation } from './service.js';

export const REPORT_USAGE = 'usage: lookout report campaign ID [--json] | lookout report campaigns [--json]';

export interface ReportCommandOptions {
  readonly config: AppConfig;
  readonly args: readonly string[];
  readonly out?: (text: string) => void;
  readonly err?: (line: string) => void;
}

/** Returns the exit code: 0 printed, 1 no such record, 2 usage error or no Redis. */
export async function runReportCommand(opts: ReportCommandOptions): Promise<number> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const err = opts.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let parsed;
  try {
    parsed = parseArgs({ args: [...opts.args], options: { json: { type: 'boolean' } }, allowPositionals: true });
  } catch (e) {
    err(`lookout report: ${(e as Error).message}\n${REPORT_USAGE}`);
    return 2;
  }
  const [what, id, ...rest] = parsed.positionals;
  const json = parsed.values.json ?? false;
  if (rest.length || !((what === 'campaign' && id) || (what === 'campaigns' && !id))) {
    err(REPORT_USAGE);
    return 2;
  }
  const { config } = opts;
  const url = config.redisUrl ?? (await findRunningEmbedded(config.dataDir));
  if (!url) {
    err(`lookout report: no Lookout Redis found: set REDIS_URL, or start Lookout first (npx lookout start) so its embedded Redis is recorded under ${config.dataDir}/redis`);
    return 2;
  }
  const redis = connectRedis(url, 'lookout-report');
  try {
    if (what === 'campaigns') {
      const all = (await redis.hvals(campaignKeys(config.prefix).evaluations)).map((r) => JSON.parse(r) as EvaluationRecord);
      all.sort((a, b) => b.window.end.localeCompare(a.window.end) || a.campaign.id.localeCompare(b.campaign.id));
      if (json) out(`${JSON.stringify(all.map((r) => ({ campaign: r.campaign, window: r.window, totals: r.totals, alerts: r.alerts.total })), null, 2)}\n`);
      else for (const r of all) out(`${r.campaign.id}\t${r.window.start}…${r.window.end}\t${r.campaign.name}\tcomplaints ${r.totals.complaints}\talerts ${r.alerts.total}\n`);
      return 0;
    }
    const record = await readEvaluation(redis, config.prefix, id!);
    if (!record) {
      err(`lookout report: campaign ${id} has no post-evaluation record (the scheduler writes it the day after the campaign ends) [not_evaluated]`);
      return 1;
    }
    out(json ? `${JSON.stringify(record, null, 2)}\n` : await evaluationMarkdown(record, config.locale, config.templatesDir));
    return 0;
  } finally {
    redis.disconnect();
  }
}
