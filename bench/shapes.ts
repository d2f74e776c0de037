// The simulated province the benches feed: entities in scope of the shipped rules, and one local
// day of samples for them (daily-export rows or hourly rows), with sample ids as real exports have.

import { Calendar } from '../src/domain/clock.js';
import type { Entity } from '../src/domain/entity.js';
import type { Sample } from '../src/domain/sample.js';
import type { SeriesLayoutName } from '../src/state/series-layout.js';

/** A province-like mix: every entity is in scope of at least one shipped rule. */
export function entities(n: number): Entity[] {
  const out: Entity[] = [];
  for (let i = 0; i < n; i++) {
    const region = `R${i % 6}`;
    const district = `X${i % 31}`;
    if (i % 20 === 0) {
      out.push({ id: `D${i}`, kind: 'core_dealer', name: `核心渠道${i}`, region, district, manager: 'C1', attrs: { monthly_fee: 500 } });
    } else if (i % 20 === 1) {
      out.push({
        id: `M${i}`,
        kind: 'campaign',
        name: `营销案${i}`,
        region,
        district,
        manager: 'C1',
        attrs: { start: '2026-10-01', end: '2026-12-31', target_customers: 200_000, category: 'data', owner: 'C2' },
      });
    } else {
      out.push({ id: `G${i}`, kind: 'grassroots', name: `基层网点${i}`, region, district, manager: 'C1', attrs: { monthly_fee: 60 + (i % 100) } });
    }
  }
  return out;
}

/** The one metric each entity is fed, and its daily mean. */
export function metricOf(e: Entity): [string, number] {
  if (e.kind === 'core_dealer') return ['card_opening', 120];
  if (e.kind === 'campaign') return ['complaints', 4];
  return ['air_recharge', 12];
}

/** One day of samples: a daily export row per entity, or `perDay` hourly rows per entity. */
export function daySamples(ents: readonly Entity[], day: number, cal: Calendar, r: () => number, perDay: number): Sample[] {
  const start = cal.startOfDay(day);
  const iso = Calendar.isoDay(day);
  const out: Sample[] = [];
  for (let h = 0; h < perDay; h++) {
    const ts = start + (perDay === 1 ? 12 : h) * 3_600_000;
    for (const e of ents) {
      const [metric, mean] = metricOf(e);
      const value = Math.max(0, Math.round((mean / perDay) * (0.8 + 0.4 * r())));
      out.push({ metric, entity: e.id, value, ts, id: perDay === 1 ? `${e.id}/${metric}/${iso}` : `${e.id}/${metric}/${iso}T${h}` });
    }
  }
  return out;
}

/**
 * A bench layout name: `buckets`, `compact` (applied in the worker, the default) or `compact/redis`
 * (applied by the script inside Redis, LOOKOUT_APPLY_IN=redis).
 */
export function parseLayout(layout: string): { readonly name: SeriesLayoutName; readonly applyIn?: 'worker' | 'redis' } {
  const [name, applyIn] = layout.split('/') as [SeriesLayoutName, 'worker' | 'redis' | undefined];
  return { name, ...(applyIn ? { applyIn } : {}) };
}

/** The settings of a bench layout name (parseLayout). */
export function layoutEnv(layout: string): Record<string, string> {
  const { name, applyIn } = parseLayout(layout);
  return { LOOKOUT_SERIES_LAYOUT: name, ...(applyIn ? { LOOKOUT_APPLY_IN: applyIn } : {}) };
}
