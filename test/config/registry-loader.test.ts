import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { attrFromCell, loadRegistryFiles, readEntityCsv, readEntityFile, readEntityYaml, validateEntity } from '../../src/config/registry-loader.js';

const dealer = { id: 'D0001', kind: 'core_dealer', name: '新乡某核心渠道', region: 'R01', district: 'X01', manager: 'C100', attrs: { monthly_fee: 120, contract_end: '2027-01-15' } };
const campaign = {
  id: 'K2026-11',
  kind: 'campaign',
  name: '流量包促销',
  attrs: { start: '2026-11-01', end: '2026-11-30', target_customers: 500_000, category: 'data', owner: 'C200' },
};

describe('validateEntity', () => {
  it('accepts the SPEC entity shape', () => {
    const r = validateEntity(dealer);
    expect(r).toEqual({ ok: true, entity: dealer });
  });

  it('accepts a campaign with its window and drops blank optional fields', () => {
    const r = validateEntity({ ...campaign, region: '', tier: null });
    expect(r.ok && r.entity).toEqual(campaign);
  });

  it.each([
    ['missing id', 'id', { ...dealer, id: undefined }],
    ['empty name', 'name', { ...dealer, name: ' ' }],
    ['unknown kind', 'kind', { ...dealer, kind: 'dealer' }],
    ['unknown field', 'phone', { ...dealer, phone: '13800000000' }],
    ['nested attr', 'attrs.a', { ...dealer, attrs: { a: { b: 1 } } }],
    ['bad contract_end', 'attrs.contract_end', { ...dealer, attrs: { contract_end: '2027/01/15' } }],
    ['text monthly_fee', 'attrs.monthly_fee', { ...dealer, attrs: { monthly_fee: '120元' } }],
    ['campaign without start', 'attrs.start', { ...campaign, attrs: { ...campaign.attrs, start: undefined } }],
    ['campaign without owner', 'attrs.owner', { ...campaign, attrs: { start: '2026-11-01', end: '2026-11-30', target_customers: 10 } }],
    ['campaign target 0', 'attrs.target_customers', { ...campaign, attrs: { ...campaign.attrs, target_customers: 0 } }],
    ['campaign ends before start', 'attrs.end', { ...campaign, attrs: { ...campaign.attrs, end: '2026-10-01' } }],
  ])('%s → bad_entity naming %s', (_name, field, raw) => {
    const r = validateEntity(JSON.parse(JSON.stringify(raw)), { file: 'x.yaml', line: 3 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field)).toContain(field);
    expect(r.errors.every((e) => e.code === 'bad_entity' && e.file === 'x.yaml' && e.line === 3)).toBe(true);
  });

  it('names the missing campaign attr in the message', () => {
    const r = validateEntity({ ...campaign, attrs: { end: '2026-11-30', target_customers: 5, owner: 'C1' } });
    expect(!r.ok && r.errors[0]!.format()).toMatch(/attrs\.start: entity K2026-11: a campaign needs attrs\.start/);
  });

  it('rejects a non-object', () => {
    const r = validateEntity('D0001');
    expect(!r.ok && r.errors[0]!.message).toMatch(/expected an entity object/);
  });
});

describe('readEntityCsv', () => {
  it('reads the SPEC columns, tier and typed attr columns', () => {
    const csv = [
      'id,kind,name,region,district,manager,tier,attr.monthly_fee,attr.contract_end,attr.active,attr.code',
      'D0001,core_dealer,某核心渠道,R01,X01,C100,province,120,2027-01-15,true,0371',
      'G0001,grassroots,某代理点,R01,X02,,,52.5,,false,',
    ].join('\n');
    const { entities, errors } = readEntityCsv(csv);
    expect(errors).toEqual([]);
    expect(entities).toEqual([
      { id: 'D0001', kind: 'core_dealer', name: '某核心渠道', region: 'R01', district: 'X01', manager: 'C100', tier: 'province', attrs: { monthly_fee: 120, contract_end: '2027-01-15', active: true, code: '0371' } },
      { id: 'G0001', kind: 'grassroots', name: '某代理点', region: 'R01', district: 'X02', attrs: { monthly_fee: 52.5, active: false } },
    ]);
  });

  it('reports bad rows with file, line and field, and keeps the good ones', () => {
    const csv = [
      'id,kind,name,region,district,manager,attr.start,attr.end,attr.target_customers,attr.owner',
      'D0001,core_dealer,甲,R01,X01,C1,,,,',
      'D0002,dealer,乙,R01,X01,C1,,,,',
      'K1,campaign,活动,R01,,,2026-11-01,,1000,C2',
      'D0003,core_dealer,丙,R01,X01',
      'D0001,core_dealer,甲二,R01,X01,C1,,,,',
    ].join('\n');
    const { entities, errors } = readEntityCsv(csv, 'config/entities.csv');
    expect(entities.map((e) => e.id)).toEqual(['D0001']);
    expect(errors.map((e) => [e.code, e.line, e.field])).toEqual([
      ['bad_entity', 5, undefined],
      ['bad_entity', 3, 'kind'],
      ['bad_entity', 4, 'attr.end'],
      ['duplicate_entity', 6, 'id'],
    ]);
    expect(errors[3]!.format()).toBe('config/entities.csv:6: id: entity D0001 is already defined at line 2 [duplicate_entity]');
  });

  it('a missing required column is one header error', () => {
    const { entities, errors } = readEntityCsv('id,kind,name\nD1,own_hall,x\n');
    expect(entities).toEqual([]);
    expect(errors.map((e) => [e.code, e.line])).toEqual([['bad_csv_header', 1]]);
    expect(errors[0]!.message).toContain('region, district, manager');
  });

  it('an unknown column is a header error (extra facts go in attr.<name>)', () => {
    expect(readEntityCsv('id,kind,name,region,district,manager,phone\n').errors[0]!.field).toBe('phone');
  });

  it('attrFromCell', () => {
    expect([attrFromCell('12'), attrFromCell('-1.5'), attrFromCell('007'), attrFromCell('1e3'), attrFromCell('TRUE'), attrFromCell('true')]).toEqual([12, -1.5, '007', '1e3', 'TRUE', true]);
  });
});

