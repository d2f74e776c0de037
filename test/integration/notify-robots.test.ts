// A manager whose channel is the district's WeCom group robot, and a district head on a signed
// DingTalk robot: the notifier posts each robot's own markdown body, and a robot's errcode inside
// an HTTP 200 turns the record failed with that code — visible in the API.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { ingest, managerOnly, notifications } from '../support/notify.js';
import { ORG, orgDir, policies } from '../support/org.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startHttpTarget, type HttpTarget } from '../notify/channels/helpers.js';
import { dealer, dealerSeries } from './fixtures.js';

describe('group robots through the notifier', () => {
  let smsc: SmppPeer | undefined;
  let robot: HttpTarget | undefined;
  let lk: TestLookout | undefined;
  afterEach(async () => {
    await lk?.cleanup();
    await smsc?.close();
    await robot?.close();
    lk = smsc = robot = undefined;
  });

  async function start(): Promise<{ lk: TestLookout; robot: HttpTarget }> {
    smsc = await startSmppPeer();
    robot = await startHttpTarget();
    const origin = new URL(robot.url).origin;
    const org = ORG.map((c) => (c.id === 'C001' ? { ...c, name: '红旗区渠道群', channels: 'webhook', webhook: `wecom+${origin}/cgi-bin/webhook/send?key=KEY1` } : c));
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir(org), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=200` },
      policies: policies(managerOnly('  group_wait: 150ms\n  retry: {attempts: 2, backoff: 100ms}')),
    });
    await lk.registry.putMany([dealer('D0001'), dealer('D0002')]);
    return { lk, robot };
  }

  it('the manager’s WeCom robot gets {msgtype: markdown} with the dealer’s name; errcode 0 means sent', async () => {
    const { lk, robot } = await start();
    robot.respond({ status: 200, body: '{"errcode":0,"errmsg":"ok"}' });
    await ingest(lk, dealerSeries('D0001', 60));
    await waitFor('the robot was called', async () => robot.requests.length > 0, 15_000);
    const req = robot.requests[0]!;
    expect(req.url).toBe('/cgi-bin/webhook/send?key=KEY1');
    const body = JSON.parse(req.body) as { msgtype: string; markdown: { content: string } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.content).toContain('D0001');
    expect(body.markdown.content).toContain('核心渠道 D0001');
    const rec = await waitFor('the record sent', async () => (await notifications(lk, { channel: 'webhook' })).find((r) => r.state === 'sent'), 10_000);
    expect(rec.contact).toBe('C001');
  });

  it('an errcode inside HTTP 200 (invalid key) fails the record with that code', async () => {
    const { lk, robot } = await start();
    robot.respond({ status: 200, body: '{"errcode":93000,"errmsg":"invalid webhook url"}' });
    await ingest(lk, dealerSeries('D0002', 60));
    const rec = await waitFor('the record failed', async () => (await notifications(lk, { channel: 'webhook' })).find((r) => r.state === 'failed'), 15_000);
    expect(rec.error?.code).toBe('send_failed');
    expect(rec.error?.message).toContain('wecom_93000');
    expect(rec.error?.message).not.toContain('KEY1');
  });
});
