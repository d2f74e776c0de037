import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint, type AlertRecord } from '../../src/domain/alert.js';
import type { Entity } from '../../src/domain/entity.js';
import type { Severity } from '../../src/domain/rule.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { consoleHome, consoleLink } from '../../src/notify/links.js';
import { briefOf, formatDuration, MAX_LIST_SEGMENTS, MessageRenderer, smsSegments, type AlertView } from '../../src/notify/render.js';

const SHIPPED = join(import.meta.dirname, '..', '..', 'templates');
const NOW = Date.parse('2026-11-21T10:00:00+08:00');

function view(over: { entity?: string; name?: string; severity?: Severity; summary?: string; ackCode?: string; ackUrl?: string; durationMs?: number } = {}): AlertView {
  const id = over.entity ?? 'D0001';
  const fp = fingerprint('core_dealer_card_opening_drop', id);
  const alert: AlertRecord = {
    id: fp,
    fingerprint: fp,
    rule: 'core_dealer_card_opening_drop',
    entity: id,
    state: 'firing',
    severity: over.severity ?? 'critical',
    episode: 1,
    seq: 2,
    notify: true,
    period: '2026-11-20',
    value: 40,
    baseline: 100,
    measure: 60,
    summary: over.summary ?? '开卡量 40，同期基线 100，下降 60%',
    startsAt: NOW - 3_600_000,
    firingAt: NOW - 3_600_000,
    updatedAt: NOW - 3_600_000,
    labels: {},
  };
  const entity: Entity = { id, kind: 'core_dealer', name: over.name ?? '新乡某某店', region: '新乡', district: '红旗区', manager: 'M01', attrs: {} };
  return { alert, entity, ruleName: '核心渠道开卡量下降', level: 1, ackCode: over.ackCode ?? '4821', ackUrl: over.ackUrl, durationMs: over.durationMs };
}

const many = (n: number) =>
  Array.from({ length: n }, (_, i) => view({ entity: `D${String(i + 1).padStart(4, '0')}`, severity: i % 3 === 0 ? 'critical' : 'warning', ackCode: String(1000 + i) }));

let zh: MessageRenderer;
let en: MessageRenderer;
beforeAll(async () => {
  zh = await MessageRenderer.load(join(SHIPPED, 'zh'), 'zh');
  en = await MessageRenderer.load(join(SHIPPED, 'en'), 'en');
});

describe('smsSegments', () => {
  it.each([
    ['a'.repeat(160), 1],
    ['a'.repeat(161), 2],
    ['a'.repeat(306), 2],
    ['a'.repeat(307), 3],
    ['{'.repeat(80), 1],
    ['{'.repeat(81), 2],
    ['中'.repeat(70), 1],
    ['中'.repeat(71), 2],
    ['中'.repeat(134), 2],
    ['中'.repeat(135), 3],
    ['a'.repeat(69) + '中', 1],
  ])('%#: %j → %i', (text, n) => {
    expect(smsSegments(text)).toBe(n);
  });
});

describe('helpers', () => {
  it.each([
    ['开卡量 40，同期基线 100，下降 60%', '开卡量下降 60%'],
    ['开卡量 40，同期基线 100，下降 35%（证据不足，仅记录）', '开卡量下降 35%'],
    ['投诉量 12，达到阈值 10', '投诉量达到阈值 10'],
    ['空中充值 已连续 2 天无数据（最后一次 2026-11-18）', '空中充值 已连续 2 天无数据'],
  ])('briefOf(%j) = %j', (summary, brief) => {
    expect(briefOf(summary)).toBe(brief);
  });

  it.each([
    [30_000, '1 分钟', '1 min'],
    [45 * 60_000, '45 分钟', '45 min'],
    [2 * 3_600_000, '2 小时', '2 h'],
    [90 * 60_000, '1 小时 30 分钟', '1 h 30 min'],
    [3 * 86_400_000 + 2 * 3_600_000, '3 天 2 小时', '3 d 2 h'],
  ])('formatDuration(%i)', (ms, z, e) => {
    expect(formatDuration(ms, 'zh')).toBe(z);
    expect(formatDuration(ms, 'en')).toBe(e);
  });
});

