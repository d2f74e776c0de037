// Shared data for the backtest tests: a samples CSV on disk, dealers and outlets, the shipped rules.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuleSet } from '../../src/config/rules-loader.js';
import type { Entity } from '../../src/domain/entity.js';
import type { RuleSet } from '../../src/domain/rule.js';

export interface Row {
  readonly metric: string;
  readonly entity: string;
  readonly value: number | string;
  readonly ts: string;
  readonly id?: string;
}

/** Write rows as a samples CSV (header metric,entity,value,ts,id); extra raw lines are appended. */
export function writeCsv(rows: readonly Row[], extra: readonly string[] = [], dir = mkdtempSync(join(tmpdir(), 'lookout-backtest-'))): string {
  const file = join(dir, 'history.csv');
  const lines = ['metric,entity,value,ts,id', ...rows.map((r) => `${r.metric},${r.entity},${r.value},${r.ts},${r.id ?? ''}`), ...extra];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Days (ISO) from `start`, `n` of them. */
export function isoDays(start: string, n: number): string[] {
  const t0 = Date.parse(`${start}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => new Date(t0 + i * 86_400_000).toISOString().slice(0, 10));
}

/** One daily-export row per day at local noon, id `<entity>/<metric>/<day>`. */
export function daily(entity: string, metric: string, days: readonly string[], value: (day: string, i: number) => number | undefined): Row[] {
  return days.flatMap((d, i) => {
    const v = value(d, i);
    return v === undefined ? [] : [{ metric, entity, value: v, ts: `${d}T12:00:00+08:00`, id: `${entity}/${metric}/${d}` }];
  });
}

export function dealer(id: string, attrs: Entity['attrs'] = { monthly_fee: 120, contract_end: '2027-06-30' }): Entity {
  return { id, kind: 'core_dealer', name: `核心渠道 ${id}`, region: 'R-east', district: 'X-hongqi', manager: 'C001', attrs };
}

export function outlet(id: string, monthlyFee = 80): Entity {
  return { id, kind: 'grassroots', name: `基层网点 ${id}`, region: 'R-east', district: 'X-hongqi', manager: 'C002', attrs: { monthly_fee: monthlyFee } };
}

export async function shippedRules(): Promise<RuleSet> {
  const res = await loadRuleSet('rules');
  if (!res.ok) throw new Error(res.errors.map((e) => e.format()).join('\n'));
  return res.ruleSet;
}

/** The fields a fired alert is compared on (live vs backtest). */
export function fired(a: { rule: string; entity: string; severity: string; period: string }): string {
  return `${a.rule} ${a.entity} ${a.severity} ${a.period}`;
}
