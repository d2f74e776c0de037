import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readContactCsv } from '../../src/config/contacts-loader.js';
import { checkOrg, loadOrg } from '../../src/config/org-check.js';
import { defaultPolicies, parsePolicies } from '../../src/config/policy-loader.js';
import { readRotasYaml } from '../../src/config/rotas-loader.js';
import { simulateBranch } from '../../src/demo/simulate.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Entity } from '../../src/domain/entity.js';
import { EMPTY_DIRECTORY, buildDirectory } from '../../src/route/recipients.js';
import type { Directory, PolicySet } from '../../src/route/types.js';

const calendar = new Calendar('Asia/Shanghai');

const CONTACTS = `id,name,phone,email,role,scope
CM01,王伟,13803730001,,channel_manager,M01
CM02,李芳,13803730002,,channel_manager,M02
DH01,张敏,13803730003,,district_head,M01
DH02,陈静,13803730013,,district_head,M02
RH1,刘强,13803730004,,region_head,R1
SO1,陈静,13803730005,,service_oncall,
CO1,赵军,13803730007,,campaign_owner,marketing
DL4,周勇,13803730009,,dept_lead,marketing
OP1,值班,,ops@xx.example.cn,ops,
`;

function directory(csv = CONTACTS, rotasYaml?: string): Directory {
  const { contacts, errors } = readContactCsv(csv);
  expect(errors).toEqual([]);
  const rotas = rotasYaml ? readRotasYaml(rotasYaml, calendar).rotas : [];
  return buildDirectory(contacts, rotas, 'test');
}

function policies(text: string): PolicySet {
  const res = parsePolicies(text, 'policies.yaml');
  if (!res.ok) throw new Error(res.errors.map((e) => e.format()).join('\n'));
  return res.policies;
}

const dealer = (id: string, over: Partial<Entity> = {}): Entity => ({
  id,
  kind: 'core_dealer',
  name: `核心渠道 ${id}`,
  region: 'R1',
  district: 'M01',
  manager: 'CM01',
  attrs: {},
  ...over,
});
const campaign: Entity = { id: 'C001', kind: 'campaign', name: '流量包促销', manager: 'CO1', attrs: { owner: 'CO1', start: '2026-11-01', end: '2026-11-30', target_customers: 1000 } };
const ENTITIES: Entity[] = [dealer('D0001'), dealer('D0002', { district: 'M02', manager: 'CM02' }), campaign];

