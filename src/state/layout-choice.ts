// Which series layout a deployment runs (LOOKOUT_SERIES_LAYOUT, or what Redis holds), chosen at
// start and recorded in Redis (`P:layout`) so every process and CLI of the deployment reads the
// same. Design: docs/scaling.md "Upgrade path".

import type { RedisClient } from './client.js';
import { ConfigError } from '../errors/catalogue.js';
import type { Keyspace } from './keys.js';
import { escapeGlob, metricAndIndex, migrateKeys } from './migrate.js';
import type { SeriesLayoutName } from './series-layout.js';

/** True when Redis holds series in the buckets layout (any daily bucket key). */
export async function holdsBuckets(redis: RedisClient, keys: Keyspace): Promise<boolean> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${escapeGlob(keys.prefix)}:d:*`, 'COUNT', 10_000);
    if (found.some((k) => metricAndIndex(k, `${keys.prefix}:d:`))) return true;
    cursor = next;
  } while (cursor !== '0');
  return false;
}

/**
 * Start-up check for LOOKOUT_SERIES_LAYOUT=compact: a Redis that still holds bucket data and no
 * completed migration is refused (never a silent start from empty series).
 */
export async function assertMigrated(redis: RedisClient, keys: Keyspace): Promise<void> {
  if (await fromBefore(redis, keys))
    throw new ConfigError(
      'migration_needed',
      'LOOKOUT_SERIES_LAYOUT=compact, but Redis holds series in the buckets layout and no completed migration: run `lookout migrate` first (or start with LOOKOUT_SERIES_LAYOUT=buckets) [migration_needed]',
    );
}

/**
 * The series layout a starting deployment uses, recorded in Redis (`P:layout`) so every process
 * and CLI of the deployment reads the same:
 * - LOOKOUT_SERIES_LAYOUT when set (`compact` over un-migrated bucket data is refused:
 *   assertMigrated);
 * - else the layout recorded by an earlier start;
 * - else `buckets` when Redis holds bucket data of a deployment that ran before the layout was
 *   recorded (upgraded in place: its data stays readable until `lookout migrate`), and
 *   `compact` for a new deployment.
 */
export async function chooseLayout(redis: RedisClient, keys: Keyspace, chosen?: SeriesLayoutName): Promise<{ layout: SeriesLayoutName; why: string }> {
  let layout = chosen;
  let why = 'LOOKOUT_SERIES_LAYOUT';
  if (layout === 'compact') await assertMigrated(redis, keys);
  if (!layout) {
    const recorded = await redis.get(keys.layout);
    if (recorded === 'buckets' || recorded === 'compact') [layout, why] = [recorded, 'recorded in Redis'];
    else if (await fromBefore(redis, keys)) [layout, why] = ['buckets', 'bucket data from before, not migrated'];
    else [layout, why] = ['compact', 'new deployment'];
  }
  await redis.set(keys.layout, layout);
  return { layout, why };
}

/**
 * A deployment from before the layout was recorded, with bucket data not migrated. A Redis
 * without the prefix's registry has never held one (no SCAN then: a new deployment starts at
 * once however many keys other prefixes hold); otherwise one SCAN, once, as the choice is recorded.
 */
async function fromBefore(redis: RedisClient, keys: Keyspace): Promise<boolean> {
  if (!(await redis.exists(keys.entities))) return false;
  if (await redis.exists(migrateKeys(keys.prefix).done)) return false;
  return holdsBuckets(redis, keys);
}

/** The layout recorded by the deployment's last start, else `fallback` (CLIs beside a deployment). */
export async function recordedLayout(redis: RedisClient, keys: Keyspace, fallback: SeriesLayoutName): Promise<SeriesLayoutName> {
  const recorded = await redis.get(keys.layout);
  return recorded === 'buckets' || recorded === 'compact' ? recorded : fallback;
}
