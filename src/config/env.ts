// Environment → typed, frozen AppConfig, parsed once. A bad value stops start-up with one line
// naming the variable.

import { validate as validateCron } from 'node-cron';
import { Calendar, isValidTimeZone } from '../domain/clock.js';
import { DAY_CLOSE_CRON } from '../evaluate/schedule.js';
import { parseNow } from './now.js';
import { ConfigError } from '../errors/catalogue.js';
import { defaultRulesDir, defaultTemplatesDir } from './paths.js';

/** ingest: post samples and entities; operator: read and act (ack, silence); viewer: read only (the console). */
export type TokenScope = 'ingest' | 'operator' | 'viewer';

export interface AppConfig {
  /** Unset: start an embedded redis-server under dataDir. */
  readonly redisUrl?: string;
  readonly httpPort: number;
  readonly httpHost: string;
  readonly rulesDir: string;
  readonly configDir: string;
  readonly dataDir: string;
  readonly timeZone: string;
  readonly smsUrl: string;
  readonly smtpUrl: string;
  /** token → scopes. Empty: the API is open (development). */
  readonly apiTokens: ReadonlyMap<string, readonly TokenScope[]>;
  readonly linkSecret?: string;
  /** Base URL people reach the API at (ack links in SMS/email). */
  readonly publicUrl: string;
  /** Message language: zh (default) or en. */
  readonly locale: 'zh' | 'en';
  /** Folder of editable message templates (default: templates/<locale>). */
  readonly templatesDir: string;
  /** Where the outbox channel writes (JSON lines per channel). */
  readonly outboxDir: string;
  /** SMS sender (SMPP source_addr / HTTP gateway `from`). */
  readonly smsFrom: string;
  /** Extra headers for the HTTP SMS gateway (JSON object). */
  readonly smsHttpHeaders: Readonly<Record<string, string>>;
  /** Body template for the HTTP SMS gateway: JSON with {{to}}, {{text}}, {{id}}, {{from}}. */
  readonly smsHttpBody: string;
  /** Email From header. */
  readonly smtpFrom: string;
  /** Lifetime of signed ack links. */
  readonly ackLinkTtlMs: number;
  /** SIGTERM: how long in-flight jobs may take to finish before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  readonly maxBodyBytes: number;
  /** Samples per queued job. */
  readonly batchSize: number;
  /** Sample jobs one worker process handles at once (its live lane: taken first, applied at once). */
  readonly workerConcurrency: number;
  /**
   * Compact layout applied in the worker: sample jobs a second consumer of the worker process holds
   * at once under a backlog, applied together in deep rounds (group commit); 0: no second consumer.
   */
  readonly workerHold: number;
  /**
   * Partitions of the backfill queue (LOOKOUT_BACKFILL_PARTITIONS): `samples-backfill-p<k>` by entity
   * shard, each served by one worker process at a time; 0: one backfill queue every worker serves.
   */
  readonly backfillPartitions: number;
  readonly retentionDays: number;
  readonly hourlyRetentionDays: number;
  readonly maxFutureMs: number;
  /**
   * How series are stored (LOOKOUT_SERIES_LAYOUT): `compact` or `buckets` (docs/scaling.md "Compact layout").
   * Unset: the layout recorded in Redis, else buckets for an un-migrated deployment from before, compact
   * for a new one (resolved at start: roles/core.ts, chooseLayout).
   */
  readonly seriesLayout: 'buckets' | 'compact';
  /** LOOKOUT_SERIES_LAYOUT was set (on a Redis Cluster an unset layout means compact). */
  readonly seriesLayoutSet?: boolean;
  /** Entity shards of the compact layout's keys (LOOKOUT_SHARDS). */
  readonly shards: number;
  /** Compact layout: days back whose sample ids are remembered for replace-by-id (LOOKOUT_ID_WINDOW_DAYS). */
  readonly idWindowDays: number;
  /**
   * Compact layout: where a job's samples are worked into the series (LOOKOUT_APPLY_IN): `worker`
   * computes the writes in the worker and writes them with a compare-and-set; `redis` leaves it all
   * to a script inside Redis (docs/scaling.md "Apply in the worker").
   */
  readonly applyIn: 'worker' | 'redis';
  /** Prefix of every Redis key and queue name (lets several deployments share one Redis). */
  readonly prefix: string;
  readonly logLevel: string;
  /** Evaluation debounce: an entity is judged once it has been dirty this long (ms). */
  readonly evalDebounceMs: number;
  /** node-cron expression (local time) for closing the previous day. */
  readonly dayCloseCron: string;
  /** node-cron expression (local time) for the campaigns' daily monitoring reports and post-evaluations (src/campaigns). */
  readonly reportCron: string;
  /** node-cron expression (local time) for emailing last month's halls' satisfaction ranking (src/duties). */
  readonly rankingCron: string;
  /** Broadcast SMS per second, across all workers (src/duties). */
  readonly broadcastRate: number;
  /** How often the notify reconciler runs (ms; 0: only at start-up). */
  readonly reconcileMs: number;
  /** An SMS left `sending` this long with no job to finish it is re-sent once, marked (ms). */
  readonly sendingTimeoutMs: number;
  /** A sent SMS with no delivery receipt after this long becomes receipt_unknown (ms). */
  readonly receiptTimeoutMs: number;
  /** LOOKOUT_NOW: the app clock reads this instant at start and runs on from there (tests, replays). */
  readonly now?: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function fail(name: string, expected: string, got: string): never {
  throw new ConfigError('bad_env', `${name}: expected ${expected}, got ${JSON.stringify(got)}`, undefined, undefined, name);
}

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(name, `an integer ${min}–${max}`, raw);
  return n;
}

