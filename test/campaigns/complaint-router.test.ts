// The complaint router over the in-memory daily buckets: the lead department of a campaign
// complaint alert comes from its day's complaints by category, and no other alert is routed.
import { describe, expect, it } from 'vitest';
import { ComplaintRouter } from '../../src/campaigns/routing.js';
import type { AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import { MemoryDailyReads } from '../../src/state/memory-campaign-store.js';

const DAY = Calendar.parseIsoDay('2026-11-20')!;
const campaign: Entity = { id: 'C1', kind: 'campaign', name: '双十一流量包', attrs: {} };
const hall: Entity = { id: 'H1', kind: 'own_hall', name: '城东营业厅', attrs: {} };
const alert = (over: Partial<AlertRecord> = {}): AlertRecord => ({
  id: 'fp1', fingerprint: 'fp1', rule: 'campaign_complaints', entity: 'C1', state: 'firing', severity: 'warning', episode: 1, seq: 1, notify: true,
  period: '2026-11-20', summary: '', startsAt: 0, updatedAt: 0, labels: {}, ...over,
});

function router(days: MemoryDailyReads, locale: 'zh' | 'en' = 'zh'): ComplaintRouter {
  return new ComplaintRouter({ days, routing: () => undefined, ruleMetric: (r) => (r === 'campaign_complaints' ? 'complaints' : 'enrollments'), locale });
}

describe('ComplaintRouter', () => {
  it("leads with the department of the day's largest category, with its share", async () => {
    const days = new MemoryDailyReads();
    days.add('C1', 'complaints.billing', DAY, 5);
    days.add('C1', 'complaints.network', DAY, 3);
    days.add('C1', 'complaints.billing', DAY - 1, 40);
    const lead = await router(days).leadFor(alert(), campaign);
    expect(lead).toMatchObject({ category: 'billing', department: 'billing', count: 5, total: 8, share: 5 / 8, day: '2026-11-20' });
    expect(lead!.text).toMatch(/63%/);
    expect((await router(days, 'en').leadFor(alert(), campaign))!.text).toMatch(/billing complaints 63%/);
  });

  it('a day without categorised complaints goes to the `other` route; other alerts are not routed', async () => {
    const days = new MemoryDailyReads();
    expect(await router(days).leadFor(alert(), campaign)).toMatchObject({ category: 'other', department: 'customer_service', total: 0 });
    expect(await router(days).leadFor(alert({ rule: 'campaign_enrollments' }), campaign)).toBeUndefined();
    expect(await router(days).leadFor(alert({ entity: 'H1' }), hall)).toBeUndefined();
  });
});
