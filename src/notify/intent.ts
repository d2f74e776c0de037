// What the escalator and the reminders hand to the dispatcher, and the jobs the dispatcher adds.

import type { ChannelName } from '../domain/notification.js';
import type { NotificationItem } from '../domain/notification.js';

/** One (alert episode, step, contact, channel) that should hear about an alert. */
export interface Intent {
  /** Dedup key: `<fp>.<episode>.<step>.<contact>.<channel>`. */
  readonly key: string;
  readonly kind: 'alert' | 'resolve';
  readonly contact: string;
  readonly channel: ChannelName;
  readonly item: NotificationItem;
  readonly at: number;
}

/** An intent kept in a digest, with why it was deferred (quiet_hours, rate_limit). */
export interface DeferredIntent extends Intent {
  readonly reason?: string;
}

export interface FlushJob {
  readonly contact: string;
  readonly channel: ChannelName;
  readonly window: string;
}

export interface DeliveryJob {
  readonly id: string;
  /** SMS only: passing failures so far (retried in place, see Delivery). */
  readonly retries?: number;
}
