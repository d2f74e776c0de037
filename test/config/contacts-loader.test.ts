import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadContacts, normalisePhone, readContactCsv } from '../../src/config/contacts-loader.js';

const HEADER = 'id,name,phone,email,role,scope,channels,webhook';

describe('readContactCsv', () => {
  it('reads the SPEC columns with default and explicit channels', () => {
    const csv = [
      HEADER,
      'CM01,王伟,138 0373-0001,cm01@xx.example.cn,channel_manager,M01,,',
      'DH01,李芳,13803730002,,district_head,M01,,',
      'DL4,张敏,,dl4@xx.example.cn,dept_lead,marketing,,',
      'OP1,值班机器人,,,ops,,webhook,https://chat.example.cn/hook/abc',
      'SO1,刘强,+8613803730005,so1@xx.example.cn,service_oncall,,email;sms,',
    ].join('\n');
    const { contacts, errors } = readContactCsv(csv, 'c.csv');
    expect(errors).toEqual([]);
    expect(contacts).toEqual([
      { id: 'CM01', name: '王伟', phone: '13803730001', email: 'cm01@xx.example.cn', role: 'channel_manager', scope: 'M01', channels: ['sms'] }, // one primary channel unless the row lists more
      { id: 'DH01', name: '李芳', phone: '13803730002', role: 'district_head', scope: 'M01', channels: ['sms'] },
      { id: 'DL4', name: '张敏', email: 'dl4@xx.example.cn', role: 'dept_lead', scope: 'marketing', channels: ['email'] },
      { id: 'OP1', name: '值班机器人', webhook: 'https://chat.example.cn/hook/abc', role: 'ops', channels: ['webhook'] },
      { id: 'SO1', name: '刘强', phone: '+8613803730005', email: 'so1@xx.example.cn', role: 'service_oncall', channels: ['email', 'sms'] },
    ]);
  });

  it('needs only the required columns', () => {
    const { contacts, errors } = readContactCsv('id,name,phone,email,role,scope\nRH1,赵军,13803730003,,region_head,R1\n');
    expect(errors).toEqual([]);
    expect(contacts[0]).toMatchObject({ id: 'RH1', scope: 'R1', channels: ['sms'] });
  });

  it.each([
    ['bad phone', 'CM02,甲,12-34,,channel_manager,M02,,', 'phone', /phone: expected 6–15 digits/],
    ['phone too long', 'CM02,甲,1380373000112345678,,channel_manager,M02,,', 'phone', /phone: expected 6–15 digits/],
    ['bad email', 'CM02,甲,,not-an-email,channel_manager,M02,,', 'email', /email: expected/],
    ['unknown role', 'CM02,甲,13803730001,,boss,M02,,', 'role', /expected one of channel_manager/],
    ['district head without scope', 'DH02,甲,13803730001,,district_head,,,', 'scope', /district_head needs a scope: a district id/],
    ['region head without scope', 'RH2,甲,13803730001,,region_head,,,', 'scope', /region id/],
    ['dept lead without scope', 'DL2,甲,13803730001,,dept_lead,,,', 'scope', /department/],
    ['no address', 'CM02,甲,,,channel_manager,M02,,', 'phone', /needs a phone, an email or a webhook/],
    ['unknown channel', 'CM02,甲,13803730001,,channel_manager,M02,sms;fax,', 'channels', /unknown channel "fax"/],
    ['channel without address', 'CM02,甲,13803730001,,channel_manager,M02,email,', 'channels', /channel email needs an email/],
    ['bad webhook', 'CM02,甲,13803730001,,channel_manager,M02,,ftp://x', 'webhook', /http\(s\) URL/],
    ['missing name', 'CM02,,13803730001,,channel_manager,M02,,', 'name', /name is required/],
    ['missing id', ',甲,13803730001,,channel_manager,M02,,', 'id', /id is required/],
    ['id with a space', 'CM 02,甲,13803730001,,channel_manager,M02,,', 'id', /id must be/],
  ])('%s → bad_contact at file:line:field', (_name, row, field, message) => {
    const { contacts, errors } = readContactCsv(`${HEADER}\nCM01,王伟,13803730001,,channel_manager,M01,,\n${row}\n`, 'contacts.csv');
    expect(contacts.map((c) => c.id)).toEqual(['CM01']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'bad_contact', file: 'contacts.csv', line: 3, field });
    expect(errors[0]!.message).toMatch(message);
  });

  it('never puts a phone number, email or webhook into a message', () => {
    const csv = `${HEADER}\nCM02,甲,1380373000199999999,a@b,channel_manager,M02,,http://secret.example.cn/hook?key=s3cr3t\n`;
    const { errors } = readContactCsv(csv);
    expect(errors.map((e) => e.field).sort()).toEqual(['email', 'phone']);
    const text = errors.map((e) => e.format()).join('\n');
    expect(text).not.toMatch(/1380373000199999999|a@b/);
    const hook = readContactCsv(`${HEADER}\nCM02,甲,13803730001,,channel_manager,M02,,mailto:s3cr3t@x\n`).errors;
    expect(hook.map((e) => e.format()).join()).not.toMatch(/s3cr3t/);
  });

  it('reports a duplicate id at its line and keeps the first', () => {
    const csv = `${HEADER}\nCM01,王伟,13803730001,,channel_manager,M01,,\nCM01,王伟二,13803730002,,channel_manager,M02,,\n`;
    const { contacts, errors } = readContactCsv(csv, 'contacts.csv');
    expect(contacts).toHaveLength(1);
    expect(errors.map((e) => e.format())).toEqual(['contacts.csv:3: id: contact CM01 is already defined at line 2 [duplicate_contact]']);
  });

  it.each([
    ['missing column', 'id,name,phone,email,role', 'scope', /missing required column scope/],
    ['unknown column', 'id,name,phone,email,role,scope,mobile', 'mobile', /unknown column "mobile"/],
    ['repeated column', 'id,name,phone,email,role,scope,phone', 'phone', /appears twice/],
  ])('%s → bad_csv_header', (_name, header, field, message) => {
    const { contacts, errors } = readContactCsv(`${header}\nCM01,王伟,13803730001,,channel_manager,M01\n`, 'contacts.csv');
    expect(contacts).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'bad_csv_header', file: 'contacts.csv', line: 1, field });
    expect(errors[0]!.message).toMatch(message);
  });

  it.each([
    ['138 0373 0001', '13803730001'],
    ['+86-138-0373-0001', '+8613803730001'],
    ['123456', '123456'],
    ['12345', undefined],
    ['1380373000a', undefined],
    ['++86138', undefined],
  ])('normalisePhone(%j) = %j', (raw, want) => {
    expect(normalisePhone(raw)).toBe(want);
  });
});

describe('loadContacts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-contacts-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('treats a missing contacts.csv as no contacts and no error', async () => {
    expect(await loadContacts(dir)).toEqual({ contacts: [], errors: [] });
  });

  it('reads contacts.csv and names the file in errors', async () => {
    await writeFile(join(dir, 'contacts.csv'), `${HEADER}\nCM01,王伟,13803730001,,channel_manager,M01,,\nCM02,李,1,,channel_manager,M02,,\n`);
    const res = await loadContacts(dir);
    expect(res.file).toBe(join(dir, 'contacts.csv'));
    expect(res.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(res.contacts.map((c) => c.id)).toEqual(['CM01']);
    expect(res.errors.map((e) => e.format())).toEqual([`${join(dir, 'contacts.csv')}:3: phone: contact CM02: phone: expected 6–15 digits (spaces, dashes and a leading + allowed) [bad_contact]`]);
  });
});
