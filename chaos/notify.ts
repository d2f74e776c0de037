// Scenarios (b) and (d) of `npm run chaos`: the daemon pages a real SMSC (smpp server) and a real
// SMTP server while it is SIGKILLed during evaluation and notification, and while the SMSC is down.
// Each injected dealer has its own manager, district head and region head, so every phone expects
// exactly one SMS: a second one is a duplicate, which must carry the repeat marker.

import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPEAT_MARKER } from '../src/notify/repeat-marker.js';
import { startSmppPeer, type SmppPeer } from '../test/support/smpp-peer.js';
import { startSmtpPeer, type SmtpPeer } from '../test/support/smtp-peer.js';

const DAY_MS = 86_400_000;
/** Region-head step delay: short enough to fall inside the run, long enough for kills to land before it. */
const ESCALATE_MS = 3000;

export interface NotifyDaemon {
  readonly url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface NotifyRow {
  readonly scenario: string;
  readonly figures: Record<string, number | string>;
  readonly failures: string[];
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rand = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

async function call(url: string, method = 'GET', body?: unknown): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, text: await res.text() };
  } catch {
    return { status: 0, text: '' };
  }
}

/** Dealer i's contacts: manager, district head, region head, each with a phone of its own. */
function contactsOf(i: number) {
  const n = String(i).padStart(4, '0');
  return [
    { id: `M${n}`, role: 'channel_manager', phone: `1380000${n}`, scope: `X-${n}` },
    { id: `DH${n}`, role: 'district_head', phone: `1390000${n}`, scope: `X-${n}` },
    { id: `RH${n}`, role: 'region_head', phone: `1370000${n}`, scope: `R-${n}` },
  ];
}

export const MAX_DEALERS = 200;

/** The config dir (contacts.csv) and rules dir (shipped rules + fast policies) of the chaos org. */
export function chaosOrg(root: string, dir: string): { configDir: string; rulesDir: string } {
  const configDir = mkdtempSync(join(dir, 'org-'));
  const rows = Array.from({ length: MAX_DEALERS }, (_, i) => contactsOf(i).map((c) => [c.id, `联系人${c.id}`, c.phone, `${c.id.toLowerCase()}@example.cn`, c.role, c.scope, ''].join(',')));
  writeFileSync(join(configDir, 'contacts.csv'), `id,name,phone,email,role,scope,channels\n${rows.flat().join('\n')}\nOPS,运维,,ops@example.cn,ops,,\n`);
  const rulesDir = mkdtempSync(join(dir, 'rules-'));
  cpSync(join(root, 'rules'), rulesDir, { recursive: true });
  writeFileSync(
    join(rulesDir, 'policies.yaml'),
    `escalation:
  - id: critical
    match: {severity: critical}
    steps:
      - notify: [manager, district_head]
      - {after: ${ESCALATE_MS}ms, notify: [region_head]}
  - id: warning
    match: {severity: warning}
    steps: [{notify: [manager]}]
inhibit:
  - source: {severity: critical}
    target: {severity: warning}
    equal: [entity]
notify:
  group_wait: 150ms
  sms_per_hour: 100
  # The notifier fails over after \`after\` attempts of one message: keep it past an 8 s SMSC outage.
  failover: {after: 6, to: email}
  retry: {attempts: 6, backoff: 1s}
`,
  );
  return { configDir, rulesDir };
}

function dealer(i: number) {
  const n = String(i).padStart(4, '0');
  return { id: `N${n}`, kind: 'core_dealer', name: `核心渠道 N${n}`, region: `R-${n}`, district: `X-${n}`, manager: `M${n}`, attrs: { monthly_fee: 120, contract_end: '2027-06-30' } };
}

/** Five weeks of 100 card openings a day, then 40 yesterday (UTC): a critical drop. */
function history(i: number, now: number) {
  const id = dealer(i).id;
  const yesterday = Math.floor(now / DAY_MS) * DAY_MS - DAY_MS;
  return Array.from({ length: 36 }, (_, k) => {
    const d = new Date(yesterday - (35 - k) * DAY_MS).toISOString().slice(0, 10);
    return { metric: 'card_opening', entity: id, value: k === 35 ? 40 : 100, ts: `${d}T12:00:00Z`, id: `${id}/card_opening/${d}` };
  });
}

/** Register and feed dealer i; true once both were answered 2xx (then it is the daemon's to keep). */
async function inject(url: string, i: number): Promise<boolean> {
  const put = await call(`${url}/api/v1/entities`, 'PUT', [dealer(i)]);
  if (put.status !== 200 && put.status !== 201) return false;
  const post = await call(`${url}/api/v1/samples`, 'POST', history(i, new Date().getTime()));
  return post.status === 202;
}

