import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createChannels, type ChannelsOptions } from '../../../src/notify/channels/index.js';
import { HttpSmsChannel } from '../../../src/notify/channels/http-sms.js';
import { OutboxChannel, readOutbox } from '../../../src/notify/channels/outbox.js';
import { SmppSmsChannel } from '../../../src/notify/channels/smpp.js';
import { SmtpEmailChannel } from '../../../src/notify/channels/smtp.js';
import { WebhookChannel } from '../../../src/notify/channels/webhook.js';
import { startSmppPeer } from '../../support/smpp-peer.js';
import { captureLogger, sms } from './helpers.js';

describe('createChannels', () => {
  let dir: string;
  let base: ChannelsOptions;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-channels-'));
    base = {
      smsUrl: 'outbox:',
      smtpUrl: 'outbox:',
      smsFrom: '10658000',
      smtpFrom: 'Lookout <lookout@example.cn>',
      smsHttpHeaders: {},
      smsHttpBody: '{"to":"{{to}}","text":"{{text}}"}',
      outboxDir: dir,
      clock: { now: () => 0 },
      listener: { inbound: () => undefined, receipt: () => undefined },
      logger: captureLogger().logger,
    };
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('outbox: sends every channel, webhooks included, to the outbox', async () => {
    const lines: string[] = [];
    const channels = await createChannels({ ...base, onOutbox: (l) => lines.push(l) });
    expect([channels.sms, channels.email, channels.webhook].map((c) => [c.name, c.transport])).toEqual([
      ['sms', 'outbox'],
      ['email', 'outbox'],
      ['webhook', 'outbox'],
    ]);
    await channels.sms.send(sms('n1', '测试'));
    expect(await readOutbox(dir, 'sms')).toHaveLength(1);
    expect(lines).toHaveLength(1);
    await channels.close();
  });

  it('picks HTTP SMS, SMTP and real webhooks by scheme', async () => {
    const channels = await createChannels({ ...base, smsUrl: 'https://sms.example.cn/api/send', smtpUrl: 'smtp://u:p@mail.example.cn:25' });
    expect(channels.sms).toBeInstanceOf(HttpSmsChannel);
    expect(channels.email).toBeInstanceOf(SmtpEmailChannel);
    expect(channels.webhook).toBeInstanceOf(WebhookChannel);
    await channels.close();
  });

  it('starts an SMPP channel bound, using LOOKOUT_SMS_FROM unless the URL names a source_addr', async () => {
    const peer = await startSmppPeer();
    const channels = await createChannels({ ...base, smsUrl: `${peer.url}?bind_wait_ms=1000` });
    expect(channels.sms).toBeInstanceOf(SmppSmsChannel);
    expect((channels.sms as SmppSmsChannel).isBound).toBe(true);
    expect(channels.email).toBeInstanceOf(OutboxChannel);
    expect(channels.webhook).toBeInstanceOf(WebhookChannel);
    await channels.sms.send(sms('n1', 'hi'));
    expect((await peer.waitFor(1))[0]?.from).toBe('10658000');
    await channels.close();
    expect(peer.boundSessions()).toBe(0);
    await peer.close();
  });

  it('rejects bad configuration before connecting anywhere', async () => {
    await expect(createChannels({ ...base, smsUrl: 'https://x/send', smsHttpBody: '{"text":{{text}}}' })).rejects.toThrow(/LOOKOUT_SMS_HTTP_BODY/);
    await expect(createChannels({ ...base, smsUrl: 'ftp://x' })).rejects.toThrow(/LOOKOUT_SMS_URL/);
    await expect(createChannels({ ...base, smtpUrl: 'http://x' })).rejects.toThrow(/LOOKOUT_SMTP_URL/);
  });
});
