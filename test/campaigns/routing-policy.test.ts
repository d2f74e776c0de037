// complaint_routing in policies.yaml and the complaint_lead recipient.
import { describe, expect, it } from 'vitest';
import { readContactCsv } from '../../src/config/contacts-loader.js';
import { defaultPolicies, parsePolicies } from '../../src/config/policy-loader.js';
import { fingerprint, type AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import { buildDirectory, OrgDirectory, parseRecipientRef } from '../../src/route/recipients.js';

const base = `escalation:\n  - id: all\n    steps: [{notify: [service_oncall, complaint_lead]}]\n`;

describe('complaint_routing', () => {
  it('ships the default routing of docs/campaigns.md', () => {
    expect(defaultPolicies().complaintRouting).toEqual({ network: 'network', billing: 'billing', promotion: 'customer_service', tariff: 'customer_service', service: 'customer_service', other: 'customer_service' });
    expect(defaultPolicies().escalation.filter((p) => p.steps[0]!.notify.includes('complaint_lead')).map((p) => p.id)).toEqual(['campaign_critical', 'campaign']);
  });

  it('a partial map keeps the defaults for the categories it leaves out', () => {
    const res = parsePolicies(`${base}complaint_routing:\n  promotion: marketing\n`, 'policies.yaml');
    expect(res.ok && res.policies.complaintRouting).toMatchObject({ promotion: 'marketing', billing: 'billing', tariff: 'customer_service' });
  });

  it.each([
    ['an unknown category', 'complaint_routing:\n  terminal: network\n', /:5: complaint_routing\.terminal: unknown field/],
    ['a department that is not a scope', 'complaint_routing:\n  billing: Business Support\n', /complaint_routing\.billing: expected a department/],
  ])('rejects %s with file, line and field', (_what, yaml, message) => {
    const res = parsePolicies(`${base}${yaml}`, 'policies.yaml');
    expect(res.ok).toBe(false);
    const [err] = res.ok ? [] : res.errors;
    expect(err!.format()).toMatch(/^policies\.yaml:\d+: /);
    expect(err!.format()).toMatch(message);
    expect(err!.format()).toMatch(/\[bad_policy\]$/);
  });
});

describe('complaint_lead', () => {
  const { contacts } = readContactCsv(`id,name,phone,email,role,scope
SO1,值班,13800000031,,service_oncall,
DLN,网管,13800000061,,dept_lead,network
DLB,支撑,13800000062,,dept_lead,billing
`);
  const org = new OrgDirectory(buildDirectory(contacts, [], 'x'));
  const c: Entity = { id: 'C001', kind: 'campaign', name: '营销案', attrs: { owner: 'CO1' } };
  const fp = fingerprint('campaign_complaint_rate', 'C001');
  const alert: AlertRecord = { id: fp, fingerprint: fp, rule: 'campaign_complaint_rate', entity: 'C001', state: 'firing', severity: 'critical', episode: 1, seq: 1, notify: true, period: '2026-11-21', summary: '', startsAt: 0, updatedAt: 0, labels: {} };
  const cal = new Calendar('Asia/Shanghai');

  it('is a recipient ref that needs the entity', () => {
    expect(parseRecipientRef('complaint_lead')).toEqual({ kind: 'complaint_lead' });
  });

  it('names the dept_lead of the department the notifier found, and nobody for other alerts', () => {
    const ids = (hints: { complaintLead?: string | null }) => org.resolve(['service_oncall', 'complaint_lead'], alert, c, 0, cal, hints);
    expect(ids({ complaintLead: 'billing' }).contacts.map((x) => x.id)).toEqual(['SO1', 'DLB']);
    expect(ids({ complaintLead: 'network' }).contacts.map((x) => x.id)).toEqual(['SO1', 'DLN']);
    expect(ids({ complaintLead: null })).toEqual({ contacts: [expect.objectContaining({ id: 'SO1' })], missing: [] });
    expect(ids({ complaintLead: 'customer_service' }).missing).toEqual([{ ref: 'complaint_lead', reason: 'no dept_lead for department customer_service in contacts.csv' }]);
  });
});