describe('shipped zh templates: SMS', () => {
  it('a typical core-dealer critical alert is one segment with everything in it', () => {
    const sms = zh.smsAlert([view()]);
    expect(sms).toBe('【渠道预警·严重】D0001 新乡某某店 核心渠道开卡量下降：开卡量 40，同期基线 100，下降 60%。回复“确认 4821”确认');
    expect(smsSegments(sms)).toBe(1);
  });

  it('a long entity name is kept: the rule name goes, then the summary is trimmed; one segment, id and ack code intact', () => {
    const sms = zh.smsAlert([view({ name: '新乡市红旗区某某通讯器材经营部（渠道合作旗舰店）', severity: 'warning' })]);
    expect(smsSegments(sms)).toBe(1);
    expect(sms).toBe('【渠道预警·警告】D0001 新乡市红旗区某某通讯器材经营部（渠道合作旗舰店） 开卡量 40，同期基线 100…。回复“确认 4821”确认');
  });

  it('a name too long for any summary is the last thing given up: id and ack code still whole', () => {
    const sms = zh.smsAlert([view({ name: '新乡市红旗区某某通讯器材经营部'.repeat(4), severity: 'warning' })]);
    expect(smsSegments(sms)).toBe(1);
    expect(sms.startsWith('【渠道预警·警告】D0001 开卡量')).toBe(true);
    expect(sms.endsWith('回复“确认 4821”确认')).toBe(true);
  });

  it('a summary too long for one segment is trimmed with … and the ack code survives', () => {
    const summary = '开卡量 今日累计 12，同期基线 100，下降 88%，另外近 3 天合计也明显偏低并且已连续多日低于同期水平，请尽快核实渠道经营情况';
    const sms = zh.smsAlert([view({ summary, ackCode: '482193' })]);
    expect(smsSegments(sms)).toBe(1);
    expect(sms.startsWith('【渠道预警·严重】D0001 新乡某某店 开卡量 今日累计 12')).toBe(true);
    expect(sms).toContain('…');
    expect(sms.endsWith('回复“确认 482193”确认')).toBe(true);
  });

  it('no ack code: no reply hint', () => {
    const sms = zh.smsAlert([view({ ackCode: '' })]);
    expect(sms).not.toContain('回复');
    expect(smsSegments(sms)).toBe(1);
  });

  it('SMS text is not HTML-escaped', () => {
    const sms = zh.smsAlert([view({ name: 'A&B <店>' })]);
    expect(sms).toContain('A&B <店>');
  });

  it('a group of 2 keeps its names and briefs when they fit, else names and verdicts', () => {
    const two = (a: string, b: string) => [view({ entity: 'D1', name: a, ackCode: '11' }), view({ entity: 'D2', name: b, severity: 'warning', ackCode: '12' })];
    expect(zh.smsAlert(two('红', '牧'))).toBe('【渠道预警】2 条：D1 红 开卡量下降 60%(严重,编号11)；D2 牧 开卡量下降 60%(警告,编号12)。回复“确认 编号”确认');
    const sms = zh.smsAlert(two('红旗店', '牧野店'));
    expect(sms).toBe('【渠道预警】2 条：D1 红旗店 下降 60%(严重,编号11)；D2 牧野店 下降 60%(警告,编号12)。回复“确认 编号”确认');
    expect(smsSegments(sms)).toBe(1);
  });

  it('a group too long with names and briefs keeps every item and its name, giving up the briefs: one segment', () => {
    const two = [view({ entity: 'D0017', severity: 'warning', ackCode: '4123' }), view({ entity: 'D0032', ackCode: '5123' })];
    const sms = zh.smsAlert(two);
    expect(sms).toBe('【渠道预警】2 条：D0017 新乡某某店(警告,编号4123)；D0032 新乡某某店(严重,编号5123)。回复“确认 编号”确认');
    expect(smsSegments(sms)).toBe(1);
  });

  it('a group whose names do not fit gives them up last, before any item, and gets its verdicts back', () => {
    const two = [view({ entity: 'D0017', name: '新乡市红旗区某某通讯器材经营部', severity: 'warning', ackCode: '4123' }), view({ entity: 'D0032', name: '新乡市牧野区某某通讯器材经营部', ackCode: '5123' })];
    const sms = zh.smsAlert(two);
    expect(sms).toBe('【渠道预警】2 条：D0017 下降 60%(警告,编号4123)；D0032 下降 60%(严重,编号5123)。回复“确认 编号”确认');
    expect(smsSegments(sms)).toBe(1);
  });

  it('a group of 3 lists all three ids with their codes in one segment, shortening the rest first', () => {
    const sms = zh.smsAlert(many(3));
    expect(sms).toBe('【渠道预警】3 条：D0001(编号1000)；D0002(编号1001)；D0003(编号1002)。回复“确认 编号”确认');
    expect(smsSegments(sms)).toBe(MAX_LIST_SEGMENTS);
  });

  it('every group size, long ids and campaign/dealer mixes fit one segment, each shown id and code whole', () => {
    const campaign = (i: number): AlertView => {
      const v = view({ entity: `C${String(i).padStart(3, '0')}`, name: '5G畅享包升级营销案（第12期）', summary: '投诉量 776，每万目标客户 10.8（阈值 10）', ackCode: String(90000 + i) });
      return { ...v, entity: { ...v.entity!, kind: 'campaign' }, ruleName: '营销案投诉率超标' };
    };
    const longIds = (n: number) => many(n).map((v, i) => ({ ...v, alert: { ...v.alert, entity: `GRASSROOTS-${String(i).padStart(6, '0')}` } }));
    for (let n = 2; n <= 40; n++) {
      const mixed = many(n).map((v, i) => (i % 2 ? campaign(i) : v));
      for (const list of [many(n), mixed, longIds(n), Array.from({ length: n }, (_, i) => campaign(i))]) {
        for (const sms of [zh.smsAlert(list), zh.smsDigest(list, 'quiet_hours'), zh.smsResolve(list)]) {
          expect(smsSegments(sms), sms).toBe(1);
          const shown = list.filter((v) => sms.includes(v.alert.entity));
          expect(shown.length, sms).toBeGreaterThan(0);
          if (shown.length < n) expect(sms).toContain(`等 ${n} 条`);
          if (!sms.startsWith('【渠道预警·恢复】') && !sms.includes('恢复】')) for (const v of shown) expect(sms).toContain(`编号${v.ackCode}`);
        }
      }
    }
  });

  it('campaign alerts carry 【营销案预警】; a mixed group says both', () => {
    const v = view({ entity: 'C004', name: '集团V网营销案（第4期）', summary: '投诉量 776，每万目标客户 10.8（阈值 10）', ackCode: '9529' });
    const c: AlertView = { ...v, entity: { ...v.entity!, kind: 'campaign' }, ruleName: '营销案投诉率超标', lead: '业务支撑中心（计费类投诉 62%）', leadDept: '业务支撑中心' };
    const single = zh.smsAlert([c]);
    expect(single.startsWith('【营销案预警·严重】C004 集团V网营销案（第4期）')).toBe(true);
    expect(single.endsWith('回复“确认 9529”确认')).toBe(true);
    expect(smsSegments(single)).toBe(1);
    expect(zh.smsAlert([c, { ...c, alert: { ...c.alert, entity: 'C005' } }]).startsWith('【营销案预警】2 条：C004')).toBe(true);
    expect(zh.smsAlert([view(), c]).startsWith('【渠道·营销案预警】2 条：D0001')).toBe(true);
    expect(zh.smsResolve([{ ...c, durationMs: 3_600_000 }]).startsWith('【营销案预警·恢复】C004')).toBe(true);
    expect(zh.emailAlert([c]).subject).toBe('【营销案预警·严重】C004 集团V网营销案（第4期） 营销案投诉率超标');
    expect(zh.emailAlert([view()]).subject.startsWith('【渠道预警·严重】D0001')).toBe(true);
    expect(en.smsAlert([c])).toMatch(/^(Lookout campaign CRITICAL: |Campaign CRITICAL )C004/);
  });

  it('a group of 30 lists the first N and counts the rest, within the bound', () => {
    const sms = zh.smsAlert(many(30));
    expect(smsSegments(sms)).toBeLessThanOrEqual(MAX_LIST_SEGMENTS);
    expect(sms.startsWith('【渠道预警】30 条：D0001')).toBe(true);
    expect(sms).toContain('编号1000)');
    expect(sms).toContain('…等 30 条，详见邮件。回复“确认 编号”确认');
    expect(sms).not.toContain('D0030');
    // As many as fit: one more would break the bound.
    const listed = sms.match(/D\d{4}/g)!.length;
    expect(listed).toBeGreaterThanOrEqual(2);
    expect(smsSegments(zh.smsAlert(many(30).slice(0, listed + 1)))).toBeLessThanOrEqual(MAX_LIST_SEGMENTS);
  });

  it('digest after quiet hours and after the rate limit, bounded', () => {
    const night = zh.smsDigest(many(5), 'quiet_hours');
    expect(night.startsWith('【预警汇总】夜间 5 条预警：D0001')).toBe(true);
    expect(night).toContain('(编号1000)');
    expect(night).toContain('等 5 条');
    expect(smsSegments(night)).toBe(1);
    const limited = zh.smsDigest(many(40), 'rate_limit');
    expect(limited.startsWith('【预警汇总】超出短信频次暂存的 40 条预警：')).toBe(true);
    expect(smsSegments(limited)).toBeLessThanOrEqual(MAX_LIST_SEGMENTS);
    expect(limited).toContain('等 40 条');
  });

  it('resolve notice with the duration', () => {
    const sms = zh.smsResolve([view({ durationMs: 2 * 3_600_000 })]);
    expect(sms).toBe('【渠道预警·恢复】D0001 新乡某某店「核心渠道开卡量下降」已恢复（告警持续 2 小时）');
    expect(smsSegments(sms)).toBe(1);
    const several = zh.smsResolve(many(25));
    expect(smsSegments(several)).toBeLessThanOrEqual(MAX_LIST_SEGMENTS);
    expect(several).toContain('等 25 条');
  });

  it('no alerts is a programming error', () => {
    expect(() => zh.smsAlert([])).toThrow(RangeError);
  });
});

