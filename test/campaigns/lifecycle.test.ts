// The campaign lifecycle is derived from attrs.start / attrs.end in LOOKOUT_TZ.
import { describe, expect, it } from 'vitest';
import { phaseAt, phaseOn, timeline } from '../../src/campaigns/lifecycle.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';

const day = (s: string) => Calendar.parseIsoDay(s)!;
const c: Entity = { id: 'C001', kind: 'campaign', name: '流量包', manager: 'CO1', attrs: { start: '2026-11-10', end: '2026-11-20', target_customers: 100000, owner: 'CO1' } };

describe('campaign phase', () => {
  it.each([
    ['2026-11-09', 'preparation'],
    ['2026-11-10', 'live'],
    ['2026-11-20', 'live'],
    ['2026-11-21', 'post_evaluation'],
  ])('%s → %s', (d, phase) => {
    expect(phaseOn(c, day(d))).toBe(phase);
  });

  it('is judged in the local time zone', () => {
    const shanghai = new Calendar('Asia/Shanghai');
    // 2026-11-20T16:30Z is 00:30 on the 21st in Shanghai: the campaign has ended there.
    expect(phaseAt(c, Date.parse('2026-11-20T16:30:00Z'), shanghai)).toBe('post_evaluation');
    expect(phaseAt(c, Date.parse('2026-11-20T16:30:00Z'), new Calendar('UTC'))).toBe('live');
  });

  it('is undefined for other kinds and campaigns without a window', () => {
    expect(phaseOn({ ...c, kind: 'core_dealer' }, day('2026-11-15'))).toBeUndefined();
    expect(phaseOn({ ...c, attrs: { owner: 'CO1' } }, day('2026-11-15'))).toBeUndefined();
  });

  it('timeline says where in the window a day is', () => {
    expect(timeline(c, day('2026-11-12'))).toEqual({ phase: 'live', start: '2026-11-10', end: '2026-11-20', days: 11, dayOfCampaign: 3 });
    expect(timeline(c, day('2026-11-07'))).toMatchObject({ phase: 'preparation', daysToStart: 3 });
    expect(timeline(c, day('2026-11-22'))).toMatchObject({ phase: 'post_evaluation', daysSinceEnd: 2 });
  });
});
