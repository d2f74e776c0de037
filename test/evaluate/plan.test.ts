import { describe, expect, it } from 'vitest';
import { ReadPlanner, planEntity } from '../../src/evaluate/plan.js';
import { entity, rule } from './fixtures.js';

const complaints = rule({ id: 'complaints_high', kind: 'threshold', metric: 'complaints', levels: [{ severity: 'warning', at: 10 }] });
const contract = rule({ id: 'contract_ends', kind: 'date', attribute: 'contract_end', within_days: 30, severity: 'info' });

describe('the read plan of an entity', () => {
  it('lists the metrics its rules read, and whether a date rule judges it whatever changed', () => {
    const both = planEntity([complaints, contract], entity({ kind: 'campaign', attrs: { contract_end: '2026-12-20' } }))!;
    expect(both.metrics).toEqual(['complaints']);
    expect(both.dated).toBe(true);
    const metricOnly = planEntity([complaints], entity({ kind: 'campaign' }))!;
    expect(metricOnly.dated).toBe(false);
  });

  it('is planned again when the registry entry changes, and kept while it does not', () => {
    const planner = new ReadPlanner([complaints, contract]);
    const e = entity({ id: 'C1', kind: 'campaign' });
    const first = planner.plan(e);
    expect(planner.plan(e)).toBe(first);
    const changed = { ...e, attrs: { contract_end: '2026-12-20' } };
    expect(planner.plan(changed)).not.toBe(first);
    expect(planner.plan(changed)!.entity).toBe(changed);
  });
});
