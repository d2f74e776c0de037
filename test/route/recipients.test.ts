import { describe, expect, it } from 'vitest';
import { readContactCsv } from '../../src/config/contacts-loader.js';
import { defaultPolicies } from '../../src/config/policy-loader.js';
import { readRotasYaml } from '../../src/config/rotas-loader.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Severity } from '../../src/domain/rule.js';
import { policyFor } from '../../src/route/policy.js';
import { OrgDirectory, buildDirectory, parseRecipientRef } from '../../src/route/recipients.js';
import { alert, entity, NOW } from './fixtures.js';

const calendar = new Calendar('Asia/Shanghai');

const CONTACTS = `id,name,phone,email,role,scope
CM01,王伟,13803730001,cm01@xx.example.cn,channel_manager,M01
CM02,李芳,13803730002,,channel_manager,M02
DH01,张敏,13803730003,,district_head,M01
RH1,刘强,13803730004,,region_head,R1
SO1,陈静,13803730005,,service_oncall,
SO2,杨磊,13803730006,,service_oncall,
CO1,赵军,13803730007,,campaign_owner,marketing
DL1,黄洋,13803730008,,dept_lead,network
DL4,周勇,13803730009,,dept_lead,marketing
GM1,吴艳,13803730010,,customer_manager,
`;

function org(opts: { rota?: boolean; ops?: boolean } = {}): OrgDirectory {
  const text = opts.ops ? `${CONTACTS}OP1,值班,,ops@xx.example.cn,ops,\nOP2,值班二,,ops2@xx.example.cn,ops,\n` : CONTACTS;
  const { contacts, errors } = readContactCsv(text);
  expect(errors).toEqual([]);
  const rotas = opts.rota ? readRotasYaml('rotas:\n  service_oncall: {start: 2026-11-02, handover: "09:00", people: [SO2, SO1]}\n', calendar).rotas : [];
  return new OrgDirectory(buildDirectory(contacts, rotas, 'test'));
}

const dealer = entity('D0001', { region: 'R1', district: 'M01', manager: 'CM01' });
const campaign = entity('C001', { kind: 'campaign', region: undefined, district: undefined, manager: 'CO1', attrs: { owner: 'CO1', start: '2026-11-01', end: '2026-12-31', target_customers: 100_000 } });
const groupCustomer = entity('K0001', { kind: 'group_customer', manager: 'GM1' });

/** Contact ids per policy step, with the default policies. */
function chain(o: OrgDirectory, severity: Severity, e: typeof dealer, now = NOW): string[][] {
  const a = alert({ rule: 'r', entity: e.id, severity });
  const policy = policyFor(defaultPolicies(), a, e);
  if (!policy) return [];
  return policy.steps.map((s) => {
    const { contacts, missing } = o.resolve(s.notify, a, e, now, calendar);
    expect(missing).toEqual([]);
    return contacts.map((c) => c.id);
  });
}

describe('OrgDirectory.resolve with the default policies', () => {
  it.each([
    ['core dealer warning: manager, +30 min district head, +2 h region head', 'warning', dealer, [['CM01'], ['DH01'], ['RH1']]],
    ['core dealer critical: manager and district head, +30 min region head', 'critical', dealer, [['CM01', 'DH01'], ['RH1']]],
    ['core dealer info (reminder): manager only', 'info', dealer, [['CM01']]],
    ['campaign warning: every on-call person and the owner', 'warning', campaign, [['SO1', 'SO2', 'CO1']]],
    ['campaign critical: +15 min marketing dept lead', 'critical', campaign, [['SO1', 'SO2', 'CO1'], ['DL4']]],
    ['campaign info: the campaign policy comes first', 'info', campaign, [['SO1', 'SO2', 'CO1']]],
  ] as const)('%s', (_name, severity, e, want) => {
    expect(chain(org(), severity, e)).toEqual(want);
  });

  it('pages only the on-duty person when a service_oncall rota exists', () => {
    // 2026-11-21 is in the third week since 2026-11-02 09:00 → people[2 % 2] = SO2.
    expect(chain(org({ rota: true }), 'warning', campaign)).toEqual([['SO2', 'CO1']]);
    expect(chain(org({ rota: true }), 'warning', campaign, Date.parse('2026-11-10T12:00:00+08:00'))).toEqual([['SO1', 'CO1']]);
  });
});