describe('checkOrg', () => {
  it('passes a complete org with the default policies (campaigns need no district head)', () => {
    expect(checkOrg(directory(), ENTITIES, defaultPolicies())).toEqual([]);
  });

  it.each([
    [
      'a district without a head',
      CONTACTS.replace(/^DH02.*\n/m, ''),
      [...ENTITIES, dealer('G0003', { kind: 'grassroots', district: 'M02', manager: 'CM02' })],
      ['contacts.csv: role=district_head scope=M02: no district_head for district M02, needed by policy critical step 1, policy warning step 2; affects 2 entities: D0002, G0003 [missing_contact]'],
    ],
    [
      'an unknown manager',
      CONTACTS,
      [...ENTITIES, dealer('D0009', { manager: 'CM99' }), dealer('D0010', { manager: 'CM99' })],
      ['manager: manager CM99 of entities D0009, D0010 is not in contacts.csv [unknown_contact]'],
    ],
    [
      'an unknown campaign owner',
      CONTACTS,
      [...ENTITIES, { ...campaign, id: 'C002', attrs: { ...campaign.attrs, owner: 'CO9' } }],
      ['attrs.owner: campaign owner (attrs.owner) CO9 of entity C002 is not in contacts.csv [unknown_contact]'],
    ],
    [
      'a region without a head',
      CONTACTS,
      [...ENTITIES, dealer('D0011', { region: 'R2' })],
      ['contacts.csv: role=region_head scope=R2: no region_head for region R2, needed by policy critical step 2, policy warning step 3; affects 1 entity: D0011 [missing_contact]'],
    ],
    [
      'an entity without a district',
      CONTACTS,
      [...ENTITIES, dealer('E0001', { kind: 'electronic', district: undefined })],
      ['district_head: entities without a district, needed by policy critical step 1, policy warning step 2; affects 1 entity: E0001 [missing_contact]'],
    ],
    [
      'no marketing dept lead',
      CONTACTS.replace(/^DL4.*\n/m, ''),
      ENTITIES,
      ['contacts.csv: role=dept_lead scope=marketing: no dept_lead with scope marketing, needed by policy campaign_critical step 2; affects 1 entity: C001 [missing_contact]'],
    ],
    [
      'nobody on call',
      CONTACTS.replace(/^SO1.*\n/m, ''),
      ENTITIES,
      ['contacts.csv: role=service_oncall: no service_oncall contact (and no service_oncall rota), needed by policy campaign_critical step 1, policy campaign step 1; affects 1 entity: C001 [missing_contact]'],
    ],
    ['no ops contact for the feed-stall guard', CONTACTS.replace(/^OP1.*\n/m, ''), ENTITIES, ['contacts.csv: role=ops: no ops contact (and no ops rota), needed by notify.feed_stall [missing_contact]']],
  ])('%s', (_name, csv, entities, want) => {
    expect(checkOrg(directory(csv), entities, defaultPolicies()).map((e) => e.format())).toEqual(want);
  });

  it('names many entities once, with a count', () => {
    const many = Array.from({ length: 40 }, (_, i) => dealer(`G${String(i).padStart(4, '0')}`, { kind: 'grassroots', district: 'M09' }));
    const errors = checkOrg(directory(), many, defaultPolicies());
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/affects 40 entities: G0000, G0001, G0002, G0003, G0004 and 35 more$/);
  });

  it('checks rota people, override cover and contact: refs', () => {
    const dir = directory(CONTACTS, 'rotas:\n  service_oncall:\n    start: 2026-11-02\n    people: [SO1, SO7]\n    overrides: [{from: "2026-12-24", to: "2026-12-26", contact: SO8}]\n');
    const set = policies('escalation:\n  - id: all\n    steps: [{notify: [manager, contact:XX]}]\nnotify:\n  feed_stall: {notify: [contact:OP1]}\n');
    expect(checkOrg(dir, ENTITIES, set, { rotas: 'rotas.yaml' }).map((e) => e.format())).toEqual([
      'rotas.yaml: rotas.service_oncall.people[1]: service_oncall rota names SO7, who is not in contacts.csv [unknown_contact]',
      'rotas.yaml: rotas.service_oncall.overrides[0].contact: service_oncall rota names SO8, who is not in contacts.csv [unknown_contact]',
      'policies.yaml: escalation[0].steps[0].notify: contact:XX: XX is not in contacts.csv [unknown_contact]',
    ]);
  });

  it('a rota staffs service_oncall even without service_oncall contacts of that role', () => {
    const csv = CONTACTS.replace(/^SO1.*\n/m, 'SO1,陈静,13803730005,,channel_manager,\n');
    expect(checkOrg(directory(csv, 'rotas:\n  service_oncall: {start: 2026-11-02, people: [SO1]}\n'), ENTITIES, defaultPolicies())).toEqual([]);
  });

  it('only checks a policy for the kinds it could match, up to a catch-all', () => {
    const set = policies(`escalation:
  - id: halls
    match: {kind: own_hall, severity: critical}
    steps: [{notify: [dept_lead:customer_service]}]
  - id: dealers_all
    match: {kind: core_dealer}
    steps: [{notify: [manager]}]
  - id: dealers_never
    match: {kind: core_dealer, severity: critical}
    steps: [{notify: ["role:customer_manager"]}]
  - id: rest
    steps: [{notify: [campaign_owner]}]
notify:
  feed_stall: {notify: []}
`);
    // halls: no own_hall entity yet; dealers_never: shadowed by dealers_all; rest: reaches the campaign only.
    expect(checkOrg(directory(), ENTITIES, set)).toEqual([]);
    const withHall = checkOrg(directory(), [...ENTITIES, dealer('H001', { kind: 'own_hall' })], set).map((e) => e.field);
    expect(withHall).toEqual(['role=dept_lead scope=customer_service', 'campaign_owner']);
  });
});

