// Parses an injected "now" (the demo's --now / LOOKOUT_DEMO_NOW, and LOOKOUT_NOW for any process).
import { Calendar, shiftedClock, systemClock, type Clock } from '../domain/clock.js';
import { ConfigError } from '../errors/catalogue.js';

/**
 * An ISO-8601 date-time (with an offset, or local to `calendar`'s zone when it has none) or a
 * bare date (10:00 local that day), as epoch ms. Anything else is a coded error naming `from`.
 */
export function parseNow(raw: string, calendar: Calendar, from: string): number {
  const s = raw.trim();
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  let ms = Number.NaN;
  if (m && Calendar.parseIsoDay(m[1]!) !== undefined) {
    if (m[3]) ms = Date.parse(`${m[1]}T${m[2]}${m[3]}`);
    else {
      const wall = Date.parse(`${m[1]}T${m[2] ?? '10:00'}Z`);
      if (Number.isFinite(wall)) ms = wall - calendar.offsetAt(wall - calendar.offsetAt(wall));
    }
  }
  if (!Number.isFinite(ms)) {
    throw new ConfigError('bad_env', `${from} "${raw}" is not an ISO-8601 date or date-time (e.g. 2026-11-23T10:00:00+08:00)`);
  }
  return ms;
}

/** The clock of a process: the wall clock, or shifted to read LOOKOUT_NOW at start when it is set. */
export function appClock(config: { readonly now?: number }): Clock {
  return config.now !== undefined ? shiftedClock(config.now) : systemClock;
}
