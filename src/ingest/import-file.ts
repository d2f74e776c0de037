// `lookout import FILE`: stream a samples CSV through the same validation and batched queue path
// as the HTTP door, or load an entities CSV/YAML into the registry.

import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import { loadContacts } from '../config/contacts-loader.js';
import { readEntityFile } from '../config/registry-loader.js';
import type { CsvEncoding } from '../config/csv-rows.js';
import { loadRulesOrThrow } from '../config/load-rules.js';
import { ConfigError } from '../errors/catalogue.js';
import { Calendar, liveFrom } from '../domain/clock.js';
import { appClock } from '../config/now.js';
import { metricCatalogue } from '../domain/metric.js';
import type { SampleRejection } from '../domain/sample.js';
import { QUEUES } from '../queues/names.js';
import { openBackfillQueues } from '../queues/backfill-partitions.js';
import { ColumnarReaders } from '../queues/payload-readers.js';
import { keyspace } from '../state/keys.js';
import { connectDeployment } from '../redis/connect.js';
import { locateDeployment } from '../redis/locate.js';
import { EXIT } from '../exit-codes.js';
import { recordedLayout } from '../state/layout-choice.js';
import { RedisRegistryStore } from '../state/registry-store.js';
import { readSampleCsv } from './csv.js';
import { QueueSampleSink } from './queue-sink.js';
import { validateSamples } from './validate.js';

export interface ImportOptions {
  readonly config: AppConfig;
  readonly file: string;
  readonly entities?: boolean;
  readonly source?: string;
  /** CSV bytes are in this encoding (default: UTF-8, anything else refused). */
  readonly encoding?: CsvEncoding;
  /** The environment, to tell an explicit LOOKOUT_PREFIX from the default (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
  /** Show a progress line (default: stderr is a TTY). */
  readonly progress?: boolean;
}

const SHOW_REJECTS = 20;

/**
 * Rows read, validated and queued at once when the deployment stores series in the compact layout
 * (at least one job's worth, LOOKOUT_BATCH_SIZE): the rows are put together by entity before they
 * are cut into jobs, so a job holds many samples of each series (an hourly export sorted by time has
 * 2 per series in 2,000 rows, ~20 in 20,000), and the worker applies a series once per job, not once
 * per sample. The jobs of one read go in one MULTI: queued whole or not at all. Bounded, not a
 * multiple of the batch size, so a large LOOKOUT_BATCH_SIZE does not make a read of millions of rows.
 */
export const IMPORT_ROWS_PER_READ = 20_000;

function looksLikeEntities(file: string): boolean {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return true;
  // The header is ASCII in every encoding we read.
  const head = readFileSync(file).subarray(0, 4096).toString('latin1').split(/\r?\n/, 1)[0] ?? '';
  const cols = head.replace(/^\xEF\xBB\xBF/, '').split(',').map((c) => c.trim());
  return cols.includes('kind') && !cols.includes('metric');
}

/** Errors of one file, one line per file line: `file line 3: kind: …; attr.start: … [bad_entity]`. */
export function groupByLine(errors: readonly ConfigError[]): string[] {
  const byLine = new Map<string, ConfigError[]>();
  for (const e of errors) {
    const key = `${e.file ?? ''}\u0000${e.line ?? ''}`;
    byLine.set(key, [...(byLine.get(key) ?? []), e]);
  }
  return [...byLine.values()].map((group) => {
    const first = group[0]!;
    if (first.line === undefined) return group.map((e) => e.format()).join('\n');
    const codes = [...new Set(group.map((e) => e.code))].join(', ');
    // `entity D2: ` once for the row, not before every field.
    const who = /^entity \S+: /.exec(first.message)?.[0];
    const strip = (m: string) => (who && m.startsWith(who) ? m.slice(who.length) : m);
    return `${first.file ?? ''} line ${first.line}: ${who ?? ''}${group.map((e) => `${e.field ? `${e.field}: ` : ''}${strip(e.message)}`).join('; ')} [${codes}]`;
  });
}

/**
 * Returns the process exit code (docs/cli.md): 0 all imported, 1 some or all rows rejected or
 * the file invalid, 2 a usage error, 3 no Redis.
 */
export async function runImport(opts: ImportOptions): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = opts.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { config, file } = opts;
  if (!existsSync(file) || !statSync(file).isFile()) {
    err(`lookout import: ${file}: ${existsSync(file) ? 'is a folder, not a file' : 'no such file'}`);
    return EXIT.usage;
  }
  const found = await locateDeployment(config, opts.env ?? process.env);
  if (!found.ok) {
    err(`lookout import: ${found.message}`);
    return EXIT.redis;
  }
  const { deployment } = found;
  err(`lookout import: ${deployment.describe}`);
  const redis = connectDeployment(deployment, 'lookout-import');
  const keys = keyspace(deployment.prefix);
  const withPrefix = { ...opts, config: { ...config, prefix: deployment.prefix } };
  try {
    if (opts.entities || looksLikeEntities(file)) {
      // Managers are checked against contacts.csv when the config folder has one.
      const contacts = await loadContacts(config.configDir);
      const known = contacts.file && !contacts.errors.length ? new Set(contacts.contacts.map((c) => c.id)) : undefined;
      const parsed = readEntityFile(readFileSync(file), file, opts.encoding, known);
      if (parsed.errors.length) {
        for (const line of groupByLine(parsed.errors)) err(line);
        err(`${parsed.errors.length} error(s); nothing imported`);
        return EXIT.failed;
      }
      await new RedisRegistryStore(redis, keys).putMany(parsed.entities);
      out(`imported ${parsed.entities.length} entities from ${file} (prefix "${deployment.prefix}")`);
      return EXIT.ok;
    }
    return await importSamples(withPrefix, redis, keys, out, err);
  } catch (e) {
    // A bad header or encoding stops the import before anything is stored: the file is invalid (exit 1).
    if (!(e instanceof ConfigError) || !['bad_csv_header', 'csv_encoding'].includes(e.code)) throw e;
    err(e.format());
    err('nothing imported');
    return EXIT.failed;
  } finally {
    redis.disconnect();
  }
}

