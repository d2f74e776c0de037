import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
import type { Entity } from '../../src/domain/entity.js';
import { combineMuters, InhibitionMuter, SilenceMuter } from '../../src/route/muter.js';
import type { InhibitRule, MuteReason, Muter } from '../../src/route/types.js';
import { MemorySilenceStore } from '../../src/state/memory-silence-store.js';
import type { NewSilence } from '../../src/state/ports.js';
import { alert, entity, HOUR, NOW } from './fixtures.js';

const d1 = entity('D0001', { region: 'R1' });
const drop = alert({ rule: 'core_dealer_drop', entity: 'D0001' });

const silenceOf = (over: Partial<NewSilence> = {}): NewSilence => ({
  matchers: [{ name: 'entity', op: '=', value: 'D0001' }],
  startsAt: NOW,
  endsAt: NOW + HOUR,
  createdBy: 'ops',
  comment: 'maintenance',
  ...over,
});

/** A silence store that counts reads. */
class CountingStore extends MemorySilenceStore {
  reads = 0;
  override async active(now: number) {
    this.reads++;
    return super.active(now);
  }
}

describe('SilenceMuter', () => {
  it('mutes a matching alert while the silence is active, with its id', async () => {
    const store = new MemorySilenceStore();
    const s = await store.create(silenceOf({ startsAt: NOW + 10_000 }), NOW);
    const muter = new SilenceMuter(store, { cacheMs: 0 });
    expect(await muter.mutes(drop, d1, NOW)).toBeUndefined();
    expect(await muter.mutes(drop, d1, NOW + 10_000)).toEqual({ by: 'silence', id: s.id });
    expect(await muter.mutes(alert({ rule: 'core_dealer_drop', entity: 'D0002' }), d1, NOW + 10_000)).toBeUndefined();
    expect(await muter.mutes(drop, d1, NOW + HOUR)).toBeUndefined();
  });

  it('reads the store at most once per cacheMs, and re-checks the window at now', async () => {
    const store = new CountingStore();
    await store.create(silenceOf({ endsAt: NOW + 500 }), NOW);
    const muter = new SilenceMuter(store, { cacheMs: 1000 });
    const [a, b] = await Promise.all([muter.mutes(drop, d1, NOW), muter.mutes(drop, d1, NOW + 1)]);
    expect(a?.by).toBe('silence');
    expect(b?.by).toBe('silence');
    expect(store.reads).toBe(1);
    // Cached, but the silence ended at NOW + 500.
    expect(await muter.mutes(drop, d1, NOW + 600)).toBeUndefined();
    expect(store.reads).toBe(1);
    // A silence created meanwhile is seen once the cache is older than cacheMs.
    await store.create(silenceOf({ startsAt: NOW + 900, endsAt: NOW + HOUR }), NOW + 900);
    expect(await muter.mutes(drop, d1, NOW + 999)).toBeUndefined();
    expect((await muter.mutes(drop, d1, NOW + 1000))?.by).toBe('silence');
    expect(store.reads).toBe(2);
  });

  it('a clock that went back refetches', async () => {
    const store = new CountingStore();
    const muter = new SilenceMuter(store);
    await muter.mutes(drop, d1, NOW);
    await muter.mutes(drop, d1, NOW - 1);
    expect(store.reads).toBe(2);
  });

  it('a failed read is not cached', async () => {
    const store = new MemorySilenceStore();
    await store.create(silenceOf(), NOW);
    const muter = new SilenceMuter(store);
    store.failWith();
    await expect(muter.mutes(drop, d1, NOW)).rejects.toThrow(/ECONNREFUSED/);
    store.recover();
    expect((await muter.mutes(drop, d1, NOW))?.by).toBe('silence');
  });
});

