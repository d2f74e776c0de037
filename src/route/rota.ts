// Who is on call in a weekly on-call rota at an instant: an override covering it, else the person
// whose week it is, weeks counted from the first hand-over (local wall-clock time, LOOKOUT_TZ).

import { Calendar, MS_PER_DAY } from '../domain/clock.js';
import type { Rota } from './types.js';

const MS_PER_MINUTE = 60_000;
const MS_PER_WEEK = 7 * MS_PER_DAY;

/** The UTC instant of local `day` (a Calendar day index) at `minute` after local midnight. */
export function localInstant(calendar: Calendar, day: number, minute: number): number {
  const local = day * MS_PER_DAY + minute * MS_PER_MINUTE;
  // Two passes settle the offset on either side of a DST change, as Calendar.startOfDay does.
  const guess = local - calendar.offsetAt(local);
  return local - calendar.offsetAt(guess);
}

/** Index into `rota.people` of the week containing `now` (before `start` too: weeks wrap). */
export function rotaWeekIndex(rota: Rota, now: number, calendar: Calendar): number {
  const startDay = Calendar.parseIsoDay(rota.start);
  if (startDay === undefined || rota.people.length === 0) return 0;
  // Wall-clock arithmetic keeps the hand-over at the same local time across DST changes.
  const localNow = now + calendar.offsetAt(now);
  const firstHandover = startDay * MS_PER_DAY + rota.handoverMinute * MS_PER_MINUTE;
  const week = Math.floor((localNow - firstHandover) / MS_PER_WEEK);
  const n = rota.people.length;
  return ((week % n) + n) % n;
}

/** Contact id on call at `now`: the first override covering it, else the week's person. */
export function onCall(rota: Rota, now: number, calendar: Calendar): string {
  const cover = rota.overrides.find((o) => o.from <= now && now < o.to);
  if (cover) return cover.contact;
  return rota.people[rotaWeekIndex(rota, now, calendar)] ?? '';
}
