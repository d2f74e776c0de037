// `lookout backtest`, in-process: stream a samples CSV through the ingest validation into
// in-memory buckets (store.ts; a large file on several threads, parallel-read.ts), then replay
// every day close through the live evaluators and alert lifecycle (replay.ts; entities split
// across threads, parallel.ts), and count per rule what would have been raised. No Redis.
// docs/backtest.md.

import { createReadStream, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import type { CsvEncoding } from '../config/csv-rows.js';
import { Calendar, systemClock } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { metricCatalogue } from '../domain/metric.js';
import type { RuleSet } from '../domain/rule.js';
import type { SampleRejection } from '../domain/sample.js';
import { planEntity } from '../evaluate/plan.js';
import { replayAll, workersAvailable } from './parallel.js';
import { planSplit, readParallel } from './parallel-read.js';
import { readSamples } from './reader.js';
import type { ReplayedAlert, ReplayedTransition } from './replay.js';
import { SampleStore } from './store.js';

/**
 * How far back a sample may be (ts_too_old): the live daemon rejects samples older than its
 * retention, but a backtest replays history, so only samples more than ten years old (epoch
 * seconds taken for milliseconds, typos in the year) are refused.
 */
export const BACKTEST_MAX_AGE_DAYS = 3660;

export type BacktestPhase = 'read' | 'judge';

export interface BacktestOptions {
  /** The samples CSV (a path, or a stream with `name` for messages). */
  readonly data: string | { readonly stream: Readable; readonly name: string; readonly size?: number };
  readonly ruleSet: RuleSet;
  /** The registry (entities.csv / entities.yaml). */
  readonly entities: readonly Entity[];
  /** LOOKOUT_TZ. */
  readonly timeZone: string;
  /** LOOKOUT_RETENTION_DAYS / LOOKOUT_HOURLY_RETENTION_DAYS: how far back a live judgement reads. */
  readonly retentionDays: number;
  /** LOOKOUT_DAY_CLOSE_CRON: the replay judges each day when the scheduler would close it. */
  readonly dayCloseCron?: string;
  readonly hourlyRetentionDays?: number;
  /** Reading and judging threads (default: the cores available, at most 4; 1 = in-process). */
  readonly threads?: number;
  /** Files at least this large are read on several threads when they can be (default 8 MB). */
  readonly parallelReadBytes?: number;
  /**
   * Bytes of the samples CSV are in this encoding (--encoding: GBK / GB18030 decoded); without
   * it, a file that is not UTF-8 is refused with ConfigError `csv_encoding`.
   */
  readonly encoding?: CsvEncoding;
  /** LOOKOUT_BATCH_SIZE: rows per validation batch (as `lookout import`). */
  readonly batchSize?: number;
  /** LOOKOUT_MAX_FUTURE_MS: how far after `now` a sample may be. */
  readonly maxFutureMs?: number;
  /** First and last day whose day close is counted (local dates); default: the data's span. */
  readonly from?: string;
  readonly to?: string;
  /** Reference instant for ts validation (default: the system clock). */
  readonly now?: number;
  /** `read`: rows read and bytes (of `total` bytes, when known); `judge`: entities judged of `total`. */
  readonly onProgress?: (phase: BacktestPhase, done: number, total: number | undefined) => void;
}

export interface RuleReport {
  readonly rule: string;
  readonly kind: string;
  /** Registered entities in the rule's scope. */
  readonly inScope: number;
  /**
   * Alerts raised that page (notify: true), by severity when they first paged: fired, or a
   * recorded weak-evidence alert upgraded to a paging severity.
   */
  readonly alerts: number;
  readonly critical: number;
  readonly warning: number;
  readonly info: number;
  /** Severity upgrades of alerts that already paged (they page again). */
  readonly upgrades: number;
  /** Entities with at least one paging alert or upgrade. */
  readonly entities: number;
  /** Paging alerts per judged day, and per 1,000 in-scope entities per day. */
  readonly perDay: number;
  readonly per1000PerDay: number;
  /** Weak-evidence verdicts recorded with notify: false (dashboards only; nobody is paged). */
  readonly recorded: number;
  readonly recordedEntities: number;
  /** Alerts that started pending (`for`), and pending alerts that never fired. */
  readonly pending: number;
  readonly cancelled: number;
  readonly resolved: number;
  /** Alerts still open after the last day. */
  readonly openAtEnd: number;
}

export interface BacktestReport {
  readonly file: string;
  readonly timeZone: string;
  /** Days whose close is counted; undefined when there was nothing to judge. */
  readonly from?: string;
  readonly to?: string;
  readonly days: number;
  /** First day replayed (earlier than `from` when --from leaves history before it). */
  readonly replayedFrom?: string;
  readonly rows: number;
  readonly samples: {
    /** Rows that passed validation (rows = accepted + rejected). */
    readonly accepted: number;
    /** Bad rows (skipped), all codes. */
    readonly rejected: number;
    /** Samples replaced by a later one with the same id (same batch or not). */
    readonly replaced: number;
    /** …of which moved to the day before or after (a corrected time zone). */
    readonly movedDays: number;
  };
  /** Bad rows by data row number (the first 1,000). */
  readonly rejected: readonly { readonly row: number; readonly code: string; readonly message: string }[];
  readonly entities: {
    readonly registered: number;
    /** Registered entities with at least one rule in scope (the ones judged). */
    readonly judged: number;
    /** Entity ids in the data that are not registered: their samples are counted, never judged. */
    readonly unknown: number;
    readonly unknownSamples: number;
    /** The unknown entities with the most samples (at most 100). */
    readonly unknownTop: readonly { readonly id: string; readonly samples: number }[];
  };
  readonly rules: readonly RuleReport[];
  readonly totals: {
    readonly alerts: number;
    readonly upgrades: number;
    readonly recorded: number;
    readonly perDay: number;
    /** Per 1,000 judged entities per day. */
    readonly per1000PerDay: number;
  };
  /** Every firing and upgrade in the counted days (paging and recorded), in time order. */
  readonly alerts: readonly ReplayedAlert[];
  /**
   * Every transition in the counted days (start, fire, upgrade, downgrade, resolve, cancel), in
   * time order; a resolve says how long the alert stayed open.
   */
  readonly transitions: readonly ReplayedTransition[];
  /** What the replay could not do like the daemon for these rules or this data. */
  readonly notes: readonly string[];
  readonly seconds: { readonly read: number; readonly judge: number; readonly total: number };
  /** Threads used to read the file and to judge. */
  readonly threads: { readonly read: number; readonly judge: number };
}

export class BacktestRangeError extends Error {}

const SHOW_REJECTED = 1000;
const SHOW_UNKNOWN = 100;

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function parseDay(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const d = Calendar.parseIsoDay(v);
  if (d === undefined) throw new BacktestRangeError(`${name}: expected a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
  return d;
}

export async function runBacktest(opts: BacktestOptions): Promise<BacktestReport> {
  const started = performance.now();
  const fromOpt = parseDay('--from', opts.from);
  const toOpt = parseDay('--to', opts.to);
  if (fromOpt !== undefined && toOpt !== undefined && fromOpt > toOpt) throw new BacktestRangeError(`--from ${opts.from} is after --to ${opts.to}`);

  const calendar = new Calendar(opts.timeZone);
  const rules = opts.ruleSet.rules;
  const catalogue = metricCatalogue(opts.ruleSet.metrics);
  // Hourly buckets only where an intraday rule reads them (that entity, that metric).
  const hourlyWanted = new Map<string, ReadonlySet<string>>();
  for (const e of opts.entities) {
    const plan = planEntity(rules, e);
    if (plan?.hourlyMetrics.length) hourlyWanted.set(e.id, new Set(plan.hourlyMetrics));
  }
  const data = opts.data;
  const name = typeof data === 'string' ? data : data.name;
  const size = typeof data === 'string' ? statSync(data).size : data.size;
  const store = new SampleStore(calendar, catalogue, {
    wantsHourly: (entity, metric) => hourlyWanted.get(entity)?.has(metric) ?? false,
  });
  for (const e of opts.entities) store.intern(e.id);
  const registered = store.entityCount;
  const threads = Math.max(1, opts.threads ?? Math.min(4, availableParallelism()));
  const now = opts.now ?? systemClock.now();
  const maxFutureMs = opts.maxFutureMs ?? 5 * 60_000;
  const batchSize = opts.batchSize ?? 2000;
  const split =
    typeof data === 'string' && threads > 1 && size !== undefined && size >= (opts.parallelReadBytes ?? 8 << 20) && workersAvailable()
      ? planSplit(data, size, threads)
      : undefined;
  const read = split
    ? await readParallel({
        file: name,
        plan: split,
        metrics: [...catalogue.values()],
        timeZone: opts.timeZone,
        now,
        retentionDays: BACKTEST_MAX_AGE_DAYS,
        maxFutureMs,
        batchSize,
        encoding: opts.encoding,
        intern: (entity) => store.intern(entity),
        apply: (e, m, hour, milli, hasId, a, b) => store.addEncoded(e, m, hour, milli, hasId, a, b),
        onProgress: (bytes) => opts.onProgress?.('read', bytes, size),
      })
    : await readSamples(typeof data === 'string' ? createReadStream(data, { highWaterMark: 1 << 20 }) : data.stream, {
        batchSize,
        file: name,
        encoding: opts.encoding,
        validate: { metrics: catalogue, now, retentionDays: BACKTEST_MAX_AGE_DAYS, maxFutureMs, calendar },
        onSamples: (samples) => {
          for (const s of samples) store.add(s);
        },
        onProgress: (_rows, bytes) => opts.onProgress?.('read', bytes, size),
      });
  const readSeconds = (performance.now() - started) / 1000;

  const stats = store.stats;
  const fromDay = fromOpt ?? stats.firstDay;
  const toDay = toOpt ?? stats.lastDay;
  const judgeStarted = performance.now();
  let replayed: Awaited<ReturnType<typeof replayAll>> | undefined;
  let startDay: number | undefined;
  if (fromDay !== undefined && toDay !== undefined && fromDay <= toDay) {
    startDay = Math.min(fromDay, stats.firstDay ?? fromDay);
    replayed = await replayAll(
      {
        rules,
        entities: opts.entities,
        entityIndexes: opts.entities.map((e) => store.indexOf(e.id)!),
        store: store.snapshot(),
        timeZone: opts.timeZone,
        dayCloseCron: opts.dayCloseCron,
        retentionDays: opts.retentionDays,
        hourlyRetentionDays: opts.hourlyRetentionDays ?? 8,
        startDay,
        fromDay,
        toDay,
      },
      threads,
      (done, total) => opts.onProgress?.('judge', done, total),
    );
  }
  const judgeSeconds = (performance.now() - judgeStarted) / 1000;
  const days = replayed && fromDay !== undefined && toDay !== undefined ? toDay - fromDay + 1 : 0;
  const tallies = new Map((replayed?.tallies ?? []).map((t) => [t.rule, t]));

  const ruleReports: RuleReport[] = rules.map((r) => {
    const t = tallies.get(r.id);
    const alerts = t ? t.fired.critical + t.fired.warning + t.fired.info : 0;
    const perDay = days ? alerts / days : 0;
    return {
      rule: r.id,
      kind: r.kind,
      inScope: t?.inScope ?? 0,
      alerts,
      critical: t?.fired.critical ?? 0,
      warning: t?.fired.warning ?? 0,
      info: t?.fired.info ?? 0,
      upgrades: t?.upgrades ?? 0,
      entities: t ? new Set(t.entities).size : 0,
      perDay: round(perDay, 3),
      per1000PerDay: t?.inScope ? round((perDay / t.inScope) * 1000, 3) : 0,
      recorded: t?.recorded ?? 0,
      recordedEntities: t ? new Set(t.recordedEntities).size : 0,
      pending: t?.pending ?? 0,
      cancelled: t?.cancelled ?? 0,
      resolved: t?.resolved ?? 0,
      openAtEnd: t?.openAtEnd ?? 0,
    };
  });
  const totalAlerts = ruleReports.reduce((a, r) => a + r.alerts, 0);
  const judged = replayed?.judged ?? 0;

  const unknown: { id: string; samples: number }[] = [];
  let unknownSamples = 0;
  for (let i = registered; i < store.entityCount; i++) {
    const n = store.samplesOf(i);
    unknownSamples += n;
    unknown.push({ id: store.entityOf(i), samples: n });
  }
  unknown.sort((a, b) => b.samples - a.samples || (a.id < b.id ? -1 : 1));

  const notes: string[] = [];
  const intradayInScope = ruleReports.filter((r) => r.kind === 'intraday' && r.inScope > 0).map((r) => r.rule);
  if (replayed && intradayInScope.length && replayed.hourEvaluations === 0) {
    notes.push(`${intradayInScope.join(', ')}: nothing judged during the day — no series in the file is fed by the hour (daily exports arrive after their day)`);
  }
  if (opts.entities.length === 0) notes.push('no entities registered (--entities FILE, or entities.csv / entities.yaml in LOOKOUT_CONFIG_DIR): nothing was judged');

  return {
    file: name,
    timeZone: opts.timeZone,
    from: replayed ? Calendar.isoDay(fromDay!) : undefined,
    to: replayed ? Calendar.isoDay(toDay!) : undefined,
    days,
    replayedFrom: startDay !== undefined ? Calendar.isoDay(startDay) : undefined,
    rows: read.rows,
    samples: { accepted: read.accepted + read.duplicateIds, rejected: read.rejected.length, replaced: stats.replaced + read.duplicateIds, movedDays: stats.movedDays },
    rejected: read.rejected.slice(0, SHOW_REJECTED).map((r: SampleRejection) => ({ row: r.index, code: r.code, message: r.message })),
    entities: {
      registered: opts.entities.length,
      judged,
      unknown: unknown.length,
      unknownSamples,
      unknownTop: unknown.slice(0, SHOW_UNKNOWN),
    },
    rules: ruleReports,
    totals: {
      alerts: totalAlerts,
      upgrades: ruleReports.reduce((a, r) => a + r.upgrades, 0),
      recorded: ruleReports.reduce((a, r) => a + r.recorded, 0),
      perDay: days ? round(totalAlerts / days, 3) : 0,
      per1000PerDay: days && judged ? round((totalAlerts / days / judged) * 1000, 3) : 0,
    },
    alerts: replayed?.alerts ?? [],
    transitions: replayed?.transitions ?? [],
    notes,
    seconds: { read: round(readSeconds, 2), judge: round(judgeSeconds, 2), total: round((performance.now() - started) / 1000, 2) },
    threads: { read: split ? split.parts.length : 1, judge: replayed?.threads ?? 1 },
  };
}