describe('InhibitionMuter', () => {
  const rule: InhibitRule = { source: { rule: ['region_network_outage'] }, target: { kind: ['core_dealer', 'grassroots'] }, equal: ['region'] };
  const probe = entity('NET-R1', { kind: 'electronic', region: 'R1' });
  const outage = alert({ rule: 'region_network_outage', entity: 'NET-R1', severity: 'critical' });
  const entities = new Map<string, Entity>([
    [probe.id, probe],
    [d1.id, d1],
  ]);

  function muterWith(open: AlertRecord[], rules: InhibitRule[] = [rule], cacheMs?: number) {
    let reads = 0;
    const muter = new InhibitionMuter({
      rules: () => rules,
      openAlerts: async () => {
        reads++;
        return open;
      },
      entity: (id) => entities.get(id),
      cacheMs,
    });
    return { muter, reads: () => reads };
  }

  it('mutes a dealer of the outage region, naming the source alert', async () => {
    const { muter } = muterWith([outage, drop]);
    expect(await muter.mutes(drop, d1, NOW)).toEqual({ by: 'inhibition', source: outage.id });
  });

  it('not in another region, nor without rules (then the alerts are not even read)', async () => {
    expect(await muterWith([outage, drop]).muter.mutes(drop, entity('D0001', { region: 'R2' }), NOW)).toBeUndefined();
    const none = muterWith([outage, drop], []);
    expect(await none.muter.mutes(drop, d1, NOW)).toBeUndefined();
    expect(none.reads()).toBe(0);
  });

  it('reads the open alerts at most once per cacheMs', async () => {
    const m = muterWith([outage, drop], [rule], 1000);
    await m.muter.mutes(drop, d1, NOW);
    await m.muter.mutes(drop, d1, NOW + 999);
    expect(m.reads()).toBe(1);
    await m.muter.mutes(drop, d1, NOW + 1000);
    expect(m.reads()).toBe(2);
  });

  it('reads the rules per call, so a reload applies at once', async () => {
    let rules: InhibitRule[] = [];
    const muter = new InhibitionMuter({ rules: () => rules, openAlerts: async () => [outage], entity: (id) => entities.get(id) });
    expect(await muter.mutes(drop, d1, NOW)).toBeUndefined();
    rules = [rule];
    expect(await muter.mutes(drop, d1, NOW)).toEqual({ by: 'inhibition', source: outage.id });
  });
});

describe('combineMuters', () => {
  const fixed = (reason: MuteReason | undefined, calls: string[], name: string): Muter => ({
    async mutes() {
      calls.push(name);
      return reason;
    },
  });

  it('returns the first reason and stops asking', async () => {
    const calls: string[] = [];
    const m = combineMuters(fixed(undefined, calls, 'a'), fixed({ by: 'silence', id: 's1' }, calls, 'b'), fixed({ by: 'inhibition', source: 'x' }, calls, 'c'));
    expect(await m.mutes(drop, d1, NOW)).toEqual({ by: 'silence', id: 's1' });
    expect(calls).toEqual(['a', 'b']);
  });

  it('undefined when none mutes, or with no muters', async () => {
    const calls: string[] = [];
    expect(await combineMuters(fixed(undefined, calls, 'a')).mutes(drop, d1, NOW)).toBeUndefined();
    expect(await combineMuters().mutes(drop, d1, NOW)).toBeUndefined();
  });

  it('silences and inhibition together', async () => {
    const store = new MemorySilenceStore();
    const open = [alert({ rule: 'region_network_outage', entity: 'NET-R1' }), drop];
    const probe = entity('NET-R1', { kind: 'electronic', region: 'R1' });
    const inhibition = new InhibitionMuter({
      rules: () => [{ source: { rule: ['region_network_outage'] }, target: { kind: ['core_dealer'] }, equal: ['region'] }],
      openAlerts: async () => open,
      entity: (id) => (id === probe.id ? probe : d1),
    });
    const m = combineMuters(new SilenceMuter(store, { cacheMs: 0 }), inhibition);
    expect(await m.mutes(drop, d1, NOW)).toEqual({ by: 'inhibition', source: open[0]!.id });
    const s = await store.create(silenceOf(), NOW);
    expect(await m.mutes(drop, d1, NOW)).toEqual({ by: 'silence', id: s.id });
  });
});
