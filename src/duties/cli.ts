// `lookout broadcast …` and `lookout halls ranking …`: like `lookout import`, they work on the
// deployment's Redis directly (REDIS_URL, or the embedded one a running Lookout recorded) and
// read contacts.csv from LOOKOUT_CONFIG_DIR; a running Lookout worker sends what they queue.

import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../config/env.js';
import { loadContacts } from '../config/contacts-loader.js';
import { defaultPolicies, loadPolicies } from '../config/policy-loader.js';
import { Calendar, systemClock } from '../domain/clock.js';
import { NotificationStore } from '../notify/records.js';
import { QUEUES, keyspace } from '../queues/names.js';
import { connectRedis } from '../redis/connect.js';
import { findRunningEmbedded } from '../redis/locate.js';
import { buildDirectory } from '../route/recipients.js';
import type { Directory } from '../route/types.js';
import { RedisRegistryStore } from '../state/registry-store.js';
import { Broadcaster, parseBroadcastRequest, type BroadcastSummary } from './broadcast.js';
import { DUTY_QUEUES, dutyKeys } from './keys.js';
import { RankingMailer } from './ranking-mail.js';
import { hallRanking, previousMonth, rankingView, type RankingSource } from './ranking.js';
import { DutyTemplates } from './templates.js';

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const STDIO: CliIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

interface Context {
  readonly redis: Redis;
  readonly directory: Directory;
  readonly retry: { attempts: number; backoffMs: number };
  readonly calendar: Calendar;
  readonly templates: DutyTemplates;
  readonly registry: RedisRegistryStore;
  readonly records: NotificationStore;
  readonly queues: Queue[];
  queue(name: string): Queue;
}

/** Exit code 2 (and a message) when no Redis or contacts can be read. */
async function open(config: AppConfig, cmd: string, io: CliIo): Promise<Context | number> {
  const url = config.redisUrl ?? (await findRunningEmbedded(config.dataDir));
  if (!url) {
    io.err(`lookout ${cmd}: no Lookout Redis found: set REDIS_URL, or start Lookout first (npx lookout start) so its embedded Redis is recorded under ${config.dataDir}/redis`);
    return 2;
  }
  const contacts = await loadContacts(config.configDir);
  if (contacts.errors.length) {
    for (const e of contacts.errors) io.err(e.format());
    return 2;
  }
  const pol = await loadPolicies(config.rulesDir);
  const redis = connectRedis(url, `lookout-${cmd}`);
  const keys = keyspace(config.prefix);
  const queues: Queue[] = [];
  return {
    redis,
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
  c.redis.disconnect();
}

const list = (v: string[] | undefined) => (v && v.length ? v.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean) : undefined);

function countsLine(s: BroadcastSummary): string {
  return `sent ${s.counts.sent}, delivered ${s.counts.delivered}, failed ${s.counts.failed}, queued ${s.counts.queued}`;
}

/** `lookout broadcast --text … [--kind …] [--region …] [--district …] [--tier …] [--by …] [--id …] [--dry-run] [--wait] [--json]` */
export async function runBroadcastCli(config: AppConfig, args: string[], io: CliIo = STDIO): Promise<number> {
  const usage = 'usage: lookout broadcast --text TEXT [--kind K] [--region R] [--district D] [--tier T] [--by WHO] [--id ID] [--dry-run] [--wait] [--json]';
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        text: { type: 'string' },
        kind: { type: 'string', multiple: true },
        region: { type: 'string', multiple: true },
        district: { type: 'string', multiple: true },
        tier: { type: 'string', multiple: true },
        by: { type: 'string' },
        id: { type: 'string' },
        'dry-run': { type: 'boolean' },
        wait: { type: 'boolean' },
        json: { type: 'boolean' },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    io.err(`lookout broadcast: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (!values.text) {
    io.err(`lookout broadcast: --text is required\n${usage}`);
    return 2;
  }
  const selector = Object.fromEntries(
    (['kind', 'region', 'district', 'tier'] as const).map((k) => [k, list(values[k])]).filter(([, v]) => v !== undefined),
  );
  const parsed = parseBroadcastRequest({ text: values.text, selector, by: values.by ?? `cli:${userInfo().username}`, id: values.id, dry_run: values['dry-run'] ?? false });
  if (!parsed.ok) {
    io.err(`lookout broadcast: ${parsed.message}`);
    return 2;
  }
  const c = await open(config, 'broadcast', io);
  if (typeof c === 'number') return c;
  try {
    const b = new Broadcaster({
      redis: c.redis,
      keys: dutyKeys(config.prefix),
      coreKeys: keyspace(config.prefix),
      clock: systemClock,
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
export async function runHallsCli(config: AppConfig, args: string[], io: CliIo = STDIO): Promise<number> {
  const usage = 'usage: lookout halls ranking [--month YYYY-MM] [--json | --html] [--send]';
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { month: { type: 'string' }, json: { type: 'boolean' }, html: { type: 'boolean' }, send: { type: 'boolean' } },
      allowPositionals: true,
    }));
  } catch (err) {
    io.err(`lookout halls: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (positionals.length !== 1 || positionals[0] !== 'ranking' || (values.json && values.html)) {
    io.err(usage);
    return 2;
  }
  const c = await open(config, 'halls', io);
  if (typeof c === 'number') return c;
  try {
    const keys = keyspace(config.prefix);
    const now = systemClock.now();
    const month = values.month ?? previousMonth(c.calendar.dayOf(now));
    const source: RankingSource = { redis: c.redis, keys, calendar: c.calendar, retentionDays: config.retentionDays, halls: () => c.registry.list() };
    const mailer = new RankingMailer({
      source,
      clock: systemClock,
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
      return 2;
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
