// `lookout broadcast …` and `lookout halls ranking …`: like `lookout import`, they work on the
// deployment's Redis directly (REDIS_URL, or the embedded one a running Lookout recorded) and
// read contacts.csv from LOOKOUT_CONFIG_DIR; a running Lookout worker sends what they queue.

import { userInfo } from 'node:os';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import { loadContacts } from '../config/contacts-loader.js';
import { defaultPolicies, loadPolicies } from '../config/policy-loader.js';
import { Calendar } from '../domain/clock.js';
import { appClock } from '../config/now.js';
import { NotificationStore } from '../state/notification-store.js';
import { QUEUES } from '../queues/names.js';
import { keyspace } from '../state/keys.js';
import { connectDeployment } from '../redis/connect.js';
import { locateDeployment } from '../redis/locate.js';
import { EXIT } from '../exit-codes.js';
import { buildDirectory } from '../route/recipients.js';
import type { Directory } from '../route/types.js';
import { dailyCellsFor } from '../state/daily-cells.js';
import { RedisDailyReads, type DailyReads } from '../state/daily-reads.js';
import { RedisDutyStore, type DutyStore } from '../state/duty-store.js';
import { recordedLayout } from '../state/layout-choice.js';
import { RedisRegistryStore } from '../state/registry-store.js';
import { Broadcaster, parseBroadcastRequest, type BroadcastSummary } from './broadcast.js';
import { DUTY_QUEUES } from './queues.js';
import { RankingMailer } from './ranking-mail.js';
import { hallRanking, previousMonth, rankingView, type RankingSource } from './ranking.js';
import { DutyTemplates } from './templates.js';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const STDIO: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** Options of `lookout broadcast`, as parsed by src/cli.ts. */
export interface BroadcastArgs {
  readonly text: string;
  readonly kind?: string[];
  readonly region?: string[];
  readonly district?: string[];
  readonly tier?: string[];
  readonly by?: string;
  readonly id?: string;
  readonly dryRun?: boolean;
  readonly wait?: boolean;
  readonly json?: boolean;
}

/** Options of `lookout halls ranking`. */
export interface HallsArgs {
  readonly month?: string;
  readonly json?: boolean;
  readonly html?: boolean;
  readonly send?: boolean;
}

interface Context {
  /** The configuration with the prefix of the deployment found. */
  readonly config: AppConfig;
  readonly store: DutyStore;
  readonly days: DailyReads;
  readonly disconnect: () => void;
  readonly directory: Directory;
  readonly retry: { attempts: number; backoffMs: number };
  readonly calendar: Calendar;
  readonly templates: DutyTemplates;
  readonly registry: RedisRegistryStore;
  readonly records: NotificationStore;
  readonly queues: Queue[];
  queue(name: string): Queue;
}

/** Exit code 3 when no Redis answers, 2 when contacts cannot be read (and a message). */
async function open(base: AppConfig, cmd: string, io: CliIo, env: Readonly<Record<string, string | undefined>>): Promise<Context | number> {
  const found = await locateDeployment(base, env);
  if (!found.ok) {
    io.err(`lookout ${cmd}: ${found.message}`);
    return EXIT.redis;
  }
  io.err(`lookout ${cmd}: ${found.deployment.describe}`);
  const config: AppConfig = { ...base, prefix: found.deployment.prefix };
  const contacts = await loadContacts(config.configDir);
  if (contacts.errors.length) {
    for (const e of contacts.errors) io.err(e.format());
    return EXIT.usage;
  }
  const pol = await loadPolicies(config.rulesDir);
  const redis = connectDeployment(found.deployment, `lookout-${cmd}`);
  const keys = keyspace(config.prefix);
  const queues: Queue[] = [];
  return {
    config,
    store: new RedisDutyStore(redis, keys),
    days: new RedisDailyReads(redis, keys, dailyCellsFor(redis, keys, { ...config, seriesLayout: await recordedLayout(redis, keys, config.seriesLayout) })),
    disconnect: () => redis.disconnect(),
    directory: buildDirectory(contacts.contacts, [], contacts.hash ?? ''),
    retry: (pol.ok ? pol.policies : defaultPolicies()).settings.retry,
    calendar: new Calendar(config.timeZone),
    templates: new DutyTemplates(config.templatesDir, config.locale),
    registry: new RedisRegistryStore(redis, keys),
    records: new NotificationStore(redis, keys),
    queues,
    queue(name) {
      const q = new Queue(name, { connection: redis as unknown as ConnectionOptions, prefix: config.prefix });
      queues.push(q);
      return q;
    },
  };
}

async function close(c: Context): Promise<void> {
  await Promise.all(c.queues.map((q) => q.close()));
  c.disconnect();
}

const list = (v: string[] | undefined) => (v && v.length ? v.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) : undefined);

function countsLine(s: BroadcastSummary): string {
  return `sent ${s.counts.sent}, delivered ${s.counts.delivered}, failed ${s.counts.failed}, queued ${s.counts.queued}`;
}

