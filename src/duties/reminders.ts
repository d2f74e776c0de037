// Weekly reminders (协议到期前 1 个月提醒, 未续签则每周再提醒): a date rule with
// `remind_every_days: N` tells the people of its escalation policy's first step again every N
// days while its alert stays firing — not acknowledged, not resolved. A renewal moves or
// removes the date, the alert resolves, and the reminders stop; so does an acknowledgement
// (the manager has taken it on). Reminder n of an episode is due at firingAt + n × N days; the
// scheduler looks every 10 minutes. Each reminder goes through the notifier's usual stages
// (silences, grouping, quiet hours, rate limits, records) with its own intent key, so several
// schedulers, or a pass repeated after a crash, send it once.

import type { Logger } from 'pino';
import type { AlertRecord } from '../domain/alert.js';
import type { Calendar, Clock } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { pickFields } from '../domain/fields.js';
import type { Rule } from '../domain/rule.js';
import type { Recipients } from '../notify/context.js';
import type { Intent } from '../notify/intent.js';
import { muteReason } from '../notify/stages/mute.js';
import type { NotificationItem } from '../domain/notification.js';
import { policyFor } from '../route/policy.js';
import type { Muter, PolicySet } from '../route/types.js';
import type { ReminderStore } from '../state/duty-store.js';

const DAY_MS = 86_400_000;

export interface ReminderDeps {
  readonly store: ReminderStore;
  readonly clock: Clock;
  readonly calendar: Calendar;
  readonly alerts: { listOpen(): Promise<AlertRecord[]> };
  readonly rules: () => readonly Rule[];
  readonly entity: (id: string) => Promise<Entity | undefined>;
  readonly policies: () => PolicySet;
  readonly recipients: () => Recipients;
  readonly muter: Muter;
  readonly dispatcher: {
    add(intents: readonly Intent[]): Promise<void>;
    recordMissing(item: NotificationItem, ref: string, reason: string): Promise<void>;
    recordMuted(intents: readonly Intent[], reason: string): Promise<void>;
  };
  /** False without contacts.csv: nobody is notified. */
  readonly enabled: () => boolean;
  readonly logger: Logger;
}

export interface ReminderSent {
  readonly alert: string;
  readonly rule: string;
  readonly entity: string;
  /** 1 = the first repeat (N days after the alert fired). */
  readonly reminder: number;
  readonly contacts: readonly string[];
  readonly muted?: string;
}

/** Rule id → remind_every_days, for the date rules that have it. */
export function remindingRules(rules: readonly Rule[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rules) if (r.kind === 'date' && r.remindEveryDays) out.set(r.id, r.remindEveryDays);
  return out;
}

/** Which reminder is due for an alert that fired at `firingAt` (0 = none yet). */
export function dueReminder(firingAt: number, everyDays: number, now: number): number {
  return Math.max(0, Math.floor((now - firingAt) / (everyDays * DAY_MS)));
}

export class ReminderDuty extends pickFields<ReminderDeps>()('clock', 'rules', 'alerts', 'enabled', 'entity', 'policies', 'logger', 'recipients', 'calendar', 'dispatcher', 'store', 'muter') {

  /** Send the reminders that are due at `now`. */
  async run(now = this.clock.now()): Promise<ReminderSent[]> {
    const { store } = this;
    const every = remindingRules(this.rules());
    const open = await this.alerts.listOpen();
    const sent: ReminderSent[] = [];
    const openIds = new Set(open.map((a) => a.fingerprint));
    if (every.size && this.enabled()) {
      for (const a of open) {
        const n = every.get(a.rule);
        if (!n || a.state !== 'firing' || !a.notify || a.firingAt === undefined) continue;
        const due = dueReminder(a.firingAt, n, now);
        if (due < 1) continue;
        const last = await store.lastReminder(a.fingerprint);
        if (last.episode === a.episode && last.reminder >= due) continue;
        const out = await this.remind(a, due, now);
        await store.setLastReminder(a.fingerprint, a.episode, due);
        if (out) sent.push(out);
      }
    }
    // Forget alerts that are no longer open (resolved, or pruned).
    await store.forgetReminders(openIds);
    return sent;
  }

  private async remind(a: AlertRecord, reminder: number, now: number): Promise<ReminderSent | undefined> {
    const entity = await this.entity(a.entity);
    const policy = policyFor(this.policies(), a, entity);
    const step = policy?.steps[0];
    if (!step) {
      this.logger.info({ alert: a.id, rule: a.rule, entity: a.entity, reminder }, 'reminder due but no escalation policy matches: nobody to remind');
      return undefined;
    }
    const { contacts, missing } = this.recipients().resolve(step.notify, a, entity, now, this.calendar);
    // The reminder repeats the first step: same recipients, step 0 on the record.
    const item: NotificationItem = { alert: a.id, episode: a.episode, step: 0, severity: a.severity, rule: a.rule, entity: a.entity };
    for (const m of missing) await this.dispatcher.recordMissing(item, m.ref, m.reason);
    const intents: Intent[] = contacts.flatMap((c) =>
      c.channels.map((channel) => ({ key: `${a.fingerprint}.${a.episode}.remind${reminder}.${c.id}.${channel}`, kind: 'alert' as const, contact: c.id, channel, item, at: now })),
    );
    // The reminder shows the alert's ack code: a reply `确认 <code>` a month on still acknowledges.
    await this.store.keepAckCode(a.fingerprint);
    const mute = await this.muter.mutes(a, entity, now);
    const muted = mute ? muteReason(mute) : undefined;
    if (muted) await this.dispatcher.recordMuted(intents, muted);
    else await this.dispatcher.add(intents);
    const who = contacts.map((c) => c.id);
    this.logger.info({ alert: a.id, rule: a.rule, entity: a.entity, reminder, contacts: who, muted }, 'reminder');
    return { alert: a.id, rule: a.rule, entity: a.entity, reminder, contacts: who, ...(muted && { muted }) };
  }
}
