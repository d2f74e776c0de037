// From intents to messages, through the stages in notify/stages/ (docs/notifications.md#the-stages):
// intake (mute → join group) when an escalation step or reminder names people, and the message
// pipeline (group → recipient → quiet hours → rate limit → render → record → send) when a group
// wait has passed or a digest falls due. This class takes groups and digests out of Redis and
// runs the pipelines over them.
// Every step is idempotent: intents are guarded per (alert episode, step, contact, channel), a
// group is taken into a processing key before it becomes records, records have stable ids.

import type { ChannelName } from '../domain/notification.js';
import { NotifyParts, type NotifyContext } from './context.js';
import type { DeferredIntent, FlushJob, Intent } from './intent.js';
import type { NotificationItem } from '../domain/notification.js';
import { intakePipeline, messagePipeline } from './stages/pipelines.js';
import { recordMissing } from './stages/recipient.js';
import type { DigestRef } from '../state/message-batches.js';
import { QueueOutbox } from './stages/queue-outbox.js';
import { MessageMaker } from './stages/render.js';
import { batchOf, resultOf, type IntakeStage, type MessageStage } from './stages/stage.js';
import type { Outbox } from './stages/stores.js';

export class Dispatcher extends NotifyParts('batches', 'clock', 'records', 'observer', 'logger') {
  /** Renders messages (the render stage's views and content; failover renders with it too). */
  readonly maker: MessageMaker;
  /** The channel queues messages are sent from. */
  readonly outbox: Outbox;
  private readonly intake: IntakeStage;
  private readonly message: MessageStage;

  constructor(context: NotifyContext) {
    super(context);
    const settings = () => context.policies().settings;
    this.maker = new MessageMaker({
      renderer: () => context.renderer(),
      ackCodes: context.escalationState,
      clock: context.clock,
      entity: (id) => context.entity(id),
      ruleName: (id) => context.ruleName(id),
      complaintLead: (a, e) => context.complaintLead?.(a, e) ?? Promise.resolve(undefined),
      links: context.links,
      publicUrl: context.publicUrl,
    });
    this.outbox = new QueueOutbox(context.queues, () => settings().retry);
    this.intake = intakePipeline({ groups: context.batches, flushQueue: context.queues.dispatch, groupWaitMs: () => settings().groupWaitMs, records: context.records, observer: context.observer });
    this.message = messagePipeline({
      alerts: context.alerts,
      contact: (id) => context.recipients().contact(id),
      records: context.records,
      digests: context.batches,
      sent: context.sentSms,
      outbox: this.outbox,
      maker: this.maker,
      settings,
      calendar: context.calendar,
      clock: context.clock,
      observer: context.observer,
      logger: context.logger,
    });
  }

  /** Add intents to their recipients' groups; each new group flushes after the group wait. */
  async add(intents: readonly Intent[]): Promise<void> {
    await this.intake.run({ now: this.clock.now() }, { intents });
  }

  /** A step named a role nobody fills for this alert: visible as a failed notification. */
  recordMissing(item: NotificationItem, ref: string, reason: string): Promise<void> {
    return recordMissing({ records: this.records, clock: this.clock, observer: this.observer, logger: this.logger }, item, ref, reason);
  }

  /** Muted by a silence or inhibition: recorded (visible), never sent. */
  async recordMuted(intents: readonly Intent[], reason: string): Promise<void> {
    await this.intake.run({ now: this.clock.now() }, { intents, muted: reason });
  }

  /** The group wait of one recipient and channel has passed: turn its intents into messages. */
  async flush(job: FlushJob): Promise<string> {
    const raw = await this.batches.takeGroup(job.contact, job.channel, job.window);
    if (!raw.length) return 'nothing to flush';
    const out = await this.deliver(job.contact, job.channel, raw.map((r) => JSON.parse(r) as Intent), job.window, 'group');
    await this.batches.finishGroup(job.contact, job.channel, job.window);
    return out;
  }

  /** Deferred digests whose time has come (quiet hours ended, rate-limit slot free). */
  async tick(now = this.clock.now()): Promise<number> {
    const { batches } = this;
    let sent = 0;
    // Digests taken a minute ago and never finished (the process died): finish them now.
    for (const d of await batches.stuckDigests(now - 60_000)) {
      const raw = await batches.takenDigest(d);
      if (raw.length) await this.sendDigest(d, raw);
      else await batches.forgetTaken(d);
    }
    for (const d of await batches.dueDigests(now)) {
      const raw = await batches.takeDigest(d, now);
      if (!raw.length) continue;
      await this.sendDigest(d, raw);
      sent++;
    }
    return sent;
  }

  /** Idempotent: the digest's records have stable ids, so finishing it twice sends it once. */
  private async sendDigest(d: DigestRef, raw: readonly string[]): Promise<void> {
    await this.deliver(d.contact, 'sms', raw.map((r) => JSON.parse(r) as DeferredIntent), `digest.${d.score}`, 'digest');
    await this.batches.finishDigest(d);
  }

  private async deliver(contactId: string, channel: ChannelName, intents: readonly DeferredIntent[], batch: string, origin: 'group' | 'digest'): Promise<string> {
    const m = { contactId, channel, batch, origin, now: this.clock.now() };
    return resultOf(await this.message.run(m, batchOf(intents)));
  }
}
