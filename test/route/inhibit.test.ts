import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../src/domain/alert.js';
import type { Entity } from '../../src/domain/entity.js';
import { inhibitingAlert, type InhibitCandidate } from '../../src/route/inhibit.js';
import type { InhibitRule } from '../../src/route/types.js';
import { alert, entity } from './fixtures.js';

const criticalMutesWarning: InhibitRule = { source: { severity: ['critical'] }, target: { severity: ['warning'] }, equal: ['entity'] };
const outageMutesDealers: InhibitRule = {
  source: { rule: ['region_network_outage'] },
  target: { kind: ['core_dealer', 'grassroots'] },
  equal: ['region'],
};

const d1 = entity('D0001', { region: 'R1' });
const d2 = entity('D0002', { region: 'R1' });
const d3 = entity('D0003', { region: 'R2' });
const pair = (a: AlertRecord, e?: Entity): InhibitCandidate => ({ alert: a, entity: e });

describe('inhibitingAlert: critical of rule A mutes warning of rule B on the same entity', () => {
  const critA = alert({ rule: 'rule_a', entity: 'D0001', severity: 'critical' });
  const warnB = alert({ rule: 'rule_b', entity: 'D0001', severity: 'warning' });
  const warnBOther = alert({ rule: 'rule_b', entity: 'D0002', severity: 'warning' });
  const all = [pair(critA, d1), pair(warnB, d1), pair(warnBOther, d2)];

  it('mutes the warning on the same entity, by the critical', () => {
    expect(inhibitingAlert(pair(warnB, d1), all, [criticalMutesWarning])).toBe(critA);
  });

  it('not the warning on another entity', () => {
    expect(inhibitingAlert(pair(warnBOther, d2), all, [criticalMutesWarning])).toBeUndefined();
  });

  it('not the critical itself (it is no target)', () => {
    expect(inhibitingAlert(pair(critA, d1), all, [criticalMutesWarning])).toBeUndefined();
  });

  it('no rules, nothing muted', () => {
    expect(inhibitingAlert(pair(warnB, d1), all, [])).toBeUndefined();
  });

  it.each<[string, Partial<AlertRecord>]>([
    ['resolved', { state: 'resolved', resolvedAt: 1 }],
    ['pending', { state: 'pending', firingAt: undefined }],
    ['weak evidence (notify false)', { notify: false }],
  ])('a %s source mutes nothing', (_name, over) => {
    const source = { ...critA, ...over };
    expect(inhibitingAlert(pair(warnB, d1), [pair(source, d1)], [criticalMutesWarning])).toBeUndefined();
  });

  it('an acknowledged source still mutes', () => {
    const acked = { ...critA, state: 'acknowledged' as const, ack: { by: 'x', at: 1, via: 'api' } };
    expect(inhibitingAlert(pair(warnB, d1), [pair(acked, d1)], [criticalMutesWarning])).toBe(acked);
  });

  it('a field in `equal` that neither alert has does not count as equal', () => {
    const rule = { ...criticalMutesWarning, equal: ['labels.team'] };
    expect(inhibitingAlert(pair(warnB, d1), all, [rule])).toBeUndefined();
    const teamed = [pair({ ...critA, labels: { team: 'east' } }, d1)];
    expect(inhibitingAlert(pair({ ...warnB, labels: { team: 'east' } }, d1), teamed, [rule])).toBe(teamed[0]!.alert);
  });

  it('empty `equal`: any matching source anywhere mutes', () => {
    expect(inhibitingAlert(pair(warnBOther, d2), all, [{ ...criticalMutesWarning, equal: [] }])).toBe(critA);
  });
});

