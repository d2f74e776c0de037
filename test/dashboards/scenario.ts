// A small simulated branch (the demo generator: 10 core dealers, 100 grassroots outlets, 20 own
// halls, 5 campaigns) run through a real Lookout, so that every dashboard has something to show.
//
// The story, in phases a scraper sees one after another (Prometheus's increase() ignores the
// first value of a new series, so each kind of event happens in two phases):
//   history    five weeks of daily exports;
//   phase 1    three live days with the demo's anomalies (plus an own hall whose satisfaction
//              sank for a week), except that only two of the four
//              dropping dealers are in yesterday's export yet; alerts notify and climb their
//              (test-scaled) chains; a manager acknowledges by SMS reply, a stranger replies;
//              delivery receipts (one undelivered); a sender with bugs (rejected samples, one
//              for an entity nobody registered); the mail server is busy once (451, retried)
//              and then refuses a message (550, failed);
//   phase 2    the corrected export brings the other two drops; the surging campaign's
//              complaints are corrected upward (warning → critical, the marketing lead is paged
//              by SMS and email, and the mail server refuses one again); a second manager
//              acknowledges; more receipts, replies and rejects; the first acknowledged dealer's
//              export is corrected back (resolved) and the silent outlet's export arrives
//              (its absence alert resolves); the configuration is reloaded;
//   phase 3    a dealer nobody acknowledged has its export corrected (resolved after climbing
//              its chain); another reload. The second acknowledged dealer stays open.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Calendar } from '../../src/domain/clock.js';
import type { Sample } from '../../src/domain/sample.js';
import { injectAnomalies, samplesForDay, simulateBranch, type Anomaly, type Branch } from '../../src/demo/simulate.js';
import { readOutbox } from '../../src/notify/channels/outbox.js';
import { startTestLookout, waitFor, type IngestBody, type TestLookout } from '../support/lookout.js';
import { FAST_POLICIES, policies } from '../support/org.js';
import { startSmtpPeer, type SmtpPeer } from '../support/smtp-peer.js';

/** Monday morning in the branch's time zone: outside quiet hours, the rota just handed over. */
export const SCENARIO_NOW = '2026-11-23T10:30:00+08:00';
const TZ = 'Asia/Shanghai';

export interface ScenarioLookout {
  readonly lk: TestLookout;
  readonly branch: Branch;
  readonly configDir: string;
  readonly smtp: SmtpPeer;
}

/** What happened, for the test's messages. */
export type Facts = Record<string, number | string>;


function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** contacts.csv and rotas.yaml of the branch, as `lookout demo` writes them. */
function writeOrg(dir: string, branch: Branch): void {
  const rows = branch.contacts.map((c) => [c.id, c.name, c.phone, c.email, c.role, c.scope, c.channels].map(csvCell).join(','));
  writeFileSync(join(dir, 'contacts.csv'), `id,name,phone,email,role,scope,channels\n${rows.join('\n')}\n`);
  const oncall = branch.contacts.filter((c) => c.role === 'service_oncall').map((c) => c.id);
  const monday = branch.today - ((Calendar.weekday(branch.today) + 6) % 7) - 7;
  writeFileSync(
    join(dir, 'rotas.yaml'),
    `rotas:\n  service_oncall:\n    start: ${Calendar.isoDay(monday)}\n    handover: "09:00"\n    people: [${oncall.join(', ')}]\n`,
  );
}

/** Start a Lookout for the scenario (nothing fed yet), so a scraper can watch from the start. */
export async function startScenarioLookout(): Promise<ScenarioLookout> {
  const today = new Calendar(TZ).dayOf(Date.parse(SCENARIO_NOW));
  const branch = simulateBranch({ seed: 20261122, today, dealers: 10, outlets: 100, halls: 20, campaigns: 5, historyDays: 35, timeZone: TZ });
  const configDir = mkdtempSync(join(tmpdir(), 'lookout-dash-cfg-'));
  writeOrg(configDir, branch);
  const smtp = await startSmtpPeer();
  const lk = await startTestLookout({
    now: SCENARIO_NOW,
    env: { LOOKOUT_CONFIG_DIR: configDir, LOOKOUT_TZ: TZ, LOOKOUT_SMTP_URL: smtp.url },
    policies: policies(FAST_POLICIES),
  });
  await lk.registry.putMany([...branch.entities]);
  return { lk, branch, configDir, smtp };
}

