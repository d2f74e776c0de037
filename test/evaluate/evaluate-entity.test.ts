import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
import { evaluateEntity, rulesInScope } from '../../src/evaluate/index.js';
import { applyVerdict } from '../../src/domain/lifecycle.js';
import { ctxAt, entity, openAlert, rule } from './fixtures.js';
import { daily } from './fixtures.js';

const dealerDrop = rule({
  id: 'dealer_drop',
  kind: 'change',
  metric: 'card_opening',
  scope: { kind: 'core_dealer' },
  direction: 'drop',
  baseline: { method: 'trailing_median', days: 14, min: 10 },
  levels: [{ severity: 'warning', at: 30 }],
});
const outletAbsent = rule({ id: 'outlet_absent', kind: 'absence', metric: 'air_recharge', scope: { kind: 'grassroots' }, days: 2, severity: 'warning' });
const reminder = rule({ id: 'reminder', kind: 'date', attribute: 'contract_end', within_days: 30, severity: 'info' });
const complaintRate = rule({
  id: 'complaint_rate',
  kind: 'ratio',
  metric: 'complaints',
  per: 'target_customers',
  scope: { kind: 'campaign', live: true },
  levels: [{ severity: 'warning', at: 3 }],
});
const rules = [dealerDrop, outletAbsent, reminder, complaintRate];

describe('evaluateEntity', () => {
  const dealer = entity({ id: 'D1', kind: 'core_dealer', attrs: { contract_end: '2026-12-01' } });
  const ctx = ctxAt('2026-11-16');

  it('rulesInScope keeps the rules whose scope selects the entity', () => {
    expect(rulesInScope(rules, dealer).map((r) => r.id)).toEqual(['dealer_drop', 'reminder']);
  });

  it('one verdict per in-scope rule that can judge, including "all clear" verdicts', () => {
    const verdicts = evaluateEntity(rules, dealer, new Map([['card_opening', daily('2026-11-01', '100x14 95')]]), new Map(), ctx);
    expect(verdicts.map((v) => [v.rule, v.severity])).toEqual([
      ['dealer_drop', null],
      ['reminder', 'info'],
    ]);
  });

  it('given its read plan\'s rules (scoped), judges them without filtering them again: the same verdicts as the rules filtered here', () => {
    const series = new Map([['card_opening', daily('2026-11-01', '100x14 95')]]);
    const scoped = rulesInScope(rules, dealer);
    expect(evaluateEntity(scoped, dealer, series, new Map(), ctx, undefined, true)).toEqual(evaluateEntity(rules, dealer, series, new Map(), ctx));
    // Not scoped, a rule whose scope does not select the entity is left out.
    expect(evaluateEntity([complaintRate], dealer, series, new Map(), ctx)).toEqual([]);
  });

  it('rules that cannot judge (no data) return nothing, and leave an open alert alone', () => {
    const priors = new Map([['dealer_drop', openAlert(dealerDrop, dealer, 'warning')]]);
    const verdicts = evaluateEntity(rules, dealer, new Map(), priors, ctx);
    expect(verdicts.map((v) => v.rule)).toEqual(['reminder']);
  });

  it('the minimum-baseline guard resolves an open alert', () => {
    const priors = new Map([['dealer_drop', openAlert(dealerDrop, dealer, 'warning')]]);
    const s = new Map([['card_opening', daily('2026-11-01', '5x14 0')]]);
    const [v] = evaluateEntity([dealerDrop], dealer, s, priors, ctx);
    expect(v).toMatchObject({ rule: 'dealer_drop', entity: 'D1', severity: null, confirmed: false });
    expect(applyVerdict(priors.get('dealer_drop'), v!, ctx.now).record?.state).toBe('resolved');
  });

  it('leaving the live window resolves an open campaign alert', () => {
    const c = entity({ id: 'C1', kind: 'campaign', attrs: { start: '2026-11-01', end: '2026-11-10', target_customers: 100_000 } });
    const s = new Map([['complaints', daily('2026-11-01', '50x10')]]);
    expect(evaluateEntity(rules, c, s, new Map(), ctx)).toEqual([]);
    const priors = new Map<string, AlertRecord>([['complaint_rate', openAlert(complaintRate, c, 'warning')]]);
    expect(evaluateEntity(rules, c, s, priors, ctx)).toMatchObject([{ rule: 'complaint_rate', severity: null }]);
  });

  it('a resolved prior is not open: guard skips produce nothing', () => {
    const prior = applyVerdict(openAlert(dealerDrop, dealer, 'warning'), { rule: 'dealer_drop', entity: 'D1', severity: null, confirmed: false, period: '', notify: true, summary: '' }, 1).record!;
    const s = new Map([['card_opening', daily('2026-11-01', '5x14 0')]]);
    expect(evaluateEntity([dealerDrop], dealer, s, new Map([['dealer_drop', prior]]), ctx)).toEqual([]);
  });

  it('is pure: same inputs, same verdicts, inputs untouched', () => {
    const s = new Map([['card_opening', daily('2026-11-01', '100x14 40')]]);
    const before = JSON.stringify([...s.get('card_opening')!]);
    const a = evaluateEntity(rules, dealer, s, new Map(), ctx);
    const b = evaluateEntity(rules, dealer, s, new Map(), ctx);
    expect(a).toEqual(b);
    expect(JSON.stringify([...s.get('card_opening')!])).toBe(before);
  });
});
