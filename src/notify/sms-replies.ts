// What phones send back: replies that acknowledge (`1`, `确认 1234`, `ACK 1234`) — accepted
// only from a phone the alert was sent to — and delivery receipts for sent messages.

import { maskPhone } from '../observability/mask.js';
import { parseAckReply } from './ack-reply.js';
import type { DeliveryReceipt, InboundSms } from './channels/channel.js';
import type { NotifyContext } from './context.js';
import { phoneHash } from './delivery.js';

export type ReplyOutcome = 'acked' | 'already' | 'not_ackable' | 'stranger' | 'unknown_code' | 'unrecognised';

export interface ReplyResult {
  readonly outcome: ReplyOutcome;
  readonly alert?: string;
  readonly contact?: string;
}

export class SmsReplies {
  constructor(private readonly c: NotifyContext) {}

  async inbound(m: InboundSms): Promise<ReplyResult> {
    const result = await this.judge(m);
    this.c.observer.smsReply(result.outcome);
    const log = { from: maskPhone(m.from), via: m.via, outcome: result.outcome, alert: result.alert, contact: result.contact };
    if (result.outcome === 'stranger') this.c.logger.warn(log, 'SMS reply from a phone the alert was not sent to: ignored');
    else this.c.logger.info(log, 'SMS reply');
    return result;
  }

  private async judge(m: InboundSms): Promise<ReplyResult> {
    const { redis, keys } = this.c;
    const parsed = parseAckReply(m.text);
    if (!parsed) return { outcome: 'unrecognised' };
    const ph = phoneHash(m.from);
    const fp = parsed.code ? await redis.get(keys.ackCode(parsed.code)) : await redis.get(keys.phoneLast(ph));
    if (!fp) return { outcome: 'unknown_code' };
    const told = await redis.hgetall(keys.told(fp));
    const contact = Object.entries(told).find(([, h]) => h === ph)?.[0];
    if (!contact) return { outcome: 'stranger', alert: fp };
    const res = await this.c.alerts.ack(fp, contact, 'sms', this.c.clock.now());
    if (res.ok) return { outcome: res.alert.ack?.via === 'sms' && res.alert.ack.by === contact ? 'acked' : 'already', alert: fp, contact };
    return { outcome: 'not_ackable', alert: fp, contact };
  }

  async receipt(r: DeliveryReceipt): Promise<void> {
    this.c.observer.receipt(r.status);
    const rec = await this.c.records.byProviderId(r.providerId);
    if (!rec) return;
    const now = this.c.clock.now();
    const receipts = [...rec.receipts.filter((x) => x.providerId !== r.providerId), { providerId: r.providerId, status: r.status, stat: r.stat, at: now }];
    const all = rec.providerIds.every((id) => receipts.some((x) => x.providerId === id && x.status === 'delivered'));
    await this.c.records.update(rec.id, { receipts, state: all && rec.state === 'sent' ? 'delivered' : rec.state }, now);
  }
}
