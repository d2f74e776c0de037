// Quiet hours: warnings wait for the morning digest, excepted severities go at once, resolve
// notices at night are recorded and never sent; other channels are not quiet.
import { describe, expect, it } from 'vitest';
import { Calendar } from '../../../src/domain/clock.js';
import { quietUntil } from '../../../src/notify/stages/quiet-hours.js';
import { alert, at, harness, intentFor, TZ } from './harness.js';

const NIGHT = { startMinute: 22 * 60, endMinute: 8 * 60, except: ['critical' as const] };

describe('quietUntil', () => {
  const cal = new Calendar(TZ);
  it.each([
    ['2026-11-22T23:00:00', '2026-11-23T08:00:00'],
    ['2026-11-22T22:00:00', '2026-11-23T08:00:00'],
    ['2026-11-23T00:30:00', '2026-11-23T08:00:00'],
    ['2026-11-23T07:59:00', '2026-11-23T08:00:00'],
    ['2026-11-23T08:00:00', undefined],
    ['2026-11-22T21:59:00', undefined],
    ['2026-11-22T12:00:00', undefined],
  ])('22:00–08:00 at %s → %s', (now, until) => {
    expect(quietUntil(NIGHT, cal, at(now))).toBe(until && at(until));
  });

  it('a window inside one day (12:00–13:30)', () => {
    const lunch = { startMinute: 12 * 60, endMinute: 13 * 60 + 30, except: [] };
    expect(quietUntil(lunch, cal, at('2026-11-22T12:10:00'))).toBe(at('2026-11-22T13:30:00'));
    expect(quietUntil(lunch, cal, at('2026-11-22T13:30:00'))).toBeUndefined();
    expect(quietUntil(lunch, cal, at('2026-11-22T11:59:00'))).toBeUndefined();
  });

  it('no quiet hours configured', () => {
    expect(quietUntil(undefined, cal, at('2026-11-22T23:00:00'))).toBeUndefined();
  });
});

describe('quiet hours stage', () => {
  const settings = { quietHours: NIGHT, smsPerHour: 10 };

  it('defers warnings into the digest due when the quiet hours end; criticals go at once', async () => {
    const warn = alert('D0001');
    const crit = alert('D0002', { severity: 'critical' });
    const h = await harness({ now: at('2026-11-22T23:00:00'), settings, alerts: [warn, crit] });
    const { result } = await h.run([intentFor(warn), intentFor(crit)]);

    const digest = h.digests.byContact.get('C001');
    expect(digest?.due).toBe(at('2026-11-23T08:00:00'));
    expect(digest?.intents.map((i) => [i.item.entity, i.reason])).toEqual([['D0001', 'quiet_hours']]);

    const [deferred, queued] = h.records.all();
    expect(deferred).toMatchObject({ state: 'deferred', reason: 'quiet_hours', channel: 'sms', kind: 'alert', text: '' });
    expect(deferred!.items.map((i) => i.entity)).toEqual(['D0001']);
    expect(queued).toMatchObject({ state: 'queued', kind: 'alert' });
    expect(queued!.items.map((i) => i.entity)).toEqual(['D0002']);
    expect(queued!.text).toContain('D0002');
    expect(h.outbox.queued).toEqual([{ channel: 'sms', id: queued!.id }]);
    expect(h.obs.count('sms', 'deferred')).toBe(1);
    expect(result).toBe(`1 deferred to 2026-11-23T08:00; 1 alert notice(s) → sms ${queued!.id}`);
  });

  it('resolve notices at night are recorded as cancelled, never sent nor kept for the morning', async () => {
    const a = alert('D0001', { state: 'resolved', resolvedAt: at('2026-11-22T22:30:00') });
    const h = await harness({ now: at('2026-11-22T23:00:00'), settings, alerts: [a] });
    const { result } = await h.run([intentFor(a, { kind: 'resolve' })]);

    expect(h.records.all()).toEqual([expect.objectContaining({ state: 'cancelled', reason: 'quiet_hours', kind: 'resolve', text: '' })]);
    expect(h.outbox.queued).toEqual([]);
    expect(h.digests.byContact.size).toBe(0);
    expect(h.obs.count('sms', 'cancelled')).toBe(1);
    expect(result).toBe('1 resolve notice(s) not sent in quiet hours');
  });

  it('email is not quiet: a warning by email goes at once at night', async () => {
    const a = alert('D0001');
    const h = await harness({ now: at('2026-11-22T23:00:00'), settings, alerts: [a] });
    await h.run([intentFor(a, { channel: 'email' })], { channel: 'email' });
    expect(h.records.all().map((r) => [r.channel, r.state])).toEqual([['email', 'queued']]);
    expect(h.digests.byContact.size).toBe(0);
  });

  it('by day everything goes at once', async () => {
    const a = alert('D0001');
    const h = await harness({ now: at('2026-11-22T10:00:00'), settings, alerts: [a] });
    await h.run([intentFor(a)]);
    expect(h.records.all().map((r) => r.state)).toEqual(['queued']);
    expect(h.digests.byContact.size).toBe(0);
  });
});
