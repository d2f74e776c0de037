// Entities and series the integration tests share (SPEC §4 vocabulary).
import type { Entity } from '../../src/domain/entity.js';
import { dailySamples, isoDays } from '../support/lookout.js';

export function dealer(id: string, attrs: Entity['attrs'] = { monthly_fee: 120, contract_end: '2027-06-30' }): Entity {
  return { id, kind: 'core_dealer', name: `核心渠道 ${id}`, region: 'R-east', district: 'X-hongqi', manager: 'C001', attrs };
}

export function outlet(id: string, monthlyFee = 80): Entity {
  return { id, kind: 'grassroots', name: `基层网点 ${id}`, region: 'R-east', district: 'X-hongqi', manager: 'C002', attrs: { monthly_fee: monthlyFee } };
}

export function campaign(id: string, attrs: { start: string; end: string; target_customers: number }): Entity {
  return { id, kind: 'campaign', name: `营销案 ${id}`, manager: 'CO1', attrs: { ...attrs, category: 'data', owner: 'CO1' } };
}

/** The 29 days 2026-10-24 … 2026-11-21: four same-weekday weeks of history before 2026-11-21. */
export const FOUR_WEEKS = isoDays('2026-10-24', 29);
export const LAST_DAY = '2026-11-21';

/** A dealer's card openings: 100 a day, `last` on 2026-11-21. */
export function dealerSeries(id: string, last: number, days: readonly string[] = FOUR_WEEKS) {
  return dailySamples(id, 'card_opening', days, (d) => (d === LAST_DAY ? last : 100));
}
