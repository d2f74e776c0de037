// Queue names of the channel duties, beside the core queues (src/queues/names.ts) under the same
// LOOKOUT_PREFIX. Their Redis keys live in src/state/duty-store.ts.

export const DUTY_QUEUES = {
  /** Broadcast SMS, one job per recipient (job id = notification record id), rate-limited. */
  broadcast: 'duty-broadcast',
} as const;
