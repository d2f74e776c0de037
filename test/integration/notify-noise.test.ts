// Issue 3 noise control, from outside: grouping, quiet hours with a morning digest, the per-recipient
// SMS limit, silences and inhibition — a real SMSC (smpp server mode) and a real SMTP server receive
// what Lookout sends; the quiet-hours and rate-limit clock is the injected ManualClock.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../src/config/rules-loader.js';
import type { Entity } from '../../src/domain/entity.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { dailySamples, startTestLookout, waitFor, type AlertBody, type TestLookout, type TestLookoutOptions } from '../support/lookout.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies, type TestContact } from '../support/org.js';
import { alertId, ingest, managerOnly, metric, notifications, orgWith, sleep, waitForRecords } from '../support/notify.js';
import { dealer, dealerSeries, LAST_DAY } from './fixtures.js';
import { ROOT } from '../support/cli.js';

interface Peers {
  smsc: SmppPeer;
  mail: SmtpPeer;
}

async function startAll(opts: { org?: readonly TestContact[]; policyYaml: string; env?: Record<string, string> } & Omit<TestLookoutOptions, 'env' | 'policies'>): Promise<Peers & { lk: TestLookout }> {
  const smsc = await startSmppPeer();
  const mail = await startSmtpPeer();
  const lk = await startTestLookout({
    ...opts,
    env: { LOOKOUT_CONFIG_DIR: orgDir(opts.org ?? ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=300`, LOOKOUT_SMTP_URL: mail.url, ...opts.env },
    policies: policies(opts.policyYaml),
  });
  return { smsc, mail, lk };
}

describe('notifier noise control', () => {
  let peers: (Peers & { lk: TestLookout }) | undefined;

  afterEach(async () => {
    if (!peers) return;
    await peers.lk.cleanup();
    await peers.smsc.close();
    await peers.mail.close();
    peers = undefined;
  });

  it('groups two dealers of one manager that drop in one export into one SMS', async () => {
    peers = await startAll({ policyYaml: FAST_POLICIES.replace('group_wait: 150ms', 'group_wait: 400ms') });
    const { lk, smsc } = peers;
    await lk.registry.putMany([dealer('D0001'), dealer('D0002')]);
    await ingest(lk, [...dealerSeries('D0001', 40), ...dealerSeries('D0002', 40)]);

    // Critical: manager and district head at once, region head 1.5 s later — one SMS each.
    const all = await smsc.waitFor(3, 6000);
    await sleep(700); // longer than the group wait: nothing else follows
    expect(smsc.messages.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1'), phone('RH1')].sort());
    for (const m of all) {
      expect(m.text).toContain('D0001');
      expect(m.text).toContain('D0002');
      expect(m.text).toContain('2 条');
    }

    const c001 = await notifications(lk, { contact: 'C001', channel: 'sms' });
    expect(c001).toHaveLength(1);
    expect(c001[0]!.state).toBe('sent');
    expect(c001[0]!.items.map((i) => i.entity).sort()).toEqual(['D0001', 'D0002']);
    // Three messages of two alerts each were grouped.
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'grouped' })).toBe(6);
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'sent' })).toBe(3);
  });

  it('quiet hours defer warning SMS into one morning digest; email and criticals go at once', async () => {
    peers = await startAll({
      now: '2026-11-22T23:00:00+08:00',
      org: orgWith({ C001: 'sms;email' }),
      policyYaml: managerOnly(`  group_wait: 300ms
  quiet_hours: {start: "22:00", end: "08:00", except: [critical]}
  failover: none
  retry: {attempts: 3, backoff: 100ms}`),
    });
    const { lk, smsc, mail } = peers;
    await lk.registry.putMany(['D0001', 'D0002', 'D0003', 'D0004'].map((id) => dealer(id)));

    // Two warnings in one export, a third in another: no SMS, deferred records, email at once.
    await ingest(lk, [...dealerSeries('D0001', 60), ...dealerSeries('D0002', 60)]);
    await mail.waitFor(1);
    await ingest(lk, dealerSeries('D0004', 60));
    await mail.waitFor(2);
    expect(mail.messages[0]!.to).toEqual(['c001@example.cn']);
    expect(mail.messages[0]!.text).toContain('D0001');
    expect(mail.messages[0]!.text).toContain('D0002');
    expect(mail.messages[1]!.text).toContain('D0004');
    const deferred = await waitForRecords(lk, { state: 'deferred' }, 2);
    expect(deferred.map((r) => r.reason)).toEqual(['quiet_hours', 'quiet_hours']);
    expect(deferred.every((r) => r.channel === 'sms' && r.contact === 'C001')).toBe(true);
    expect(deferred.flatMap((r) => r.items.map((i) => i.entity)).sort()).toEqual(['D0001', 'D0002', 'D0004']);

    // A critical drop is not held back.
    await ingest(lk, dealerSeries('D0003', 40));
    const [critical] = await smsc.waitFor(1);
    expect(critical!.to).toBe(phone('C001'));
    expect(critical!.text).toContain('D0003');
    expect(critical!.text).toMatch(/严重/);
    await lk.idle();
    await sleep(400);
    expect(smsc.messages).toHaveLength(1);

    // D0004 is acknowledged during the night: the digest leaves it out.
    const a4 = await alertId(lk, 'D0004');
    expect((await lk.post<AlertBody>(`/api/v1/alerts/${a4}/ack`, { by: 'C001' })).status).toBe(200);

    // Not yet morning: nothing is due.
    lk.manualClock.set('2026-11-23T07:59:00+08:00');
    expect(await lk.notifier!.tick()).toBe(0);
    await sleep(300);
    expect(smsc.messages).toHaveLength(1);

    lk.manualClock.set('2026-11-23T08:00:00+08:00');
    await lk.notifier!.tick();
    const after = await smsc.waitFor(2);
    await lk.idle();
    await sleep(300);
    expect(smsc.messages).toHaveLength(2);
    const digest = after[1]!;
    expect(digest.to).toBe(phone('C001'));
    expect(digest.text).toContain('夜间');
    expect(digest.text).toContain('D0001');
    expect(digest.text).toContain('D0002');
    expect(digest.text).not.toContain('D0004');
    expect(digest.text).not.toContain('D0003');
    const digests = (await notifications(lk, { contact: 'C001', channel: 'sms' })).filter((r) => r.kind === 'digest');
    expect(digests).toHaveLength(1);
    expect(digests[0]!.state).toBe('sent');
    expect(digests[0]!.items.map((i) => i.entity).sort()).toEqual(['D0001', 'D0002']);
    // A second tick has nothing left to send.
    expect(await lk.notifier!.tick()).toBe(0);
  });

  it('quiet hours: a resolve notice at night is not sent by SMS (not even a critical one’s), and not put in the digest', async () => {
    peers = await startAll({
      now: '2026-11-22T23:00:00+08:00',
      policyYaml: managerOnly(`  group_wait: 150ms
  quiet_hours: {start: "22:00", end: "08:00", except: [critical]}
  failover: none
  retry: {attempts: 3, backoff: 100ms}`),
    });
    const { lk, smsc } = peers;
    await lk.registry.putMany([dealer('D0001'), dealer('D0002')]);
    await ingest(lk, [...dealerSeries('D0001', 40), ...dealerSeries('D0002', 60)]);
    const [critical] = await smsc.waitFor(1);
    expect(critical!.text).toContain('D0001');
    await waitForRecords(lk, { state: 'deferred' }, 1); // D0002's warning, for the morning

    // Both recover at 01:00 (still night): nobody is woken up to hear it.
    lk.manualClock.set('2026-11-23T01:00:00+08:00');
    await ingest(lk, ['D0001', 'D0002'].flatMap((id) => dailySamples(id, 'card_opening', ['2026-11-22'], () => 100)));
    await waitFor('both resolved', async () => (await lk.alertsOf('D0001'))[0]?.state === 'resolved' && (await lk.alertsOf('D0002'))[0]?.state === 'resolved');
    await lk.idle();
    await sleep(400);
    expect(smsc.messages).toHaveLength(1);
    expect((await notifications(lk, { state: 'deferred' })).flatMap((r) => r.items.map((i) => i.step))).toEqual([0]);

    // Morning: the digest has nothing left to say (the warning resolved, resolve notices are not digested).
    lk.manualClock.set('2026-11-23T08:00:00+08:00');
    await lk.notifier!.tick();
    await lk.idle();
    await sleep(300);
    expect(smsc.messages).toHaveLength(1);
  });

  it('quiet hours: a rate-limit digest due in the night carries only what may be sent at night', async () => {
    peers = await startAll({
      now: '2026-11-22T22:10:00+08:00',
      policyYaml: managerOnly(`  group_wait: 150ms
  quiet_hours: {start: "22:00", end: "08:00", except: [critical]}
  sms_per_hour: 1
  failover: none
  retry: {attempts: 3, backoff: 100ms}`),
    });
    const { lk, smsc } = peers;
    await lk.registry.putMany(['D0001', 'D0002', 'D0003'].map((id) => dealer(id)));
    await ingest(lk, dealerSeries('D0001', 40)); // critical: sent (1 of 1 this hour)
    await smsc.waitFor(1);
    // The hour's slot counts from when the send finished: let it finish at 22:10 before the clock moves
    // (the SMSC has the message a moment before Lookout records it as sent).
    await waitForRecords(lk, { state: 'sent' }, 1);
    lk.manualClock.set('2026-11-22T22:20:00+08:00');
    await ingest(lk, dealerSeries('D0002', 60)); // warning: quiet hours, for 08:00
    await waitForRecords(lk, { state: 'deferred' }, 1);
    lk.manualClock.set('2026-11-22T22:30:00+08:00');
    await ingest(lk, dealerSeries('D0003', 40)); // critical: over the limit, for 23:10
    const deferred = await waitForRecords(lk, { state: 'deferred' }, 2);
    expect(deferred.map((r) => r.reason).sort()).toEqual(['quiet_hours', 'rate_limit']);

    lk.manualClock.set('2026-11-22T23:10:00+08:00');
    await lk.notifier!.tick();
    const [, night] = await smsc.waitFor(2);
    await lk.idle();
    await sleep(300);
    expect(smsc.messages).toHaveLength(2);
    expect(night!.text).toContain('D0003');
    expect(night!.text).not.toContain('D0002');

    lk.manualClock.set('2026-11-23T08:00:00+08:00');
    await lk.notifier!.tick();
    const [, , morning] = await smsc.waitFor(3);
    expect(morning!.text).toContain('D0002');
    expect(morning!.text).not.toContain('D0003');
  });

  it('the SMS rate limit defers the overflow into a digest sent when the hour frees a slot', async () => {
    peers = await startAll({
      policyYaml: managerOnly(`  group_wait: 150ms
  sms_per_hour: 2
  failover: none
  retry: {attempts: 3, backoff: 100ms}`),
    });
    const { lk, smsc } = peers;
    await lk.registry.putMany(['D0001', 'D0002', 'D0003', 'D0004'].map((id) => dealer(id)));
    await ingest(lk, dealerSeries('D0001', 60));
    await smsc.waitFor(1);
    await ingest(lk, dealerSeries('D0002', 60));
    await smsc.waitFor(2);
    await ingest(lk, dealerSeries('D0003', 60));
    await waitForRecords(lk, { state: 'deferred' }, 1);
    await ingest(lk, dealerSeries('D0004', 60));
    const deferred = await waitForRecords(lk, { state: 'deferred' }, 2);
    expect(deferred.map((r) => r.reason)).toEqual(['rate_limit', 'rate_limit']);
    expect(deferred.map((r) => r.items[0]!.entity).sort()).toEqual(['D0003', 'D0004']);
    await lk.idle();
    await sleep(300);
    expect(smsc.messages.map((m) => m.text.includes('D0001') || m.text.includes('D0002'))).toEqual([true, true]);

    lk.manualClock.advance(59 * 60_000);
    expect(await lk.notifier!.tick()).toBe(0);
    lk.manualClock.advance(60_000);
    await lk.notifier!.tick();
    const all = await smsc.waitFor(3);
    await lk.idle();
    await sleep(300);
    expect(smsc.messages).toHaveLength(3);
    expect(all[2]!.to).toBe(phone('C001'));
    expect(all[2]!.text).toContain('D0003');
    expect(all[2]!.text).toContain('D0004');
    expect(all[2]!.text).toContain('超出短信频次');
  });

  it('a silence mutes one dealer (recorded, not sent); others still page; after DELETE the next episode pages', async () => {
    peers = await startAll({ policyYaml: FAST_POLICIES });
    const { lk, smsc } = peers;
    await lk.registry.putMany([dealer('D0001'), dealer('D0002')]);
    const created = await lk.post<{ silence: { id: string; state: string } }>('/api/v1/silences', {
      matchers: [{ name: 'entity', value: 'D0001' }],
      duration: '1h',
      createdBy: '王工',
      comment: '门店装修',
    });
    expect(created.status).toBe(201);
    const sid = created.body.silence.id;

    await ingest(lk, [...dealerSeries('D0001', 60), ...dealerSeries('D0002', 60)]);
    const [first] = await smsc.waitFor(1);
    expect(first!.to).toBe(phone('C001'));
    expect(first!.text).toContain('D0002');
    expect(first!.text).not.toContain('D0001');
    // The warning's later steps (district head 1 s, region head 2 s) are muted too for D0001.
    const three = await smsc.waitFor(3);
    expect(three.map((m) => m.to)).toEqual([phone('C001'), phone('DH1'), phone('RH1')]);
    expect(three.some((m) => m.text.includes('D0001'))).toBe(false);

    const a1 = await lk.alertsOf('D0001');
    expect(a1).toHaveLength(1);
    expect(a1[0]!.state).toBe('firing');
    const muted = await notifications(lk, { state: 'muted', alert: a1[0]!.id });
    expect(muted.map((r) => r.contact).sort()).toEqual(['C001', 'DH1', 'RH1']);
    expect(muted.every((r) => r.reason === `silence:${sid}`)).toBe(true);
    expect(await notifications(lk, { state: 'muted', alert: await alertId(lk, 'D0002') })).toEqual([]);
    expect(await metric(lk, 'lookout_notifications_total', { outcome: 'muted' })).toBe(3);

    // End the silence; D0001 recovers (11-22 normal), then drops again (11-23): a new episode pages.
    expect((await lk.http!.inject({ method: 'DELETE', url: `/api/v1/silences/${sid}` })).statusCode).toBe(200);
    lk.manualClock.set('2026-11-23T09:00:00+08:00');
    await ingest(lk, dailySamples('D0001', 'card_opening', ['2026-11-22'], () => 100));
    await waitFor('D0001 resolved', async () => (await lk.alertsOf('D0001'))[0]?.state === 'resolved');
    lk.manualClock.set('2026-11-24T09:00:00+08:00');
    await ingest(lk, dailySamples('D0001', 'card_opening', ['2026-11-23'], () => 60));
    await waitFor('D0001 fires again', async () => (await lk.alertsOf('D0001'))[0]?.episode === 2);
    const again = await waitFor('an SMS about D0001', async () => smsc.messages.find((m) => m.text.includes('D0001')));
    expect(again.to).toBe(phone('C001'));
  });
});

describe('notifier inhibition', () => {
  let rulesDir: string;
  let peers: (Peers & { lk: TestLookout }) | undefined;

  const INHIBIT_POLICIES = FAST_POLICIES.replace(
    'inhibit:\n',
    `inhibit:
  - source: {rule: region_network_outage}
    target: {kind: core_dealer}
    equal: [region]
`,
  );

  beforeAll(async () => {
    rulesDir = mkdtempSync(join(tmpdir(), 'lookout-rules-'));
    copyFileSync(join(ROOT, 'rules', 'core-dealers.yaml'), join(rulesDir, 'core-dealers.yaml'));
    writeFileSync(
      join(rulesDir, 'extra.yaml'),
      `rules:
  - id: core_dealer_recharge_low
    name: 核心渠道空中充值偏低
    kind: threshold
    metric: air_recharge
    scope: {kind: core_dealer}
    direction: below
    levels:
      - {severity: warning, at: 20}
  - id: region_network_outage
    name: 片区网络中断
    kind: threshold
    metric: basic_business
    scope: {kind: own_hall}
    direction: below
    levels:
      - {severity: critical, at: 10}
`,
    );
    // What `lookout rules check <dir>` runs.
    const res = await loadRuleSet(rulesDir);
    expect(res.ok ? res.ruleSet.rules.map((r) => r.id).sort() : res.errors.map((e) => e.format())).toEqual([
      'core_dealer_card_opening_drop',
      'core_dealer_card_opening_intraday',
      'core_dealer_recharge_low',
      'region_network_outage',
    ]);
  });
  afterAll(() => rmSync(rulesDir, { recursive: true, force: true }));
  afterEach(async () => {
    if (!peers) return;
    await peers.lk.cleanup();
    await peers.smsc.close();
    await peers.mail.close();
    peers = undefined;
  });

  it('a critical alert mutes another rule’s warning on the same entity', async () => {
    peers = await startAll({ policyYaml: INHIBIT_POLICIES, env: { LOOKOUT_RULES_DIR: rulesDir } });
    const { lk, smsc } = peers;
    await lk.registry.putMany([dealer('D0001')]);
    await ingest(lk, [...dealerSeries('D0001', 40), ...dailySamples('D0001', 'air_recharge', [LAST_DAY], () => 5)]);
    await smsc.waitFor(2);
    await sleep(2300); // past every step of both chains (critical 1.5 s, warning 1 s and 2 s)
    expect(smsc.messages.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1'), phone('RH1')].sort());
    for (const m of smsc.messages) {
      expect(m.text).toMatch(/严重/);
      expect(m.text).not.toContain('空中充值');
    }
    const critical = await alertId(lk, 'D0001', 'core_dealer_card_opening_drop');
    const warning = (await lk.alertsOf('D0001')).find((a) => a.rule === 'core_dealer_recharge_low')!;
    expect(warning).toMatchObject({ state: 'firing', severity: 'warning' });
    const muted = await notifications(lk, { state: 'muted', alert: warning.id });
    expect(muted.map((r) => [r.contact, r.reason]).sort()).toEqual([
      ['C001', `inhibited_by:${critical}`],
      ['DH1', `inhibited_by:${critical}`],
      ['RH1', `inhibited_by:${critical}`],
    ]);
    const c001 = await notifications(lk, { contact: 'C001', state: 'sent' });
    expect(c001).toHaveLength(1);
    expect(c001[0]!.items.map((i) => i.rule)).toEqual(['core_dealer_card_opening_drop']);
  });

  it('a region-wide alert mutes its dealers even when they all arrive in the same export', async () => {
    peers = await startAll({ policyYaml: INHIBIT_POLICIES, env: { LOOKOUT_RULES_DIR: rulesDir } });
    const { lk, smsc } = peers;
    const hall: Entity = { id: 'H001', kind: 'own_hall', name: '东片营业厅', region: 'R-east', district: 'X-hongqi', manager: 'C002', attrs: {} };
    const dealers = ['D0001', 'D0002', 'D0003', 'D0004', 'D0005', 'D0006'];
    await lk.registry.putMany([hall, ...dealers.map((id) => dealer(id))]);
    // The dealers come first in the file; the hall (the cause) last.
    await ingest(lk, [...dealers.flatMap((id) => dealerSeries(id, 40)), ...dailySamples('H001', 'basic_business', [LAST_DAY], () => 2)]);
    await smsc.waitFor(2);
    await lk.idle();
    await sleep(1800);
    expect(smsc.messages.map((m) => m.to).sort()).toEqual([phone('C002'), phone('DH1'), phone('RH1')].sort());
    expect(smsc.messages.some((m) => /D000\d/.test(m.text))).toBe(false);
    const outage = await alertId(lk, 'H001');
    for (const id of dealers) {
      const muted = await notifications(lk, { state: 'muted', alert: await alertId(lk, id) });
      expect(muted.map((r) => r.reason)).toEqual([`inhibited_by:${outage}`, `inhibited_by:${outage}`, `inhibited_by:${outage}`]);
    }
  });

  it('a region-wide alert mutes the dealers of its region only', async () => {
    peers = await startAll({ policyYaml: INHIBIT_POLICIES, env: { LOOKOUT_RULES_DIR: rulesDir } });
    const { lk, smsc } = peers;
    const hall: Entity = { id: 'H001', kind: 'own_hall', name: '东片营业厅', region: 'R-east', district: 'X-hongqi', manager: 'C002', attrs: {} };
    const west: Entity = { ...dealer('D0009'), region: 'R-west', district: 'X-other' };
    await lk.registry.putMany([hall, dealer('D0001'), west]);

    await ingest(lk, dailySamples('H001', 'basic_business', [LAST_DAY], () => 2));
    await smsc.waitFor(2); // C002 and DH1 hear about the outage
    const outage = await alertId(lk, 'H001');
    // The notifier reads open alerts at most once a second (of the injected clock).
    lk.manualClock.advance(2000);

    await ingest(lk, [...dealerSeries('D0001', 40), ...dealerSeries('D0009', 40)]);
    await smsc.waitFor(4);
    await lk.idle();
    await sleep(1800); // past the region heads' step (1.5 s)
    const d9 = smsc.messages.filter((m) => m.text.includes('D0009')).map((m) => m.to);
    expect(d9.sort()).toEqual([phone('C001'), phone('DH2'), phone('RH2')].sort());
    expect(smsc.messages.some((m) => m.text.includes('D0001'))).toBe(false);

    const d1 = await lk.alertsOf('D0001');
    expect(d1[0]).toMatchObject({ state: 'firing', severity: 'critical' });
    const muted = await notifications(lk, { state: 'muted', alert: d1[0]!.id });
    expect(muted.map((r) => r.contact).sort()).toEqual(['C001', 'DH1', 'RH1']);
    expect(muted.every((r) => r.reason === `inhibited_by:${outage}`)).toBe(true);
  });
});