describe('the demo branch', () => {
  it('passes checkOrg with the shipped policies', () => {
    const branch = simulateBranch({ seed: 42, today: Calendar.parseIsoDay('2026-11-21')! });
    // Through the real loader, so the simulator's contacts are what contacts.csv would hold.
    const rows = branch.contacts as unknown as Record<string, unknown>[];
    const columns = ['id', 'name', 'phone', 'email', 'role', 'scope', ...(rows.some((c) => 'channels' in c) ? ['channels'] : [])];
    const csv = [columns.join(','), ...rows.map((c) => columns.map((k) => String(c[k] ?? '')).join(','))].join('\n');
    const { contacts, errors } = readContactCsv(csv);
    expect(errors).toEqual([]);
    const errs = checkOrg(buildDirectory(contacts, [], 'demo'), branch.entities, defaultPolicies());
    expect(errs.map((e) => e.format())).toEqual([]);
  });
});

describe('loadOrg', () => {
  let config: string;
  let rules: string;
  beforeEach(async () => {
    config = await mkdtemp(join(tmpdir(), 'lookout-org-'));
    rules = await mkdtemp(join(tmpdir(), 'lookout-org-rules-'));
  });
  afterEach(async () => {
    await rm(config, { recursive: true, force: true });
    await rm(rules, { recursive: true, force: true });
  });

  it('without contacts.csv: an empty directory, the policies, no check', async () => {
    const res = await loadOrg(config, rules, calendar, [dealer('D0001', { manager: 'nobody' })]);
    expect(res).toEqual({ ok: true, directory: EMPTY_DIRECTORY, policies: defaultPolicies() });
  });

  it('loads contacts, rotas and policies and cross-checks them', async () => {
    await writeFile(join(config, 'contacts.csv'), CONTACTS);
    await writeFile(join(config, 'rotas.yaml'), 'rotas:\n  service_oncall: {start: 2026-11-02, people: [SO1]}\n');
    const res = await loadOrg(config, rules, calendar, ENTITIES);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect([...res.directory.contacts.keys()]).toHaveLength(9);
    expect(res.directory.rotas.get('service_oncall')?.people).toEqual(['SO1']);
    expect(res.directory.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(res.policies.source).toBe('(defaults)');
  });

  it('returns every error of every file and of the check together', async () => {
    await writeFile(join(config, 'contacts.csv'), `${CONTACTS.replace(/^DH02.*\n/m, '')}XX1,坏,12,,channel_manager,M01\n`);
    await writeFile(join(config, 'rotas.yaml'), 'rotas:\n  service_oncall: {start: 2026-11-02, people: [SO9]}\n');
    await writeFile(join(rules, 'policies.yaml'), 'escalation:\n  - id: x\n    steps: [{notify: [boss]}]\n');
    const res = await loadOrg(config, rules, calendar, ENTITIES);
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.errors.map((e) => e.code)).toEqual(['bad_contact', 'bad_policy', 'unknown_contact']);
    expect(res.errors[0]).toMatchObject({ file: join(config, 'contacts.csv'), line: 10, field: 'phone' });
    expect(res.errors[2]).toMatchObject({ file: join(config, 'rotas.yaml'), field: 'rotas.service_oncall.people[0]' });
  });

  it('checks the fillable roles against the policies it loaded', async () => {
    await writeFile(join(config, 'contacts.csv'), CONTACTS.replace(/^DH02.*\n/m, ''));
    const res = await loadOrg(config, rules, calendar, ENTITIES);
    expect(!res.ok && res.errors.map((e) => e.format())).toEqual([
      `${join(config, 'contacts.csv')}: role=district_head scope=M02: no district_head for district M02, needed by policy critical step 1, policy warning step 2; affects 1 entity: D0002 [missing_contact]`,
    ]);
  });
});
