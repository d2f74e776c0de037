// The notify pipeline is built from small stages behind one interface (the model: Alertmanager's
// notify.Stage): a stage takes a batch, does its one thing, and hands on what is left. Two
// pipelines are made of them (docs/notifications.md#the-stages):
//   intake   mute → join group                  when an escalation step or a reminder names people
//   message  group → recipient → quiet hours → rate limit → render → record → send
//                                               when a group wait has passed or a digest is due

import { createHash } from 'node:crypto';
import type { AlertRecord } from '../../domain/alert.js';
import type { Contact } from '../../route/types.js';
import type { ChannelName } from '../../domain/notification.js';
import type { DeferredIntent, Intent } from '../intent.js';
import type { NotificationRecord } from '../../domain/notification.js';

export interface Outcome {
  /** Set by a stage that ends the batch (what the job reports); the stages after it do not run. */
  readonly outcome?: string;
}

export interface Stage<C, B extends Outcome> {
  readonly name: string;
  run(ctx: C, batch: B): Promise<B>;
}

/** Stages one after the other; a batch that has an outcome goes no further. */
export function sequence<C, B extends Outcome>(name: string, stages: readonly Stage<C, B>[]): Stage<C, B> {
  return {
    name,
    async run(ctx, batch) {
      let b = batch;
      for (const s of stages) {
        if (b.outcome !== undefined) break;
        b = await s.run(ctx, b);
      }
      return b;
    },
  };
}

/** Intents of one escalation step or reminder, on their way into their recipients' groups. */
export interface Intake extends Outcome {
  readonly intents: readonly Intent[];
  /** Why a silence or inhibition mutes them (silence:<id>, inhibited_by:<id>). */
  readonly muted?: string;
}

export interface IntakeContext {
  readonly now: number;
}

export type IntakeStage = Stage<IntakeContext, Intake>;

/** The message being made: one recipient, one channel, one group window or digest. */
export interface Message {
  readonly contactId: string;
  readonly channel: ChannelName;
  /** The group window (`<uuid>`) or digest (`digest.<due>`): part of every record id, so a retried batch makes the same records. */
  readonly batch: string;
  readonly origin: 'group' | 'digest';
  readonly now: number;
}

/** An intent still on its way, with its alert as it is now. */
export interface Pending {
  readonly intent: DeferredIntent;
  readonly alert: AlertRecord;
}

/** A message rendered from the pending intents of one kind. */
export interface Draft {
  readonly about: 'alert' | 'resolve';
  readonly record: NotificationRecord;
}

export interface Batch extends Outcome {
  /** What the group or digest held. */
  readonly intents: readonly DeferredIntent[];
  /** Still to be sent (set by the group stage, narrowed by quiet hours and the rate limit). */
  readonly pending: readonly Pending[];
  /** The recipient (set by the recipient stage). */
  readonly contact?: Contact;
  readonly drafts: readonly Draft[];
  /** What happened to whom, in order: the job's result. */
  readonly notes: readonly string[];
}

export type MessageStage = Stage<Message, Batch>;

export function batchOf(intents: readonly DeferredIntent[]): Batch {
  return { intents, pending: [], drafts: [], notes: [] };
}

export function resultOf(b: Batch): string {
  return b.outcome ?? (b.notes.join('; ') || 'nothing sent');
}

/** Stable record ids: a retried batch makes the same records, and the store keeps the first. */
export function recordId(...parts: string[]): string {
  return createHash('sha1').update(parts.join('\0')).digest('hex').slice(0, 20);
}

/** The fields of a record that carries no message (missing recipient, muted, deferred, skipped). */
export function unsent(now: number) {
  return { attempts: 0, text: '', providerIds: [] as string[], receipts: [], createdAt: now, updatedAt: now };
}
