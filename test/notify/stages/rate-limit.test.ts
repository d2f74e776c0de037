// The per-recipient SMS limit: a group over `sms_per_hour` goes into a digest, due when the
// hour's oldest SMS leaves the rolling window; digests and other channels are not limited.
import { describe, expect, it } from 'vitest';
import { alert, at, harness, intentFor } from './harness.js';

const NOW = at('2026-11-22T10:00:00');
const MIN = 60_000;

describe('rate limit stage', () => {
  it('over the limit: the whole group into a digest due when the oldest SMS of the hour is an hour old', async () => {
    const a = alert('D0001');
    const b = alert('D0002');
    const h = await harness({ now: NOW, settings: { smsPerHour: 2 }, alerts: [a, b] });
    await h.sent.add('C001', 'n1', NOW - 50 * MIN);
    await h.sent.add('C001', 'n2', NOW - 10 * MIN);
    const { result } = await h.run([intentFor(a), intentFor(b)]);

    const digest = h.digests.byContact.get('C001');
    expect(digest?.due).toBe(NOW + 10 * MIN);
    expect(digest?.intents.map((i) => [i.item.entity, i.reason])).toEqual([
      ['D0001', 'rate_limit'],
      ['D0002', 'rate_limit'],
    ]);
    expect(h.records.all()).toEqual([expect.objectContaining({ state: 'deferred', reason: 'rate_limit', kind: 'alert' })]);
    expect(h.outbox.queued).toEqual([]);
    expect(h.obs.count('sms', 'deferred')).toBe(2);
    expect(result).toBe('2 over the SMS limit, into a digest');
  });

  it('an SMS older than an hour no longer counts', async () => {
    const a = alert('D0001');
    const h = await harness({ now: NOW, settings: { smsPerHour: 2 }, alerts: [a] });
    await h.sent.add('C001', 'n1', NOW - 61 * MIN);
    await h.sent.add('C001', 'n2', NOW - 10 * MIN);
    await h.run([intentFor(a)]);
    expect(h.records.all().map((r) => r.state)).toEqual(['queued']);
    expect(h.digests.byContact.size).toBe(0);
  });

  it('a second deferral keeps the earliest due time', async () => {
    const a = alert('D0001');
    const b = alert('D0002');
    const h = await harness({ now: NOW, settings: { smsPerHour: 1 }, alerts: [a, b] });
    await h.sent.add('C001', 'n1', NOW - 10 * MIN);
    await h.run([intentFor(a)], { batch: 'w1' });
    expect(h.digests.byContact.get('C001')?.due).toBe(NOW + 50 * MIN);
    // Another instance's SMS, recorded late, makes the second group's slot come sooner.
    await h.sent.add('C001', 'n0', NOW - 40 * MIN);
    h.clock.advance(5 * MIN);
    await h.run([intentFor(b)], { batch: 'w2', now: h.clock.now() });
    expect(h.digests.byContact.get('C001')?.due).toBe(NOW + 20 * MIN);
    expect(h.digests.byContact.get('C001')?.intents.map((i) => i.item.entity)).toEqual(['D0001', 'D0002']);
    expect(h.records.all().map((r) => r.state)).toEqual(['deferred', 'deferred']);
  });

  it('a digest is the overflow itself: never limited', async () => {
    const a = alert('D0001');
    const h = await harness({ now: NOW, settings: { smsPerHour: 1 }, alerts: [a] });
    await h.sent.add('C001', 'n1', NOW - 5 * MIN);
    const { batch } = await h.run([intentFor(a, { reason: 'rate_limit' })], { origin: 'digest', batch: `digest.${NOW}` });
    expect(batch.drafts.map((d) => d.record.kind)).toEqual(['digest']);
    expect(h.outbox.queued).toHaveLength(1);
    expect(h.digests.byContact.size).toBe(0);
  });

  it('email is never limited', async () => {
    const a = alert('D0001');
    const h = await harness({ now: NOW, settings: { smsPerHour: 1 }, alerts: [a] });
    await h.sent.add('C001', 'n1', NOW - 5 * MIN);
    await h.run([intentFor(a, { channel: 'email' })], { channel: 'email' });
    expect(h.records.all().map((r) => [r.channel, r.state])).toEqual([['email', 'queued']]);
  });
});
