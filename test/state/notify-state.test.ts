// The notifier's and the scheduler's state stores against a real Redis: the keys and values they
// write are the documented layout (state/keys.ts), so a deployment upgraded in place reads its
// chains, groups, digests and marks as before.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EscalationStore } from '../../src/state/escalation-store.js';
import { keyspace, type Keyspace } from '../../src/state/keys.js';
import { MessageBatches, RedisSentSms } from '../../src/state/message-batches.js';
import { ScheduleStore } from '../../src/state/schedule-store.js';
import { connect, dropPrefix, freshPrefix } from '../support/redis.js';

const T = 1_790_000_000_000;
const HOUR = 3_600_000;

let redis: Redis;
let prefix: string;
let keys: Keyspace;
beforeAll(() => {
  redis = connect();
});
afterAll(() => redis.disconnect());
beforeEach(() => {
  prefix = freshPrefix('notify-state');
  keys = keyspace(prefix);
});
afterEach(() => dropPrefix(redis, prefix));

describe('EscalationStore', () => {
  it('starts a chain in the escalation hash, forgetting who was told only for a new episode', async () => {
    const s = new EscalationStore(redis, keys);
    await redis.hset(keys.told('fp1'), 'C001', 'h1');
    await s.start('fp1', { token: '1.1', episode: '1', level: '0' }, false);
    expect(await redis.hgetall(`${prefix}:esc:fp1`)).toEqual({ token: '1.1', episode: '1', level: '0' });
    expect(await redis.pttl(`${prefix}:esc:fp1`)).toBeGreaterThan(29 * 24 * HOUR);
    expect(await s.told('fp1')).toEqual({ C001: 'h1' });
    await s.start('fp1', { token: '2.1', episode: '2' }, true);
    expect(await s.state('fp1')).toEqual({ token: '2.1', episode: '2' });
    expect(await s.told('fp1')).toEqual({});
  });

  it('records a step as level and done.<step>, and reads the token and ack code back', async () => {
    const s = new EscalationStore(redis, keys);
    await s.start('fp1', { token: '1.1', ackCode: '4321' }, true);
    await s.stepDone('fp1', 2, 1, T);
    expect(await redis.hgetall(`${prefix}:esc:fp1`)).toEqual({ token: '1.1', ackCode: '4321', level: '2', 'done.1': String(T) });
    expect(await s.token('fp1')).toBe('1.1');
    expect(await s.of('fp1')).toBe('4321');
    expect(await s.of('nobody')).toBeUndefined();
  });

  it('counts fires inside the window only', async () => {
    const s = new EscalationStore(redis, keys);
    expect(await s.countFire('fp1', T, HOUR, '1.1')).toBe(1);
    expect(await s.countFire('fp1', T + 10 * 60_000, HOUR, '2.1')).toBe(2);
    expect(await s.countFire('fp1', T + 2 * HOUR, HOUR, '3.1')).toBe(1);
    expect(await redis.zrange(`${prefix}:flap:fp1`, 0, -1)).toEqual([`${T + 2 * HOUR}-3.1`]);
  });

  it('claims an ack code once and finds the alert by code and by phone', async () => {
    const s = new EscalationStore(redis, keys);
    expect(await s.claimAckCode('1234', 'fp1')).toBe(true);
    expect(await s.claimAckCode('1234', 'fp2')).toBe(false);
    expect(await redis.get(`${prefix}:ackcode:1234`)).toBe('fp1');
    expect(await s.byAckCode('1234')).toBe('fp1');
    await s.dropAckCode('1234');
    expect(await s.byAckCode('1234')).toBeNull();

    await s.rememberTold(['fp1', 'fp2'], 'C001', 'ph1', 'fp2');
    await s.rememberTold(['fp1'], 'C002', '', undefined);
    expect(await redis.hgetall(`${prefix}:told:fp1`)).toEqual({ C001: 'ph1', C002: '' });
    expect(await redis.get(`${prefix}:phone-last:ph1`)).toBe('fp2');
    expect(await s.lastAlertOf('ph1')).toBe('fp2');
    // An email does not overwrite the phone hash an SMS recorded.
    await s.rememberTold(['fp1'], 'C001', '', undefined);
    expect(await s.told('fp1')).toEqual({ C001: 'ph1', C002: '' });
  });
});

