// `lookout report campaign ID [--json]`: print a campaign's post-evaluation record (后评估) from
// the deployment's Redis (REDIS_URL, or the embedded one recorded under LOOKOUT_DATA_DIR, as
// `lookout import` finds it): Markdown by default, the stored JSON with --json.
// `lookout report campaigns` lists the records.

import type { AppConfig } from '../config/env.js';
import { EXIT } from '../exit-codes.js';
import { keyspace } from '../state/keys.js';
import { connectDeployment } from '../redis/connect.js';
import { locateDeployment } from '../redis/locate.js';
import { RedisCampaignStore } from '../state/campaign-store.js';
import type { EvaluationRecord } from './figures.js';
import { evaluationMarkdown } from './render.js';
import { readEvaluation } from './service.js';

export interface ReportCommandOptions {
  readonly config: AppConfig;
  /** `campaign ID` prints one record; `campaigns` lists them. */
  readonly what: 'campaign' | 'campaigns';
  readonly id?: string;
  readonly json?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly out?: (text: string) => void;
  readonly err?: (line: string) => void;
}

/** Returns the exit code: 0 printed, 1 no such record, 2 usage error, 3 no Redis. */
export async function runReportCommand(opts: ReportCommandOptions): Promise<number> {
  const out = opts.out ?? ((t: string) => process.stdout.write(t));
  const err = opts.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { what, id } = opts;
  const json = opts.json ?? false;
  if (what === 'campaign' && !id) {
    err('lookout report campaign: a campaign ID is required (lookout report campaigns lists them)');
    return EXIT.usage;
  }
  const found = await locateDeployment(opts.config, opts.env ?? process.env);
  if (!found.ok) {
    err(`lookout report: ${found.message}`);
    return EXIT.redis;
  }
  err(`lookout report: ${found.deployment.describe}`);
  const config = { ...opts.config, prefix: found.deployment.prefix };
  const redis = connectDeployment(found.deployment, 'lookout-report');
  const store = new RedisCampaignStore(redis, keyspace(config.prefix));
  try {
    if (what === 'campaigns') {
      const all = (await store.evaluations()).map((r) => JSON.parse(r) as EvaluationRecord);
      all.sort((a, b) => b.window.end.localeCompare(a.window.end) || a.campaign.id.localeCompare(b.campaign.id));
      if (json) out(`${JSON.stringify(all.map((r) => ({ campaign: r.campaign, window: r.window, totals: r.totals, alerts: r.alerts.total })), null, 2)}\n`);
      else for (const r of all) out(`${r.campaign.id}\t${r.window.start}…${r.window.end}\t${r.campaign.name}\tcomplaints ${r.totals.complaints}\talerts ${r.alerts.total}\n`);
      return EXIT.ok;
    }
    const record = await readEvaluation(store, id!);
    if (!record) {
      err(`lookout report: campaign ${id} has no post-evaluation record (the scheduler writes it the day after the campaign ends) [not_evaluated]`);
      return EXIT.failed;
    }
    out(json ? `${JSON.stringify(record, null, 2)}\n` : await evaluationMarkdown(record, config.locale, config.templatesDir));
    return EXIT.ok;
  } finally {
    redis.disconnect();
  }
}
