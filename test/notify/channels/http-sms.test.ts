import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpSmsChannel, providerIdFrom, renderBody } from '../../../src/notify/channels/http-sms.js';
import { freePort } from '../../../src/redis/embedded.js';
import { channelError, sms, startHttpTarget, type HttpTarget } from './helpers.js';

const BODY = '{"mobile":"{{to}}","content":"{{text}}","ref":"{{id}}","sign":"{{from}}","template":"ALERT"}';
const TRICKY = '【渠道预警·严重】厅店 "CM01" 办理量\n低于基线 60%\\ {{id}} $& 😀';

describe('HttpSmsChannel against a real HTTP server', () => {
  let target: HttpTarget;
  let channel: HttpSmsChannel;

  beforeEach(async () => {
    target = await startHttpTarget();
    channel = new HttpSmsChannel(target.url, { headers: { 'x-api-key': 'k-123' }, body: BODY, from: '10658000', timeoutMs: 300 });
  });

  afterEach(async () => {
    await channel.close();
    await target.close();
  });

  it('POSTs the rendered template as JSON: Chinese, quotes, newlines and placeholders in the text survive', async () => {
    target.respond({ status: 200, body: '{"code":0,"data":{"id":"gw-77"}}' });
    const result = await channel.send(sms('notif-1', TRICKY, '+8613803730001'));
    expect(result).toEqual({ providerIds: ['gw-77'], segments: 1 });
    const [req] = target.requests;
    expect(req?.method).toBe('POST');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['x-api-key']).toBe('k-123');
    expect(JSON.parse(req?.body ?? '')).toEqual({ mobile: '+8613803730001', content: TRICKY, ref: 'notif-1', sign: '10658000', template: 'ALERT' });
  });

  it('falls back to the message id when the reply names no id', async () => {
    target.respond({ status: 202, body: 'accepted' });
    await expect(channel.send(sms('notif-2', 'x'.repeat(200)))).resolves.toEqual({ providerIds: ['notif-2'], segments: 2 });
  });

  it('503 and 429 are retryable, 400 is permanent', async () => {
    target.respond({ status: 503 }, { status: 429 }, { status: 400, body: '{"error":"bad mobile"}' });
    const e503 = await channelError(channel.send(sms('a', '1')));
    const e429 = await channelError(channel.send(sms('b', '2')));
    const e400 = await channelError(channel.send(sms('c', '3')));
    expect([e503.kind, e503.code]).toEqual(['retryable', 'http_503']);
    expect([e429.kind, e429.code]).toEqual(['retryable', 'http_429']);
    expect([e400.kind, e400.code]).toEqual(['permanent', 'http_400']);
  });

  it('a gateway that never answers times out as unavailable', async () => {
    target.respond({ status: 0 });
    const err = await channelError(channel.send(sms('d', '4')));
    expect([err.kind, err.code]).toEqual(['unavailable', 'timeout']);
  });

  it('a refused connection is unavailable', async () => {
    const port = await freePort();
    const down = new HttpSmsChannel(`http://127.0.0.1:${port}/send`, { body: BODY, from: '10658000' });
    const err = await channelError(down.send(sms('e', '5')));
    expect([err.kind, err.code]).toEqual(['unavailable', 'econnrefused']);
  });

  it('a contact without a phone fails permanently without a request', async () => {
    const err = await channelError(channel.send(sms('f', '6', null)));
    expect([err.kind, err.code]).toEqual(['permanent', 'no_phone']);
    expect(target.requests).toEqual([]);
  });
});

describe('body template', () => {
  it('rejects a template that does not render JSON, naming the variable', () => {
    expect(() => new HttpSmsChannel('http://x', { body: '{"text":{{text}}}', from: '' })).toThrow(/LOOKOUT_SMS_HTTP_BODY/);
    expect(() => new HttpSmsChannel('http://x', { body: 'to={{to}}&text={{text}}', from: '' })).toThrow(/LOOKOUT_SMS_HTTP_BODY/);
  });

  it('substitutes every occurrence, with optional spaces', () => {
    expect(renderBody('["{{ to }}","{{to}}","{{text}}"]', { to: '1', text: 'a"b', id: '', from: '' })).toBe('["1","1","a\\"b"]');
  });

  it('finds provider ids in common reply shapes', () => {
    expect(providerIdFrom({ id: 'a' })).toBe('a');
    expect(providerIdFrom({ messageId: 'b' })).toBe('b');
    expect(providerIdFrom({ message_id: 42 })).toBe('42');
    expect(providerIdFrom({ data: { id: 'd' } })).toBe('d');
    expect(providerIdFrom({ code: 0 })).toBeUndefined();
    expect(providerIdFrom(null)).toBeUndefined();
  });
});
