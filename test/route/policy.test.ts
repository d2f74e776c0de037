import { describe, expect, it } from 'vitest';
import { defaultPolicies, parsePolicies } from '../../src/config/policy-loader.js';
import type { Entity } from '../../src/domain/entity.js';
import type { Severity } from '../../src/domain/rule.js';
import { policyFor } from '../../src/route/policy.js';
import type { PolicySet } from '../../src/route/types.js';
import { alert, entity } from './fixtures.js';

const dealer = entity('D0001');
const campaign = entity('C001', { kind: 'campaign', attrs: { owner: 'CO1' } });

describe('policyFor with the default policies (first match wins)', () => {
  it.each([
    ['warning', dealer, 'warning'],
    ['critical', dealer, 'critical'],
    ['info', dealer, 'info'],
    ['critical', campaign, 'campaign_critical'],
    ['warning', campaign, 'campaign'],
    ['info', campaign, 'campaign'],
    ['warning', undefined, 'warning'],
  ] as [Severity, Entity | undefined, string][])('%s on %s → %s', (severity, e, want) => {
    expect(policyFor(defaultPolicies(), alert({ rule: 'r', entity: 'X', severity }), e)?.id).toBe(want);
  });
});

describe('policyFor with a custom policy set', () => {
  const res = parsePolicies(
    `escalation:
  - id: billing_complaints
    match: {rule: complaints_surge, labels.category: [billing, tariff]}
    steps: [{notify: [dept_lead:billing]}]
  - id: north
    match: {region: R2, kind: [core_dealer, own_hall]}
    steps: [{notify: [region_head]}]
  - id: warnings
    match: {severity: warning}
    steps: [{notify: [manager]}]
`,
    'policies.yaml',
  );
  const set = (res.ok ? res.policies : undefined) as PolicySet;

  it.each([
    ['a billing complaint surge', alert({ rule: 'complaints_surge', entity: 'C001', labels: { category: 'billing' } }), campaign, 'billing_complaints'],
    ['another complaint category falls through', alert({ rule: 'complaints_surge', entity: 'C001', labels: { category: 'network' } }), campaign, 'warnings'],
    ['a dealer in R2', alert({ rule: 'r', entity: 'D0002', severity: 'critical' }), entity('D0002', { region: 'R2' }), 'north'],
    ['an outlet in R2 is not a selected kind', alert({ rule: 'r', entity: 'G0002', severity: 'critical' }), entity('G0002', { kind: 'grassroots', region: 'R2' }), undefined],
    ['no catch-all: an unmatched alert has no policy', alert({ rule: 'r', entity: 'D0001', severity: 'info' }), dealer, undefined],
    ['a kind selector needs the entity', alert({ rule: 'r', entity: 'D0002', severity: 'critical' }), undefined, undefined],
  ])('%s', (_name, a, e, want) => {
    expect(res.ok).toBe(true);
    expect(policyFor(set, a, e)?.id).toBe(want);
  });
});
