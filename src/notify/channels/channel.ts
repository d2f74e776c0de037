// One interface for every way a message leaves Lookout. A channel sends one message and says how
// a failure should be treated; retries, backoff, failover and dedup live in the delivery stage.

import type { ChannelName, MailAttachment, ReceiptStatus } from '../../domain/notification.js';

export interface Address {
  /** Contact id (contacts.csv). */
  readonly contact: string;
  readonly name?: string;
  readonly phone?: string;
  readonly email?: string;
  readonly webhook?: string;
}

export interface OutgoingMessage {
  /** Notification record id: stable across retries (providers that support it get it as a reference). */
  readonly id: string;
  readonly channel: ChannelName;
  readonly to: Address;
  /** Email subject / webhook title. */
  readonly subject?: string;
  /** SMS text, email text part, webhook `text`. */
  readonly text: string;
  /** Email HTML part. */
  readonly html?: string;
  /** Email attachments (inline chart images). */
  readonly attachments?: readonly MailAttachment[];
  /** Extra structured fields for webhook bodies (alerts, ack link …). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface SendResult {
  /** Ids the provider gave the message (SMPP: one per segment). */
  readonly providerIds: readonly string[];
  /** SMS segments sent. */
  readonly segments?: number;
}

/**
 * unavailable: the gateway cannot be reached / is not bound — nothing was sent, try later, in order.
 * retryable:   this message failed for a passing reason (throttled, 5xx) — retry it with backoff.
 * permanent:   this message will never go through (bad number, 4xx) — fail it (and fail over).
 */
export type FailureKind = 'unavailable' | 'retryable' | 'permanent';

export class ChannelError extends Error {
  constructor(
    readonly kind: FailureKind,
    /** Short machine code, e.g. smpp_0x0000000b, http_503, smtp_550, econnrefused. */
    readonly code: string,
    message: string,
    /**
     * The message went out and no answer came back (a response timeout, the session dropped with
     * it in flight): the gateway may have taken it, so a retry may be a second copy.
     */
    readonly inDoubt = false,
  ) {
    super(message);
    this.name = 'ChannelError';
  }
}

export interface Channel {
  readonly name: ChannelName;
  /** smpp | http | smtp | webhook | outbox — for logs and metrics. */
  readonly transport: string;
  /** Resolves once the provider accepted the message; rejects with ChannelError. */
  send(message: OutgoingMessage): Promise<SendResult>;
  close(): Promise<void>;
}

/** An SMS a phone sent us (an MO message): a possible acknowledgement. */
export interface InboundSms {
  readonly from: string;
  readonly text: string;
  /** smpp | http | outbox | api */
  readonly via: string;
}

/** A delivery receipt for one provider message id. */
export interface DeliveryReceipt {
  readonly providerId: string;
  readonly status: ReceiptStatus;
  /** Raw status word from the carrier (DELIVRD, UNDELIV, …). */
  readonly stat: string;
  readonly err?: string;
}

/** What SMS transports report back, asynchronously. */
export interface SmsListener {
  inbound(m: InboundSms): void;
  receipt(r: DeliveryReceipt): void;
}