function str(env: Env, name: string, def: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? def : raw;
}

function parseTokens(raw: string | undefined): Map<string, TokenScope[]> {
  const out = new Map<string, TokenScope[]>();
  if (!raw) return out;
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    // The scope is taken first, so `operator:short` is a short token, not a token "operator:short".
    const m = /^(?:(ingest|operator|viewer):)?(\S+)$/.exec(item);
    if (!m || m[2]!.length < 8) fail('LOOKOUT_API_TOKENS', '"[ingest:|operator:|viewer:]TOKEN,…" with tokens of 8+ characters', '(redacted)');
    const scopes: TokenScope[] = m[1] ? [m[1] as TokenScope] : ['ingest', 'operator'];
    out.set(m[2]!, [...(out.get(m[2]!) ?? []), ...scopes]);
  }
  return out;
}

function url(env: Env, name: string, def: string, schemes: readonly string[], opts: { list?: boolean } = {}): string {
  const raw = str(env, name, def);
  const redacted = raw.replace(/\/\/[^@/,]*@/g, '//***@');
  // A list (REDIS_URL naming several nodes of a Redis Cluster): every part is a URL.
  const parts = opts.list ? raw.split(',').map((p) => p.trim()) : [raw];
  for (const part of parts) {
    let scheme: string;
    try {
      scheme = new URL(part).protocol.replace(/:$/, '');
    } catch {
      return fail(name, `a URL (${schemes.join(', ')})${opts.list ? ', or several comma-separated' : ''}`, redacted);
    }
    if (!schemes.includes(scheme)) fail(name, `a URL with scheme ${schemes.join(', ')}`, redacted);
  }
  return raw;
}

function jsonHeaders(env: Env, name: string): Record<string, string> {
  const raw = env[name];
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return fail(name, 'a JSON object of header: value strings', '(redacted)');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    fail(name, 'a JSON object of header: value strings', '(redacted)');
  }
  return v as Record<string, string>;
}

