// Group: what a recipient's group held becomes one message — an alert once, at its latest step;
// alerts acknowledged or resolved meanwhile dropped (and counted); nothing left, nothing sent.
import { describe, expect, it } from 'vitest';
import { alert, at, harness, intentFor } from './harness.js';

const NOW = at('2026-11-22T10:00:00');

describe('group stage', () => {
  it('one alert at two steps inside one wait: one item, the latest step', async () => {
    const a = alert('D0001');
    const b = alert('D0002');
    const h = await harness({ now: NOW, alerts: [a, b] });
    const { batch, result } = await h.run([intentFor(a, { step: 0 }), intentFor(b), intentFor(a, { step: 1 })]);
    expect(batch.drafts).toHaveLength(1);
    const rec = batch.drafts[0]!.record;
    expect(rec.items.map((i) => [i.entity, i.step])).toEqual([
      ['D0001', 1],
      ['D0002', 0],
    ]);
    expect(h.obs.count('sms', 'grouped')).toBe(3);
    // The duplicate is counted as cancelled: it will not be sent on its own.
    expect(h.obs.count('sms', 'cancelled')).toBe(1);
    expect(result).toBe(`2 alert notice(s) → sms ${rec.id}`);
  });

  it('alert and resolve notices in one group: one message each', async () => {
    const a = alert('D0001');
    const r = alert('D0002', { state: 'resolved', resolvedAt: NOW - 60_000 });
    const h = await harness({ now: NOW, alerts: [a, r] });
    const { batch } = await h.run([intentFor(r, { kind: 'resolve' }), intentFor(a)]);
    expect(batch.drafts.map((d) => [d.about, d.record.kind])).toEqual([
      ['alert', 'alert'],
      ['resolve', 'resolve'],
    ]);
    expect(new Set(batch.drafts.map((d) => d.record.id)).size).toBe(2);
  });

  it('an alert acknowledged, of another episode, or gone is dropped; nothing left ends the batch', async () => {
    const acked = alert('D0001', { state: 'acknowledged' });
    const later = alert('D0002', { episode: 2 });
    const h = await harness({ now: NOW, alerts: [acked, later] });
    const gone = alert('D0003');
    const { batch, result } = await h.run([intentFor(acked), intentFor(alert('D0002')), intentFor(gone)]);
    expect(result).toBe('every alert was acknowledged or resolved meanwhile');
    expect(batch.drafts).toEqual([]);
    expect(h.records.all()).toEqual([]);
    expect(h.obs.count('sms', 'cancelled')).toBe(3);
  });

  it('a single intent is not counted as grouped', async () => {
    const a = alert('D0001');
    const h = await harness({ now: NOW, alerts: [a] });
    await h.run([intentFor(a)]);
    expect(h.obs.count('sms', 'grouped')).toBe(0);
  });
});
