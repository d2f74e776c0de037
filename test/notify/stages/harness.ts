// The message pipeline over in-memory stores (notify/stages/fake-stores.ts, notify/fake-records.ts)
// and an injected clock: the noise-control policy tested in milliseconds, no Redis.
import { join } from 'node:path';
import pino from 'pino';
import { fingerprint, type AlertRecord } from '../../../src/domain/alert.js';
import { Calendar, ManualClock } from '../../../src/domain/clock.js';
import type { Severity } from '../../../src/domain/rule.js';
import type { NotifyObserver } from '../../../src/notify/context.js';
import { nullNotifyObserver } from '../../../src/notify/context.js';
import { FakeNotificationRecords } from '../../../src/notify/fake-records.js';
import type { DeferredIntent } from '../../../src/notify/intent.js';
import { MessageRenderer } from '../../../src/notify/render.js';
import { FakeAckCodes, FakeAlerts, FakeDigests, FakeOutbox, FakeSentSms } from '../../../src/notify/stages/fake-stores.js';
import { messagePipeline } from '../../../src/notify/stages/pipelines.js';
import { MessageMaker } from '../../../src/notify/stages/render.js';
import { batchOf, resultOf, type Batch, type Message } from '../../../src/notify/stages/stage.js';
import type { Contact, NotifySettings } from '../../../src/route/types.js';
import type { ChannelName } from '../../../src/domain/notification.js';

export const TZ = 'Asia/Shanghai';
export const at = (local: string) => Date.parse(`${local}+08:00`);

let renderer: MessageRenderer | undefined;
/** The shipped Chinese templates (loaded once per file). */
export async function shippedRenderer(): Promise<MessageRenderer> {
  renderer ??= await MessageRenderer.load(join(import.meta.dirname, '..', '..', '..', 'templates', 'zh'), 'zh');
  return renderer;
}

export function alert(entity: string, over: Partial<AlertRecord> = {}): AlertRecord {
  const fp = fingerprint('core_dealer_card_opening_drop', entity);
  return {
    id: fp,
    fingerprint: fp,
    rule: 'core_dealer_card_opening_drop',
    entity,
    state: 'firing',
    severity: 'warning',
    episode: 1,
    seq: 1,
    notify: true,
    period: '2026-11-20',
    value: 40,
    baseline: 100,
    measure: 60,
    summary: '开卡量 40，同期基线 100，下降 60%',
    startsAt: at('2026-11-21T09:00:00'),
    firingAt: at('2026-11-21T09:00:00'),
    updatedAt: at('2026-11-21T09:00:00'),
    labels: {},
    ...over,
  };
}

export function intentFor(a: AlertRecord, over: { kind?: 'alert' | 'resolve'; step?: number; contact?: string; channel?: ChannelName; severity?: Severity; reason?: string } = {}): DeferredIntent {
  const kind = over.kind ?? 'alert';
  const step = over.step ?? (kind === 'resolve' ? -1 : 0);
  const contact = over.contact ?? 'C001';
  const channel = over.channel ?? 'sms';
  return {
    key: `${a.fingerprint}.${a.episode}.${kind === 'resolve' ? 'resolve' : step}.${contact}.${channel}`,
    kind,
    contact,
    channel,
    item: { alert: a.id, episode: a.episode, step, severity: over.severity ?? a.severity, rule: a.rule, entity: a.entity },
    at: 0,
    ...(over.reason && { reason: over.reason }),
  };
}

export const CONTACT: Contact = { id: 'C001', name: '张三', phone: '13800000001', email: 'c001@example.com', role: 'channel_manager', channels: ['sms'] };

/** Counts of observer notifications by `<channel>.<outcome>`. */
export class CountingObserver {
  readonly counts = new Map<string, number>();
  readonly observer: NotifyObserver = {
    ...nullNotifyObserver,
    notification: (channel, outcome, n = 1) => {
      const k = `${channel}.${outcome}`;
      this.counts.set(k, (this.counts.get(k) ?? 0) + n);
    },
  };
  count(channel: string, outcome: string): number {
    return this.counts.get(`${channel}.${outcome}`) ?? 0;
  }
}

export interface HarnessOptions {
  readonly now: number;
  readonly settings?: Pick<NotifySettings, 'quietHours' | 'smsPerHour'>;
  readonly alerts?: readonly AlertRecord[];
  readonly contacts?: readonly Contact[];
}

export async function harness(o: HarnessOptions) {
  const clock = new ManualClock(o.now);
  const calendar = new Calendar(TZ);
  const records = new FakeNotificationRecords();
  const digests = new FakeDigests();
  const sent = new FakeSentSms();
  const outbox = new FakeOutbox();
  const alerts = new FakeAlerts(o.alerts);
  const ackCodes = new FakeAckCodes();
  const obs = new CountingObserver();
  const contacts = new Map((o.contacts ?? [CONTACT]).map((c) => [c.id, c]));
  const r = await shippedRenderer();
  const settings = o.settings ?? { smsPerHour: 10 };
  const pipeline = messagePipeline({
    alerts,
    contact: (id) => contacts.get(id),
    records,
    digests,
    sent,
    outbox,
    maker: new MessageMaker({ renderer: () => r, ackCodes, clock, entity: () => undefined, ruleName: () => '核心渠道开卡量下降' }),
    settings: () => settings,
    calendar,
    clock,
    observer: obs.observer,
    logger: pino({ level: 'silent' }),
  });
  /** Run one group (or digest) of contact C001 through the pipeline. */
  const run = async (intents: readonly DeferredIntent[], m: Partial<Message> = {}): Promise<{ batch: Batch; result: string }> => {
    const msg: Message = { contactId: 'C001', channel: 'sms', batch: 'w1', origin: 'group', now: clock.now(), ...m };
    const batch = await pipeline.run(msg, batchOf(intents));
    return { batch, result: resultOf(batch) };
  };
  return { clock, calendar, records, digests, sent, outbox, alerts, ackCodes, obs, run };
}
