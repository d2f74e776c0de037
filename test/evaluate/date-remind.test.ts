// Date rules for reminders (docs/duties.md): `remind_every_days` in the schema, and an open
// reminder resolving when the renewal removes the date (so its weekly repeats end too).
import { describe, expect, it } from 'vitest';
import { RULE_SCHEMAS } from '../../src/config/rule-schema.js';
import { entity, judge, openAlert, rule } from './fixtures.js';

describe('date rule: remind_every_days', () => {
  it('is optional and parsed to remindEveryDays', () => {
    expect(rule({ kind: 'date', attribute: 'contract_end', within_days: 30, severity: 'info' })).not.toHaveProperty('remindEveryDays');
    expect(rule({ kind: 'date', attribute: 'contract_end', within_days: 30, severity: 'info', remind_every_days: 7 })).toMatchObject({ remindEveryDays: 7 });
  });

  it.each([0, -7, 1.5, '7'])('refuses %j', (bad) => {
    const res = RULE_SCHEMAS.date.safeParse({ id: 'r', name: 'r', kind: 'date', attribute: 'contract_end', within_days: 30, severity: 'info', remind_every_days: bad });
    expect(res.success).toBe(false);
  });
});

describe('date rule: the date goes away', () => {
  const r = rule({ kind: 'date', attribute: 'contract_end', within_days: 30, severity: 'info', remind_every_days: 7 });
  const AT = '2026-11-21';

  it('an open reminder resolves when the attribute is removed or no longer a date', () => {
    const before = entity({ attrs: { contract_end: '2026-12-01' } });
    const prior = openAlert(r, before, 'info');
    expect(judge(r, entity(), new Map(), AT, prior)).toMatchObject({ severity: null, summary: '合同到期日已移除' });
    expect(judge(r, entity({ attrs: { contract_end: 'renewed' } }), new Map(), AT, prior)?.severity).toBeNull();
  });

  it('without an open reminder, no date is still no verdict', () => {
    expect(judge(r, entity(), new Map(), AT)).toBeUndefined();
  });

  it('a renewal that moves the date beyond the window resolves', () => {
    const prior = openAlert(r, entity({ attrs: { contract_end: '2026-12-01' } }), 'info');
    expect(judge(r, entity({ attrs: { contract_end: '2027-12-01' } }), new Map(), AT, prior)).toMatchObject({ severity: null, value: 375 });
  });
});
