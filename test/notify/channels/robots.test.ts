// WeCom and DingTalk group robots behind a contact's webhook URL, against a local HTTP server that
// checks the documented request shape: path and query (DingTalk's timestamp and HMAC-SHA256 sign),
// JSON content type, the markdown `msgtype` body; and the errcode inside an HTTP 200.
import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutgoingMessage } from '../../../src/notify/channels/channel.js';
import { robotTarget } from '../../../src/notify/channels/robots.js';
import { WebhookChannel } from '../../../src/notify/channels/webhook.js';
import { channelError, startHttpTarget, type HttpTarget } from './helpers.js';

const NOW = Date.parse('2026-11-23T10:00:00+08:00');

function robotMessage(webhook: string): OutgoingMessage {
  return {
    id: 'n1',
    channel: 'webhook',
    to: { contact: 'GRP-M09', name: '经开区渠道群', webhook },
    subject: '【渠道预警·严重】D0001 经开区新星通讯',
    text: '**核心渠道开卡量下降**\n开卡量 45，同期基线 146，下降 69%\n回复“确认 2351”确认',
    data: { severity: 'critical' },
  };
}

describe('group robots', () => {
  let target: HttpTarget;
  let origin: string;
  const channel = new WebhookChannel({ timeoutMs: 500, now: () => NOW });

  beforeEach(async () => {
    target = await startHttpTarget();
    origin = new URL(target.url).origin;
  });
  afterEach(async () => {
    await target.close();
  });

  it('WeCom: POST /cgi-bin/webhook/send?key=… with {msgtype: markdown, markdown: {content}}; errcode 0 is sent', async () => {
    target.respond({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' });
    await expect(channel.send(robotMessage(`wecom+${origin}/cgi-bin/webhook/send?key=693a91f6-7xxx`))).resolves.toEqual({ providerIds: ['n1'] });
    const [req] = target.requests;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/cgi-bin/webhook/send?key=693a91f6-7xxx');
    expect(req!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(req!.body) as { msgtype: string; markdown: { content: string } };
    expect(Object.keys(body).sort()).toEqual(['markdown', 'msgtype']);
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.content).toBe('### 【渠道预警·严重】D0001 经开区新星通讯\n**核心渠道开卡量下降**\n开卡量 45，同期基线 146，下降 69%\n回复“确认 2351”确认');
  });

  it('WeCom: an errcode inside HTTP 200 fails the send — a rate limit is retryable, a bad key permanent', async () => {
    const url = `wecom+${origin}/cgi-bin/webhook/send?key=k`;
    target.respond({ status: 200, body: '{"errcode":45009,"errmsg":"api freq out of limit"}' }, { status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' }, { status: 200, body: 'not json' });
    const limited = await channelError(channel.send(robotMessage(url)));
    expect([limited.kind, limited.code]).toEqual(['retryable', 'wecom_45009']);
    const invalid = await channelError(channel.send(robotMessage(url)));
    expect([invalid.kind, invalid.code]).toEqual(['permanent', 'wecom_93000']);
    expect(invalid.message).not.toContain('key=k');
    const garbled = await channelError(channel.send(robotMessage(url)));
    expect([garbled.kind, garbled.code]).toEqual(['retryable', 'wecom_bad_answer']);
  });

  it('DingTalk, signed: access_token, timestamp and sign = base64(HMAC-SHA256(secret, "timestamp\\nsecret")); the secret itself is never sent', async () => {
    const secret = 'SEC0123456789abcdef';
    target.respond({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' });
    await channel.send(robotMessage(`dingtalk+${origin}/robot/send?access_token=tok123#secret=${secret}`));
    const [req] = target.requests;
    const u = new URL(req!.url, origin);
    expect(u.pathname).toBe('/robot/send');
    expect(u.searchParams.get('access_token')).toBe('tok123');
    expect(u.searchParams.get('timestamp')).toBe(String(NOW));
    const expected = createHmac('sha256', secret).update(`${NOW}\n${secret}`).digest('base64');
    expect(u.searchParams.get('sign')).toBe(expected);
    // URL-encoded on the wire (base64 has + / =).
    expect(req!.url).toContain(`sign=${encodeURIComponent(expected)}`);
    expect(req!.url).not.toContain(secret);
    const body = JSON.parse(req!.body) as { msgtype: string; markdown: { title: string; text: string } };
    expect(body).toEqual({
      msgtype: 'markdown',
      markdown: { title: '【渠道预警·严重】D0001 经开区新星通讯', text: '### 【渠道预警·严重】D0001 经开区新星通讯\n**核心渠道开卡量下降**\n开卡量 45，同期基线 146，下降 69%\n回复“确认 2351”确认' },
    });
  });

  it('DingTalk: a failed signature check is permanent, sending too fast retryable; unsigned robots get no timestamp', async () => {
    const url = `dingtalk+${origin}/robot/send?access_token=t`;
    target.respond({ status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' }, { status: 200, body: '{"errcode":130101,"errmsg":"send too fast"}' });
    const refused = await channelError(channel.send(robotMessage(url)));
    expect([refused.kind, refused.code]).toEqual(['permanent', 'dingtalk_310000']);
    const fast = await channelError(channel.send(robotMessage(url)));
    expect([fast.kind, fast.code]).toEqual(['retryable', 'dingtalk_130101']);
    expect(target.requests[0]!.url).toBe('/robot/send?access_token=t');
  });

  it('a generic webhook keeps its {id, title, text, ...data} body and ignores what it answers', async () => {
    target.respond({ status: 200, body: '{"errcode":93000}' });
    await expect(channel.send(robotMessage(target.url))).resolves.toEqual({ providerIds: ['n1'] });
    expect(JSON.parse(target.requests[0]!.body)).toMatchObject({ id: 'n1', severity: 'critical' });
  });
});

describe('robotTarget', () => {
  it('knows the robots by host or by prefix, keeps the secret out of the URL it posts to', () => {
    expect(robotTarget('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K')).toEqual({ kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K' });
    expect(robotTarget('https://oapi.dingtalk.com/robot/send?access_token=T#secret=SECx')).toEqual({ kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=T', secret: 'SECx' });
    expect(robotTarget('dingtalk+http://10.0.0.5:8080/robot/send?access_token=T')).toEqual({ kind: 'dingtalk', url: 'http://10.0.0.5:8080/robot/send?access_token=T' });
    expect(robotTarget('https://hooks.example.cn/lookout')?.kind).toBe('generic');
    expect(robotTarget('ftp://x')).toBeUndefined();
    expect(robotTarget('wecom+not a url')).toBeUndefined();
  });
});