/**
 * Feed and exercise the Lookout; `between` runs between the phases (the caller waits there for
 * a few scrapes).
 */
export async function runScenario(s: ScenarioLookout, between: () => Promise<void>): Promise<Facts> {
  const { lk, branch, smtp } = s;
  const facts: Facts = {};
  const today = branch.today;
  const yesterday = today - 1;
  // The demo's anomalies, and an own hall whose SMS satisfaction sank for the last week.
  const hall = branch.entities.find((e) => e.kind === 'own_hall')!;
  const anomalies: Anomaly[] = [
    ...injectAnomalies(branch, today),
    { entity: hall.id, metric: 'satisfaction', from: today - 8, to: today, factor: 0.82, description: `${hall.id} 短信满意度下降` },
  ];
  const drops = anomalies.filter((a) => a.metric === 'card_opening');
  const late = new Set(drops.slice(0, 2));
  const firstWave = anomalies.filter((a) => !late.has(a));
  const contacts = new Map(branch.contacts.map((c) => [c.id, c]));
  const entities = new Map(branch.entities.map((e) => [e.id, e]));
  const only = (samples: Sample[], entity: string, metric: string) => samples.filter((x) => x.entity === entity && x.metric === metric);

  // ---- history ---------------------------------------------------------------------------
  let n = 0;
  for (const day of branch.days.filter((d) => d < today - 3)) {
    const samples = samplesForDay(branch, day, anomalies);
    n += samples.length;
    await lk.sink.enqueue(samples, 'demo-history');
  }
  await lk.idle(30_000);
  facts.historySamples = n;
  await between();

  // ---- phase 1 ---------------------------------------------------------------------------
  smtp.failNext(451);
  smtp.failNext(550);
  for (let day = today - 3; day < today; day++) {
    await lk.sink.enqueue(samplesForDay(branch, day, day === yesterday ? firstWave : anomalies), 'demo-export');
    await lk.idle(30_000);
    if (day === yesterday) await lk.dayCloser?.absencePass();
    await lk.idle(30_000);
  }
  await waitFor('SMS in the outbox', async () => (await readOutbox(lk.config.outboxDir, 'sms')).length > 0 || undefined, 10_000);
  /** Every firing critical dealer alert's chain has run its second step (1.5 s after the first). */
  const chainsClimbed = () =>
    waitFor('the critical chains to reach their second step', async () => {
      const critical = (await lk.alerts.list({ state: 'firing' })).filter((a) => a.rule === 'core_dealer_card_opening_drop' && a.severity === 'critical');
      const levels = await Promise.all(critical.map((a) => lk.redis.hget(lk.keys.escalation(a.fingerprint), 'level')));
      return critical.length > 0 && levels.every((l) => Number(l) >= 2);
    }, 15_000);
  await chainsClimbed();
  await lk.idle(30_000);

  /** A firing critical dealer alert: its manager replies `确认 <code>` after `minutes`. */
  const ackByReply = async (minutes: number, not: readonly string[]) => {
    const alert = (await lk.alerts.list({ state: 'firing' })).find((a) => a.rule === 'core_dealer_card_opening_drop' && a.severity === 'critical' && !not.includes(a.entity));
    if (!alert) throw new Error('no firing critical dealer alert to acknowledge');
    const code = await lk.redis.hget(lk.keys.escalation(alert.fingerprint), 'ackCode');
    const manager = contacts.get(entities.get(alert.entity)?.manager ?? '');
    if (!code || !manager) throw new Error(`no ack code or manager for ${alert.entity}`);
    lk.manualClock.advance(minutes * 60_000);
    const res = await lk.notifier!.reply({ from: manager.phone, text: `确认 ${code}`, via: 'outbox' });
    if (res.outcome !== 'acked') throw new Error(`the reply about ${alert.entity} was ${res.outcome}`);
    await lk.notifier!.reply({ from: '13912345678', text: `确认 ${code}`, via: 'outbox' });
    return alert.entity;
  };
  const acked = [await ackByReply(8, [])];

  let receipted = 0;
  const receipts = async (undelivered: number) => {
    const sms = (await readOutbox(lk.config.outboxDir, 'sms')).slice(receipted);
    receipted += sms.length;
    sms.forEach((m, i) => {
      const ok = i >= undelivered;
      lk.notifier!.receipt({ providerId: `outbox-${m.id}`, status: ok ? 'delivered' : 'failed', stat: ok ? 'DELIVRD' : 'UNDELIV' });
    });
    return sms.length;
  };
  await receipts(1);

  const ts = new Date(lk.clock.now() - 3_600_000).toISOString();
  const buggySender = async () => {
    const res = await lk.post<IngestBody>('/api/v1/samples', [
      { metric: 'card_opening', entity: 'D0001', value: -3, ts },
      { metric: 'card_openings', entity: 'D0001', value: 3, ts },
      { metric: 'air_recharge', entity: 'G0001', value: 4, ts: '2026-02-30T10:00:00+08:00' },
      { metric: 'card_opening', entity: 'D0002', value: 'many', ts },
      { metric: 'air_recharge', entity: 'G9999', value: 4, ts },
    ]);
    return res.body.rejected.length;
  };
  facts.rejected = await buggySender();
  await lk.idle(30_000);
  facts.firingAfterPhase1 = (await lk.alerts.list({ state: 'firing' })).length;
  await between();

  // ---- phase 2 ---------------------------------------------------------------------------
  smtp.failNext(550);
  await lk.sink.enqueue(samplesForDay(branch, yesterday, anomalies), 'demo-export');
  const surge = anomalies.find((a) => a.metric === 'complaints');
  if (surge) {
    const more: Anomaly = { ...surge, factor: surge.factor * 1.6 };
    await lk.sink.enqueue(only(samplesForDay(branch, yesterday, [more]), surge.entity, 'complaints'), 'demo-export');
  }
  await lk.idle(30_000);
  await chainsClimbed();
  await lk.idle(30_000);
  acked.push(await ackByReply(5, acked));
  facts.acked = acked.join(',');
  await receipts(1);
  facts.rejected = Number(facts.rejected) + (await buggySender());

  lk.manualClock.advance(20 * 60_000);
  const normal = samplesForDay(branch, yesterday, []);
  /** Yesterday's card openings corrected to the dealer's baseline (the same-weekday median). */
  const corrected = (entity: string): Sample[] => {
    const weeks = [7, 14, 21, 28].map((k) => only(samplesForDay(branch, yesterday - k, []), entity, 'card_opening')[0]?.value ?? 0).sort((a, b) => a - b);
    return only(normal, entity, 'card_opening').map((x) => ({ ...x, value: Math.round((weeks[1]! + weeks[2]!) / 2) }));
  };
  await lk.sink.enqueue(corrected(acked[0]!), 'demo-export');
  const silent = anomalies.find((a) => a.silent);
  if (silent) await lk.sink.enqueue(only(normal, silent.entity, silent.metric), 'demo-export');
  await lk.idle(30_000);
  facts.reload = (await lk.reload()).ok ? 'ok' : 'error';
  await lk.idle(30_000);
  await between();

  // ---- phase 3 ---------------------------------------------------------------------------
  lk.manualClock.advance(15 * 60_000);
  const third = (await lk.alerts.list({ state: 'firing' })).find((a) => a.rule === 'core_dealer_card_opening_drop' && a.severity === 'critical');
  if (!third) throw new Error('no firing critical dealer alert left to resolve');
  facts.resolved = `${acked[0]},${silent?.entity ?? ''},${third.entity}`;
  await lk.sink.enqueue(corrected(third.entity), 'demo-export');
  await lk.idle(30_000);
  if (!(await lk.reload()).ok) facts.reload = 'error';
  await lk.idle(30_000);
  facts.sms = receipted + (await receipts(0));
  facts.mails = smtp.messages.length;
  facts.firing = (await lk.alerts.list({ state: 'firing' })).length;
  return facts;
}
