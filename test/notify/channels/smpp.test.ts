import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryReceipt, InboundSms } from '../../../src/notify/channels/channel.js';
import { parseReceiptText, parseSmppUrl, receiptStatus, SmppSmsChannel, submitStatusKind } from '../../../src/notify/channels/smpp.js';
import { startSmppPeer, type SmppPeer } from '../../support/smpp-peer.js';
import { captureLogger, channelError, sms } from './helpers.js';

const ALERT = '【渠道预警·严重】郑州二七区厅店 CM01 今日办理量 12，低于基线 60%。回复 1 确认。';
const LONG = '渠道预警严重郑州二七区厅店今日办理量低于基线请尽快核查并回复确认'.repeat(5).slice(0, 150);

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('SmppSmsChannel against a real SMPP peer', () => {
  let peer: SmppPeer;
  let channel: SmppSmsChannel;
  let inbound: InboundSms[];
  let receipts: DeliveryReceipt[];
  let logs: string[];

  const open = async (url: string): Promise<SmppSmsChannel> => {
    const { logger, lines } = captureLogger();
    logs = lines;
    const ch = new SmppSmsChannel(url, {
      listener: { inbound: (m) => inbound.push(m), receipt: (r) => receipts.push(r) },
      logger,
      reconnect: { minMs: 20, maxMs: 100 },
      responseTimeoutMs: 400,
    });
    await ch.start();
    return ch;
  };

  beforeEach(async () => {
    inbound = [];
    receipts = [];
    peer = await startSmppPeer({ password: 'p@ss:w0rd' });
    channel = await open(`${peer.url}?source_addr=10658000&bind_wait_ms=300`);
  });

  afterEach(async () => {
    await channel.close();
    await peer.close();
  });

  it('binds on start and sends a Chinese alert as one UCS2 segment', async () => {
    expect(channel.isBound).toBe(true);
    expect(peer.boundSessions()).toBe(1);
    const result = await channel.send(sms('n1', ALERT, '+8613803730001'));
    const [got] = await peer.waitFor(1);
    expect(got).toEqual({ to: '8613803730001', from: '10658000', text: ALERT, segments: 1, messageIds: ['M000001'], dataCoding: 8 });
    expect(result).toEqual({ providerIds: ['M000001'], segments: 1 });
  });

  it('splits a 150-character Chinese message into 3 segments that reassemble exactly', async () => {
    expect(LONG).toHaveLength(150);
    const result = await channel.send(sms('n2', LONG));
    const [got] = await peer.waitFor(1);
    expect(got?.text).toBe(LONG);
    expect(got?.segments).toBe(3);
    expect(result.segments).toBe(3);
    expect(result.providerIds).toEqual(got?.messageIds);
    expect(result.providerIds).toEqual(['M000001', 'M000002', 'M000003']);
  });

  it('sends plain text as GSM (data_coding 0)', async () => {
    await channel.send(sms('n3', 'Lookout test: CM01 sales 12 < 60% of baseline {check}'));
    const [got] = await peer.waitFor(1);
    expect(got).toMatchObject({ text: 'Lookout test: CM01 sales 12 < 60% of baseline {check}', dataCoding: 0, segments: 1 });
  });

  it('reports delivery receipts with the provider id and status (TLV and text forms)', async () => {
    const { providerIds } = await channel.send(sms('n4', ALERT));
    await peer.sendReceipt(providerIds[0] ?? '', 'DELIVRD');
    await peer.sendReceipt(providerIds[0] ?? '', 'UNDELIV', { tlvs: false });
    await until(() => receipts.length === 2);
    expect(receipts).toEqual([
      { providerId: 'M000001', status: 'delivered', stat: 'DELIVRD', err: '000' },
      { providerId: 'M000001', status: 'failed', stat: 'UNDELIV', err: '000' },
    ]);
    expect(inbound).toEqual([]);
  });

  it('passes Chinese MO replies to the listener, long ones reassembled', async () => {
    await peer.sendMo('13803730001', '收到，马上处理');
    const longReply = '已到厅店现场核查，系统故障导致办理量下降，预计一小时内恢复正常，请知悉。'.repeat(3);
    await peer.sendMo('13803730002', longReply);
    await until(() => inbound.length === 2);
    expect(inbound).toEqual([
      { from: '13803730001', text: '收到，马上处理', via: 'smpp' },
      { from: '13803730002', text: longReply, via: 'smpp' },
    ]);
    expect(receipts).toEqual([]);
  });

  it('maps submit_sm_resp errors: invalid destination permanent, throttling retryable', async () => {
    peer.rejectNext(0x0b);
    const bad = await channelError(channel.send(sms('n5', ALERT)));
    expect([bad.kind, bad.code]).toEqual(['permanent', 'smpp_0x0000000b']);

    peer.rejectNext(0x58);
    const throttled = await channelError(channel.send(sms('n6', ALERT)));
    expect([throttled.kind, throttled.code]).toEqual(['retryable', 'smpp_0x00000058']);

    peer.rejectNext(0x45);
    const other = await channelError(channel.send(sms('n7', ALERT)));
    expect([other.kind, other.code]).toEqual(['retryable', 'smpp_0x00000045']);

    await channel.send(sms('n8', ALERT));
    expect((await peer.waitFor(1)).map((m) => m.text)).toEqual([ALERT]);
  });

  it('fails a message without a phone permanently, without touching the SMSC', async () => {
    const err = await channelError(channel.send(sms('n9', ALERT, null)));
    expect([err.kind, err.code]).toEqual(['permanent', 'no_phone']);
    await new Promise((r) => setTimeout(r, 30));
    expect(peer.messages).toEqual([]);
  });

  it('times out an unanswered submit as retryable, in doubt (the SMSC may have it)', async () => {
    peer.ignoreNext();
    const err = await channelError(channel.send(sms('n10', ALERT)));
    expect([err.kind, err.code, err.inDoubt]).toEqual(['retryable', 'smpp_timeout', true]);
  });

  it('fails a submit in flight when the session drops: retryable, in doubt', async () => {
    peer.ignoreNext();
    const pending = channelError(channel.send(sms('n11', ALERT)));
    await new Promise((r) => setTimeout(r, 50));
    await peer.stop();
    const err = await pending;
    expect([err.kind, err.code, err.inDoubt]).toEqual(['retryable', 'smpp_closed', true]);
  });

  it('when the SMSC is down, waits bind_wait_ms then says unavailable; reconnects by itself when it is back', async () => {
    await peer.stop();
    await until(() => !channel.isBound);
    const started = Date.now();
    const err = await channelError(channel.send(sms('n12', ALERT)));
    expect([err.kind, err.code, err.inDoubt]).toEqual(['unavailable', 'smpp_unbound', false]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);

    await peer.start();
    await until(() => channel.isBound && peer.boundSessions() === 1);
    const result = await channel.send(sms('n13', ALERT));
    expect(result.providerIds).toEqual(['M000001']);
    expect((await peer.waitFor(1))[0]?.text).toBe(ALERT);
  });

  it('a send issued while the SMSC restarts goes out once it is bound again', async () => {
    await peer.stop();
    await until(() => !channel.isBound);
    const pending = channel.send(sms('n14', ALERT));
    await new Promise((r) => setTimeout(r, 30));
    await peer.start();
    await expect(pending).resolves.toMatchObject({ providerIds: ['M000001'] });
  });

  it('sends concurrent messages in call order, long and short alike', async () => {
    const texts = [LONG, '短信二', `${LONG}三`, '短信四', 'plain five'];
    await Promise.all(texts.map((t, i) => channel.send(sms(`c${i}`, t))));
    const got = await peer.waitFor(5);
    expect(got.map((m) => m.text)).toEqual(texts);
  });

  it('keeps the link alive with enquire_link', async () => {
    await channel.close();
    channel = await open(`${peer.url}?enquire_link_s=0.05&bind_wait_ms=300`);
    await until(() => peer.enquireLinks() >= 3);
    expect(channel.isBound).toBe(true);
  });

  it('stays unbound with a wrong password, keeps retrying, and never logs secrets or phones', async () => {
    await channel.close();
    channel = await open(peer.url.replace('p%40ss%3Aw0rd', 'wrong') + '?bind_wait_ms=150');
    expect(channel.isBound).toBe(false);
    const err = await channelError(channel.send(sms('n15', ALERT)));
    expect([err.kind, err.code]).toEqual(['unavailable', 'smpp_unbound']);
    expect(peer.boundSessions()).toBe(0);
    const all = logs.join('');
    expect(all).toContain('smpp bind rejected');
    expect(all).not.toContain('wrong');
    expect(all).not.toContain('13803730001');
  });

  it('masks phones in logs of a working session', async () => {
    await channel.send(sms('n16', ALERT));
    await peer.sendMo('13803730001', '收到');
    await until(() => inbound.length === 1);
    const all = logs.join('');
    expect(all).toContain('138****0001');
    expect(all).not.toContain('13803730001');
    expect(all).not.toContain('p@ss:w0rd');
  });

  it('close() unbinds and stops reconnecting', async () => {
    await channel.close();
    await until(() => peer.boundSessions() === 0);
    await new Promise((r) => setTimeout(r, 150));
    expect(peer.boundSessions()).toBe(0);
    const err = await channelError(channel.send(sms('n17', ALERT)));
    expect(err.kind).toBe('unavailable');
  });
});

