// Complaint categories: the derived per-category samples, the lead department and its wording.
import { describe, expect, it } from 'vitest';
import { breakdown, categoryOf, DEFAULT_COMPLAINT_ROUTING, leadOf, leadText, routingFrom, withCategorySamples, type ComplaintCategory } from '../../src/domain/complaints.js';
import type { Sample } from '../../src/domain/sample.js';

const TS = Date.parse('2026-11-21T12:00:00+08:00');

describe('withCategorySamples', () => {
  it('adds one complaints.<category> sample after each complaint sample, with the id suffixed', () => {
    const samples: Sample[] = [
      { metric: 'card_opening', entity: 'D0001', value: 37, ts: TS, id: 'D0001/card_opening/2026-11-21' },
      { metric: 'complaints', entity: 'C001', value: 12, ts: TS, id: 'C001/complaints/2026-11-21/billing', labels: { category: 'billing' } },
      { metric: 'complaints', entity: 'C001', value: 3, ts: TS, labels: { category: 'Network' } },
      { metric: 'complaints', entity: 'C001', value: 2, ts: TS },
      { metric: 'complaints', entity: 'C001', value: 1, ts: TS, labels: { category: 'terminal' } },
    ];
    expect(withCategorySamples(samples)).toEqual([
      samples[0],
      samples[1],
      { metric: 'complaints.billing', entity: 'C001', value: 12, ts: TS, id: 'C001/complaints/2026-11-21/billing#category' },
      samples[2],
      { metric: 'complaints.network', entity: 'C001', value: 3, ts: TS },
      samples[3],
      { metric: 'complaints.other', entity: 'C001', value: 2, ts: TS },
      samples[4],
      { metric: 'complaints.other', entity: 'C001', value: 1, ts: TS },
    ]);
  });

  it('returns the same array when there are no complaints', () => {
    const samples: Sample[] = [{ metric: 'card_opening', entity: 'D0001', value: 1, ts: TS }];
    expect(withCategorySamples(samples)).toBe(samples);
  });

  it('reads missing or unknown labels as other', () => {
    expect([categoryOf(undefined), categoryOf(''), categoryOf('tariff'), categoryOf(' BILLING ')]).toEqual(['other', 'other', 'tariff', 'billing']);
  });
});

describe('lead department', () => {
  const counts = (o: Partial<Record<ComplaintCategory, number>>) => new Map(Object.entries(o) as [ComplaintCategory, number][]);

  it('is the department of the largest category (the default routing)', () => {
    const lead = leadOf(counts({ billing: 62, network: 30, promotion: 8 }));
    expect(lead).toEqual({ category: 'billing', department: 'billing', count: 62, total: 100, share: 0.62 });
    expect(leadText(lead, 'zh')).toEqual({ text: '业务支撑中心（计费类投诉 62%）', dept: '业务支撑中心' });
    expect(leadText(lead, 'en').text).toBe('Business Support Centre (billing complaints 62%)');
    expect(leadOf(counts({ network: 5 })).department).toBe('network');
    expect(leadOf(counts({ tariff: 5, promotion: 4 })).department).toBe('customer_service');
  });

  it('falls back to the route of other, without a share, when nothing is categorised', () => {
    const lead = leadOf(new Map());
    expect(lead).toEqual({ category: 'other', department: 'customer_service', count: 0, total: 0 });
    expect(leadText(lead, 'zh')).toEqual({ text: '客服中心', dept: '客服中心' });
  });

  it('ties go to the category listed first; the breakdown is sorted by count', () => {
    expect(breakdown(counts({ service: 4, network: 4, billing: 1 })).map((c) => c.category)).toEqual(['network', 'service', 'billing']);
  });

  it('a policy map overrides some categories and keeps the defaults for the rest', () => {
    const r = routingFrom({ promotion: 'marketing' });
    expect(r).toEqual({ ...DEFAULT_COMPLAINT_ROUTING, promotion: 'marketing' });
    expect(leadText(leadOf(counts({ promotion: 3 }), r), 'zh').text).toBe('市场部（促销类投诉 100%）');
  });
});
