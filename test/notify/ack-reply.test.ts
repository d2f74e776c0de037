import { describe, expect, it } from 'vitest';
import { parseAckReply } from '../../src/notify/ack-reply.js';

describe('parseAckReply', () => {
  it.each([
    // the latest alert sent to this phone
    ['1', {}],
    ['１', {}],
    ['确认', {}],
    ['ACK', {}],
    ['ack', {}],
    [' 1 ', {}],
    ['1。', {}],
    ['确认！', {}],
    ['回复1', {}],
    // a named alert
    ['确认 1234', { code: '1234' }],
    ['确认1234', { code: '1234' }],
    ['确认　１２３４', { code: '1234' }],
    ['确认１２３４', { code: '1234' }],
    ['ACK 1234', { code: '1234' }],
    ['ack1234', { code: '1234' }],
    ['Ack 482193', { code: '482193' }],
    ['ＡＣＫ　４８２１', { code: '4821' }],
    ['确认：4821', { code: '4821' }],
    ['确认 #4821', { code: '4821' }],
    ['  确认 4821。', { code: '4821' }],
    ['确认 4821!', { code: '4821' }],
    ['确认 4821！！', { code: '4821' }],
    ['“确认 4821”', { code: '4821' }],
    ['回复 确认 4821', { code: '4821' }],
    ['回复“确认 4821”', { code: '4821' }],
    ['\n确认 4821\n', { code: '4821' }],
  ])('%j → %j', (text, expected) => {
    expect(parseAckReply(text)).toEqual(expected);
  });

  it.each([
    '',
    '   ',
    '你好',
    '2',
    '11',
    '12345678 is my number',
    '1234',
    '确认 12',
    '确认 123456789',
    '确认 abcd',
    '不确认',
    '确认一下这个是什么情况',
    'ACK please',
    'backup 1234',
    '1 2',
    'TD',
  ])('%j → undefined', (text) => {
    expect(parseAckReply(text)).toBeUndefined();
  });
});
