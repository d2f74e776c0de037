import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxChannel, readOutbox } from '../../../src/notify/channels/outbox.js';
import { channelError, sms } from './helpers.js';

const NOW = Date.parse('2025-03-04T01:02:03.000Z');
const clock = { now: () => NOW };
const ALERT = '【渠道预警·严重】郑州二七区厅店 CM01 今日办理量 12，低于基线 60%。';

describe('OutboxChannel', () => {
  let root: string;
  let dir: string;
  let lines: string[];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lookout-outbox-'));
    dir = join(root, 'nested', 'outbox');
    lines = [];
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('appends one JSON line per SMS, creating the folder, and prints a masked one-liner', async () => {
    const channel = new OutboxChannel('sms', { dir, clock, onLine: (l) => lines.push(l) });
    await expect(channel.send(sms('n1', ALERT))).resolves.toEqual({ providerIds: ['outbox-n1'], segments: 1 });
    await channel.send(sms('n2', '长'.repeat(150)));
    expect(await readOutbox(dir, 'sms')).toEqual([
      { at: '2025-03-04T01:02:03.000Z', id: 'n1', channel: 'sms', to: { contact: 'CM01', name: '王伟', phone: '13803730001' }, text: ALERT, segments: 1 },
      { at: '2025-03-04T01:02:03.000Z', id: 'n2', channel: 'sms', to: { contact: 'CM01', name: '王伟', phone: '13803730001' }, text: '长'.repeat(150), segments: 3 },
    ]);
    expect(lines[0]).toBe(`SMS → 王伟 CM01 138****0001 (1 条): ${ALERT}`);
    expect(lines[1]).toBe(`SMS → 王伟 CM01 138****0001 (3 条): ${'长'.repeat(150)}`); // the whole text, 确认 code included
    expect(lines.join('\n')).not.toContain('13803730001');
  });

  it('writes e-mail and webhook messages to their own files', async () => {
    const email = new OutboxChannel('email', { dir, clock, onLine: (l) => lines.push(l) });
    const webhook = new OutboxChannel('webhook', { dir, clock, onLine: (l) => lines.push(l) });
    await email.send({ id: 'e1', channel: 'email', to: { contact: 'CM01', name: '王伟', email: 'w@example.cn', phone: '13803730001' }, subject: '预警', text: 'body', html: '<p>body</p>' });
    await webhook.send({ id: 'w1', channel: 'webhook', to: { contact: 'OPS', webhook: 'https://bot.example.cn/hook?key=secret' }, subject: '预警', text: 'body' });
    expect(await readOutbox(dir, 'email')).toEqual([
      { at: '2025-03-04T01:02:03.000Z', id: 'e1', channel: 'email', to: { contact: 'CM01', name: '王伟', email: 'w@example.cn' }, subject: '预警', text: 'body', html: '<p>body</p>' },
    ]);
    expect((await readOutbox(dir, 'webhook'))[0]?.to).toEqual({ contact: 'OPS', webhook: 'https://bot.example.cn/hook?key=secret' });
    expect(lines).toEqual(['EMAIL → 王伟 CM01 <w@example.cn> 预警', 'WEBHOOK → OPS bot.example.cn: 预警']);
    expect(await readOutbox(dir, 'sms')).toEqual([]);
  });

  it("keeps an email's HTML and its inline images (a report's chart PNG)", async () => {
    const email = new OutboxChannel('email', { dir, clock });
    const png = { filename: 'trend.png', contentType: 'image/png', cid: 'trend@lookout', content: 'iVBORw0KGgo=' };
    await email.send({ id: 'r1', channel: 'email', to: { contact: 'CO1', email: 'co1@example.cn' }, subject: '日报', text: 'text', html: '<img src="cid:trend@lookout">', attachments: [png] });
    const [entry] = await readOutbox(dir, 'email');
    expect(entry?.html).toBe('<img src="cid:trend@lookout">');
    expect(entry?.attachments).toEqual([png]);
  });

  it('keeps call order for concurrent sends', async () => {
    const channel = new OutboxChannel('sms', { dir, clock });
    await Promise.all(Array.from({ length: 20 }, (_, i) => channel.send(sms(`n${i}`, `第${i}条`))));
    expect((await readOutbox(dir, 'sms')).map((e) => e.id)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    expect((await readFile(join(dir, 'sms.jsonl'), 'utf8')).split('\n')).toHaveLength(21);
  });

  it('fails like the real channel when the address is missing', async () => {
    const channel = new OutboxChannel('sms', { dir, clock });
    const err = await channelError(channel.send(sms('n1', ALERT, null)));
    expect([err.kind, err.code]).toEqual(['permanent', 'no_phone']);
  });
});