describe('MessageBatches', () => {
  const intent = (key: string) => ({ key, contact: 'C001', channel: 'sms', kind: 'alert' });

  it('adds an intent to the open group once and takes the group once', async () => {
    const b = new MessageBatches(redis, keys);
    expect(await b.join(intent('a'), 'w1', HOUR)).toBe('w1');
    expect(await b.join(intent('a'), 'w2', HOUR)).toBe('w1');
    expect(await b.join(intent('b'), 'w3', HOUR)).toBe('w1');
    expect(await redis.lrange(`${prefix}:grp:sms:C001`, 0, -1)).toEqual([JSON.stringify(intent('a')), JSON.stringify(intent('b'))]);
    expect(await redis.get(`${prefix}:grpw:sms:C001`)).toBe('w1');
    expect(await b.takeGroup('C001', 'sms', 'other')).toEqual([]);
    const taken = await b.takeGroup('C001', 'sms', 'w1');
    expect(taken).toHaveLength(2);
    expect(await b.takeGroup('C001', 'sms', 'w1')).toEqual(taken);
    expect(await b.groupIntents('C001', 'sms', 'w1')).toEqual(taken);
    await b.finishGroup('C001', 'sms', 'w1');
    expect(await redis.exists(`${prefix}:grp:sms:C001:taking:w1`)).toBe(0);
  });

  it('defers into a digest whose due time keeps the earliest, takes it when due and finishes it', async () => {
    const b = new MessageBatches(redis, keys);
    await b.defer('C001', [intent('a')], T + 2 * HOUR);
    await b.defer('C001', [intent('b')], T + HOUR);
    expect(await redis.zscore(`${prefix}:dig:due`, 'C001')).toBe(String(T + HOUR));
    expect(await b.dueDigests(T)).toEqual([]);
    const [d] = await b.dueDigests(T + HOUR);
    expect(d).toEqual({ contact: 'C001', score: String(T + HOUR) });
    expect(await b.takeDigest(d!, T + HOUR)).toEqual([JSON.stringify(intent('a')), JSON.stringify(intent('b'))]);
    expect(await redis.zrange(`${prefix}:dig:taken`, 0, -1)).toEqual([`C001\0${T + HOUR}`]);
    // Taken and not finished: found again as stuck, with its intents.
    expect(await b.stuckDigests(T + HOUR)).toEqual([d]);
    expect(await b.takenDigest(d!)).toHaveLength(2);
    await b.finishDigest(d!);
    expect(await b.stuckDigests(T + HOUR)).toEqual([]);
    expect(await b.takenDigest(d!)).toEqual([]);
  });

  it('keeps the last hour of SMS sent per contact', async () => {
    const sent = new RedisSentSms(redis, keys);
    await sent.add('C001', 'n1', T);
    await sent.add('C001', 'n2', T + 30 * 60_000);
    await sent.add('C001', 'n3', T + HOUR + 1);
    expect(await redis.zrange(`${prefix}:rl:C001`, 0, -1)).toEqual([`${T + 30 * 60_000}-n2`, `${T + HOUR + 1}-n3`]);
    expect(await sent.since('C001', T + 31 * 60_000)).toEqual([T + HOUR + 1]);
  });
});

describe('ScheduleStore', () => {
  it('keeps the closed day, absence-pass marks and feed counters under the same keys', async () => {
    const s = new ScheduleStore(redis, keys);
    expect(await s.closedDay()).toBe(-1);
    await s.setClosedDay(20_410);
    expect(await redis.get(`${prefix}:closed-day`)).toBe('20410');
    expect(await s.closedDay()).toBe(20_410);

    expect(await s.markAbsencePass('calls', 20_410)).toBe(true);
    expect(await s.markAbsencePass('calls', 20_410)).toBe(false);
    expect(await redis.get(`${prefix}:absence-pass:calls:20410`)).toBe('1');

    await redis.hset(`${prefix}:feed:calls`, { '20400': '5', '20405': '7', '20410': '9' });
    expect([...(await s.feed('calls'))]).toEqual([
      [20_400, 5],
      [20_405, 7],
      [20_410, 9],
    ]);
    await s.pruneFeed('calls', 20_405);
    expect(await redis.hgetall(`${prefix}:feed:calls`)).toEqual({ '20405': '7', '20410': '9' });
  });
});
