// Quiet hours (SMS only): alert notices whose severity is not excepted wait for the morning
// digest; resolve notices are not worth waking anybody for, and stale by morning, so they are
// recorded (cancelled) and not sent. Digests pass here too: a rate-limit digest that falls due
// at night must not carry the night's warnings.

import type { Calendar } from '../../domain/clock.js';
import type { NotifySettings } from '../../route/types.js';
import { recordId, unsent, type MessageStage } from './stage.js';
import { deferToDigest, type DeferDeps } from './defer.js';

export type QuietHours = NonNullable<NotifySettings['quietHours']>;

/** When the quiet hours around `now` end, or undefined outside them. */
export function quietUntil(q: QuietHours | undefined, cal: Calendar, now: number): number | undefined {
  if (!q) return undefined;
  const day = cal.dayOf(now);
  const minute = Math.floor((now - cal.startOfDay(day)) / 60_000);
  const wraps = q.startMinute > q.endMinute;
  const inside = wraps ? minute >= q.startMinute || minute < q.endMinute : minute >= q.startMinute && minute < q.endMinute;
  if (!inside) return undefined;
  const endDay = wraps && minute >= q.startMinute ? day + 1 : day;
  return cal.startOfDay(endDay) + q.endMinute * 60_000;
}

export interface QuietHoursDeps extends DeferDeps {
  readonly settings: () => Pick<NotifySettings, 'quietHours'>;
  readonly calendar: Calendar;
}

export function quietHoursStage(deps: QuietHoursDeps): MessageStage {
  return {
    name: 'quiet hours',
    async run(m, b) {
      if (m.channel !== 'sms') return b;
      const q = deps.settings().quietHours;
      const until = quietUntil(q, deps.calendar, m.now);
      if (until === undefined) return b;
      const except = q?.except ?? [];
      const notes = [...b.notes];
      const resolves = b.pending.filter((p) => p.intent.kind === 'resolve');
      if (resolves.length) {
        const { created } = await deps.records.create({
          id: recordId('quiet-resolve', m.contactId, m.batch),
          channel: 'sms',
          contact: m.contactId,
          kind: 'resolve',
          items: resolves.map((p) => p.intent.item),
          state: 'cancelled',
          reason: 'quiet_hours',
          ...unsent(deps.clock.now()),
        });
        if (created) deps.observer.notification('sms', 'cancelled', resolves.length);
        notes.push(`${resolves.length} resolve notice(s) not sent in quiet hours`);
      }
      const later = b.pending.filter((p) => p.intent.kind === 'alert' && !except.includes(p.intent.item.severity));
      const pending = b.pending.filter((p) => p.intent.kind === 'alert' && except.includes(p.intent.item.severity));
      if (later.length) {
        await deferToDigest(deps, m, later.map((p) => p.intent), until, 'quiet_hours');
        notes.push(`${later.length} deferred to ${deps.calendar.formatLocal(until).slice(0, 16)}`);
      }
      return { ...b, pending, notes };
    },
  };
}
