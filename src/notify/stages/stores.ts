// The state the message stages read and write, each behind a small interface: Redis in
// production (state/message-batches.ts, state/escalation-store.ts, queue-outbox.ts), in-memory
// twins in unit tests (fake-stores.ts).

import type { AlertRecord } from '../../domain/alert.js';
import type { ChannelName } from '../../domain/notification.js';
import type { DeferredIntent } from '../intent.js';

/** Alerts as they are now (RedisAlertStore). */
export interface AlertLookup {
  get(id: string): Promise<AlertRecord | undefined>;
}

/** Recipients' open groups: an intent joins its (contact, channel) group once. */
export interface GroupStore {
  /** Add the intent once (by its key); returns the open group's window id (`newWindow` when none was open). */
  join(intent: DeferredIntent, newWindow: string, ttlMs: number): Promise<string>;
}

/** Deferred SMS intents per contact, and when each contact's digest is due. */
export interface DigestStore {
  /** Append to the contact's digest; its due time keeps the earliest asked for. */
  defer(contact: string, intents: readonly DeferredIntent[], due: number): Promise<void>;
}

/** SMS sent per contact, for the per-hour limit. */
export interface SentSmsLog {
  /** Send times of the contact's SMS at or after `from`. */
  since(contact: string, from: number): Promise<number[]>;
  add(contact: string, notification: string, at: number): Promise<void>;
}

/** The channel queues: a recorded message is put on its channel's queue to be sent. */
export interface Outbox {
  enqueue(channel: ChannelName, id: string): Promise<void>;
}

/** An alert's SMS ack code (from its escalation state), for the message text. */
export interface AckCodes {
  of(fingerprint: string): Promise<string | undefined>;
}
