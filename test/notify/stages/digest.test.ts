// A digest that falls due: one message of kind `digest` listing what still needs attention. At
// night it carries only the severities quiet hours let through; the rest waits for the morning.
import { describe, expect, it } from 'vitest';
import { alert, at, harness, intentFor } from './harness.js';

const NIGHT = { startMinute: 22 * 60, endMinute: 8 * 60, except: ['critical' as const] };

describe('digest through the stages', () => {
  it('due at night (a rate-limit digest): only the excepted severities go; warnings wait for 08:00', async () => {
    const warn = alert('D0001');
    const crit = alert('D0002', { severity: 'critical' });
    const now = at('2026-11-22T23:30:00');
    const h = await harness({ now, settings: { quietHours: NIGHT, smsPerHour: 10 }, alerts: [warn, crit] });
    const { batch } = await h.run([intentFor(warn, { reason: 'rate_limit' }), intentFor(crit, { reason: 'rate_limit' })], { origin: 'digest', batch: `digest.${now}` });

    expect(batch.drafts).toHaveLength(1);
    const sent = batch.drafts[0]!.record;
    expect(sent).toMatchObject({ kind: 'digest', state: 'queued', channel: 'sms' });
    expect(sent.items.map((i) => i.entity)).toEqual(['D0002']);
    expect(sent.text).toContain('D0002');
    expect(sent.text).not.toContain('D0001');
    expect(h.digests.byContact.get('C001')).toEqual({ due: at('2026-11-23T08:00:00'), intents: [expect.objectContaining({ reason: 'quiet_hours', item: expect.objectContaining({ entity: 'D0001' }) })] });
  });

  it("drops the night's resolve notices and alerts no longer firing, and counts them cancelled", async () => {
    const firing = alert('D0001');
    const acked = alert('D0002', { state: 'acknowledged' });
    const resolved = alert('D0003', { state: 'resolved' });
    const h = await harness({ now: at('2026-11-23T08:00:00'), settings: { quietHours: NIGHT, smsPerHour: 10 }, alerts: [firing, acked, resolved] });
    const { batch } = await h.run([intentFor(firing), intentFor(acked), intentFor(resolved, { kind: 'resolve' })], { origin: 'digest', batch: 'digest.1' });
    expect(batch.drafts.map((d) => [d.record.kind, d.record.items.map((i) => i.entity)])).toEqual([['digest', ['D0001']]]);
    expect(h.obs.count('sms', 'cancelled')).toBe(2);
  });

  it('the same records and one job when a digest is finished twice (a crash in between)', async () => {
    const a = alert('D0001');
    const h = await harness({ now: at('2026-11-23T08:00:00'), alerts: [a] });
    const first = await h.run([intentFor(a, { reason: 'quiet_hours' })], { origin: 'digest', batch: 'digest.7' });
    const again = await h.run([intentFor(a, { reason: 'quiet_hours' })], { origin: 'digest', batch: 'digest.7' });
    expect(again.result).toBe(first.result);
    expect(h.records.all()).toHaveLength(1);
    expect(h.outbox.queued).toHaveLength(1);
  });
});