async function pages(url: string, path: string, key: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await call(`${url}${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
    const body = JSON.parse(res.text) as Record<string, unknown>;
    out.push(...((body[key] as Record<string, unknown>[]) ?? []));
    cursor = body.next as string | undefined;
    if (!cursor) return out;
  }
  throw new Error(`GET ${path}: more than 100 pages`);
}

/** Wait until every expected phone got an SMS (or the time is up), then a little longer for duplicates. */
async function settle(smsc: SmppPeer, phones: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const want = new Set(phones);
  while (performance.now() < deadline) {
    const got = new Set(smsc.messages.map((m) => m.to));
    if ([...want].every((p) => got.has(p))) break;
    await sleep(200);
  }
  await sleep(2000);
}

interface Tally {
  readonly expectedAlerts: number;
  readonly fired: number;
  readonly expectedSms: number;
  readonly delivered: number;
  readonly duplicates: number;
  readonly unmarked: number;
  readonly unexpected: number;
  readonly failedRecords: number;
  readonly mails: number;
  readonly failures: string[];
}

async function tally(url: string, smsc: SmppPeer, mail: SmtpPeer, dealers: readonly number[]): Promise<Tally> {
  const failures: string[] = [];
  const ids = new Set(dealers.map((i) => dealer(i).id));
  const alerts = [...(await pages(url, '/api/v1/alerts?state=firing', 'alerts')), ...(await pages(url, '/api/v1/alerts?state=acknowledged', 'alerts'))];
  const firedFor = new Set(alerts.map((a) => String(a.entity)).filter((e) => ids.has(e)));
  const fired = alerts.filter((a) => ids.has(String(a.entity))).length;
  if (firedFor.size < ids.size) failures.push(`${ids.size - firedFor.size} alerts not fired: ${[...ids].filter((e) => !firedFor.has(e)).slice(0, 5).join(', ')}`);
  if (fired > ids.size) failures.push(`${fired - ids.size} alerts fired twice`);

  const expected = new Set(dealers.flatMap((i) => contactsOf(i).map((c) => c.phone)));
  const byPhone = new Map<string, string[]>();
  for (const m of smsc.messages) byPhone.set(m.to, [...(byPhone.get(m.to) ?? []), m.text]);
  const mailed = new Set(mail.messages.flatMap((m) => m.to));
  let delivered = 0;
  let duplicates = 0;
  let unmarked = 0;
  let unexpected = 0;
  const missing: string[] = [];
  for (const phone of expected) {
    const texts = byPhone.get(phone) ?? [];
    if (texts.length) delivered++;
    // An SMS that failed over to email is delivered too (failover is the policy's promise).
    else if (!mailed.has(`${contactIdOf(phone).toLowerCase()}@example.cn`)) missing.push(phone);
    duplicates += Math.max(0, texts.length - 1);
    unmarked += texts.slice(1).filter((t) => !t.startsWith(REPEAT_MARKER)).length;
  }
  for (const phone of byPhone.keys()) if (!expected.has(phone)) unexpected += byPhone.get(phone)!.length;
  const failedRecords = (await pages(url, '/api/v1/notifications?state=failed', 'notifications')).length;
  if (missing.length) failures.push(`${missing.length} SMS lost (e.g. to ${contactIdOf(missing[0]!)})`);
  if (unmarked) failures.push(`${unmarked} duplicate SMS without ${REPEAT_MARKER}`);
  if (unexpected) failures.push(`${unexpected} SMS to phones nobody expected`);
  if (failedRecords) failures.push(`${failedRecords} notification records failed`);
  return { expectedAlerts: ids.size, fired, expectedSms: expected.size, delivered, duplicates, unmarked, unexpected, failedRecords, mails: mail.messages.length, failures };
}

function contactIdOf(phone: string): string {
  const role = { '138': 'M', '139': 'DH', '137': 'RH' }[phone.slice(0, 3)] ?? '?';
  return `${role}${phone.slice(-4)}`;
}

function figures(t: Tally): Record<string, number> {
  return {
    'alerts expected': t.expectedAlerts,
    'alerts fired': t.fired,
    'SMS expected': t.expectedSms,
    'SMS delivered': t.delivered,
    'SMS duplicated': t.duplicates,
    'duplicates unmarked': t.unmarked,
    'mails (failover)': t.mails,
    'records failed': t.failedRecords,
  };
}

export interface Peers {
  readonly smsc: SmppPeer;
  readonly mail: SmtpPeer;
}

export async function startPeers(): Promise<Peers> {
  return { smsc: await startSmppPeer(), mail: await startSmtpPeer() };
}

/** (b) SIGKILL the daemon at random points while it evaluates fresh drops and sends; restart each time. */
export async function killDuringNotify(daemon: NotifyDaemon, peers: Peers, kills: number, perRound: number): Promise<NotifyRow> {
  const injected: number[] = [];
  let pending: number[] = [];
  let next = 0;
  let killed = 0;
  const t0 = performance.now();
  for (let k = 0; k < kills; k++) {
    await daemon.start();
    const fresh = Array.from({ length: perRound }, () => next++);
    const todo = [...pending, ...fresh];
    pending = [];
    for (const i of todo) {
      if (await inject(daemon.url, i)) injected.push(i);
      else pending.push(i);
    }
    // Land anywhere in evaluation, the first step's sends and the delayed region-head step.
    await sleep(rand(0, ESCALATE_MS + 1000));
    await daemon.kill();
    killed++;
  }
  await daemon.start();
  for (const i of pending) if (await inject(daemon.url, i)) injected.push(i);
  const phones = injected.flatMap((i) => contactsOf(i).map((c) => c.phone));
  await settle(peers.smsc, phones, 90_000);
  const t = await tally(daemon.url, peers.smsc, peers.mail, injected);
  await daemon.stop();
  return {
    scenario: 'b. SIGKILL during evaluation and notification',
    figures: { kills: killed, ...figures(t), 'seconds': Math.round((performance.now() - t0) / 1000) },
    failures: t.failures,
  };
}

/**
 * (e) SIGKILL inside the send window, on purpose: the SMSC takes a first-step SMS and holds its
 * answer, and the daemon is killed right then. Its record says `sending`; the next daemon must send
 * it again once, marked as a repeat, and never a third time.
 */
export async function killInSendWindow(daemon: NotifyDaemon, peers: Peers, kills: number, firstDealer: number): Promise<NotifyRow> {
  const { smsc, mail } = peers;
  const before = smsc.messages.length;
  const mailsBefore = mail.messages.length;
  const injected: number[] = [];
  const held: string[] = [];
  const failures: string[] = [];
  const t0 = performance.now();
  for (let k = 0; k < kills; k++) {
    await daemon.start();
    const i = firstDealer + k;
    const phones = new Set(contactsOf(i).map((c) => c.phone));
    const taken = new Promise<string>((resolve) => smsc.holdNext((m) => phones.has(m.to) && !m.text.startsWith(REPEAT_MARKER), (m) => resolve(m.to)));
    if (await inject(daemon.url, i)) injected.push(i);
    else failures.push(`dealer ${dealer(i).id} not accepted`);
    const to = await Promise.race([taken, sleep(30_000).then(() => undefined)]);
    await daemon.kill();
    if (to) held.push(to);
    else failures.push(`no SMS of dealer ${dealer(i).id} reached the SMSC within 30 s`);
  }
  await daemon.start();
  const phones = injected.flatMap((i) => contactsOf(i).map((c) => c.phone));
  // A held message's job is found stalled when its lock expires (60 s), then sent again.
  const deadline = performance.now() + 180_000;
  const repeated = (p: string) => smsc.messages.slice(before).filter((m) => m.to === p).some((m) => m.text.startsWith(REPEAT_MARKER));
  while (performance.now() < deadline && !held.every(repeated)) await sleep(500);
  await settle(smsc, phones, 60_000);
  const scoped: SmppPeer = { ...smsc, messages: smsc.messages.slice(before) };
  const scopedMail: SmtpPeer = { ...mail, messages: mail.messages.slice(mailsBefore) };
  const t = await tally(daemon.url, scoped, scopedMail, injected);
  const marked = held.filter(repeated).length;
  if (marked < held.length) failures.push(`${held.length - marked} SMS taken in the send window were not sent again marked ${REPEAT_MARKER}`);
  const thirds = held.filter((p) => scoped.messages.filter((m) => m.to === p).length > 2).length;
  if (thirds) failures.push(`${thirds} SMS sent a third time`);
  await daemon.stop();
  return {
    scenario: 'e. SIGKILL in the send window',
    figures: { kills: held.length, 'held at the SMSC': held.length, 'repeats marked': marked, ...figures(t), seconds: Math.round((performance.now() - t0) / 1000) },
    failures: [...failures, ...t.failures],
  };
}

/** (d) The SMSC down while alerts fire, then back on the same port: every SMS once, in order per phone. */
export async function smscDownAndBack(daemon: NotifyDaemon, peers: Peers, downMs: number, dealers: number): Promise<NotifyRow> {
  const { smsc, mail } = peers;
  const before = smsc.messages.length;
  const mailsBefore = mail.messages.length;
  await daemon.start();
  await smsc.stop();
  const first = MAX_DEALERS - dealers;
  const list = Array.from({ length: dealers }, (_, i) => first + i);
  const failures: string[] = [];
  for (const i of list) if (!(await inject(daemon.url, i))) failures.push(`dealer ${dealer(i).id} not accepted`);
  await sleep(downMs);
  await smsc.start();
  const phones = list.flatMap((i) => contactsOf(i).map((c) => c.phone));
  await settle(smsc, phones, 90_000);
  const scoped: SmppPeer = { ...smsc, messages: smsc.messages.slice(before) };
  const scopedMail: SmtpPeer = { ...mail, messages: mail.messages.slice(mailsBefore) };
  const t = await tally(daemon.url, scoped, scopedMail, list);
  // In order per phone: the first-step SMS of a dealer reaches its manager before any repeat does.
  const outOfOrder = scoped.messages.filter((m, idx) => m.text.startsWith(REPEAT_MARKER) && !scoped.messages.slice(0, idx).some((p) => p.to === m.to)).length;
  if (outOfOrder) failures.push(`${outOfOrder} repeats arrived before their first SMS`);
  if (t.duplicates) failures.push(`${t.duplicates} SMS delivered more than once`);
  await daemon.stop();
  return {
    scenario: 'd. SMSC down and back',
    figures: { 'SMSC down ms': downMs, ...figures(t), 'out of order': outOfOrder },
    failures: [...failures, ...t.failures],
  };
}
