// Redis keys and queue names of the channel duties (reminders, the halls' ranking, broadcasts).
// They live beside the core keyspace (src/queues/names.ts) under the same LOOKOUT_PREFIX.

export const DUTY_QUEUES = {
  /** Broadcast SMS, one job per recipient (job id = notification record id), rate-limited. */
  broadcast: 'duty-broadcast',
} as const;

export function dutyKeys(prefix: string) {
  const p = prefix;
  return {
    /** Broadcasts: hash id → JSON BroadcastRecord, and an index by creation time (zset). */
    broadcasts: `${p}:bc`,
    broadcastsByTime: `${p}:bc:t`,
    /** The last weekly reminder sent per alert: hash fingerprint → `<episode>.<n>`. */
    reminded: `${p}:remind`,
  };
}

export type DutyKeys = ReturnType<typeof dutyKeys>;
