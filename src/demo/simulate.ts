// A seeded simulator of one prefecture branch (新乡移动-like): 40 core dealers, ~3,000
// grassroots outlets, own halls, live campaigns, the contacts of the org tree, and daily samples
// with a weekday rhythm and over-dispersed (gamma-Poisson) noise. Used by the demo, the
// benchmark and the noise test. Every value is a pure function of (seed, entity, metric, day).

import { Calendar } from '../domain/clock.js';
import type { Entity, EntityKind } from '../domain/entity.js';
import type { Sample } from '../domain/sample.js';
import { logGamma } from '../evaluate/stats.js';

export type ContactRole = 'channel_manager' | 'district_head' | 'region_head' | 'service_oncall' | 'campaign_owner' | 'dept_lead' | 'ops';

/** A row of contacts.csv. */
export interface Contact {
  readonly id: string;
  readonly name: string;
  readonly phone: string;
  readonly email: string;
  readonly role: ContactRole;
  readonly scope: string;
  /** Channels, `;`-separated (contacts.csv `channels` column). */
  readonly channels: string;
}

export interface SimulateOptions {
  readonly seed: number;
  readonly dealers?: number;
  readonly outlets?: number;
  readonly halls?: number;
  readonly campaigns?: number;
  readonly historyDays?: number;
  /** Local day index of "today" (the live day). */
  readonly today: number;
  readonly timeZone?: string;
  /**
   * Keep ordinary days within a band around their mean (BANDS) and injected ones within the same
   * band around theirs, so no rule can mistake noise for an anomaly or miss an injected one: the
   * demo's story is then the same on every date. Off for noise and sensitivity tests.
   */
  readonly bounded?: boolean;
}

/** How one metric of one entity behaves on ordinary days. */
export interface MetricProfile {
  readonly metric: string;
  /** Mean of an average weekday. */
  readonly mean: number;
  /** Day-to-day coefficient of variation of the underlying rate (gamma noise). */
  readonly cv: number;
  /** Multipliers Sunday…Saturday. */
  readonly weekday: readonly number[];
  /** Gauges (satisfaction) are scores, not counts. */
  readonly gauge?: boolean;
}

export interface Branch {
  readonly seed: number;
  readonly today: number;
  readonly bounded: boolean;
  /** History days before today, oldest first. */
  readonly days: readonly number[];
  readonly calendar: Calendar;
  readonly regions: readonly { readonly id: string; readonly name: string }[];
  readonly districts: readonly { readonly id: string; readonly name: string; readonly region: string }[];
  readonly entities: readonly Entity[];
  readonly contacts: readonly Contact[];
  readonly profiles: ReadonlyMap<string, readonly MetricProfile[]>;
}

/** A departure from ordinary behaviour on days [from, to]: a rate multiplier, or silence (no samples). */
export interface Anomaly {
  readonly entity: string;
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  readonly factor: number;
  readonly silent?: boolean;
  readonly description: string;
}

// ---- deterministic randomness -----------------------------------------------------------------

/** mulberry32: a tiny, fast, seedable PRNG with good statistical quality for simulations. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x01000193);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}

function normal(rand: () => number): number {
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Gamma(shape, 1) by Marsaglia–Tsang (boosted for shape < 1). */
function gamma(rand: () => number, shape: number): number {
  if (shape < 1) return gamma(rand, shape + 1) * Math.pow(rand(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rand);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rand();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Poisson(λ): multiplication for small λ, Hörmann's PTRS transformed rejection for large λ. */
function poisson(rand: () => number, lam: number): number {
  if (lam <= 0) return 0;
  if (lam < 30) {
    const limit = Math.exp(-lam);
    let k = 0;
    let p = rand();
    while (p > limit) {
      k++;
      p *= rand();
    }
    return k;
  }
  const slam = Math.sqrt(lam);
  const loglam = Math.log(lam);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rand() - 0.5;
    const v = rand();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lam + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lam + k * loglam - logGamma(k + 1)) return k;
  }
}

/** Negative binomial as a gamma-Poisson mixture: mean μ, rate CV `cv`. */
export function gammaPoisson(rand: () => number, mu: number, cv: number): number {
  if (cv <= 0) return poisson(rand, mu);
  const shape = 1 / (cv * cv);
  return poisson(rand, gamma(rand, shape) * (mu / shape));
}

// ---- the branch -------------------------------------------------------------------------------

