#!/usr/bin/env node
// Feed the example branch in deploy/config into a running Lookout (the compose stack), so that
// Prometheus, Grafana, Mailpit and the outbox have something to show. docs/deploy.md.
//
//   node deploy/feed-demo.mjs [--url http://localhost:8080] [--token TOKEN] [--tz Asia/Shanghai]
//
// Sends 30 days of daily history for the six entities of deploy/config/entities.csv through
// POST /api/v1/samples, with three anomalies in the last days:
//   D0001 (core dealer)   card_opening yesterday at ~30 % of its usual level  → critical
//   G0001 (outlet ≥ 50 元) air_recharge at ~20 % for the last three days      → warning
//   C001  (campaign)      complaints today ~5× the usual (≈ 4 per 10k)        → warning
// Every sample has an id, so running it again replaces the same samples (nothing is counted
// twice). Plain Node 20, no dependencies. Env: LOOKOUT_URL, LOOKOUT_TOKEN, LOOKOUT_TZ.

import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.LOOKOUT_URL ?? 'http://localhost:8080' },
    token: { type: 'string', default: process.env.LOOKOUT_TOKEN ?? '' },
    tz: { type: 'string', default: process.env.LOOKOUT_TZ ?? 'Asia/Shanghai' },
    days: { type: 'string', default: '30' },
    wait: { type: 'string', default: '60' },
  },
});
const base = values.url.replace(/\/+$/, '');
const headers = { 'content-type': 'application/json', ...(values.token ? { authorization: `Bearer ${values.token}` } : {}) };
const DAYS = Number(values.days);

// Deterministic noise (mulberry32), so every run sends the same values.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20261122);
const noisy = (mean, cv) => Math.max(0, Math.round(mean * (1 + cv * (rand() + rand() + rand() - 1.5) * 2)));

// Local calendar days in the Lookout time zone: today, and n days before it.
const today = new Intl.DateTimeFormat('en-CA', { timeZone: values.tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
const dayBefore = (n) => {
  const d = new Date(`${today}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
};
const weekday = (day) => new Date(`${day}T12:00:00Z`).getUTCDay();

// entity, metric, mean per day, weekday multipliers (Sunday … Saturday)
const SERIES = [
  ['D0001', 'card_opening', 120, [1.15, 0.92, 0.95, 0.95, 0.97, 1.03, 1.2]],
  ['D0002', 'card_opening', 95, [1.15, 0.92, 0.95, 0.95, 0.97, 1.03, 1.2]],
  ['G0001', 'air_recharge', 14, [1.1, 0.95, 0.95, 0.95, 0.95, 1.0, 1.1]],
  ['G0002', 'air_recharge', 9, [1.1, 0.95, 0.95, 0.95, 0.95, 1.0, 1.1]],
  ['H0001', 'basic_business', 300, [0.8, 1.1, 1.05, 1.05, 1.05, 1.1, 0.85]],
];
const COMPLAINTS = [['billing', 0.4], ['promotion', 0.3], ['network', 0.2], ['service', 0.1]];

const samples = [];
for (let n = DAYS; n >= 1; n--) {
  const day = dayBefore(n);
  for (const [entity, metric, mean, week] of SERIES) {
    let factor = 1;
    if (entity === 'D0001' && n === 1) factor = 0.3; // the dealer collapses yesterday
    if (entity === 'G0001' && n <= 3) factor = 0.2; // the outlet fades for three days
    samples.push({ metric, entity, value: noisy(mean * week[weekday(day)] * factor, 0.06), ts: day, id: `${entity}/${metric}/${day}` });
  }
  for (const [category, share] of COMPLAINTS) {
    samples.push({ metric: 'complaints', entity: 'C001', value: noisy(16 * share, 0.1), ts: day, id: `C001/complaints/${day}/${category}`, labels: { category } });
  }
}
// Today so far: a complaint surge on the campaign (≈ 80 complaints for 200,000 target customers).
for (const [category, share] of COMPLAINTS) {
  samples.push({ metric: 'complaints', entity: 'C001', value: Math.round(80 * share), id: `C001/complaints/${today}/${category}`, labels: { category } });
}

const res = await fetch(`${base}/api/v1/samples`, { method: 'POST', headers, body: JSON.stringify(samples) }).catch((err) => {
  console.error(`cannot reach Lookout at ${base}: ${err.cause?.message ?? err.message}`);
  process.exit(2);
});
const body = await res.json().catch(() => ({}));
if (res.status !== 202) {
  console.error(`POST ${base}/api/v1/samples → ${res.status} ${JSON.stringify(body)}`);
  process.exit(1);
}
console.log(`sent ${samples.length} samples (${DAYS} days up to ${today}, ${values.tz}): ${body.accepted} accepted, ${body.rejected?.length ?? 0} rejected`);
for (const r of body.rejected ?? []) console.log(`  rejected #${r.index}: ${r.code} ${r.message}`);

// Wait for the worker to judge them: the three anomalies should fire.
const deadline = performance.now() + Number(values.wait) * 1000;
let firing = [];
while (performance.now() < deadline) {
  const r = await fetch(`${base}/api/v1/alerts?state=firing`, { headers });
  firing = r.ok ? (await r.json()).alerts ?? [] : [];
  if (['D0001', 'G0001', 'C001'].every((e) => firing.some((a) => a.entity === e))) break;
  await new Promise((ok) => setTimeout(ok, 1000));
}
console.log(`firing now: ${firing.length}`);
for (const a of firing) console.log(`  ${String(a.severity).padEnd(8)} ${a.rule}  ${a.entity}  id=${a.id}`);
console.log(`alerts: ${base}/api/v1/alerts?state=firing   notifications: ${base}/api/v1/notifications`);
