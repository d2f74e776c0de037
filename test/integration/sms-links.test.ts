// The console short link in SMS, from outside: a real daemon sends to a real SMSC (smpp server
// mode), which reassembles what arrives and counts its segments. A warning that fills its segment
// arrives in one segment without the link; a message with room carries it, and the link answers
// 302 to the alert's console page on the running daemon. A group of two keeps both names.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { startTestLookout, waitFor, type TestLookout } from '../support/lookout.js';
import { ingest, managerOnly, sleep } from '../support/notify.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies } from '../support/org.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { dealer, dealerSeries } from './fixtures.js';

const PUBLIC_URL = 'https://yj.example.cn';

describe('console links in SMS over SMPP', () => {
  let smsc: SmppPeer | undefined;
  let lk: TestLookout | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    await lk?.cleanup();
    await smsc?.close();
    lk = smsc = undefined;
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(env: Record<string, string> = {}, policyYaml = FAST_POLICIES) {
    smsc = await startSmppPeer();
    lk = await startTestLookout({
      env: { LOOKOUT_CONFIG_DIR: orgDir(ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=200`, LOOKOUT_PUBLIC_URL: PUBLIC_URL, ...env },
      policies: policies(policyYaml),
    });
    return { smsc, lk };
  }

  it('a warning that fills its segment arrives whole in one segment, name and ack code kept, the link given up', async () => {
    const { smsc, lk } = await start();
    await lk.registry.putMany([{ ...dealer('D0001'), name: '新乡市红旗区某某通讯器材经营部' }]);
    await ingest(lk, dealerSeries('D0001', 60));
    const [sms] = await smsc.waitFor(1);
    expect(sms!.to).toBe(phone('C001'));
    expect(sms!.segments, sms!.text).toBe(1);
    expect(sms!.dataCoding).toBe(8);
    expect(sms!.text).toContain('D0001 新乡市红旗区某某通讯器材经营部');
    expect(sms!.text).toMatch(/回复“确认 \d+”确认$/);
    expect(sms!.text).not.toContain(PUBLIC_URL);
  });

  it('a message with room carries the short link in one segment, and the link leads to the console page', async () => {
    // An operator's terse template (LOOKOUT_TEMPLATES_DIR) leaves room for the link.
    const templates = mkdtempSync(join(tmpdir(), 'lookout-templates-'));
    dirs.push(templates);
    cpSync(join(ROOT, 'templates', 'zh'), templates, { recursive: true });
    writeFileSync(join(templates, 'sms-alert.mustache'), '{{entityName}} {{brief}} 回复确认{{ackCode}}{{#consoleUrl}} {{consoleUrl}}{{/consoleUrl}}\n');
    const { smsc, lk } = await start({ LOOKOUT_TEMPLATES_DIR: templates });
    await lk.registry.putMany([{ ...dealer('D0001'), name: '红旗店' }]);
    await ingest(lk, dealerSeries('D0001', 60));
    const [sms] = await smsc.waitFor(1);
    const alert = await waitFor('the alert', async () => (await lk.alertsOf('D0001'))[0]);
    const link = `${PUBLIC_URL}/a/${alert!.id}`;
    expect(sms!.text).toMatch(new RegExp(`^红旗店 开卡量下降 \\d+% 回复确认\\d+ ${link.replace(/[.]/g, '\\.')}$`));
    expect(sms!.segments).toBe(1);

    const res = await fetch(`${lk.url}${new URL(link).pathname}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/alerts/${alert!.id}`);
  });

  it('a group of two dealers arrives in one segment with both names, ids and ack codes', async () => {
    const { smsc, lk } = await start({}, managerOnly('  group_wait: 400ms'));
    await lk.registry.putMany([{ ...dealer('D0001'), name: '红旗店' }, { ...dealer('D0002'), name: '牧野店' }]);
    await ingest(lk, [...dealerSeries('D0001', 60), ...dealerSeries('D0002', 60)]);
    const [sms] = await smsc.waitFor(1);
    await sleep(600); // past the group wait: nothing else follows
    expect(smsc.messages).toHaveLength(1);
    expect(sms!.segments, sms!.text).toBe(1);
    expect(sms!.text).toMatch(/^【渠道预警】2 条：D000\d 红旗店|^【渠道预警】2 条：D000\d 牧野店/);
    for (const name of ['D0001 红旗店', 'D0002 牧野店']) expect(sms!.text).toContain(name);
    expect(sms!.text.match(/编号\d+/g)).toHaveLength(2);
  });
});