const REGIONS: readonly [string, string, readonly string[]][] = [
  ['R1', '城区', ['红旗东区', '红旗西区', '卫滨北区', '卫滨南区', '牧野东区', '牧野西区', '凤泉区', '高新区', '经开区']],
  ['R2', '北部', ['辉县城区', '辉县北部', '辉县西部', '卫辉城区', '卫辉东部']],
  ['R3', '东部', ['延津城区', '延津南部', '封丘城区', '封丘北部', '封丘南部']],
  ['R4', '南部', ['原阳城区', '原阳南部', '新乡县城区', '新乡县北部']],
  ['R5', '西部', ['获嘉城区', '获嘉东部', '获嘉西部']],
  ['R6', '长垣', ['长垣城区', '长垣东部', '长垣西部', '长垣南部', '长垣北部']],
];

const SURNAMES = '王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕';
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '涛', '明', '超', '秀英', '霞', '平', '刚', '建华', '志强', '海燕', '晓东', '红梅', '国庆'];
const SHOP_WORDS = ['鑫源', '华通', '金桥', '宏达', '众信', '恒通', '联发', '盛世', '新星', '顺达', '百汇', '佳和', '天成', '永兴', '瑞丰', '富民', '利民', '诚信'];
const OUTLET_TYPES = ['便民店', '手机店', '超市代办点', '通讯部', '数码店'];
const HALL_TYPES = ['综合营业厅', '社区营业厅', '乡镇营业厅', '品牌店', '自助厅'];
const CAMPAIGN_CATEGORIES = ['basic', '5g', 'group', 'data', 'tariff', 'terminal', 'promotion', 'service', 'channel'] as const;
const CAMPAIGN_NAMES = ['5G畅享包升级', '流量加油包', '宽带融合优惠', '合约购机返费', '校园卡促销', '家庭亲情网', '集团V网', '话费存送', '权益会员包', '老用户回馈', '夜间流量包', '视频彩铃'];
const COMPLAINT_SHARES: readonly [string, number][] = [
  ['billing', 0.35],
  ['promotion', 0.25],
  ['tariff', 0.15],
  ['network', 0.1],
  ['service', 0.1],
  ['other', 0.05],
];

const WEEKDAY: Readonly<Record<string, readonly number[]>> = {
  core_dealer: [1.15, 0.92, 0.95, 0.95, 0.97, 1.03, 1.2],
  grassroots: [1.1, 0.95, 0.95, 0.95, 0.95, 1.0, 1.1],
  own_hall: [0.8, 1.1, 1.05, 1.05, 1.05, 1.1, 0.85],
  campaign: [0.9, 1.05, 1.0, 1.0, 1.0, 1.05, 0.95],
};

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function logUniform(rand: () => number, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rand() * (Math.log(hi) - Math.log(lo)));
}

function personName(rand: () => number): string {
  return SURNAMES[Math.floor(rand() * SURNAMES.length)]! + pick(rand, GIVEN);
}

// Managers are paged by SMS; the service department and campaign owners also want the details by email.
const CHANNELS: Record<ContactRole, string> = {
  channel_manager: 'sms',
  district_head: 'sms',
  region_head: 'sms',
  service_oncall: 'sms;email',
  campaign_owner: 'sms;email',
  dept_lead: 'sms;email',
  ops: 'email',
};

function contact(rand: () => number, id: string, role: ContactRole, scope: string, n: number): Contact {
  return { id, name: personName(rand), phone: `1380373${pad(n, 4)}`, email: `${id.toLowerCase()}@xx.example.cn`, role, scope, channels: CHANNELS[role] };
}

