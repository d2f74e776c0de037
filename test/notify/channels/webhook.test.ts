import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../../src/notify/channels/channel.js';
import { WebhookChannel } from '../../../src/notify/channels/webhook.js';
import { freePort } from '../../../src/redis/embedded.js';
import { channelError, startHttpTarget, type HttpTarget } from './helpers.js';

function hook(id: string, webhook: string | undefined): OutgoingMessage {
  return {
    id,
    channel: 'webhook',
    to: { contact: 'OPS1', name: '值班机器人', ...(webhook ? { webhook } : {}) },
    subject: '【渠道预警·严重】CM01',
    text: '厅店 CM01 今日办理量 12，低于基线 60%。',
    data: { severity: 'critical', alerts: [{ rule: 'sales_drop', entity: 'CM01' }], ackUrl: 'http://lookout/ack/x' },
  };
}

describe('WebhookChannel against a real HTTP server', () => {
  let target: HttpTarget;
  const channel = new WebhookChannel({ timeoutMs: 300 });

  beforeEach(async () => {
    target = await startHttpTarget();
  });

  afterEach(async () => {
    await target.close();
  });

  it('POSTs {id, title, text, ...data} as JSON', async () => {
    await expect(channel.send(hook('w1', target.url))).resolves.toEqual({ providerIds: ['w1'] });
    const [req] = target.requests;
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req?.body ?? '')).toEqual({
      id: 'w1',
      title: '【渠道预警·严重】CM01',
      text: '厅店 CM01 今日办理量 12，低于基线 60%。',
      severity: 'critical',
      alerts: [{ rule: 'sales_drop', entity: 'CM01' }],
      ackUrl: 'http://lookout/ack/x',
    });
  });

  it('5xx and 429 are retryable, other 4xx permanent', async () => {
    target.respond({ status: 500 }, { status: 429 }, { status: 404 });
    const e500 = await channelError(channel.send(hook('a', target.url)));
    const e429 = await channelError(channel.send(hook('b', target.url)));
    const e404 = await channelError(channel.send(hook('c', target.url)));
    expect([e500.kind, e500.code]).toEqual(['retryable', 'http_500']);
    expect([e429.kind, e429.code]).toEqual(['retryable', 'http_429']);
    expect([e404.kind, e404.code]).toEqual(['permanent', 'http_404']);
  });

  it('an unreachable bot is retryable (it must not hold back the others)', async () => {
    const port = await freePort();
    const refused = await channelError(channel.send(hook('d', `http://127.0.0.1:${port}/bot`)));
    expect([refused.kind, refused.code]).toEqual(['retryable', 'econnrefused']);
    target.respond({ status: 0 });
    const slow = await channelError(channel.send(hook('e', target.url)));
    expect([slow.kind, slow.code]).toEqual(['retryable', 'timeout']);
  });

  it('a missing or malformed webhook URL is permanent', async () => {
    const none = await channelError(channel.send(hook('f', undefined)));
    const bad = await channelError(channel.send(hook('g', 'ftp://bot')));
    expect([none.kind, none.code]).toEqual(['permanent', 'no_webhook']);
    expect([bad.kind, bad.code]).toEqual(['permanent', 'bad_webhook']);
  });
});