describe('readEntityYaml', () => {
  const yaml = `# entities
- id: D0001
  kind: core_dealer
  name: 甲
  region: R01
  district: X01
  manager: C100
  attrs:
    monthly_fee: 120
    contract_end: 2027-01-15
- id: K1
  kind: campaign
  name: 活动
  attrs:
    start: 2026-11-01
    end: 2026-11-30
    target_customers: many
    owner: C200
- id: D0001
  kind: core_dealer
  name: 重复
- id: X
  kind: own_hall
  name: 厅
  phone: "13800000000"
`;

  it('reads entities (dates stay strings) and reports errors at the field line', () => {
    const { entities, errors } = readEntityYaml(yaml, 'config/entities.yaml');
    expect(entities.map((e) => e.id)).toEqual(['D0001']);
    expect(entities[0]!.attrs).toEqual({ monthly_fee: 120, contract_end: '2027-01-15' });
    expect(errors.map((e) => [e.code, e.line, e.field])).toEqual([
      ['bad_entity', 17, 'attrs.target_customers'],
      ['bad_entity', 25, 'phone'],
      ['duplicate_entity', 19, 'id'],
    ]);
  });

  it('YAML syntax errors carry a line', () => {
    const { errors } = readEntityYaml('- id: D1\n  kind: [own_hall\n', 'e.yaml');
    expect(errors[0]!.code).toBe('yaml_syntax');
    expect(errors[0]!.line).toBeGreaterThan(0);
  });

  it('a mapping instead of a list is an error; an empty file is no entities', () => {
    expect(readEntityYaml('id: D1\n').errors[0]!.message).toMatch(/list of entities/);
    expect(readEntityYaml('# nothing yet\n')).toEqual({ entities: [], errors: [] });
  });
});

describe('loadRegistryFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-registry-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('missing files → empty, no errors', async () => {
    expect(await loadRegistryFiles(dir)).toEqual({ entities: [], errors: [] });
  });

  it('merges CSV and YAML; an id in both is a duplicate_entity', async () => {
    await writeFile(join(dir, 'entities.csv'), 'id,kind,name,region,district,manager\nD1,core_dealer,甲,R,X,C1\nD2,grassroots,乙,R,X,C1\n');
    await writeFile(join(dir, 'entities.yaml'), '- {id: K1, kind: campaign, name: 活动, attrs: {start: 2026-11-01, end: 2026-11-30, target_customers: 100, owner: C2}}\n- {id: D2, kind: grassroots, name: 乙}\n');
    const { entities, errors } = await loadRegistryFiles(dir);
    expect(entities.map((e) => e.id)).toEqual(['D1', 'D2', 'K1']);
    expect(errors.map((e) => [e.code, e.file])).toEqual([['duplicate_entity', join(dir, 'entities.yaml')]]);
    expect(errors[0]!.message).toContain('entities.csv');
  });
});

describe('entity files in other encodings', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-registry-enc-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const csv = 'id,kind,name,region,district,manager\nD1,core_dealer,新乡红旗区核心渠道,R,X,C1\n';

  it('a GBK entities.csv in the config folder is refused with csv_encoding, not read garbled', async () => {
    await writeFile(join(dir, 'entities.csv'), iconv.encode(csv, 'gbk'));
    const { entities, errors } = await loadRegistryFiles(dir);
    expect(entities).toEqual([]);
    expect(errors.map((e) => e.format())).toEqual([`${join(dir, 'entities.csv')}:2: entities.csv is not UTF-8 (looks like GB18030; pass --encoding gb18030) [csv_encoding]`]);
  });

  it('readEntityFile decodes GBK when told, and a UTF-8 BOM is fine', () => {
    expect(readEntityFile(iconv.encode(csv, 'gbk'), 'entities.csv', 'gbk').entities.map((e) => e.name)).toEqual(['新乡红旗区核心渠道']);
    const bom = readEntityFile(Buffer.from(`\uFEFF${csv}`), 'entities.csv');
    expect([bom.errors, bom.entities.map((e) => e.id)]).toEqual([[], ['D1']]);
  });

  it('every bad field of a row is reported, attributes included, with the file line', () => {
    const { errors } = readEntityCsv('id,kind,name,region,district,manager,attr.start,attr.monthly_fee\n\nD1,spaceship,,R,X,C1,someday,-1\n');
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [3, 'kind'],
      [3, 'name'],
      [3, 'attr.start'],
      [3, 'attr.monthly_fee'],
    ]);
  });
});
