// Notification records: one per message (to one contact, on one channel), created before the
// message is sent and checked before every attempt, so a crash and restart never sends twice.
// The store is state/notification-store.ts; the notifier and the feature slices read these types.

import type { Severity } from './rule.js';

export const CHANNEL_NAMES = ['sms', 'email', 'webhook'] as const;
export type ChannelName = (typeof CHANNEL_NAMES)[number];

/** A file an email carries; images the HTML shows are inline and referenced as `cid:<cid>`. */
export interface MailAttachment {
  readonly filename: string;
  readonly contentType: string;
  /** Content-ID without angle brackets, e.g. trend@lookout; the HTML says `<img src="cid:trend@lookout">`. */
  readonly cid?: string;
  /** The bytes, base64 (records and the outbox are JSON). */
  readonly content: string;
}

export type ReceiptStatus = 'delivered' | 'failed' | 'expired' | 'rejected' | 'unknown';

/** sending: handed to the SMS gateway, its answer not yet recorded; receipt_unknown: sent, and no receipt came in time. */
export const NOTIFICATION_STATES = ['queued', 'sending', 'sent', 'delivered', 'receipt_unknown', 'failed', 'deferred', 'muted', 'damped', 'cancelled'] as const;
export type NotificationState = (typeof NOTIFICATION_STATES)[number];

/** States after which a record never sends again. */
const FINAL: readonly NotificationState[] = ['sent', 'delivered', 'receipt_unknown', 'failed', 'muted', 'damped', 'cancelled', 'deferred'];

/** report: a campaign's daily monitoring report or post-evaluation (not about a firing alert; `items` is empty); broadcast: a broadcast SMS (src/duties/broadcast.ts, `items` empty). */
export type NotificationKind = 'alert' | 'resolve' | 'digest' | 'report' | 'broadcast';

/** One alert episode's escalation step that a message carries. */
export interface NotificationItem {
  readonly alert: string;
  readonly episode: number;
  /** 0-based escalation step (resolve notices: -1). */
  readonly step: number;
  readonly severity: Severity;
  readonly rule: string;
  readonly entity: string;
}

export interface NotificationRecord {
  readonly id: string;
  readonly channel: ChannelName;
  readonly contact: string;
  readonly kind: NotificationKind;
  readonly items: readonly NotificationItem[];
  readonly state: NotificationState;
  /** Why it was deferred, muted, damped or cancelled: quiet_hours, rate_limit, silence:<id>, inhibited_by:<id> … */
  readonly reason?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly attempts: number;
  readonly transport?: string;
  readonly subject?: string;
  readonly text: string;
  readonly html?: string;
  /** Email only: inline images the HTML refers to by cid (a report's chart as PNG). */
  readonly attachments?: readonly MailAttachment[];
  readonly data?: Readonly<Record<string, unknown>>;
  readonly providerIds: readonly string[];
  readonly segments?: number;
  readonly receipts: readonly { readonly providerId: string; readonly status: ReceiptStatus; readonly stat: string; readonly at: number }[];
  /** The SMS record this email replaces after the SMS failed (failover). */
  readonly failoverOf?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly sentAt?: number;
  /** When the SMS was last handed to the gateway (state sending). */
  readonly sendingAt?: number;
  /** Re-sent once, marked 【重发】, because a crash left its first send's fate unknown. */
  readonly resentAfterCrash?: boolean;
  /** A send went out without an answer (timeout, dropped session): the next one is marked 【重发】. */
  readonly inDoubt?: boolean;
}

export interface NotificationFilter {
  readonly state?: NotificationState;
  readonly alert?: string;
  readonly contact?: string;
  readonly channel?: ChannelName;
  readonly limit?: number;
}

export function isFinal(r: NotificationRecord): boolean {
  return FINAL.includes(r.state);
}

/** What the notifier reads and writes records through (NotificationStore; FakeNotificationRecords beside it for unit tests). */
export interface NotificationRecords {
  /** Store a new record; an existing record with the same id wins (a retried dispatch). */
  create(r: NotificationRecord): Promise<{ record: NotificationRecord; created: boolean }>;
  get(id: string): Promise<NotificationRecord | undefined>;
  update(id: string, patch: Partial<NotificationRecord>, now: number): Promise<NotificationRecord | undefined>;
}
