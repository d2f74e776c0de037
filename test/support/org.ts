// The org a notifier test runs against: contacts.csv (and rotas.yaml) in a temp config dir, and
// notification policies parsed from YAML text with test-scaled delays.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicies } from '../../src/config/policy-loader.js';
import type { PolicySet } from '../../src/route/types.js';

export interface TestContact {
  readonly id: string;
  readonly role: string;
  readonly name?: string;
  readonly phone?: string;
  readonly email?: string;
  readonly scope?: string;
  readonly channels?: string;
  /** A generic webhook URL, or a WeCom / DingTalk group robot's. */
  readonly webhook?: string;
}

/** A temp config dir holding contacts.csv (and rotas.yaml when given). */
export function orgDir(contacts: readonly TestContact[], rotasYaml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-org-'));
  const rows = contacts.map((c) => [c.id, c.name ?? `联系人${c.id}`, c.phone ?? '', c.email ?? '', c.role, c.scope ?? '', c.channels ?? '', c.webhook ?? ''].join(','));
  writeFileSync(join(dir, 'contacts.csv'), `id,name,phone,email,role,scope,channels,webhook\n${rows.join('\n')}\n`);
  if (rotasYaml) writeFileSync(join(dir, 'rotas.yaml'), rotasYaml);
  return dir;
}

export function policies(yaml: string): PolicySet {
  const res = parsePolicies(yaml, 'test-policies.yaml');
  if (!res.ok) throw new Error(res.errors.map((e) => e.format()).join('\n'));
  return res.policies;
}

/** The shipped chains with delays scaled to seconds: warning 1s/2s, critical 1.5s, campaign critical 1s. */
export const FAST_POLICIES = `
escalation:
  - id: campaign_critical
    match: {kind: campaign, severity: critical}
    steps:
      - notify: [service_oncall, campaign_owner]
      - {after: 1s, notify: [dept_lead:marketing]}
  - id: campaign
    match: {kind: campaign}
    steps:
      - notify: [service_oncall, campaign_owner]
  - id: info
    match: {severity: info}
    steps: [{notify: [manager]}]
    resolve_notice: false
  - id: critical
    match: {severity: critical}
    steps:
      - notify: [manager, district_head]
      - {after: 1500ms, notify: [region_head]}
  - id: warning
    match: {severity: warning}
    steps:
      - notify: [manager]
      - {after: 1s, notify: [district_head]}
      - {after: 2s, notify: [region_head]}
inhibit:
  - source: {severity: critical}
    target: {severity: warning}
    equal: [entity]
notify:
  group_wait: 150ms
  quiet_hours: {start: "22:00", end: "08:00", except: [critical]}
  sms_per_hour: 10
  failover: {after: 2, to: email}
  retry: {attempts: 3, backoff: 100ms}
`;

/** The org of the dealers in test/integration/fixtures.ts (district X-hongqi, region R-east). */
export const ORG: readonly TestContact[] = [
  { id: 'C001', role: 'channel_manager', phone: '13800000001', email: 'c001@example.cn', scope: 'X-hongqi' },
  { id: 'C002', role: 'channel_manager', phone: '13800000002', email: 'c002@example.cn', scope: 'X-hongqi' },
  { id: 'DH1', role: 'district_head', phone: '13800000011', email: 'dh1@example.cn', scope: 'X-hongqi' },
  { id: 'DH2', role: 'district_head', phone: '13800000012', scope: 'X-other' },
  { id: 'RH1', role: 'region_head', phone: '13800000021', scope: 'R-east' },
  { id: 'RH2', role: 'region_head', phone: '13800000022', scope: 'R-west' },
  { id: 'SO1', role: 'service_oncall', phone: '13800000031', email: 'so1@example.cn', channels: 'sms;email' },
  { id: 'CO1', role: 'campaign_owner', phone: '13800000041', email: 'co1@example.cn', channels: 'sms;email' },
  { id: 'DLM', role: 'dept_lead', phone: '13800000051', scope: 'marketing' },
  { id: 'OPS', role: 'ops', email: 'ops@example.cn' },
];

/** The phone of a contact of ORG. */
export function phone(id: string): string {
  const p = ORG.find((c) => c.id === id)?.phone;
  if (!p) throw new Error(`no phone for ${id} in ORG`);
  return p;
}
