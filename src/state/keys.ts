// The Redis key layout: every key Lookout reads or writes, under one prefix (LOOKOUT_PREFIX).
// Only state/ and the composition root build keys; the rest of the code asks a store.

/**
 * LOOKOUT_PREFIX as the control plane's keys and BullMQ's queues begin on a Redis Cluster: `{P}`.
 * The hash tag puts the whole control plane (alerts, versions, dirty set, notifications, queues…)
 * in one slot, so its scripts and MULTIs stay single-slot; the series are spread by entity shard
 * (compact layout, under `seriesPrefix`). On a standalone Redis the prefix is used as it is.
 */
export function clusterPrefix(prefix: string): string {
  return `{${prefix}}`;
}

/** `prefix` is LOOKOUT_PREFIX, or clusterPrefix(LOOKOUT_PREFIX) on a cluster. */
export function keyspace(prefix: string) {
  const p = prefix;
  const tagged = /^\{(.+)\}$/.exec(prefix);
  return {
    prefix: p,
    /** LOOKOUT_PREFIX itself: the compact series keys add their shard's hash tag to it. */
    seriesPrefix: tagged ? tagged[1]! : prefix,
    /** Keys laid out for a Redis Cluster (clusterPrefix). */
    cluster: tagged !== null,
    /** The series layout this deployment's data is in ('buckets' | 'compact'), recorded at start. */
    layout: `${p}:layout`,
    entities: `${p}:e`,
    entitiesVersion: `${p}:e:ver`,
    /** Stream of registry changes (field `ids`: a JSON array of the ids a write changed): workers refresh only those. */
    entitiesLog: `${p}:e:log`,
    unknownEntities: `${p}:e:unknown`,
    /** Daily buckets of one metric: hash entity → 'sum,count' (sum in thousandths). */
    daily: (metric: string, day: number) => `${p}:d:${metric}:${day}`,
    /** Hourly buckets of one metric: hash entity → 'sum,count'. */
    hourly: (metric: string, hour: number) => `${p}:h:${metric}:${hour}`,
    /** Sample ids of one local day (hash id → value|hour|agg|metric|entity). */
    ids: (day: number) => `${p}:ids:${day}`,
    /** Alert-state version of an entity: bumped by every alert commit (evaluation, ack). */
    version: (entity: string) => `${p}:v:{${entity}}`,
    alerts: `${p}:alerts`,
    openAlerts: `${p}:alerts:open`,
    resolvedAlerts: `${p}:alerts:resolved`,
    events: `${p}:events`,
    /** Entities waiting for evaluation (zset, score = ms since dirty) and those being evaluated (score = lease end). */
    dirty: `${p}:dirty`,
    /** Worker processes serving the backfill's partitions (zset member id → when its heartbeat lapses, Redis time ms). */
    backfillMembers: `${p}:bf:members`,
    /** Which worker process serves a backfill partition now (SET NX PX: queues/backfill-partitions.ts). */
    backfillLease: (partition: number) => `${p}:bf:lease:${partition}`,
    /** Entities a worker process holds backfill jobs of, still to apply (a set; lapses with its heartbeat). */
    backfillHeld: (member: string) => `${p}:bf:held:${member}`,
    evaluating: `${p}:evaluating`,
    /** Marker of one applied chunk of one sample job (idempotent retries). */
    chunk: (jobId: string, index: number) => `${p}:chunk:${jobId}:${index}`,
    closedDay: `${p}:closed-day`,
    /** Samples per local day of one metric, across all entities (hash day → count). */
    feed: (metric: string) => `${p}:feed:${metric}`,
    /** Set once the absence pass ran for a metric and day. */
    absencePass: (metric: string, day: number) => `${p}:absence-pass:${metric}:${day}`,
    /** Silences: hash id → JSON Silence. */
    silences: `${p}:silences`,
    /** Escalation state of an alert's current chain (hash: token, policy, ackCode …). */
    escalation: (fp: string) => `${p}:esc:${fp}`,
    /** Who was told about an alert's episode: hash contact → phone hash ('' for email/webhook). */
    told: (fp: string) => `${p}:told:${fp}`,
    /** Short ack code → fingerprint (SMS replies `确认 1234`). */
    ackCode: (code: string) => `${p}:ackcode:${code}`,
    /** Latest alert sent to a phone (hash of the number) → fingerprint (a bare `1` reply). */
    phoneLast: (phoneHash: string) => `${p}:phone-last:${phoneHash}`,
    /** Times an alert fired recently (zset), for flapping damping. */
    flaps: (fp: string) => `${p}:flap:${fp}`,
    /** One notification intent per (alert episode, step, contact, channel): SET NX guard. */
    intent: (key: string) => `${p}:intent:${key}`,
    /** A recipient's open group (list of intents) and its window marker. */
    group: (contact: string, channel: string) => `${p}:grp:${channel}:${contact}`,
    groupWindow: (contact: string, channel: string) => `${p}:grpw:${channel}:${contact}`,
    /** Deferred SMS intents of a contact (quiet hours, rate-limit overflow) and when each digest is due. */
    digest: (contact: string) => `${p}:dig:${contact}`,
    digestDue: `${p}:dig:due`,
    /** Digests taken for sending and not yet turned into records (member `<contact>\0<due>`, score = taken at). */
    digestTaken: `${p}:dig:taken`,
    /** SMS sent to a contact (zset of send times) for the per-hour limit. */
    smsSent: (contact: string) => `${p}:rl:${contact}`,
    /** Notification records: hash id → JSON, an index by time and one of failures. */
    notifications: `${p}:notifications`,
    notificationsByTime: `${p}:notifications:t`,
    notificationsFailed: `${p}:notifications:failed`,
    /** SMS handed to the gateway whose answer is not recorded yet (score = handed at). */
    notificationsSending: `${p}:notifications:sending`,
    /** SMS sent and waiting for their delivery receipt (score = sent at). */
    notificationsAwaitingReceipt: `${p}:notifications:awaiting-receipt`,
    /** Delivery receipts that came before (or without) their message's record: hash provider id → JSON. */
    receiptsKept: `${p}:receipts:kept`,
    /** Finally failed jobs already turned into failed notifications (hash `<queue>:<job id>` → time). */
    failedJobsSeen: `${p}:jobs:failed-seen`,
    /** Provider message id → notification id (delivery receipts). */
    providerId: (id: string) => `${p}:nprov:${id}`,
  };
}

export type Keyspace = ReturnType<typeof keyspace>;
