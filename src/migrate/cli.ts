// `lookout migrate [--dry-run] [--delete-old]`: the buckets layout into the compact one, on the
// deployment's Redis (found as the other commands find it). A progress line on a TTY (stderr),
// one summary line at the end; exit codes as docs/cli.md says.

import type { AppConfig } from '../config/env.js';
import { appClock } from '../config/now.js';
import { Calendar } from '../domain/clock.js';
import { metricCatalogue } from '../domain/metric.js';
import { ConfigError } from '../errors/catalogue.js';
import { EXIT } from '../exit-codes.js';
import { keyspace } from '../state/keys.js';
import { connectRedis } from '../redis/connect.js';
import { locateDeployment } from '../redis/locate.js';
import { migrate, type MigrateSummary } from '../state/migrate.js';

export interface MigrateCliOptions {
  readonly config: AppConfig;
  readonly dryRun?: boolean;
  readonly deleteOld?: boolean;
  /** Entities per batch (tests; default MIGRATE_BATCH). */
  readonly batchSize?: number;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly out?: (line: string) => void;
  readonly err?: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown };
}

export function summaryLine(s: MigrateSummary): string {
  if (s.alreadyDone) return `lookout migrate: already migrated (nothing copied)${s.deleted ? `; deleted ${s.deleted} old bucket keys` : ''}`;
  const verb = s.dryRun ? 'would copy' : 'copied';
  const resumed = s.resumedFrom ? ` (resumed after ${s.resumedFrom} entities)` : '';
  const deleted = s.dryRun ? '' : s.deleted ? `; deleted ${s.deleted} old bucket keys` : '; old bucket keys kept (--delete-old removes them)';
  return `lookout migrate: ${verb} ${s.entities} entities, ${s.series} series, ${s.samples} samples into the compact layout${resumed}${deleted}`;
}

export async function runMigrate(o: MigrateCliOptions): Promise<number> {
  const errOut = o.err ?? process.stderr;
  const line = (l: string) => errOut.write(`${l}\n`);
  const found = await locateDeployment(o.config, o.env ?? process.env);
  if (!found.ok) {
    line(`lookout migrate: ${found.message}`);
    return EXIT.redis;
  }
  line(`lookout migrate: ${found.deployment.describe}`);
  if (found.deployment.cluster) {
    // The buckets layout never ran on a cluster (it is refused there): nothing can need a copy.
    line('lookout migrate: nothing to migrate: a Redis Cluster only ever holds the compact layout');
    return EXIT.ok;
  }
  const config = { ...o.config, prefix: found.deployment.prefix };
  const redis = connectRedis(found.deployment.url, 'lookout-migrate');
  try {
    const summary = await migrate({
      redis,
      keys: keyspace(config.prefix),
      calendar: new Calendar(config.timeZone),
      metrics: () => metricCatalogue(),
      settings: config,
      now: appClock(config).now(),
      dryRun: o.dryRun,
      deleteOld: o.deleteOld,
      batchSize: o.batchSize,
      progress: errOut.isTTY ? (done, total) => errOut.write(`\rlookout migrate: ${done}/${total} entities`) : undefined,
    });
    if (errOut.isTTY) errOut.write('\n');
    (o.out ?? ((l: string) => process.stdout.write(`${l}\n`)))(summaryLine(summary));
    return EXIT.ok;
  } catch (err) {
    if (errOut.isTTY) errOut.write('\n');
    if (err instanceof ConfigError) {
      line(`lookout migrate: ${err.message} (run it again to resume)`);
      return EXIT.failed;
    }
    throw err;
  } finally {
    redis.disconnect();
  }
}