describe('inhibitingAlert: a region-wide outage mutes dealers of its region', () => {
  // The outage alert is raised for some entity in R1 (here the region's own network probe).
  const probe = entity('NET-R1', { kind: 'electronic', region: 'R1' });
  const outage = alert({ rule: 'region_network_outage', entity: 'NET-R1', severity: 'critical' });
  const drop1 = alert({ rule: 'core_dealer_drop', entity: 'D0001' });
  const drop2 = alert({ rule: 'core_dealer_drop', entity: 'D0002', severity: 'critical' });
  const drop3 = alert({ rule: 'core_dealer_drop', entity: 'D0003' });
  const all = [pair(outage, probe), pair(drop1, d1), pair(drop2, d2), pair(drop3, d3)];

  it.each([
    ['D0001 (R1)', pair(drop1, d1), outage],
    ['D0002 (R1, critical)', pair(drop2, d2), outage],
    ['D0003 (R2)', pair(drop3, d3), undefined],
  ])('%s', (_name, target, expected) => {
    expect(inhibitingAlert(target, all, [outageMutesDealers])).toBe(expected);
  });

  it('not the outage itself (an electronic channel is no target)', () => {
    expect(inhibitingAlert(pair(outage, probe), all, [outageMutesDealers])).toBeUndefined();
  });

  it('a dealer whose entity is unknown has no region: not muted', () => {
    expect(inhibitingAlert(pair(drop1), all, [outageMutesDealers])).toBeUndefined();
  });

  it('once the outage resolves, nothing is muted', () => {
    const resolved = [pair({ ...outage, state: 'resolved' }, probe), ...all.slice(1)];
    expect(inhibitingAlert(pair(drop1, d1), resolved, [outageMutesDealers])).toBeUndefined();
  });
});

describe('inhibitingAlert: no self or mutual inhibition', () => {
  it('a source never inhibits itself, even matching both sides', () => {
    const rule: InhibitRule = { source: { rule: ['r'] }, target: { rule: ['r'] }, equal: ['region'] };
    const a = alert({ rule: 'r', entity: 'D0001' });
    expect(inhibitingAlert(pair(a, d1), [pair(a, d1)], [rule])).toBeUndefined();
  });

  it('two alerts matching both sides of one rule do not mute each other', () => {
    const rule: InhibitRule = { source: { rule: ['r'] }, target: { rule: ['r'] }, equal: ['region'] };
    const a = alert({ rule: 'r', entity: 'D0001' });
    const b = alert({ rule: 'r', entity: 'D0002' });
    const all = [pair(a, d1), pair(b, d2)];
    expect(inhibitingAlert(pair(a, d1), all, [rule])).toBeUndefined();
    expect(inhibitingAlert(pair(b, d2), all, [rule])).toBeUndefined();
  });

  it('nor do two alerts each other through two rules', () => {
    const aMutesB: InhibitRule = { source: { rule: ['a'] }, target: { rule: ['b'] }, equal: ['entity'] };
    const bMutesA: InhibitRule = { source: { rule: ['b'] }, target: { rule: ['a'] }, equal: ['entity'] };
    const a = alert({ rule: 'a', entity: 'D0001' });
    const b = alert({ rule: 'b', entity: 'D0001' });
    const all = [pair(a, d1), pair(b, d1)];
    expect(inhibitingAlert(pair(a, d1), all, [aMutesB, bMutesA])).toBeUndefined();
    expect(inhibitingAlert(pair(b, d1), all, [aMutesB, bMutesA])).toBeUndefined();
    // With one of the two rules only, the inhibition holds.
    expect(inhibitingAlert(pair(b, d1), all, [aMutesB])).toBe(a);
  });

  it('a target that cannot page (pending) does not cancel its source', () => {
    const rule: InhibitRule = { source: { rule: ['r'] }, target: { rule: ['r'] }, equal: ['region'] };
    const a = alert({ rule: 'r', entity: 'D0001' });
    const b = alert({ rule: 'r', entity: 'D0002', state: 'pending' });
    expect(inhibitingAlert(pair(b, d2), [pair(a, d1), pair(b, d2)], [rule])).toBe(a);
  });
});
