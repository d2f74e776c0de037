// The campaign alert ledger over the Redis store and its in-memory twin: the same cases, the same
// episodes (levels from the escalation state of the same episode only, highest severity kept).
import { beforeEach, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
import { CampaignLedger } from '../../src/campaigns/ledger.js';
import { keyspace } from '../../src/state/keys.js';
import { RedisCampaignStore, type CampaignStore } from '../../src/state/campaign-store.js';
import { MemoryCampaignStore } from '../../src/state/memory-campaign-store.js';
import { MemoryAlertStore } from '../../src/state/memory-stores.js';
import { redisPerTest } from '../support/redis.js';

const T0 = Date.parse('2026-11-21T10:00:00+08:00');
const HOUR = 3_600_000;

const alert = (over: Partial<AlertRecord> & Pick<AlertRecord, 'fingerprint' | 'entity'>): AlertRecord => ({
  id: over.fingerprint,
  rule: 'campaign_complaints',
  state: 'firing',
  severity: 'warning',
  episode: 1,
  seq: 1,
  notify: true,
  period: '2026-11-20',
  summary: 'complaints up',
  startsAt: T0,
  firingAt: T0,
  updatedAt: T0,
  labels: {},
  ...over,
});

const t = redisPerTest('ledger');

interface Variant {
  store(): CampaignStore;
  escalate(fingerprint: string, episode: number, level: number): Promise<void>;
}

const variants: [string, () => Variant][] = [
  [
    'RedisCampaignStore',
    () => ({
      store: () => new RedisCampaignStore(t.redis, keyspace(t.prefix)),
      escalate: async (fp, episode, level) => void (await t.redis.hset(`${t.prefix}:esc:${fp}`, { episode: String(episode), level: String(level) })),
    }),
  ],
  [
    'MemoryCampaignStore',
    () => {
      const store = new MemoryCampaignStore();
      return { store: () => store, escalate: async (fp, episode, level) => store.escalate(fp, episode, level) };
    },
  ],
];

describe.each(variants)('CampaignLedger over %s', (_name, make) => {
  let v: Variant;
  let alerts: MemoryAlertStore;
  let ledger: CampaignLedger;
  beforeEach(() => {
    v = make();
    alerts = new MemoryAlertStore();
    ledger = new CampaignLedger(v.store(), alerts);
  });

  it('copies the firing episodes of the campaigns asked for, with the escalation level of that episode', async () => {
    alerts.seed(
      alert({ fingerprint: 'fpA', entity: 'C1', episode: 2 }),
      alert({ fingerprint: 'fpB', entity: 'C1', firingAt: T0 - HOUR }),
      alert({ fingerprint: 'fpP', entity: 'C1', state: 'pending', firingAt: undefined }),
      alert({ fingerprint: 'fpX', entity: 'C2' }),
    );
    await v.escalate('fpA', 2, 3);
    await v.escalate('fpB', 0, 2);
    const swept = await ledger.sweep(new Set(['C1']));
    expect([...swept.keys()]).toEqual(['C1']);
    expect(swept.get('C1')!.map((e) => [e.alert, e.episode, e.level]).sort()).toEqual([
      ['fpA', 2, 3],
      ['fpB', 1, 0],
    ]);
    expect((await ledger.episodes('C1', { sweep: false })).map((e) => e.alert)).toEqual(['fpB', 'fpA']);
    expect(await ledger.episodes('C2', { sweep: false })).toEqual([]);
  });

  it('a later sweep keeps the highest severity and level and the first period; a resolved alert keeps its episode', async () => {
    alerts.seed(alert({ fingerprint: 'fpA', entity: 'C1', severity: 'critical', measure: 9 }));
    await v.escalate('fpA', 1, 2);
    await ledger.sweep(new Set(['C1']));
    alerts.seed(alert({ fingerprint: 'fpA', entity: 'C1', severity: 'warning', measure: 4, period: '2026-11-21', state: 'resolved', resolvedAt: T0 + HOUR, updatedAt: T0 + HOUR }));
    await v.escalate('fpA', 1, 1);
    const [ep] = await ledger.episodes('C1');
    expect(ep).toMatchObject({ alert: 'fpA', severity: 'critical', measure: 9, level: 2, period: '2026-11-20', state: 'resolved', resolvedAt: T0 + HOUR });
  });
});