/** `lookout broadcast --text … [--kind …] [--region …] [--district …] [--tier …] [--by …] [--id …] [--dry-run] [--wait] [--json]` */
export async function runBroadcastCli(base: AppConfig, values: BroadcastArgs, io: CliIo = STDIO, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const selector = Object.fromEntries(
    (['kind', 'region', 'district', 'tier'] as const).map((k) => [k, list(values[k])]).filter(([, v]) => v !== undefined),
  );
  const parsed = parseBroadcastRequest({ text: values.text, selector, by: values.by ?? `cli:${userInfo().username}`, id: values.id, dry_run: values.dryRun ?? false });
  if (!parsed.ok) {
    io.err(`lookout broadcast: ${parsed.message}`);
    return EXIT.usage;
  }
  const c = await open(base, 'broadcast', io, env);
  if (typeof c === 'number') return c;
  const { config } = c;
  try {
    const b = new Broadcaster({
      store: c.store,
      clock: appClock(config),
      calendar: c.calendar,
      entities: () => c.registry.list(),
      directory: () => c.directory,
      records: c.records,
      queue: c.queue(DUTY_QUEUES.broadcast),
      templates: c.templates,
      retry: () => c.retry,
      rate: config.broadcastRate,
      retentionDays: config.retentionDays,
    });
    const out = await b.create(parsed.value);
    if (out.status === 'empty') {
      io.err(`lookout broadcast: nobody to send to: ${out.message} [empty_broadcast]`);
      for (const u of out.preview.unreachableEntities) io.err(`  ${u.entity}: ${u.reason}`);
      return 1;
    }
    if (out.status === 'conflict') {
      io.err(`lookout broadcast: ${out.message} [conflict]`);
      return 1;
    }
    if (out.status === 'dry_run') {
      const p = out.preview;
      if (values.json) {
        io.out(JSON.stringify(p, null, 2));
        return 0;
      }
      io.out(`dry run: ${p.entities} channel(s), ${p.recipients} recipient(s)${p.unreachable ? `, ${p.unreachable} channel(s) without a reachable manager` : ''}`);
      io.out(`  SMS (${p.segments} segment(s)): ${p.message}`);
      for (const r of p.contacts) io.out(`  ${r.contact} ${r.name} (${r.entities} channel(s))${r.problem ? ` — ${r.problem.message}` : ''}`);
      for (const u of p.unreachableEntities) io.out(`  unreachable ${u.entity}: ${u.reason}`);
      return 0;
    }
    let s = out.broadcast;
    if (!values.json) {
      io.out(`broadcast ${s.id}${out.status === 'existing' ? ' (already created)' : ''}: ${s.entities} channel(s), ${s.recipients} recipient(s)${s.unreachable ? `, ${s.unreachable} channel(s) without a reachable manager` : ''}`);
      io.out(`  SMS (${s.segments} segment(s)): ${s.message}`);
      // Counted from the plan, not from the records: a fast worker may have sent some already.
      const noPhone = s.messages.filter((m) => m.error?.code === 'no_address').length;
      io.out(`queued ${s.recipients - noPhone} SMS${noPhone ? ` (${noPhone} recipient(s) without a phone)` : ''}; a running Lookout worker sends them at up to ${config.broadcastRate}/s`);
    }
    if (values.wait) {
      const deadline = performance.now() + Math.max(60_000, (s.recipients / config.broadcastRate) * 1000 * 3);
      while (!s.done && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        s = (await b.get(s.id)) ?? s;
      }
      if (!values.json) io.out(s.done ? countsLine(s) : `not finished yet: ${countsLine(s)} (is a Lookout worker running?)`);
    }
    if (values.json) io.out(JSON.stringify(s, null, 2));
    return s.counts.failed > 0 || (values.wait && !s.done) ? 1 : 0;
  } finally {
    await close(c);
  }
}

/** `lookout halls ranking [--month YYYY-MM] [--json | --html] [--send]` */
export async function runHallsCli(base: AppConfig, values: HallsArgs, io: CliIo = STDIO, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  if (values.json && values.html) {
    io.err('lookout halls ranking: --json and --html exclude each other');
    return EXIT.usage;
  }
  const c = await open(base, 'halls', io, env);
  if (typeof c === 'number') return c;
  const { config } = c;
  try {
    const clock = appClock(config);
    const now = clock.now();
    const month = values.month ?? previousMonth(c.calendar.dayOf(now));
    const source: RankingSource = { days: c.days, calendar: c.calendar, retentionDays: config.retentionDays, halls: () => c.registry.list() };
    const mailer = new RankingMailer({
      source,
      clock,
      directory: () => c.directory,
      records: c.records,
      emailQueue: c.queue(QUEUES.email),
      templates: c.templates,
      publicUrl: config.publicUrl,
      retry: () => c.retry,
    });
    const res = await hallRanking(source, month, now);
    if (!res.ok) {
      io.err(`lookout halls: ${res.message}`);
      return EXIT.usage;
    }
    if (values.json) io.out(JSON.stringify(res.ranking, null, 2));
    else if (values.html) io.out(mailer.render(res.ranking).html);
    else io.out(c.templates.text('rankingText', rankingView(res.ranking, c.templates.locale, mailer.reportUrl(month))).trimEnd());
    if (values.send) {
      const sent = await mailer.send(month);
      if ('error' in sent) {
        io.err(`lookout halls: ${sent.error}`);
        return 1;
      }
      if (!sent.notifications.length) io.err('lookout halls: nobody to send to (no dept_lead with scope customer_service, no region_head in contacts.csv)');
      for (const n of sent.notifications) io.err(`emailed ${n.contact}: ${n.state}${n.created ? '' : ' (already)'} [${n.notification}]`);
      return sent.notifications.some((n) => n.state === 'failed') || !sent.notifications.length ? 1 : 0;
    }
    return 0;
  } finally {
    await close(c);
  }
}
