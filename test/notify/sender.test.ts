// The one send core alerts and broadcasts share: an attempt's failure classified, the outcome
// written on the record, the phone masked in the log. Fakes, no Redis.
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { ChannelError, type Channel, type OutgoingMessage } from '../../src/notify/channels/channel.js';
import { FakeNotificationRecords } from '../../src/notify/fake-records.js';
import type { NotificationRecord } from '../../src/domain/notification.js';
import { holdMs, Sender } from '../../src/notify/sender.js';
import { CONTACT, CountingObserver } from './stages/harness.js';

const NOW = Date.parse('2026-11-22T10:00:00+08:00');

function record(over: Partial<NotificationRecord> = {}): NotificationRecord {
  return { id: 'n1', channel: 'sms', contact: 'C001', kind: 'broadcast', items: [], state: 'queued', attempts: 0, text: '通知', data: { broadcast: 'b1' }, providerIds: [], receipts: [], createdAt: NOW - 1000, updatedAt: NOW - 1000, ...over };
}

function channel(send: (m: OutgoingMessage) => Promise<{ providerIds: string[]; segments?: number }>): Channel & { seen: OutgoingMessage[] } {
  const seen: OutgoingMessage[] = [];
  return { name: 'sms', transport: 'smpp', seen, send: (m) => (seen.push(m), send(m)), close: async () => undefined };
}

async function setup() {
  const records = new FakeNotificationRecords();
  const obs = new CountingObserver();
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), cb()) }));
  const sender = new Sender({ records, clock: new ManualClock(NOW), observer: obs.observer, logger });
  const rec = record();
  await records.create(rec);
  return { records, obs, lines, sender, rec };
}

describe('Sender', () => {
  it('a send the channel took: the record is sent, counted, and logged with the phone masked', async () => {
    const { records, obs, lines, sender, rec } = await setup();
    const ch = channel(async () => ({ providerIds: ['M1', 'M2'], segments: 2 }));
    const a = await sender.attempt(ch, 'sms', rec, CONTACT, '【重发】通知');
    expect(a).toEqual({ ok: true, res: { providerIds: ['M1', 'M2'], segments: 2 } });
    expect(ch.seen[0]).toMatchObject({ id: 'n1', channel: 'sms', text: '【重发】通知', to: { contact: 'C001', phone: CONTACT.phone } });

    const order: string[] = [];
    await sender.sent(rec, 'sms', ch.transport, a.ok ? a.res : { providerIds: [] }, async (at) => void order.push(`then ${at} sent=${obs.count('sms', 'sent')}`));
    expect(order).toEqual([`then ${NOW} sent=0`]);
    expect(await records.get('n1')).toMatchObject({ state: 'sent', attempts: 1, providerIds: ['M1', 'M2'], segments: 2, transport: 'smpp', sentAt: NOW, updatedAt: NOW });
    expect(obs.count('sms', 'sent')).toBe(1);

    sender.logSent(rec, CONTACT, 'sms', 'smpp');
    expect(lines.at(-1)).toMatchObject({ msg: 'notification sent', notification: 'n1', contact: 'C001', kind: 'broadcast', attempt: 1 });
    expect(JSON.stringify(lines)).not.toContain(CONTACT.phone!);
  });

  it('anything but a ChannelError is a passing failure', async () => {
    const { sender, rec } = await setup();
    const thrown = await sender.attempt(channel(async () => Promise.reject(new Error('socket hang up'))), 'sms', rec, CONTACT);
    expect(thrown.ok).toBe(false);
    expect(!thrown.ok && [thrown.error.kind, thrown.error.code, thrown.error.message]).toEqual(['retryable', 'error', 'socket hang up']);
    const refused = await sender.attempt(channel(async () => Promise.reject(new ChannelError('permanent', 'smpp_0x0000000b', 'invalid number'))), 'sms', rec, CONTACT);
    expect(!refused.ok && refused.error.kind).toBe('permanent');
  });

  it('retrying keeps the error and counts the attempt; the caller adds its own policy to the record', async () => {
    const { records, obs, sender, rec } = await setup();
    await sender.retrying(rec, new ChannelError('retryable', 'smpp_timeout', 'no answer', true), { state: 'queued', inDoubt: true });
    expect(await records.get('n1')).toMatchObject({ state: 'queued', attempts: 1, error: { code: 'smpp_timeout', message: 'no answer' }, inDoubt: true });
    expect(obs.count('sms', 'retried')).toBe(1);
  });

  it('failed says why', async () => {
    const { records, obs, sender, rec } = await setup();
    expect(await sender.failed(rec, 'send_failed', 'smpp_0x0000000b: invalid number')).toBe('failed: send_failed');
    expect(await records.get('n1')).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'send_failed', message: 'smpp_0x0000000b: invalid number' } });
    expect(obs.count('sms', 'failed')).toBe(1);
  });

  it('a held queue waits twice as long each time, at most a minute', () => {
    expect([1, 2, 3, 6, 7, 20].map((n) => holdMs(1000, n))).toEqual([1000, 2000, 4000, 32_000, 60_000, 60_000]);
  });
});
