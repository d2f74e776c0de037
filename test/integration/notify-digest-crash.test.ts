// A morning digest taken for sending by a process that died before it became a message is sent by
// the next tick a minute later — deferred warnings are never dropped.
import { afterEach, describe, expect, it } from 'vitest';
import { TAKE_DIGEST_LUA } from '../../src/state/message-batches.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startTestLookout, type TestLookout } from '../support/lookout.js';
import { ORG, orgDir, phone, policies } from '../support/org.js';
import { ingest, managerOnly, notifications, sleep, waitForRecords } from '../support/notify.js';
import { dealer, dealerSeries } from './fixtures.js';

describe('digest crash safety', () => {
  let smsc: SmppPeer;
  let lk: TestLookout;
  afterEach(async () => {
    await lk.cleanup();
    await smsc.close();
  });

  it('a digest taken but never sent goes out on a later tick, once', async () => {
    smsc = await startSmppPeer();
    lk = await startTestLookout({
      now: '2026-11-22T23:00:00+08:00',
      env: { LOOKOUT_CONFIG_DIR: orgDir(ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=300` },
      policies: policies(managerOnly('  group_wait: 100ms\n  quiet_hours: {start: "22:00", end: "08:00", except: [critical]}')),
    });
    await lk.registry.putMany([dealer('D0001'), dealer('D0002')]);
    await ingest(lk, [...dealerSeries('D0001', 60), ...dealerSeries('D0002', 60)]);
    await waitForRecords(lk, { state: 'deferred', contact: 'C001' });
    expect(smsc.messages).toEqual([]);

    // 08:00: a process takes C001's digest … and dies before sending it.
    const morning = Date.parse('2026-11-23T08:00:00+08:00');
    lk.manualClock.set(morning);
    const score = await lk.redis.zscore(lk.keys.digestDue, 'C001');
    const taken = (await lk.redis.eval(TAKE_DIGEST_LUA, 4, lk.keys.digest('C001'), lk.keys.digestDue, `${lk.keys.digest('C001')}:taking:${score}`, lk.keys.digestTaken, 'C001', String(morning), `C001\0${score}`)) as string[];
    expect(taken).toHaveLength(2);
    expect(await lk.notifier!.tick()).toBe(0); // nothing due any more, and the taken one is not stale yet
    await sleep(300);
    expect(smsc.messages).toEqual([]);

    lk.manualClock.set(morning + 2 * 60_000);
    await lk.notifier!.tick();
    const [digest] = await smsc.waitFor(1, 5000);
    expect(digest!.to).toBe(phone('C001'));
    expect(digest!.text).toContain('D0001');
    expect(digest!.text).toContain('D0002');
    await lk.notifier!.tick();
    await sleep(300);
    expect(smsc.messages).toHaveLength(1);
    expect((await notifications(lk, { contact: 'C001', state: 'sent' })).map((r) => r.kind)).toEqual(['digest']);
  });
});