describe('OrgDirectory.resolve, ref by ref', () => {
  const o = org({ ops: true });
  const a = alert({ rule: 'r', entity: 'D0001' });
  const ids = (refs: string[], e = dealer) => o.resolve(refs, a, e, NOW, calendar).contacts.map((c) => c.id);

  it.each([
    [['manager'], dealer, ['CM01']],
    [['customer_manager'], groupCustomer, ['GM1']],
    [['district_head'], dealer, ['DH01']],
    [['region_head'], dealer, ['RH1']],
    [['campaign_owner'], campaign, ['CO1']],
    [['service_oncall'], dealer, ['SO1', 'SO2']],
    [['ops'], dealer, ['OP1', 'OP2']],
    [['dept_lead:network'], dealer, ['DL1']],
    [['contact:DL4'], dealer, ['DL4']],
    [['role:channel_manager'], dealer, ['CM01', 'CM02']],
    [['manager', 'contact:CM01', 'role:channel_manager', 'district_head'], dealer, ['CM01', 'CM02', 'DH01']],
  ])('%j → %j', (refs, e, want) => {
    expect(ids(refs, e)).toEqual(want);
  });

  it.each([
    ['district_head', entity('G0002', { district: 'M02' }), /no district_head for district M02/],
    ['district_head', entity('G0003', { district: undefined }), /entity G0003 has no district/],
    ['region_head', entity('G0004', { region: 'R9' }), /no region_head for region R9/],
    ['manager', entity('G0005', { manager: 'CM99' }), /entity G0005's manager CM99 is not in contacts.csv/],
    ['manager', entity('G0006', { manager: undefined }), /entity G0006 has no manager/],
    ['campaign_owner', dealer, /entity D0001 has no campaign owner/],
    ['dept_lead:billing', dealer, /no dept_lead for department billing/],
    ['contact:XX', dealer, /contact XX is not in contacts.csv/],
    ['role:ops', dealer, /no contact has role ops/],
    ['ops', dealer, /no contact has role ops/],
    ['manager', undefined, /entity D0001 is not in the registry/],
    ['boss', dealer, /"boss" is not a recipient/],
  ])('%s for %s → missing', (ref, e, reason) => {
    const res = org().resolve([ref, 'contact:CM01'], a, e, NOW, calendar);
    expect(res.contacts.map((c) => c.id)).toEqual(['CM01']);
    expect(res.missing).toHaveLength(1);
    expect(res.missing[0]!.ref).toBe(ref);
    expect(res.missing[0]!.reason).toMatch(reason);
  });

  it('says so when the on-duty person is not a contact', () => {
    const { contacts } = readContactCsv(CONTACTS);
    const rotas = readRotasYaml('rotas:\n  service_oncall: {start: 2026-11-02, people: [SO9]}\n', calendar).rotas;
    const res = new OrgDirectory(buildDirectory(contacts, rotas, 'x')).resolve(['service_oncall'], a, dealer, NOW, calendar);
    expect(res.missing).toEqual([{ ref: 'service_oncall', reason: 'SO9 is on duty (service_oncall rota) but not in contacts.csv' }]);
  });

  it('looks contacts up by id and role', () => {
    expect(o.contact('DH01')?.name).toBe('张敏');
    expect(o.contact('nobody')).toBeUndefined();
    expect(o.ofRole('district_head', 'M01').map((c) => c.id)).toEqual(['DH01']);
    expect(o.ofRole('district_head', 'M02')).toEqual([]);
  });
});

describe('parseRecipientRef', () => {
  it.each([
    ['manager', { kind: 'manager' }],
    ['ops', { kind: 'ops' }],
    ['dept_lead:marketing', { kind: 'dept_lead', scope: 'marketing' }],
    ['contact:CM01', { kind: 'contact', id: 'CM01' }],
    ['role:region_head', { kind: 'role', role: 'region_head' }],
    ['role:boss', undefined],
    ['dept_lead', undefined],
    ['dept_lead:', undefined],
    ['contact:a b', undefined],
    ['Manager', undefined],
  ])('%j', (ref, want) => {
    expect(parseRecipientRef(ref)).toEqual(want);
  });
});