/** Build the branch: org tree, contacts, entities and their ordinary-day profiles. */
export function simulateBranch(opts: SimulateOptions): Branch {
  const { seed, today } = opts;
  const nDealers = opts.dealers ?? 40;
  const nOutlets = opts.outlets ?? 3000;
  const nHalls = opts.halls ?? 200;
  const nCampaigns = opts.campaigns ?? 20;
  const historyDays = opts.historyDays ?? 35;
  const rand = mulberry32(hash32(seed, 1));
  const iso = (d: number) => Calendar.isoDay(d);

  const regions = REGIONS.map(([id, name]) => ({ id, name }));
  const districts = REGIONS.flatMap(([region, , names]) => names.map((name) => ({ name, region })));
  const districtList = districts.map((d, i) => ({ id: `M${pad(i + 1, 2)}`, name: `${d.name}营销中心`, region: d.region }));

  const contacts: Contact[] = [];
  let phone = 1;
  districtList.forEach((d, i) => contacts.push(contact(rand, `CM${pad(i + 1, 2)}`, 'channel_manager', d.id, phone++)));
  districtList.forEach((d, i) => contacts.push(contact(rand, `DH${pad(i + 1, 2)}`, 'district_head', d.id, phone++)));
  regions.forEach((r, i) => contacts.push(contact(rand, `RH${i + 1}`, 'region_head', r.id, phone++)));
  for (let i = 1; i <= 4; i++) contacts.push(contact(rand, `SO${i}`, 'service_oncall', 'service', phone++));
  for (let i = 1; i <= 5; i++) contacts.push(contact(rand, `CO${i}`, 'campaign_owner', 'marketing', phone++));
  (['network', 'billing', 'customer_service', 'marketing'] as const).forEach((scope, i) =>
    contacts.push(contact(rand, `DL${i + 1}`, 'dept_lead', scope, phone++)),
  );
  contacts.push(contact(rand, 'OP1', 'ops', 'ops', phone++));

  const entities: Entity[] = [];
  const profiles = new Map<string, MetricProfile[]>();
  const place = () => {
    const k = Math.floor(rand() * districtList.length);
    const d = districtList[k]!;
    return { region: d.region, district: d.id, manager: `CM${pad(k + 1, 2)}`, area: districts[k]!.name };
  };
  const add = (e: Entity, metrics: MetricProfile[]) => {
    entities.push(e);
    profiles.set(e.id, metrics);
  };
  const counts = (kind: EntityKind, list: [string, number, number][]): MetricProfile[] =>
    list.map(([metric, mean, cv]) => ({ metric, mean, cv, weekday: WEEKDAY[kind]! }));

  // A few dealer agreements end within 30 days, so reminders show up in the demo.
  const soon = new Set([3, 17, 29]);
  for (let i = 1; i <= nDealers; i++) {
    const p = place();
    const endIn = soon.has(i) ? 5 + ((i * 7) % 24) : 45 + Math.floor(rand() * 330);
    add(
      {
        id: `D${pad(i, 4)}`,
        kind: 'core_dealer',
        name: `${p.area}${pick(rand, SHOP_WORDS)}通讯`,
        region: p.region,
        district: p.district,
        manager: p.manager,
        tier: 'province_core',
        attrs: { monthly_fee: Math.round(logUniform(rand, 3000, 30000)), contract_end: iso(today + endIn) },
      },
      counts('core_dealer', [
        ['card_opening', logUniform(rand, 50, 300), 0.08 + rand() * 0.04],
        ['basic_business', logUniform(rand, 80, 400), 0.1],
      ]),
    );
  }

  for (let i = 1; i <= nOutlets; i++) {
    const p = place();
    // About 95 % of outlets average ≥ 50 yuan a month in handling fees (the monitored ones).
    const fee = rand() < 0.95 ? Math.round(logUniform(rand, 50, 600)) : 20 + Math.floor(rand() * 30);
    add(
      {
        id: `G${pad(i, 4)}`,
        kind: 'grassroots',
        name: `${p.area}${pick(rand, SHOP_WORDS)}${pick(rand, OUTLET_TYPES)}`,
        region: p.region,
        district: p.district,
        manager: p.manager,
        tier: rand() < 0.25 ? 'designated' : 'franchise',
        attrs: { monthly_fee: fee },
      },
      counts('grassroots', [
        ['air_recharge', logUniform(rand, 2, 40), 0.12 + rand() * 0.08],
        ['basic_business', logUniform(rand, 1, 15), 0.2],
      ]),
    );
  }

  for (let i = 1; i <= nHalls; i++) {
    const p = place();
    const tier = rand() < 0.2 ? 'A' : rand() < 0.6 ? 'B' : 'C';
    add(
      {
        id: `H${pad(i, 3)}`,
        kind: 'own_hall',
        name: `${p.area}${pick(rand, HALL_TYPES)}`,
        region: p.region,
        district: p.district,
        manager: p.manager,
        tier,
        attrs: {},
      },
      [
        ...counts('own_hall', [['basic_business', logUniform(rand, 80, 400), 0.1]]),
        { metric: 'satisfaction', mean: 86 + rand() * 11, cv: 0.015, weekday: [1, 1, 1, 1, 1, 1, 1], gauge: true },
      ],
    );
  }

  for (let i = 1; i <= nCampaigns; i++) {
    const start = i <= 2 ? today + 3 + i : today - 5 - Math.floor(rand() * 50);
    const end = i === 3 ? today - 2 : start + 60 + Math.floor(rand() * 60);
    const target = Math.round(logUniform(rand, 100_000, 1_000_000) / 1000) * 1000;
    const category = pick(rand, CAMPAIGN_CATEGORIES);
    add(
      {
        id: `C${pad(i, 3)}`,
        kind: 'campaign',
        name: `${pick(rand, CAMPAIGN_NAMES)}营销案（第${i}期）`,
        manager: `CO${1 + (i % 5)}`,
        attrs: { start: iso(start), end: iso(end), target_customers: target, category, owner: `CO${1 + (i % 5)}` },
      },
      counts('campaign', [
        ['complaints', (target / 10_000) * (0.03 + rand() * 0.12), 0.3],
        ['enrollments', target * (0.001 + rand() * 0.003), 0.15],
        ['unsubscribes', (target / 10_000) * (0.2 + rand() * 0.5), 0.25],
      ]),
    );
  }

  const days: number[] = [];
  for (let d = today - historyDays; d < today; d++) days.push(d);
  return {
    seed,
    today,
    bounded: opts.bounded ?? false,
    days,
    calendar: new Calendar(opts.timeZone ?? 'Asia/Shanghai'),
    regions,
    districts: districtList,
    entities,
    contacts,
    profiles,
  };
}