async function importSamples(
  opts: ImportOptions,
  redis: ReturnType<typeof connectDeployment>,
  keys: ReturnType<typeof keyspace>,
  out: (l: string) => void,
  err: (l: string) => void,
): Promise<number> {
  const { config, file } = opts;
  const ruleSet = await loadRulesOrThrow(config.rulesDir);
  const calendar = new Calendar(config.timeZone);
  const metrics = metricCatalogue(ruleSet.metrics);
  // Only where the deployment has recorded the compact layout: in the buckets layout an id re-sent
  // under another entity moves, so rows keep the file's order (as before a first start).
  const grouped = (await recordedLayout(redis, keys, 'buckets')) === 'compact';
  const queueOpts = { connection: redis, prefix: config.prefix };
  const queue = new Queue(QUEUES.samples, queueOpts);
  const backfill = openBackfillQueues(queueOpts, config.backfillPartitions, config.shards);
  const flows = new FlowProducer({ connection: redis, prefix: config.prefix });
  const clock = appClock(config);
  const sink = new QueueSampleSink(queue, config.batchSize, clock, { flows, groupByEntity: grouped, columns: new ColumnarReaders(queue), backfill: { queue: backfill.unpartitioned, queueOf: (e) => backfill.queueOf(e), liveFrom: () => liveFrom(calendar, clock) } });
  const source = opts.source ?? 'csv';
  const rejected: (SampleRejection & { line?: number })[] = [];
  const entities = new Set<string>();
  let accepted = 0;
  let jobs = 0;
  const started = performance.now();
  const showProgress = opts.progress ?? process.stderr.isTTY === true;
  try {
    const result = await readSampleCsv(createReadStream(file), {
      batchSize: grouped ? Math.max(config.batchSize, IMPORT_ROWS_PER_READ) : config.batchSize,
      file,
      encoding: opts.encoding,
      onBatch: async (raws, firstRow, lines) => {
        const v = validateSamples(raws, { metrics, now: clock.now(), retentionDays: config.retentionDays, maxFutureMs: config.maxFutureMs, calendar, firstIndex: firstRow });
        rejected.push(...v.rejected.map((r) => ({ ...r, line: lines[r.index - firstRow] })));
        for (const s of v.accepted) entities.add(s.entity);
        jobs += (await sink.enqueue(v.accepted, source)).jobs;
        accepted += v.accepted.length;
      },
      onProgress: (rows, bytes) => {
        if (!showProgress) return;
        const secs = (performance.now() - started) / 1000;
        process.stderr.write(`\r  ${rows.toLocaleString('en')} rows  ${(bytes / 1e6).toFixed(1)} MB  ${Math.round(rows / Math.max(secs, 1e-3)).toLocaleString('en')} rows/s   `);
      },
    });
    if (showProgress) process.stderr.write('\n');
    rejected.push(...result.rejected.map((r) => ({ ...r, line: result.badRowLines.get(r.index) })));
    rejected.sort((a, b) => a.index - b.index);

    const ids = [...entities];
    let unknown = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const found = await redis.hmget(keys.entities, ...ids.slice(i, i + 1000));
      unknown += found.filter((x) => x === null).length;
    }
    const secs = (performance.now() - started) / 1000;
    if (accepted) out(`imported ${accepted} samples from ${file} in ${jobs} job(s), ${secs.toFixed(1)} s (${Math.round(accepted / Math.max(secs, 1e-3))} samples/s)`);
    if (unknown) out(`${unknown} entities are not in the registry: their samples are kept and counted (GET /api/v1/entities/unknown)`);
    if (rejected.length) {
      err(accepted ? `${rejected.length} row(s) rejected, the rest imported:` : `all ${rejected.length} row(s) rejected, nothing imported:`);
      for (const r of rejected.slice(0, SHOW_REJECTS)) err(`  ${r.line !== undefined ? `line ${r.line}` : `row ${r.index}`}: ${r.code}: ${r.message}`);
      if (rejected.length > SHOW_REJECTS) err(`  … and ${rejected.length - SHOW_REJECTS} more`);
      return EXIT.failed;
    }
    if (!accepted) {
      err(`${file} has no data rows; nothing imported`);
      return EXIT.failed;
    }
    return EXIT.ok;
  } finally {
    await Promise.all([queue.close(), backfill.close(), flows.close()]);
  }
}
