import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../../src/notify/channels/channel.js';
import { messageIdFor, SmtpEmailChannel } from '../../../src/notify/channels/smtp.js';
import { freePort } from '../../../src/redis/embedded.js';
import { startSmtpPeer, type SmtpPeer } from '../../support/smtp-peer.js';
import { captureLogger, channelError } from './helpers.js';

const FROM = 'Lookout 预警 <lookout@alerts.example.cn>';

function mail(id: string, email: string | null = 'wangwei@example.cn'): OutgoingMessage {
  return {
    id,
    channel: 'email',
    to: { contact: 'CM01', name: '王伟', ...(email ? { email } : {}) },
    subject: '【渠道预警·严重】郑州二七区厅店 CM01 办理量骤降',
    text: '王伟您好：\n厅店 CM01 今日办理量 12，低于基线 60%。\n请核查。',
    html: '<p>王伟您好：</p><p>厅店 <b>CM01</b> 今日办理量 12，低于基线 60%。</p>',
  };
}

describe('SmtpEmailChannel against a real SMTP server', () => {
  let peer: SmtpPeer;
  let channel: SmtpEmailChannel;

  beforeEach(async () => {
    peer = await startSmtpPeer();
    channel = new SmtpEmailChannel(peer.url, { from: FROM, logger: captureLogger().logger, timeoutMs: 1000 });
  });

  afterEach(async () => {
    await channel.close();
    await peer.close();
  });

  it('delivers Chinese subject, text and HTML intact, with the notification id in the headers', async () => {
    const result = await channel.send(mail('notif-9'));
    const [got] = await peer.waitFor(1);
    expect(got?.subject).toBe('【渠道预警·严重】郑州二七区厅店 CM01 办理量骤降');
    expect(got?.text.trim()).toBe('王伟您好：\n厅店 CM01 今日办理量 12，低于基线 60%。\n请核查。');
    expect(got?.html).toContain('厅店 <b>CM01</b> 今日办理量 12');
    expect(got?.from).toBe('lookout@alerts.example.cn');
    expect(got?.to).toEqual(['wangwei@example.cn']);
    expect(got?.headers.get('x-lookout-notification')).toBe('notif-9');
    expect(got?.headers.get('message-id')).toBe('<notif-9@alerts.example.cn>');
    expect(result.providerIds).toEqual(['<notif-9@alerts.example.cn>']);
  });

  it('sends attachments with a cid inline, next to the HTML that shows them', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    await channel.send({ ...mail('notif-10'), html: '<p>走势</p><img src="cid:trend@lookout" alt="走势">', attachments: [{ filename: 'trend.png', contentType: 'image/png', cid: 'trend@lookout', content: png.toString('base64') }] });
    const [got] = await peer.waitFor(1);
    expect(got?.attachments).toEqual([{ filename: 'trend.png', contentType: 'image/png', cid: 'trend@lookout', disposition: 'inline', related: true, content: png }]);
    // A mail client (here mailparser) shows the image from the attachment.
    expect(got?.html).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
  });

  it('550 is permanent, 451 retryable', async () => {
    peer.failNext(550);
    peer.failNext(451);
    const e550 = await channelError(channel.send(mail('a')));
    const e451 = await channelError(channel.send(mail('b')));
    expect([e550.kind, e550.code]).toEqual(['permanent', 'smtp_550']);
    expect([e451.kind, e451.code]).toEqual(['retryable', 'smtp_451']);
    await channel.send(mail('c'));
    expect(await peer.waitFor(1)).toHaveLength(1);
  });

  it('a server that is down is unavailable', async () => {
    const port = await freePort();
    const down = new SmtpEmailChannel(`smtp://127.0.0.1:${port}`, { from: FROM, logger: captureLogger().logger, timeoutMs: 1000 });
    const err = await channelError(down.send(mail('d')));
    expect([err.kind, err.code]).toEqual(['unavailable', 'econnrefused']);
    await down.close();
  });

  it('a contact without an e-mail fails permanently', async () => {
    const err = await channelError(channel.send(mail('e', null)));
    expect([err.kind, err.code]).toEqual(['permanent', 'no_email']);
  });
});

describe('messageIdFor', () => {
  it('builds a valid, stable Message-ID from the notification id and the From domain', () => {
    expect(messageIdFor('n:1 2', 'a@b.cn')).toBe('<n_1_2@b.cn>');
    expect(messageIdFor('n1', 'Lookout')).toBe('<n1@lookout.local>');
  });
});
