import { describe, expect, it } from 'vitest';
import { parseAttrMatcher } from '../../src/config/rule-schema.js';
import { inScope, isLiveOn, liveWindow, matchesAttr } from '../../src/evaluate/scope.js';
import { day, entity, rule } from './fixtures.js';

describe('attribute matchers', () => {
  it.each([
    ['>= 50', 120, true],
    ['>= 50', '120', true], // numeric strings compare as numbers, not "120" < "50"
    ['>= 50', 49.5, false],
    ['> 50', 50, false],
    ['< 3', 2, true],
    ['!= 0', 0, false],
    ['== 7', '7', true],
    ['A', 'A', true],
    ['A', 'B', false],
    ['>= 2026-12-01', '2026-12-15', true], // non-numeric: compared as strings (ISO dates work)
    ['>= 50', 'n/a', false],
  ] as const)('%s matches %j → %s', (spec, value, want) => {
    expect(matchesAttr(parseAttrMatcher(spec)!, value)).toBe(want);
  });

  it('lists match any member; a missing attribute never matches', () => {
    const m = parseAttrMatcher(['data', 'tariff', 5])!;
    expect(matchesAttr(m, 'data')).toBe(true);
    expect(matchesAttr(m, 5)).toBe(true);
    expect(matchesAttr(m, 'network')).toBe(false);
    expect(matchesAttr(parseAttrMatcher('>= 50')!, undefined)).toBe(false);
  });

  it('rejects an operator without a value', () => {
    expect(parseAttrMatcher('>=')).toBeUndefined();
  });
});

describe('inScope', () => {
  const base = { kind: 'absence', metric: 'air_recharge', days: 2, severity: 'warning' };
  const outlet = entity({ id: 'G1', kind: 'grassroots', region: 'R1', district: 'M01', tier: 'franchise', attrs: { monthly_fee: 80 } });

  it.each([
    ['no scope: every entity', {}, true],
    ['kind', { kind: 'grassroots' }, true],
    ['kind list', { kind: ['core_dealer', 'own_hall'] }, false],
    ['region', { region: 'R2' }, false],
    ['district list', { district: ['M02', 'M01'] }, true],
    ['tier', { tier: 'designated' }, false],
    ['entity ids', { entity: ['G1'] }, true],
    ['fee ≥ 50', { attrs: { monthly_fee: '>= 50' } }, true],
    ['fee ≥ 100', { attrs: { monthly_fee: '>= 100' } }, false],
    ['all conditions together', { kind: 'grassroots', region: 'R1', attrs: { monthly_fee: '>= 50' } }, true],
    ['an attribute the entity lacks', { attrs: { category: 'data' } }, false],
  ])('%s', (_name, scope, want) => {
    expect(inScope(rule({ ...base, scope }), outlet)).toBe(want);
  });
});

describe('live window', () => {
  const c = entity({ kind: 'campaign', attrs: { start: '2026-11-01', end: '2026-11-30' } });

  it('includes both ends', () => {
    expect(liveWindow(c)).toEqual({ start: day('2026-11-01'), end: day('2026-11-30') });
    expect(isLiveOn(c, day('2026-11-01'))).toBe(true);
    expect(isLiveOn(c, day('2026-11-30'))).toBe(true);
    expect(isLiveOn(c, day('2026-10-31'))).toBe(false);
    expect(isLiveOn(c, day('2026-12-01'))).toBe(false);
  });

  it('a campaign without both dates is never live', () => {
    expect(isLiveOn(entity({ kind: 'campaign', attrs: { start: '2026-11-01' } }), day('2026-11-05'))).toBe(false);
  });
});