function campaignLive(e: Entity, day: number): boolean {
  const start = Calendar.parseIsoDay(String(e.attrs.start));
  const end = Calendar.parseIsoDay(String(e.attrs.end));
  return start !== undefined && end !== undefined && day >= start && day <= end;
}

function anomalyFor(anomalies: readonly Anomaly[], entity: string, metric: string, day: number): Anomaly | undefined {
  return anomalies.find((a) => a.entity === entity && a.metric === metric && day >= a.from && day <= a.to);
}

/**
 * The daily value of one metric of one entity (undefined: no data that day). Campaign metrics
 * exist only inside the campaign's live window.
 */
export function dailyValue(
  branch: Branch,
  entityIndex: number,
  metricIndex: number,
  day: number,
  anomalies: readonly Anomaly[] = [],
): number | undefined {
  const entity = branch.entities[entityIndex]!;
  const profile = branch.profiles.get(entity.id)![metricIndex]!;
  if (entity.kind === 'campaign' && !campaignLive(entity, day)) return undefined;
  const anomaly = anomalies.length ? anomalyFor(anomalies, entity.id, profile.metric, day) : undefined;
  if (anomaly?.silent) return undefined;
  const rand = mulberry32(hash32(branch.seed, entityIndex, metricIndex, day));
  const mu = profile.mean * profile.weekday[Calendar.weekday(day)]! * (anomaly?.factor ?? 1);
  if (profile.gauge) return Math.round(Math.min(100, mu * (1 + profile.cv * normal(rand))) * 10) / 10;
  const value = gammaPoisson(rand, mu, profile.cv);
  return branch.bounded ? withinBand(value, mu, BANDS[entity.kind]) : value;
}

/**
 * Relative half-widths of the bounded simulation's band per entity kind, each narrow enough that
 * ordinary days stay clear of the shipped rules' levels: a dealer cannot fall 30 % below its
 * same-weekday baseline (0.92 / 1.08), an outlet 50 % below its 14-day median across weekdays,
 * a campaign's complaints cannot triple their 7-day mean (1.3 / 0.7).
 */
const BANDS: Readonly<Record<EntityKind, number>> = { core_dealer: 0.08, grassroots: 0.2, own_hall: 0.2, electronic: 0.2, group_customer: 0.2, campaign: 0.3 };

function withinBand(value: number, mu: number, band: number): number {
  const lo = Math.ceil(mu * (1 - band));
  const hi = Math.floor(mu * (1 + band));
  return lo > hi ? Math.round(mu) : Math.min(hi, Math.max(lo, value));
}

