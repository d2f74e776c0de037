// SPEC §3.3: samples for unknown entities are never silently dropped: kept, counted, and judged
// with their history once the entity is registered.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Calendar } from '../../src/domain/clock.js';
import { metricValue, startTestLookout, type AlertsBody, type TestLookout, type UnknownEntitiesBody } from '../support/lookout.js';
import { dealer, dealerSeries, FOUR_WEEKS, LAST_DAY } from './fixtures.js';

describe('samples for unregistered entities', () => {
  let lk: TestLookout;
  beforeEach(async () => {
    lk = await startTestLookout();
  });
  afterEach(async () => lk.cleanup());

  it('are stored and counted, and the entity is judged with its history once registered', async () => {
    const posted = await lk.post('/api/v1/samples', [...dealerSeries('D0404', 40), { metric: 'air_recharge', entity: 'G0404', value: 3, ts: '2026-11-21T10:00:00+08:00' }]);
    expect(posted.status).toBe(202);
    await lk.idle();

    const kept = await lk.daily('D0404', 'card_opening');
    expect(kept.size).toBe(FOUR_WEEKS.length);
    expect(kept.get(Calendar.parseIsoDay(LAST_DAY)!)).toBe(40);
    expect((await lk.get<UnknownEntitiesBody>('/api/v1/entities/unknown')).body.unknown).toEqual([
      { id: 'D0404', samples: FOUR_WEEKS.length },
      { id: 'G0404', samples: 1 },
    ]);
    const metrics = (await lk.get<string>('/metrics')).body;
    expect(metricValue(metrics, 'lookout_samples_unknown_entity_total')).toBe(FOUR_WEEKS.length + 1);
    expect(await lk.alertsOf('D0404')).toEqual([]);

    // Registered later through the API: judged on the stored history, and it fires.
    expect((await lk.put('/api/v1/entities', [dealer('D0404')])).status).toBe(200);
    await lk.idle();
    const firing = (await lk.get<AlertsBody>('/api/v1/alerts?entity=D0404&state=firing')).body.alerts;
    expect(firing.map((a) => [a.rule, a.severity, a.period, a.value, a.baseline])).toEqual([['core_dealer_card_opening_drop', 'critical', LAST_DAY, 40, 100]]);
    expect((await lk.get<UnknownEntitiesBody>('/api/v1/entities/unknown')).body.unknown).toEqual([{ id: 'G0404', samples: 1 }]);
  });
});