function cron(env: Env, name: string, def: string): string {
  const raw = str(env, name, def);
  if (!validateCron(raw)) fail(name, 'a cron expression such as "5 0 * * *"', raw);
  return raw;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const timeZone = str(env, 'LOOKOUT_TZ', 'Asia/Shanghai');
  if (!isValidTimeZone(timeZone)) fail('LOOKOUT_TZ', 'an IANA time zone such as Asia/Shanghai', timeZone);
  const redisUrl = env.REDIS_URL ? url(env, 'REDIS_URL', '', ['redis', 'rediss', 'unix'], { list: true }) : undefined;
  const retentionDays = int(env, 'LOOKOUT_RETENTION_DAYS', 35, 8, 400);
  const prefix = str(env, 'LOOKOUT_PREFIX', 'lookout');
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(prefix)) fail('LOOKOUT_PREFIX', 'letters, digits, _ . - (1–40)', prefix);
  const logLevel = str(env, 'LOG_LEVEL', 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    fail('LOG_LEVEL', 'one of fatal, error, warn, info, debug, trace, silent', logLevel);
  }
  const seriesLayout = str(env, 'LOOKOUT_SERIES_LAYOUT', 'compact');
  if (seriesLayout !== 'buckets' && seriesLayout !== 'compact') fail('LOOKOUT_SERIES_LAYOUT', 'buckets or compact', seriesLayout);
  const applyIn = str(env, 'LOOKOUT_APPLY_IN', 'worker');
  if (applyIn !== 'worker' && applyIn !== 'redis') fail('LOOKOUT_APPLY_IN', 'worker or redis', applyIn);
  const locale = str(env, 'LOOKOUT_LOCALE', 'zh');
  if (locale !== 'zh' && locale !== 'en') fail('LOOKOUT_LOCALE', 'zh or en', locale);
  const httpPort = int(env, 'LOOKOUT_HTTP_PORT', 8080, 0, 65535);
  const dataDir = str(env, 'LOOKOUT_DATA_DIR', 'data');
  const smsHttpBody = str(env, 'LOOKOUT_SMS_HTTP_BODY', '{"to":"{{to}}","from":"{{from}}","text":"{{text}}","id":"{{id}}"}');
  const config: AppConfig = {
    redisUrl,
    httpPort,
    httpHost: str(env, 'LOOKOUT_HTTP_HOST', '0.0.0.0'),
    rulesDir: str(env, 'LOOKOUT_RULES_DIR', defaultRulesDir()),
    configDir: str(env, 'LOOKOUT_CONFIG_DIR', 'config'),
    dataDir,
    timeZone,
    smsUrl: url(env, 'LOOKOUT_SMS_URL', 'outbox:', ['smpp', 'http', 'https', 'outbox']),
    smtpUrl: url(env, 'LOOKOUT_SMTP_URL', 'outbox:', ['smtp', 'smtps', 'outbox']),
    apiTokens: parseTokens(env.LOOKOUT_API_TOKENS),
    linkSecret: env.LOOKOUT_LINK_SECRET || undefined,
    publicUrl: url(env, 'LOOKOUT_PUBLIC_URL', `http://localhost:${httpPort}`, ['http', 'https']).replace(/\/+$/, ''),
    locale,
    templatesDir: str(env, 'LOOKOUT_TEMPLATES_DIR', defaultTemplatesDir(locale)),
    outboxDir: str(env, 'LOOKOUT_OUTBOX_DIR', `${dataDir}/outbox`),
    smsFrom: str(env, 'LOOKOUT_SMS_FROM', '10658000'),
    smsHttpHeaders: jsonHeaders(env, 'LOOKOUT_SMS_HTTP_HEADERS'),
    smsHttpBody,
    smtpFrom: str(env, 'LOOKOUT_SMTP_FROM', 'Lookout 预警 <lookout@localhost>'),
    ackLinkTtlMs: int(env, 'LOOKOUT_ACK_LINK_TTL_HOURS', 72, 1, 24 * 90) * 3_600_000,
    shutdownTimeoutMs: int(env, 'LOOKOUT_SHUTDOWN_TIMEOUT_MS', 25_000, 1000, 600_000),
    maxBodyBytes: int(env, 'LOOKOUT_MAX_BODY_BYTES', 10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    batchSize: int(env, 'LOOKOUT_BATCH_SIZE', 2000, 1, 100_000),
    workerConcurrency: int(env, 'LOOKOUT_WORKER_CONCURRENCY', 4, 1, 64),
    workerHold: int(env, 'LOOKOUT_WORKER_HOLD', 256, 0, 1024),
    backfillPartitions: int(env, 'LOOKOUT_BACKFILL_PARTITIONS', 8, 0, 256),
    retentionDays,
    hourlyRetentionDays: int(env, 'LOOKOUT_HOURLY_RETENTION_DAYS', Math.min(28, retentionDays), 1, retentionDays),
    maxFutureMs: int(env, 'LOOKOUT_MAX_FUTURE_MS', 5 * 60_000, 0, 7 * 86_400_000),
    seriesLayout,
    seriesLayoutSet: Boolean(env.LOOKOUT_SERIES_LAYOUT),
    shards: int(env, 'LOOKOUT_SHARDS', 64, 1, 16384),
    idWindowDays: int(env, 'LOOKOUT_ID_WINDOW_DAYS', 7, 7, retentionDays),
    applyIn,
    prefix,
    logLevel,
    dayCloseCron: cron(env, 'LOOKOUT_DAY_CLOSE_CRON', DAY_CLOSE_CRON),
    reportCron: cron(env, 'LOOKOUT_REPORT_CRON', '0 9 * * *'),
    rankingCron: cron(env, 'LOOKOUT_RANKING_CRON', '0 9 1 * *'),
    broadcastRate: int(env, 'LOOKOUT_BROADCAST_RATE', 10, 1, 1000),
    evalDebounceMs: int(env, 'LOOKOUT_EVAL_DEBOUNCE_MS', 1000, 0, 3_600_000),
    reconcileMs: int(env, 'LOOKOUT_RECONCILE_INTERVAL_MS', 60_000, 0, 86_400_000),
    sendingTimeoutMs: int(env, 'LOOKOUT_SENDING_TIMEOUT_MS', 120_000, 1000, 86_400_000),
    receiptTimeoutMs: int(env, 'LOOKOUT_RECEIPT_TIMEOUT_HOURS', 48, 1, 24 * 30) * 3_600_000,
    now: env.LOOKOUT_NOW?.trim() ? parseNow(env.LOOKOUT_NOW, new Calendar(timeZone), 'LOOKOUT_NOW') : undefined,
  };
  return Object.freeze(config);
}