/** Every entity's daily series over [from, to]: entity → metric → day → value. */
export function seriesFor(
  branch: Branch,
  from: number,
  to: number,
  anomalies: readonly Anomaly[] = [],
): Map<string, Map<string, Map<number, number>>> {
  const out = new Map<string, Map<string, Map<number, number>>>();
  branch.entities.forEach((e, i) => {
    const byMetric = new Map<string, Map<number, number>>();
    branch.profiles.get(e.id)!.forEach((p, m) => {
      const days = new Map<number, number>();
      for (let d = from; d <= to; d++) {
        const v = dailyValue(branch, i, m, d, anomalies);
        if (v !== undefined) days.set(d, v);
      }
      byMetric.set(p.metric, days);
    });
    out.set(e.id, byMetric);
  });
  return out;
}

/** The daily samples of every entity for `day` (ids like `D0001/card_opening/2026-11-21`). */
export function samplesForDay(branch: Branch, day: number, anomalies: readonly Anomaly[] = []): Sample[] {
  const out: Sample[] = [];
  const ts = branch.calendar.startOfDay(day);
  const date = Calendar.isoDay(day);
  branch.entities.forEach((e, i) => {
    branch.profiles.get(e.id)!.forEach((p, m) => {
      const value = dailyValue(branch, i, m, day, anomalies);
      if (value === undefined) return;
      const id = `${e.id}/${p.metric}/${date}`;
      if (p.metric !== 'complaints') {
        out.push({ metric: p.metric, entity: e.id, value, ts, id });
        return;
      }
      // Complaints arrive per category (routing needs it); the split is deterministic.
      let left = value;
      COMPLAINT_SHARES.forEach(([category, share], k) => {
        const n = k === COMPLAINT_SHARES.length - 1 ? left : Math.min(left, Math.round(value * share));
        left -= n;
        if (n > 0) out.push({ metric: 'complaints', entity: e.id, value: n, ts, id: `${id}/${category}`, labels: { category } });
      });
    });
  });
  return out;
}

export function meanOf(branch: Branch, entity: string, metric: string): number {
  return branch.profiles.get(entity)?.find((p) => p.metric === metric)?.mean ?? 0;
}

/**
 * The anomalies of the demo's live day `day` (they start the day before, so the first complete
 * day already shows them): four dealers dropping 45–80 %, one outlet silent for two days, one
 * outlet down 75 % for three days, and one live campaign's complaint surge.
 */
export function injectAnomalies(branch: Branch, day: number): Anomaly[] {
  const out: Anomaly[] = [];
  const dealers = branch.entities.filter((e) => e.kind === 'core_dealer');
  const drops = [0.45, 0.55, 0.65, 0.8];
  drops.forEach((drop, k) => {
    const e = dealers[(k * 9 + 4) % dealers.length];
    if (!e) return;
    const description = `${e.id} ${e.name} 开卡量下降 ${Math.round(drop * 100)}%`;
    out.push({ entity: e.id, metric: 'card_opening', from: day - 1, to: day, factor: 1 - drop, description });
  });
  const monitored = branch.entities.filter((e) => e.kind === 'grassroots' && Number(e.attrs.monthly_fee) >= 50);
  const silent = monitored.find((e) => meanOf(branch, e.id, 'air_recharge') >= 5);
  if (silent) {
    out.push({ entity: silent.id, metric: 'air_recharge', from: day - 2, to: day, factor: 0, silent: true, description: `${silent.id} ${silent.name} 空中充值连续 2 天无数据` });
  }
  // The busiest outlet: at ~40 a day a three-day 75 % fall is evidence, not noise.
  const down = monitored.filter((e) => e !== silent).sort((a, b) => meanOf(branch, b.id, 'air_recharge') - meanOf(branch, a.id, 'air_recharge'))[0];
  if (down) {
    out.push({ entity: down.id, metric: 'air_recharge', from: day - 3, to: day, factor: 0.25, description: `${down.id} ${down.name} 空中充值连续 3 天下降 75%` });
  }
  const live = branch.entities.filter((e) => e.kind === 'campaign' && campaignLive(e, day - 1) && campaignLive(e, day - 10));
  const surge = live[0];
  if (surge) {
    const perDay = meanOf(branch, surge.id, 'complaints');
    const target = Number(surge.attrs.target_customers);
    const factor = Math.max(8, (12 * target) / 10_000 / Math.max(perDay, 0.1));
    out.push({ entity: surge.id, metric: 'complaints', from: day - 1, to: day, factor, description: `${surge.id} ${surge.name} 投诉激增（约每万目标客户 12 件）` });
  }
  return out;
}