describe('shipped zh templates: email and webhook', () => {
  it('one email for several alerts: subject, text and escaped HTML cards', () => {
    const views = [view({ name: '<script>alert(1)</script>', ackUrl: 'http://lookout.example/ack/abc.def' }), view({ entity: 'D0002', severity: 'warning', ackCode: '1234' })];
    const mail = zh.emailAlert(views);
    expect(mail.subject).toBe('【渠道预警】2 条预警（严重 1 条）');
    expect(mail.text).toContain('1. 【严重】核心渠道开卡量下降');
    expect(mail.text).toContain('对象：D0001 <script>alert(1)</script>');
    expect(mail.text).toContain('区域：新乡/红旗区');
    expect(mail.text).toContain('确认链接：http://lookout.example/ack/abc.def');
    expect(mail.text).toContain('短信确认：回复“确认 1234”');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;&#x2F;script&gt;');
    expect(mail.html).toContain('<div style="margin: 4px 0 0;">开卡量 40，同期基线 100，下降 60%</div>');
    expect(mail.html).toContain('href="http:&#x2F;&#x2F;lookout.example&#x2F;ack&#x2F;abc.def"');
    // One card per alert, in a column no wider than 600 px.
    expect(mail.html.match(/data-card="alert"/g)).toHaveLength(2);
    expect(mail.html).toContain('max-width: 600px');
    expect(mail.html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(mail.text).toContain('数值：当前 40，基线 100');
  });

  it('a single-alert email names it in the subject', () => {
    expect(zh.emailAlert([view()]).subject).toBe('【渠道预警·严重】D0001 新乡某某店 核心渠道开卡量下降');
  });

  it('resolve email', () => {
    const mail = zh.emailResolve([view({ durationMs: 90 * 60_000 })]);
    expect(mail.subject).toBe('【渠道预警·恢复】D0001 新乡某某店 核心渠道开卡量下降');
    expect(mail.text).toContain('告警持续：1 小时 30 分钟');
    expect(mail.html).toContain('告警持续 1 小时 30 分钟');
  });

  it('webhook: markdown text and the alerts as data', () => {
    const hook = zh.webhookAlert([view({ ackUrl: 'http://x/ack/t' })]);
    expect(hook.subject).toBe('【渠道预警·严重】D0001 新乡某某店 核心渠道开卡量下降');
    expect(hook.text).toContain('- **严重** D0001 新乡某某店：核心渠道开卡量下降，开卡量 40，同期基线 100，下降 60%（2026-11-20，第 1 级） 短信回复“确认 4821” [确认](http://x/ack/t)');
    expect(hook.data.alerts).toEqual([expect.objectContaining({ entity: 'D0001', severity: 'critical', ackCode: '4821', ackUrl: 'http://x/ack/t', level: 1 })]);
  });
});

describe('shipped en templates', () => {
  it('renders English words around the facts', () => {
    const sms = en.smsAlert([view()]);
    expect(sms).toMatch(/^(Lookout )?CRITICAL:? D0001/);
    expect(sms).toContain('4821');
    expect(smsSegments(sms)).toBe(1);
    expect(en.emailAlert([view()]).subject).toBe('[Lookout CRITICAL] D0001 新乡某某店: 核心渠道开卡量下降');
    expect(en.emailAlert(many(2)).text).toContain('These 2 alerts need your attention:');
    expect(en.smsResolve([view({ durationMs: 2 * 3_600_000 })])).toBe('Lookout RESOLVED: D0001 新乡某某店 "核心渠道开卡量下降" back to normal (lasted 2 h)');
    expect(en.smsDigest(many(2), 'quiet_hours')).toContain('2 alerts overnight');
    const group = en.smsAlert(many(30));
    expect(group).toMatch(/^Lookout: 30 alerts: D0001 /);
    expect(group).toContain('... 30 in all, see email');
    expect(smsSegments(group)).toBeLessThanOrEqual(MAX_LIST_SEGMENTS);
  });

  it('pure ASCII SMS get the 160-character GSM segment', () => {
    const ascii = view({ name: 'Xinxiang Store', summary: 'card openings 40, same-weekday baseline 100, down 60%' });
    const sms = en.smsAlert([{ ...ascii, ruleName: 'Core dealer card openings drop' }]);
    expect(sms).toBe('Lookout CRITICAL: D0001 Xinxiang Store, Core dealer card openings drop: card openings 40, same-weekday baseline 100, down 60%. Reply "ACK 4821" to acknowledge');
    expect(sms.length).toBeGreaterThan(70);
    expect(smsSegments(sms)).toBe(1);
  });
});

describe('the console link in SMS', () => {
  const PUBLIC = 'http://lk.cn';
  const linked = (v: AlertView): AlertView => ({ ...v, consoleUrl: consoleLink(PUBLIC, v.alert.id) });
  const home = { consoleHome: consoleHome(PUBLIC) };

  it('a message with room carries the link at its end, one segment', () => {
    // A Chinese segment is 70 characters and the link takes 32 of them: short facts, no reply hint.
    const v = linked(view({ name: '红旗店', summary: '下降 60%', ackCode: '' }));
    const sms = zh.smsAlert([v]);
    expect(sms).toBe(`【渠道预警·严重】D0001 红旗店 核心渠道开卡量下降：下降 60%。 ${v.consoleUrl}`);
    expect(smsSegments(sms)).toBe(1);
  });

  it('the link is the first thing given up: a full message stays exactly as it is without one', () => {
    for (const v of [view(), view({ name: '新乡市红旗区某某通讯器材经营部（渠道合作旗舰店）', severity: 'warning' }), view({ name: '新乡市红旗区某某通讯器材经营部'.repeat(4) })]) {
      const sms = zh.smsAlert([linked(v)]);
      expect(sms).toBe(zh.smsAlert([v]));
      expect(sms).not.toContain(PUBLIC);
      expect(smsSegments(sms)).toBe(1);
    }
  });

  it('a message that fits without the link keeps its name, rule title and reply hint and gives up the link', () => {
    const v = linked(view({ name: '新乡红旗区旗舰专营店', summary: '下降 60%', ackCode: '48' }));
    const sms = zh.smsAlert([v]);
    expect(sms).toBe('【渠道预警·严重】D0001 新乡红旗区旗舰专营店 核心渠道开卡量下降：下降 60%。回复“确认 48”确认');
    expect(sms).not.toContain(PUBLIC);
    expect(smsSegments(sms)).toBe(1);
  });

  it('English SMS (160 GSM characters) have room for it', () => {
    const ascii = linked({ ...view({ name: 'Xinxiang Store', summary: 'down 60%' }), ruleName: 'Card openings drop' });
    const sms = en.smsAlert([ascii]);
    expect(sms).toBe(`Lookout CRITICAL: D0001 Xinxiang Store, Card openings drop: down 60%. Reply "ACK 4821" to acknowledge ${ascii.consoleUrl}`);
    expect(smsSegments(sms)).toBe(1);
  });

  it('a group points to the console list when it has room, never at the cost of an item', () => {
    const two = [view({ entity: 'D1', ackCode: '11' }), view({ entity: 'D2', severity: 'warning', ackCode: '12' })].map(linked);
    const ascii = two.map((v, i) => ({ ...v, entity: { ...v.entity!, name: `Store ${i + 1}` }, alert: { ...v.alert, summary: 'down 60%' } }));
    expect(en.smsAlert(ascii, home)).toBe('Lookout: 2 alerts: D1 Store 1 down 60% (CRITICAL, code 11); D2 Store 2 down 60% (WARNING, code 12). Reply "ACK <code>" to acknowledge http://lk.cn/');
    // Chinese: the two items with their briefs fill the segment, so the link goes, not a brief.
    expect(zh.smsAlert(two, home)).toBe(zh.smsAlert(two));
  });

  it('a single resolve notice links its alert page when it fits', () => {
    const v = linked({ ...view({ name: 'Store', durationMs: 3_600_000 }), ruleName: 'Card drop' });
    expect(en.smsResolve([v])).toBe(`Lookout RESOLVED: D0001 Store "Card drop" back to normal (lasted 1 h) ${v.consoleUrl}`);
    expect(en.smsResolve([v, linked(view({ entity: 'D0002' }))])).not.toContain(PUBLIC);
  });

  it('every group, digest and resolve size stays one segment with links, ids and codes whole, any link whole', () => {
    const longUrl = 'https://lookout.xinxiang.example.cn';
    for (let n = 1; n <= 30; n++) {
      const list = many(n).map((v) => ({ ...v, consoleUrl: consoleLink(longUrl, v.alert.id) }));
      for (const r of [zh, en]) {
        for (const sms of [r.smsAlert(list, { consoleHome: consoleHome(longUrl) }), r.smsDigest(list, 'rate_limit', { consoleHome: consoleHome(longUrl) }), r.smsResolve(list)]) {
          expect(smsSegments(sms), sms).toBe(1);
          if (sms.includes('http')) expect(sms.endsWith(n === 1 ? list[0]!.consoleUrl! : `${longUrl}/`), sms).toBe(true);
          for (const v of list.filter((x) => sms.includes(`${x.alert.entity}(`) || sms.includes(`${x.alert.entity} `))) {
            if (!/恢复|RESOLVED/.test(sms)) expect(sms).toMatch(new RegExp(`${v.ackCode}`));
          }
        }
      }
    }
  });
});

describe('loading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-templates-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function copyWith(name: string, file: string, content: string | null): Promise<string> {
    const target = join(dir, name);
    await cp(join(SHIPPED, 'zh'), target, { recursive: true });
    if (content === null) await rm(join(target, file));
    else await writeFile(join(target, file), content);
    return target;
  }

  async function loadError(target: string): Promise<ConfigError> {
    const err = await MessageRenderer.load(target, 'zh').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }

  it('a template that does not parse → bad_template naming the file', async () => {
    const target = await copyWith('unclosed', 'sms-group.mustache', '【渠道预警】{{#alerts}}{{entityId}}');
    const err = await loadError(target);
    expect(err.code).toBe('bad_template');
    expect(err.file).toBe(join(target, 'sms-group.mustache'));
    expect(err.format()).toContain('sms-group.mustache');
  });

  it('an unknown field → bad_template with the file, line and name', async () => {
    const target = await copyWith('unknown', 'email-alert.text.mustache', '第一行\n{{#alerts}}\n{{entityId}} {{managerPhone}}\n{{/alerts}}\n');
    const err = await loadError(target);
    expect(err.code).toBe('bad_template');
    expect(err.file).toBe(join(target, 'email-alert.text.mustache'));
    expect(err.line).toBe(3);
    expect(err.message).toContain('unknown field "managerPhone"');
  });

  it('item fields outside the alerts list are unknown in list templates', async () => {
    const err = await loadError(await copyWith('outside', 'sms-resolve.mustache', '{{entityId}} 已恢复'));
    expect(err.message).toContain('unknown field "entityId"');
  });

  it('a missing template → bad_template naming the file', async () => {
    const target = await copyWith('missing', 'sms-alert-short.mustache', null);
    const err = await loadError(target);
    expect(err.code).toBe('bad_template');
    expect(err.file).toBe(join(target, 'sms-alert-short.mustache'));
    expect(err.message).toContain('missing');
  });

  it('an unescaped value in an HTML template is refused', async () => {
    const err = await loadError(await copyWith('raw', 'email-alert.html.mustache', '{{#alerts}}{{{entityName}}}{{/alerts}}'));
    expect(err.message).toContain('HTML escaping');
  });

  it('an edited template is used as written', async () => {
    const target = await copyWith('edited', 'sms-alert.mustache', '{{severityWord}} {{entityId}} {{summary}} #{{ackCode}}\n');
    const r = await MessageRenderer.load(target, 'zh');
    expect(r.smsAlert([view()])).toBe('严重 D0001 开卡量 40，同期基线 100，下降 60% #4821');
  });
});
