// What every notifier stage is given by the composition root.

import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { AlertRecord } from '../domain/alert.js';
import type { Calendar, Clock } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { pickFields } from '../domain/fields.js';
import type { Contact, Muter, PolicySet, RecipientRef } from '../route/types.js';
import type { RedisAlertStore } from '../state/alert-store.js';
import type { EscalationStore } from '../state/escalation-store.js';
import type { MessageBatches, RedisSentSms } from '../state/message-batches.js';
import type { NotificationStore } from '../state/notification-store.js';
import type { Channel } from './channels/channel.js';
import type { ChannelName } from '../domain/notification.js';
import type { MessageRenderer } from './render.js';

/** Who fills a policy step's roles for one alert (the org tree, rotas). */
export interface Recipients {
  resolve(
    refs: readonly RecipientRef[],
    alert: AlertRecord,
    entity: Entity | undefined,
    now: number,
    calendar: Calendar,
    hints?: { readonly complaintLead?: string | null },
  ): { contacts: Contact[]; missing: { ref: RecipientRef; reason: string }[] };
  contact(id: string): Contact | undefined;
}

/** What the notifier reports about itself (observability/metrics.ts turns it into series). */
export interface NotifyObserver {
  /** outcome: sent, failed, retried, resent_after_crash, resent_in_doubt, deferred, grouped, muted, damped, cancelled, failover, no_recipient */
  notification(channel: ChannelName | 'none', outcome: string, n?: number): void;
  sendSeconds(channel: ChannelName, seconds: number): void;
  receipt(status: string): void;
  /** outcome: acked, already, not_ackable, stranger, unknown_code, unrecognised */
  smsReply(outcome: string): void;
  /** level: 1-based escalation step that ran. */
  escalation(level: number, severity: string): void;
  /** Process indicators: fired → acknowledged / resolved, with the escalation level reached. */
  acknowledged(severity: string, level: number, seconds: number): void;
  resolved(severity: string, level: number, seconds: number): void;
  /** A job of a notify queue that BullMQ gave up on (turned into a failed notification). */
  jobFailed(queue: string): void;
  /** kind: step (a due escalation step re-enqueued), resend (a message left sending), failed_job, receipt, receipt_unknown */
  repair(kind: string): void;
}

export const nullNotifyObserver: NotifyObserver = {
  notification() {},
  sendSeconds() {},
  receipt() {},
  smsReply() {},
  escalation() {},
  acknowledged() {},
  resolved() {},
  jobFailed() {},
  repair() {},
};

export interface NotifyQueues {
  readonly escalations: Queue;
  readonly dispatch: Queue;
  readonly sms: Queue;
  readonly email: Queue;
  readonly webhook: Queue;
}

export interface NotifyContext {
  readonly clock: Clock;
  readonly calendar: Calendar;
  readonly alerts: RedisAlertStore;
  readonly records: NotificationStore;
  /** Escalation chains, who was told, ack codes. */
  readonly escalationState: EscalationStore;
  /** Recipients' open groups and deferred digests. */
  readonly batches: MessageBatches;
  readonly sentSms: RedisSentSms;
  readonly queues: NotifyQueues;
  readonly channels: Readonly<Record<ChannelName, Channel>>;
  readonly entity: (id: string) => Entity | undefined;
  readonly ruleName: (id: string) => string;
  readonly policies: () => PolicySet;
  readonly recipients: () => Recipients;
  /** False without contacts.csv (development): alerts are recorded and nobody is notified. */
  readonly enabled: () => boolean;
  readonly muter: Muter;
  readonly renderer: () => MessageRenderer;
  readonly links?: { readonly secret: string; readonly publicUrl: string; readonly ttlMs: number };
  /** LOOKOUT_PUBLIC_URL: emails link each alert's console page under it. */
  readonly publicUrl?: string;
  /**
   * Complaint routing: the department leading on a campaign complaint alert (dept_lead scope and
   * the message line, e.g. 业务支撑中心（计费类投诉 62%）); undefined for other alerts.
   */
  readonly complaintLead?: (alert: AlertRecord, entity: Entity | undefined) => Promise<AlertLead | undefined>;
  readonly logger: Logger;
  readonly observer: NotifyObserver;
}

/** Base class of a notifier part: the parts of the context it uses, as readonly fields (`this.records`). */
export const NotifyParts = pickFields<NotifyContext>();

/** The department that leads on an alert (complaint routing). */
export interface AlertLead {
  /** dept_lead scope, e.g. billing. */
  readonly department: string;
  /** 业务支撑中心（计费类投诉 62%）. */
  readonly text: string;
  /** 业务支撑中心. */
  readonly dept: string;
}

/** BullMQ job ids may not contain ':'. */
export function jobIdPart(s: string): string {
  return s.replace(/[:\s]/g, '_');
}