describe('SMPP helpers', () => {
  it('parses the URL, decoding credentials', () => {
    expect(parseSmppUrl('smpp://lookout:p%40ss@smsc.example.com:2776?system_type=ALERT&source_addr=106580&enquire_link_s=15&bind_wait_ms=2000')).toEqual({
      host: 'smsc.example.com',
      port: 2776,
      systemId: 'lookout',
      password: 'p@ss',
      systemType: 'ALERT',
      sourceAddr: '106580',
      enquireLinkMs: 15_000,
      bindWaitMs: 2000,
      responseTimeoutMs: 10_000,
    });
    expect(parseSmppUrl('smpp://id:pw@host').port).toBe(2775);
    expect(() => parseSmppUrl('smpp://host:2775')).toThrow(/LOOKOUT_SMS_URL/);
    expect(() => parseSmppUrl('smpp://id:pw@host?enquire_link_s=x')).toThrow(/enquire_link_s/);
  });

  it('classifies submit statuses', () => {
    expect([0x0b, 0x0a, 0x33, 0x66].map(submitStatusKind)).toEqual(['permanent', 'permanent', 'permanent', 'permanent']);
    expect([0x58, 0x14, 0x08, 0x45, 0xff].map(submitStatusKind)).toEqual(['retryable', 'retryable', 'retryable', 'retryable', 'retryable']);
  });

  it('parses receipt texts', () => {
    expect(parseReceiptText('id:0A1B2C sub:001 dlvrd:000 submit date:2501011200 done date:2501011201 stat:EXPIRED err:012 text:hello')).toEqual({
      id: '0A1B2C',
      stat: 'EXPIRED',
      err: '012',
    });
    expect(['DELIVRD', 'UNDELIV', 'EXPIRED', 'REJECTD', 'ACCEPTD'].map(receiptStatus)).toEqual(['delivered', 'failed', 'expired', 'rejected', 'unknown']);
  });
});
