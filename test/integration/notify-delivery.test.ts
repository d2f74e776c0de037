// Issue 3 delivery guarantees, from outside: an SMSC that goes down and comes back, a refused SMS
// failing over to email, a notifier killed between escalation steps, signed ack links in email,
// the ingest-stall guard, and delivery receipts — a real SMSC (smpp server mode) and a real SMTP
// server receive what Lookout sends.
import type { ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import { copyFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Calendar, ManualClock } from '../../src/domain/clock.js';
import { NotificationStore } from '../../src/state/notification-store.js';
import { QUEUES } from '../../src/queues/names.js';
import { keyspace } from '../../src/state/keys.js';
import { collect, ensureBuilt, freePort, PINNED_NOW, PINNED_NOW_MS, ROOT, spawnCli } from '../support/cli.js';
import { dailySamples, isoDays, startTestLookout, waitFor, type TestLookout, type TestLookoutOptions } from '../support/lookout.js';
import { alertId, ingest, managerOnly, metric, notifications, orgWith, sleep, waitForRecords } from '../support/notify.js';
import { REPEAT_MARKER } from '../../src/notify/repeat-marker.js';
import { FAST_POLICIES, ORG, orgDir, phone, policies, type TestContact } from '../support/org.js';
import { connect, dropPrefix, freshPrefix, testRedisUrl } from '../support/redis.js';
import { startSmppPeer, type SmppPeer } from '../support/smpp-peer.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';
import { dealer, dealerSeries, LAST_DAY } from './fixtures.js';

interface Setup {
  smsc: SmppPeer;
  mail: SmtpPeer;
  lk: TestLookout;
}

async function startAll(opts: { org?: readonly TestContact[]; policyYaml?: string; env?: Record<string, string> } & Omit<TestLookoutOptions, 'env' | 'policies'>): Promise<Setup> {
  const smsc = await startSmppPeer();
  const mail = await startSmtpPeer();
  const lk = await startTestLookout({
    ...opts,
    env: { LOOKOUT_CONFIG_DIR: orgDir(opts.org ?? ORG), LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=200`, LOOKOUT_SMTP_URL: mail.url, ...opts.env },
    policies: opts.policyYaml === undefined ? undefined : policies(opts.policyYaml),
  });
  return { smsc, mail, lk };
}

function tempRulesDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-rules-'));
  copyFileSync(join(ROOT, 'rules', 'core-dealers.yaml'), join(dir, 'core-dealers.yaml'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('notifier delivery guarantees', () => {
  let s: Setup | undefined;
  const dirs: string[] = [];

  afterEach(async () => {
    if (s) {
      await s.lk.cleanup();
      await s.smsc.close();
      await s.mail.close();
      s = undefined;
    }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('SMSC down then up: every message is kept, retried and delivered once, in order', async () => {
    s = await startAll({
      policyYaml: managerOnly(`  group_wait: 150ms
  failover: none
  retry: {attempts: 3, backoff: 100ms}`),
    });
    const { lk, smsc } = s;
    await lk.registry.putMany(['D0001', 'D0002', 'D0003'].map((id) => dealer(id)));
    await smsc.stop();

    // Three exports, three messages, none of which can go out.
    const alerts: string[] = [];
    for (const id of ['D0001', 'D0002', 'D0003']) {
      await ingest(lk, dealerSeries(id, 60));
      const a = await waitFor(`${id} fired`, async () => (await lk.alertsOf(id))[0]);
      await waitForRecords(lk, { alert: a.id, channel: 'sms' });
      alerts.push(a.id);
    }
    const first = await waitFor('the first message retried', async () => {
      const r = (await notifications(lk, { alert: alerts[0], channel: 'sms' }))[0];
      return r && r.attempts >= 2 ? r : undefined;
    });
    // sending: the head of the held queue is being offered to the gateway again right now.
    expect(['queued', 'sending']).toContain(first.state);
    expect(first.items[0]!.entity).toBe('D0001');
    expect(first.error?.code).toBe('smpp_unbound');
    const waiting = (await notifications(lk, { channel: 'sms' })).filter((r) => r.state === 'queued' || r.state === 'sending');
    expect(waiting).toHaveLength(3);
    expect(await notifications(lk, { state: 'failed' })).toEqual([]);
    expect(smsc.messages).toEqual([]);
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'retried' })).toBeGreaterThanOrEqual(2);

    await smsc.start();
    const got = await smsc.waitFor(3, 15_000);
    await lk.idle();
    await sleep(500);
    expect(smsc.messages).toHaveLength(3);
    expect(got.map((m) => /D000\d/.exec(m.text)?.[0])).toEqual(['D0001', 'D0002', 'D0003']);
    const sent = await notifications(lk, { state: 'sent', channel: 'sms' });
    expect(sent).toHaveLength(3);
    expect(sent.every((r) => r.error === undefined)).toBe(true);
  });

  it('SMSC drops while a message is in flight: it is retried first, the rest stay behind it, each arrives once', async () => {
    s = await startAll({
      policyYaml: managerOnly(`  group_wait: 150ms
  failover: none
  retry: {attempts: 5, backoff: 100ms}`),
    });
    const { lk, smsc } = s;
    await lk.registry.putMany(['D0001', 'D0002', 'D0003'].map((id) => dealer(id)));
    smsc.ignoreNext(1); // the SMSC takes D0001's submit and never answers …
    await ingest(lk, dealerSeries('D0001', 60));
    await waitForRecords(lk, { channel: 'sms' }, 1);
    await ingest(lk, dealerSeries('D0002', 60)); // (queued behind it)
    await waitForRecords(lk, { channel: 'sms' }, 2);
    await sleep(100);
    await smsc.stop(); // … and goes down with it in flight
    for (const id of ['D0003']) {
      await ingest(lk, dealerSeries(id, 60));
      const a = await waitFor(`${id} fired`, async () => (await lk.alertsOf(id))[0]);
      await waitForRecords(lk, { alert: a.id, channel: 'sms' });
    }
    await sleep(500);
    await smsc.start();
    const got = await smsc.waitFor(3, 15_000);
    await lk.idle();
    await sleep(500);
    expect(smsc.messages).toHaveLength(3);
    expect(got.map((m) => /D000\d/.exec(m.text)?.[0])).toEqual(['D0001', 'D0002', 'D0003']);
    expect(await notifications(lk, { state: 'sent', channel: 'sms' })).toHaveLength(3);
    // The SMSC never answered D0001's submit, so it may have it: the retry says it may be a repeat;
    // the others never went out unanswered and carry no mark.
    expect(got.map((m) => m.text.startsWith(REPEAT_MARKER))).toEqual([true, false, false]);
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'resent_in_doubt' })).toBe(1);
  });

  it('a refused SMS fails over to email (Chinese intact) and shows as failed', async () => {
    s = await startAll({ policyYaml: FAST_POLICIES });
    const { lk, smsc, mail } = s;
    await lk.registry.putMany([dealer('D0001')]);
    smsc.rejectNext(0x0b); // ESME_RINVDSTADR: permanent
    await ingest(lk, dealerSeries('D0001', 60));
    const [email] = await mail.waitFor(1);
    expect(email!.to).toEqual(['c001@example.cn']);
    expect(email!.subject).toBe('【渠道预警·警告】D0001 核心渠道 D0001 核心渠道开卡量下降');
    expect(email!.text).toContain('以下渠道触发预警');
    expect(email!.text).toContain('D0001 核心渠道 D0001');
    expect(email!.html).toContain('核心渠道开卡量下降');

    const failed = await lk.get<{ notifications: { id: string; channel: string; contact: string; error?: { code: string; message: string } }[] }>(
      '/api/v1/notifications?state=failed',
    );
    expect(failed.body.notifications).toHaveLength(1);
    const sms = failed.body.notifications[0]!;
    expect(sms).toMatchObject({ channel: 'sms', contact: 'C001', error: { code: 'send_failed' } });
    expect(sms.error!.message).toContain('smpp_0x0000000b');
    const fo = await waitFor('the failover record sent', async () => (await notifications(lk, { channel: 'email', state: 'sent' }))[0]);
    expect(fo).toMatchObject({ contact: 'C001', failoverOf: sms.id, kind: 'alert' });
    expect(smsc.messages).toEqual([]);
    expect(await metric(lk, 'lookout_notifications_total', { channel: 'sms', outcome: 'failover' })).toBe(1);
  });

  it('a throttled SMS is retried in place; one that fails on every retry fails over to email', async () => {
    s = await startAll({
      policyYaml: managerOnly(`  group_wait: 150ms
  failover: {after: 3, to: email}
  retry: {attempts: 2, backoff: 100ms}`),
    });
    const { lk, smsc, mail } = s;
    await lk.registry.putMany([dealer('D0001'), dealer('D0002')]);
    smsc.rejectNext(0x58); // ESME_RTHROTTLED: passing
    await ingest(lk, dealerSeries('D0001', 60));
    const [first] = await smsc.waitFor(1);
    expect(first!.text).toContain('D0001');
    // The SMSC holds the message a moment before the worker marks its record sent.
    const r1 = await waitFor('the SMS record sent', async () => (await notifications(lk, { contact: 'C001', channel: 'sms', state: 'sent' }))[0]);
    expect(r1).toMatchObject({ state: 'sent', attempts: 2 });

    smsc.rejectNext(0x58, 2); // throttled on both allowed attempts
    await ingest(lk, dealerSeries('D0002', 60));
    const [email] = await mail.waitFor(1);
    expect(email!.subject).toContain('D0002');
    const failed = await notifications(lk, { state: 'failed' });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ channel: 'sms', attempts: 2, error: { code: 'send_failed' } });
    expect(failed[0]!.error!.message).toContain('smpp_0x00000058');
    expect(smsc.messages).toHaveLength(1);
  });

  it('email carries a signed ack link: GET shows it, POST acknowledges and stops the escalation', async () => {
    s = await startAll({
      org: orgWith({ C001: 'sms;email' }),
      env: { LOOKOUT_LINK_SECRET: 'a-test-link-secret-0123456789', LOOKOUT_PUBLIC_URL: 'https://lookout.example.cn/' },
      policyYaml: `
escalation:
  - id: warning
    steps:
      - notify: [manager]
      - {after: 2s, notify: [district_head]}
notify:
  group_wait: 150ms
  retry: {attempts: 3, backoff: 100ms}
`,
    });
    const { lk, smsc, mail } = s;
    await lk.registry.putMany([dealer('D0001')]);
    await ingest(lk, dealerSeries('D0001', 60));
    const [email] = await mail.waitFor(1);
    const [sms] = await smsc.waitFor(1);
    expect(sms!.to).toBe(phone('C001'));
    expect(sms!.text).not.toContain('/ack/');
    const m = /https?:\/\/[^\s"<>]+\/ack\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/.exec(email!.text);
    expect(m, email!.text).not.toBeNull();
    // Mustache escapes '/' in HTML as &#x2F; (a browser decodes it in the href).
    expect(email!.html.replaceAll('&#x2F;', '/')).toContain(`/ack/${m![1]}">`);
    // …and the short link to the alert's console page (LOOKOUT_PUBLIC_URL/a/<id>), in both parts.
    const [fired] = await lk.alertsOf('D0001');
    const consoleUrl = `https://lookout.example.cn/a/${encodeURIComponent(fired!.id)}`;
    expect(email!.text).toContain(`详情：${consoleUrl}`);
    expect(email!.html.replaceAll('&#x2F;', '/')).toContain(`href="${consoleUrl}">查看详情</a>`);
    const link = `${lk.url}/ack/${m![1]}`;

    // A link previewer's GET does not acknowledge.
    const page = await fetch(link);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post">');
    expect((await lk.alertsOf('D0001'))[0]!.state).toBe('firing');

    const post = await fetch(link, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
    expect(post.status).toBe(200);
    expect(((await post.json()) as { outcome: string }).outcome).toBe('acknowledged');
    const alert = (await lk.alertsOf('D0001'))[0]!;
    expect(alert.state).toBe('acknowledged');
    expect(alert.ack).toMatchObject({ by: 'C001', via: 'link' });

    await sleep(2500); // past the district head's step
    expect(smsc.messages).toHaveLength(1);
    expect(mail.messages).toHaveLength(1);
  });

  it('ingest-stall guard: a missing export raises one feed_stalled alert to ops, no dealer no-data SMS; it resolves when the export arrives', async () => {
    const rulesDir = tempRulesDir({
      'absence.yaml': `rules:
  - id: core_dealer_card_opening_absent
    name: 核心渠道开卡无数据
    kind: absence
    metric: card_opening
    scope: {kind: core_dealer}
    days: 1
    severity: warning
`,
    });
    dirs.push(rulesDir);
    s = await startAll({ now: '2026-11-22T05:00:00+08:00', policyYaml: FAST_POLICIES, env: { LOOKOUT_RULES_DIR: rulesDir } });
    const { lk, smsc, mail } = s;
    const ids = Array.from({ length: 20 }, (_, i) => `D${String(101 + i).padStart(4, '0')}`);
    await lk.registry.putMany(ids.map((id) => dealer(id)));
    // Eight days of exports up to 11-20; the 11-21 export never came.
    await ingest(lk, ids.flatMap((id) => dailySamples(id, 'card_opening', isoDays('2026-11-13', 8), () => 50)));
    await lk.idle();

    // Before 06:00 the export is not late yet.
    expect(await lk.feedGuard!.check()).toEqual([]);
    lk.manualClock.set('2026-11-22T06:30:00+08:00');
    expect(await lk.feedGuard!.check()).toEqual(['card_opening']);
    expect(await lk.feedGuard!.check()).toEqual(['card_opening']); // again: still one alert
    await lk.dayCloser!.absencePass();
    await lk.idle();

    const [email] = await mail.waitFor(1);
    expect(email!.to).toEqual(['ops@example.cn']);
    expect(email!.subject).toContain('feed:card_opening');
    expect(email!.subject).toContain('数据源中断');
    const stalled = await lk.alertsOf('feed:card_opening');
    expect(stalled).toHaveLength(1);
    expect(stalled[0]).toMatchObject({ rule: 'feed_stalled', severity: 'critical', state: 'firing' });
    await sleep(300);
    expect(mail.messages).toHaveLength(1);
    expect(smsc.messages).toEqual([]);
    for (const id of ids) expect(await lk.alertsOf(id)).toEqual([]);

    // The export arrives: the guard resolves, ops hears so, still no dealer alert.
    await ingest(lk, ids.flatMap((id) => dailySamples(id, 'card_opening', [LAST_DAY], () => 50)));
    await lk.idle();
    expect(await lk.feedGuard!.check()).toEqual([]);
    await lk.dayCloser!.absencePass();
    await lk.idle();
    expect((await lk.alertsOf('feed:card_opening'))[0]!.state).toBe('resolved');
    const [, resolved] = await mail.waitFor(2);
    expect(resolved!.to).toEqual(['ops@example.cn']);
    expect(resolved!.subject).toContain('恢复');
    expect(smsc.messages).toEqual([]);
    for (const id of ids) expect(await lk.alertsOf(id)).toEqual([]);
  });

  it('ingest-stall guard: a stalled feed stays stalled across midnight (no false “recovered”, no second page)', async () => {
    s = await startAll({ now: '2026-11-22T06:30:00+08:00', policyYaml: FAST_POLICIES });
    const { lk, mail } = s;
    const ids = Array.from({ length: 20 }, (_, i) => `D${String(101 + i).padStart(4, '0')}`);
    await lk.registry.putMany(ids.map((id) => dealer(id)));
    await ingest(lk, ids.flatMap((id) => dailySamples(id, 'card_opening', isoDays('2026-11-13', 8), () => 50)));
    await lk.idle();
    expect(await lk.feedGuard!.check()).toEqual(['card_opening']);
    await mail.waitFor(1);

    // 00:30 the next night: 11-21 never came, 11-22 is not due until 06:00.
    lk.manualClock.set('2026-11-23T00:30:00+08:00');
    await lk.feedGuard!.check();
    await lk.idle();
    await sleep(300);
    expect((await lk.alertsOf('feed:card_opening'))[0]).toMatchObject({ state: 'firing', episode: 1 });
    expect(mail.messages).toHaveLength(1);

    // 06:30: 11-22 is missing too — the same alert, still one page.
    lk.manualClock.set('2026-11-23T06:30:00+08:00');
    expect(await lk.feedGuard!.check()).toEqual(['card_opening']);
    await lk.idle();
    await sleep(300);
    expect((await lk.alertsOf('feed:card_opening'))[0]).toMatchObject({ state: 'firing', episode: 1 });
    expect(mail.messages).toHaveLength(1);
  });

  it('a DELIVRD receipt marks the record delivered and is counted', async () => {
    s = await startAll({ policyYaml: FAST_POLICIES });
    const { lk, smsc } = s;
    await lk.registry.putMany([dealer('D0001')]);
    await ingest(lk, dealerSeries('D0001', 60));
    const [sms] = await smsc.waitFor(1);
    const rec = await waitFor('the record sent', async () => (await notifications(lk, { contact: 'C001', state: 'sent' }))[0]);
    expect(rec.providerIds).toEqual(sms!.messageIds);
    await smsc.sendReceipt(sms!.messageIds[0]!, 'DELIVRD');
    const delivered = await waitFor('the record delivered', async () => (await notifications(lk, { contact: 'C001', state: 'delivered' }))[0]);
    expect(delivered.id).toBe(rec.id);
    expect(delivered.receipts).toMatchObject([{ providerId: sms!.messageIds[0], status: 'delivered', stat: 'DELIVRD' }]);
    expect(await metric(lk, 'lookout_sms_receipts_total', { status: 'delivered' })).toBe(1);
  });

  it('receipts that arrive right behind the submit (before the send is recorded), one per segment, are all kept', async () => {
    // Shipped grouped SMS always fit one segment; an operator's longer group template does not.
    const templates = mkdtempSync(join(tmpdir(), 'lookout-templates-'));
    cpSync(join(ROOT, 'templates', 'zh'), templates, { recursive: true });
    writeFileSync(join(templates, 'sms-group.mustache'), `${'各位渠道经理请注意，以下渠道的业务量出现异常，请尽快核实经营情况并回复确认。'.repeat(2)}{{#alerts}}{{entityId}}({{ackCode}}){{/alerts}}`);
    s = await startAll({ env: { LOOKOUT_TEMPLATES_DIR: templates }, policyYaml: managerOnly(`  group_wait: 300ms
  retry: {attempts: 3, backoff: 100ms}`) });
    const { lk, smsc } = s;
    smsc.receiptOnSubmit('DELIVRD');
    const ids = Array.from({ length: 8 }, (_, i) => `D${String(i + 1).padStart(4, '0')}`);
    await lk.registry.putMany(ids.map((id) => dealer(id)));
    // One export, eight dealers of one manager: one grouped SMS of several segments.
    await ingest(lk, ids.flatMap((id) => dealerSeries(id, 60)));
    const [sms] = await smsc.waitFor(1);
    expect(sms!.segments).toBeGreaterThan(1);
    const delivered = await waitFor('the record delivered', async () => (await notifications(lk, { contact: 'C001', state: 'delivered' }))[0]);
    expect(delivered.providerIds).toEqual(sms!.messageIds);
    expect(delivered.receipts.map((r) => r.providerId).sort()).toEqual([...sms!.messageIds].sort());
    expect(await metric(lk, 'lookout_sms_receipts_total', { status: 'delivered' })).toBe(sms!.segments);
  });
});

describe('notifier crash between escalation steps', () => {
  let smsc: SmppPeer;
  let mail: SmtpPeer;
  let rulesDir: string;
  let configDir: string;
  let dataDir: string;
  let child: ChildProcess | undefined;
  let b: TestLookout | undefined;
  const prefix = freshPrefix('crash');

  beforeAll(async () => {
    await ensureBuilt();
    smsc = await startSmppPeer();
    mail = await startSmtpPeer();
    rulesDir = tempRulesDir({ 'policies.yaml': FAST_POLICIES });
    configDir = orgDir(ORG);
    dataDir = mkdtempSync(join(tmpdir(), 'lookout-data-'));
  }, 180_000);
  afterAll(async () => {
    child?.kill('SIGKILL');
    await b?.cleanup();
    const r = connect();
    await dropPrefix(r, prefix);
    r.disconnect();
    await smsc.close();
    await mail.close();
    for (const d of [rulesDir, configDir, dataDir]) rmSync(d, { recursive: true, force: true });
  });

  it('a `lookout start` killed with SIGKILL after step 1: a new instance sends step 2 once and never step 1 again', async () => {
    const port = await freePort();
    const env = {
      REDIS_URL: testRedisUrl(),
      LOOKOUT_PREFIX: prefix,
      LOOKOUT_HTTP_PORT: String(port),
      LOOKOUT_HTTP_HOST: '127.0.0.1',
      LOOKOUT_CONFIG_DIR: configDir,
      LOOKOUT_DATA_DIR: dataDir,
      LOOKOUT_RULES_DIR: rulesDir,
      LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=200`,
      LOOKOUT_SMTP_URL: mail.url,
      LOOKOUT_EVAL_DEBOUNCE_MS: '0',
      LOG_LEVEL: 'warn',
      LOOKOUT_NOW: PINNED_NOW,
    };
    // Instance A is a real daemon whose clock starts at PINNED_NOW: its data ends the day before.
    const aStarted = performance.now();
    child = spawnCli(['start'], { env });
    const exited = collect(child, 60_000);
    const base = `http://127.0.0.1:${port}`;
    await waitFor('instance A ready', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 20_000);
    const cal = new Calendar('Asia/Shanghai');
    const today = cal.dayOf(PINNED_NOW_MS);
    const days = isoDays(Calendar.isoDay(today - 29), 29);
    const yesterday = days[days.length - 1]!;
    const put = await fetch(`${base}/api/v1/entities`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify([dealer('D0001')]) });
    expect(put.status).toBe(200);
    const res = await fetch(`${base}/api/v1/samples`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(dailySamples('D0001', 'card_opening', days, (d) => (d === yesterday ? 40 : 100))),
    });
    expect(res.status).toBe(202);

    // Step 1: manager and district head, at once.
    const first = await smsc.waitFor(2, 10_000);
    expect(first.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1')].sort());
    // Both sends are recorded (the only window left is between the gateway's answer and this).
    const redis = connect();
    const records = new NotificationStore(redis, keyspace(prefix));
    await waitFor('step 1 recorded as sent', async () => (await records.list({ state: 'sent' })).length === 2);
    // … and its jobs completed, so the kill lands between the steps (a job still active would stall
    // until its lock expires, a minute later, and keep instance B from being idle).
    const stepOneQueues = [QUEUES.dispatch, QUEUES.sms, QUEUES.email].map((q) => new Queue(q, { connection: redis, prefix }));
    await waitFor('step 1 jobs completed', async () => {
      for (const q of stepOneQueues) {
        const c = await q.getJobCounts('active', 'waiting', 'prioritized');
        if (Object.values(c).some((n) => n > 0)) return false;
      }
      return true;
    });
    await Promise.all(stepOneQueues.map((q) => q.close()));
    redis.disconnect();
    child.kill('SIGKILL');
    const out = await exited;
    expect(out.signal).toBe('SIGKILL');
    child = undefined;
    expect(smsc.messages).toHaveLength(2); // killed before step 2 (1.5 s after the alert fired)

    // Instance B: same deployment, same config; the pending step survives in Redis.
    b = await startTestLookout({ prefix, env: { LOOKOUT_CONFIG_DIR: configDir, LOOKOUT_DATA_DIR: dataDir, LOOKOUT_RULES_DIR: rulesDir, LOOKOUT_SMS_URL: `${smsc.url}?bind_wait_ms=200`, LOOKOUT_SMTP_URL: mail.url }, clock: new ManualClock(PINNED_NOW_MS + (performance.now() - aStarted)) });
    const all = await smsc.waitFor(3, 10_000);
    expect(all[2]!.to).toBe(phone('RH1'));
    await b.idle();
    await sleep(1500);
    expect(smsc.messages.map((m) => m.to).sort()).toEqual([phone('C001'), phone('DH1'), phone('RH1')].sort());
    const rh = (await notifications(b, { contact: 'RH1' }))[0]!;
    expect(rh).toMatchObject({ state: 'sent', items: [{ step: 1, entity: 'D0001' }] });
    expect(await alertId(b, 'D0001')).toBeTruthy();
  });
});
