// `lookout import FILE`: stream a samples CSV through the same validation and batched queue path
// as the HTTP door, or load an entities CSV/YAML into the registry.

import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { Queue } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import { readEntityCsv, readEntityYaml } from '../config/registry-loader.js';
import { loadRulesOrThrow } from '../config/load-rules.js';
import { ConfigError } from '../errors/catalogue.js';
import { Calendar, systemClock } from '../domain/clock.js';
import { metricCatalogue } from '../domain/metric.js';
import type { SampleRejection } from '../domain/sample.js';
import { QUEUES, keyspace } from '../queues/names.js';
import { connectRedis } from '../redis/connect.js';
import { findRunningEmbedded } from '../redis/locate.js';
import { RedisRegistryStore } from '../state/registry-store.js';
import { readSampleCsv } from './csv.js';
import { QueueSampleSink } from './queue-sink.js';
import { validateSamples } from './validate.js';

export interface ImportOptions {
  readonly config: AppConfig;
  readonly file: string;
  readonly entities?: boolean;
  readonly source?: string;
  readonly out?: (line: string) => void;
  readonly err?: (line: string) => void;
  /** Show a progress line (default: stderr is a TTY). */
  readonly progress?: boolean;
}

const SHOW_REJECTS = 20;

function looksLikeEntities(file: string): boolean {
  const ext = extname(file).toLowerCase();
  if (ext === '.yaml' || ext === '.yml') return true;
  const head = readFileSync(file, { encoding: 'utf8', flag: 'r' }).slice(0, 4096).split(/\r?\n/, 1)[0] ?? '';
  const cols = head.replace(/^\uFEFF/, '').split(',').map((c) => c.trim());
  return cols.includes('kind') && !cols.includes('metric');
}

/** Returns the process exit code: 0 all imported, 1 some rows rejected or the file invalid. */
export async function runImport(opts: ImportOptions): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = opts.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { config, file } = opts;
  if (!existsSync(file) || !statSync(file).isFile()) {
    err(`lookout import: ${file}: no such file`);
    return 2;
  }
  const url = config.redisUrl ?? (await findRunningEmbedded(config.dataDir));
  if (!url) {
    err(`lookout import: no Lookout Redis found: set REDIS_URL, or start Lookout first (npx lookout start) so its embedded Redis is recorded under ${config.dataDir}/redis`);
    return 2;
  }
  const redis = connectRedis(url, 'lookout-import');
  const keys = keyspace(config.prefix);
  try {
    if (opts.entities || looksLikeEntities(file)) {
      const text = readFileSync(file, 'utf8');
      const parsed = /\.ya?ml$/i.test(file) ? readEntityYaml(text, file) : readEntityCsv(text, file);
      if (parsed.errors.length) {
        for (const e of parsed.errors) err(e.format());
        err(`${parsed.errors.length} error(s); nothing imported`);
        return 1;
      }
      await new RedisRegistryStore(redis, keys).putMany(parsed.entities);
      out(`imported ${parsed.entities.length} entities from ${file}`);
      return 0;
    }
    return await importSamples(opts, redis, keys, out, err);
  } catch (e) {
    // A bad header stops the import before anything is stored: the file is invalid (exit 1).
    if (!(e instanceof ConfigError) || e.code !== 'bad_csv_header') throw e;
    err(e.format());
    return 1;
  } finally {
    redis.disconnect();
  }
}

async function importSamples(
  opts: ImportOptions,
  redis: ReturnType<typeof connectRedis>,
  keys: ReturnType<typeof keyspace>,
  out: (l: string) => void,
  err: (l: string) => void,
): Promise<number> {
  const { config, file } = opts;
  const ruleSet = await loadRulesOrThrow(config.rulesDir);
  const calendar = new Calendar(config.timeZone);
  const metrics = metricCatalogue(ruleSet.metrics);
  const queue = new Queue(QUEUES.samples, { connection: redis, prefix: config.prefix });
  const sink = new QueueSampleSink(queue, config.batchSize, systemClock);
  const source = opts.source ?? 'csv';
  const rejected: SampleRejection[] = [];
  const entities = new Set<string>();
  let accepted = 0;
  let jobs = 0;
  const started = performance.now();
  const showProgress = opts.progress ?? process.stderr.isTTY === true;
  try {
    const result = await readSampleCsv(createReadStream(file), {
      batchSize: config.batchSize,
      file,
      onBatch: async (raws, firstRow) => {
        const v = validateSamples(raws, { metrics, now: systemClock.now(), retentionDays: config.retentionDays, maxFutureMs: config.maxFutureMs, calendar, firstIndex: firstRow });
        rejected.push(...v.rejected);
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
    rejected.push(...result.rejected);
    rejected.sort((a, b) => a.index - b.index);

    const ids = [...entities];
    let unknown = 0;
    for (let i = 0; i < ids.length; i += 1000) {
      const found = await redis.hmget(keys.entities, ...ids.slice(i, i + 1000));
      unknown += found.filter((x) => x === null).length;
    }
    const secs = (performance.now() - started) / 1000;
    out(`imported ${accepted} samples from ${file} in ${jobs} job(s), ${secs.toFixed(1)} s (${Math.round(accepted / Math.max(secs, 1e-3))} samples/s)`);
    if (unknown) out(`${unknown} entities are not in the registry: their samples are kept and counted (GET /api/v1/entities/unknown)`);
    if (rejected.length) {
      err(`${rejected.length} row(s) rejected, the rest imported:`);
      for (const r of rejected.slice(0, SHOW_REJECTS)) err(`  row ${r.index}: ${r.code}: ${r.message}`);
      if (rejected.length > SHOW_REJECTS) err(`  … and ${rejected.length - SHOW_REJECTS} more`);
      return 1;
    }
    return 0;
  } finally {
    await queue.close();
  }
}
