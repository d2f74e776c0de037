// What phones send back: replies that acknowledge (`1`, `确认 1234`, `ACK 1234`) — accepted
// only from a phone the alert was sent to — and delivery receipts for sent messages.

import { maskPhone } from './mask.js';
import { parseAckReply } from './ack-reply.js';
import type { DeliveryReceipt, InboundSms } from './channels/channel.js';
import { NotifyParts, type NotifyContext } from './context.js';
import { phoneHash } from './delivery.js';
import { KeptReceipts, withReceipt } from './receipts.js';

export type ReplyOutcome = 'acked' | 'already' | 'not_ackable' | 'stranger' | 'unknown_code' | 'unrecognised';

export interface ReplyResult {
  readonly outcome: ReplyOutcome;
  readonly alert?: string;
  readonly contact?: string;
}

export class SmsReplies extends NotifyParts('escalationState', 'clock', 'alerts', 'records', 'observer', 'logger') {
  private readonly keptReceipts: KeptReceipts;

  constructor(context: NotifyContext) {
    super(context);
    this.keptReceipts = new KeptReceipts(context);
  }

  async inbound(m: InboundSms): Promise<ReplyResult> {
    const result = await this.classify(m);
    this.observer.smsReply(result.outcome);
    const log = { from: maskPhone(m.from), via: m.via, outcome: result.outcome, alert: result.alert, contact: result.contact };
    if (result.outcome === 'stranger') this.logger.warn(log, 'SMS reply from a phone the alert was not sent to: ignored');
    else this.logger.info(log, 'SMS reply');
    return result;
  }

  private async classify(m: InboundSms): Promise<ReplyResult> {
    const chains = this.escalationState;
    const parsed = parseAckReply(m.text);
    if (!parsed) return { outcome: 'unrecognised' };
    const ph = phoneHash(m.from);
    const fp = parsed.code ? await chains.byAckCode(parsed.code) : await chains.lastAlertOf(ph);
    if (!fp) return { outcome: 'unknown_code' };
    const told = await chains.told(fp);
    const contact = Object.entries(told).find(([, h]) => h === ph)?.[0];
    if (!contact) return { outcome: 'stranger', alert: fp };
    const res = await this.alerts.ack(fp, contact, 'sms', this.clock.now());
    if (res.ok) return { outcome: res.alert.ack?.via === 'sms' && res.alert.ack.by === contact ? 'acked' : 'already', alert: fp, contact };
    return { outcome: 'not_ackable', alert: fp, contact };
  }

  async receipt(r: DeliveryReceipt): Promise<void> {
    this.observer.receipt(r.status);
    // A fast SMSC's receipt can beat our own bookkeeping of the send (the record learns its
    // provider ids just after submit_sm_resp): look again for a moment before giving up.
    let rec = await this.records.byProviderId(r.providerId);
    for (let i = 0; !rec && i < RECEIPT_LOOKUPS; i++) {
      await new Promise((resolve) => setTimeout(resolve, RECEIPT_LOOKUP_MS));
      rec = await this.records.byProviderId(r.providerId);
    }
    if (!rec) {
      await this.keptReceipts.keep(r);
      this.logger.debug({ providerId: r.providerId, stat: r.stat }, 'delivery receipt for an unknown message: kept until its record appears');
      return;
    }
    // The segments of one message report at nearly the same time: one receipt at a time per
    // record, each on the record as it stands, so none overwrites another.
    const id = rec.id;
    const prior = this.receiptChains.get(id) ?? Promise.resolve();
    const run = prior.then(() => this.applyReceipt(id, r));
    const tail = run.catch(() => undefined);
    this.receiptChains.set(id, tail);
    void tail.then(() => {
      if (this.receiptChains.get(id) === tail) this.receiptChains.delete(id);
    });
    return run;
  }

  private readonly receiptChains = new Map<string, Promise<unknown>>();

  private async applyReceipt(id: string, r: DeliveryReceipt): Promise<void> {
    const rec = await this.records.get(id);
    if (!rec) return;
    const now = this.clock.now();
    await this.records.update(rec.id, withReceipt(rec, r, now), now);
  }
}

/** How often, and how far apart, a receipt looks for its message before it is dropped (~2 s). */
const RECEIPT_LOOKUPS = 20;
const RECEIPT_LOOKUP_MS = 100;
