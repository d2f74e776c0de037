// Issue 4 §3, the proof: a real Prometheus scrapes a real Lookout fed by the demo generator,
// and every target of every dashboard panel, its variables substituted as Grafana would, runs
// through Prometheus's HTTP API. Each must parse and run; the panels that should show data
// must return at least one series, and the headline numbers must be the ones the scenario
// produced. Without a `prometheus` binary this fails (never skips).
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusBinary, startPrometheus, type PromQueryResult, type PromSample, type TestPrometheus } from '../support/prometheus.js';
import { loadDashboards, queryPanels, substitute, targetName, variableQuery, variables } from './dashboards.js';
import { runScenario, startScenarioLookout, type Facts, type ScenarioLookout } from './scenario.js';

/**
 * Targets allowed to come back empty, keyed `<dashboard>#<panel title> <refId>`, each with the
 * reason. Every other target must return at least one series. (None today: the scenario makes
 * every panel show something.)
 */
const MAY_BE_EMPTY: Readonly<Record<string, string>> = {};

const num = (s: PromSample) => Number(s.value[1]);
const some = (pred: (v: number) => boolean) => (series: readonly PromSample[]) => series.some((s) => pred(num(s)));
const labelled = (label: string, value: string, pred: (v: number) => boolean) => (series: readonly PromSample[]) =>
  series.some((s) => s.metric[label] === value && pred(num(s)));
const positive = some((v) => v > 0);

/** The numbers the scenario must produce (keys as above). */
const VALUES: readonly { readonly key: string; readonly want: string; readonly ok: (series: readonly PromSample[]) => boolean }[] = [
  { key: 'overview#当前触发中预警 A', want: '> 0', ok: positive },
  { key: 'overview#今日新增预警（24小时） A', want: '> 0', ok: positive },
  { key: 'overview#今日发送通知（24小时） A', want: '> 0', ok: positive },
  { key: 'overview#今日发送失败（24小时） A', want: '> 0 (the 550 in phase 2)', ok: positive },
  { key: 'overview#今日预警（按级别） A', want: 'critical > 0', ok: labelled('severity', 'critical', (v) => v > 0) },
  { key: 'channels#预警中的核心渠道 A', want: '> 0', ok: positive },
  { key: 'channels#协议即将到期 A', want: '> 0', ok: positive },
  { key: 'channels#满意度偏低的营业厅 A', want: '> 0', ok: positive },
  { key: 'channels#营业厅满意度（7日均值） A', want: 'a hall at or below 80', ok: some((v) => v > 0 && v <= 80) },
  { key: 'channels#渠道预警度量（低于基线 %） A', want: 'a dealer ≥ 50 % below baseline', ok: some((v) => v >= 50 && v <= 100) },
  { key: 'campaigns#近24小时投诉量 A', want: '> 0', ok: positive },
  { key: 'campaigns#最高投诉率（每万目标客户） A', want: '≥ 10 (critical after the correction)', ok: some((v) => v >= 10) },
  { key: 'response#确认时长 P50 A', want: 'finite, 0 < p50 ≤ 600 s (acks after 8 and 5 minutes)', ok: some((v) => v > 0 && v <= 600) },
  { key: 'response#升级率 A', want: 'finite > 0', ok: some((v) => Number.isFinite(v) && v > 0) },
  { key: 'response#短信送达率 A', want: '0 < rate < 1 (one undelivered)', ok: some((v) => v > 0 && v < 1) },
  { key: 'response#已确认预警数 A', want: '> 0', ok: positive },
  { key: 'response#已解决预警数 A', want: '> 0', ok: positive },
  { key: 'response#解决时长 P50/P90（按严重度） A', want: 'critical p50 finite', ok: labelled('severity', 'critical', (v) => Number.isFinite(v) && v > 0) },
  { key: 'response#短信回复（按结果） A', want: 'acked > 0', ok: labelled('outcome', 'acked', (v) => v > 0) },
  { key: 'response#已升级仍未确认 A', want: '> 0', ok: positive },
  { key: 'pipeline#近24小时拒绝样本（按来源与原因） A', want: 'negative_value > 0', ok: labelled('code', 'negative_value', (v) => v > 0) },
  { key: 'pipeline#Redis 在线 A', want: '1', ok: some((v) => v === 1) },
  { key: 'pipeline#已加载规则 A', want: '> 0', ok: positive },
  { key: 'pipeline#配置重载（24小时，按结果） A', want: 'ok > 0', ok: labelled('outcome', 'ok', (v) => v > 0) },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dashboards = loadDashboards();

interface Outcome {
  readonly name: string;
  readonly key: string;
  readonly expr: string;
  readonly result: PromQueryResult;
}

function show(o: Outcome): string {
  const series = o.result.series.map((s) => `${JSON.stringify(s.metric)} ${s.value[1]}`);
  return `${o.name}\n  ${o.expr}\n  → ${series.length ? series.slice(0, 5).join(', ') : 'no series'}`;
}

describe('dashboards against a real Prometheus scraping a real Lookout', () => {
  let prom: TestPrometheus | undefined;
  let scenario: ScenarioLookout | undefined;
  let facts: Facts = {};
  const outcomes = new Map<string, Outcome[]>();
  const byKey = new Map<string, Outcome>();

  /** Scrapes of the Lookout so far. */
  async function scrapes(): Promise<number> {
    const r = await prom!.query('sum(count_over_time(up{job="lookout"}[1h]))');
    return Number(r.series[0]?.value[1] ?? 0);
  }
  async function moreScrapes(n: number): Promise<void> {
    const want = (await scrapes()) + n;
    const deadline = performance.now() + 5000 + n * 1000;
    while ((await scrapes()) < want) {
      if (performance.now() > deadline) throw new Error(`Prometheus did not scrape ${n} more times:\n${JSON.stringify(await prom!.targets())}\n${prom!.log()}`);
      await sleep(200);
    }
  }

  let missing: string | undefined;

  beforeAll(async () => {
    try {
      prometheusBinary();
    } catch (err) {
      missing = (err as Error).message; // every test below fails, the first one with this
      return;
    }
    scenario = await startScenarioLookout();
    prom = await startPrometheus({ targets: [new URL(scenario.lk.url!).host], scrapeInterval: '1s' });
    await moreScrapes(2);
    facts = await runScenario(scenario, () => moreScrapes(2));
    await moreScrapes(3);
    // Every panel target of every dashboard, at Prometheus's now.
    for (const { dashboard: d } of dashboards) {
      const list: Outcome[] = [];
      for (const p of queryPanels(d)) {
        for (const t of p.targets ?? []) {
          const expr = substitute(t.expr ?? '', variables(d));
          const o = { name: targetName(d, p, t), key: `${d.uid.replace(/^lookout-/, '')}#${p.title} ${t.refId}`, expr, result: await prom.query(expr) };
          list.push(o);
          byKey.set(o.key, o);
        }
      }
      outcomes.set(d.uid, list);
    }
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await scenario?.lk.cleanup();
    await scenario?.smtp.close();
    if (scenario) rmSync(scenario.configDir, { recursive: true, force: true });
  });

  it('has a prometheus binary (apt-get install prometheus)', () => {
    expect(missing).toBeUndefined();
  });

  it('scrapes the Lookout: target up, at least 5 scrapes, the scenario played out', async () => {
    expect(prom, missing).toBeDefined();
    const targets = await prom!.targets();
    expect(targets.map((t) => [t.health, t.lastError])).toEqual([['up', '']]);
    expect(await scrapes()).toBeGreaterThanOrEqual(5);
    expect(facts).toMatchObject({ reload: 'ok' });
    expect(String(facts.acked).split(',')).toHaveLength(2);
  });

  it.each(dashboards.map((d) => [d.file, d.dashboard.uid] as const))('%s: every target parses and runs, and returns data', (_file, uid) => {
    const list = outcomes.get(uid) ?? [];
    expect(list.length, missing ?? 'no targets').toBeGreaterThan(0);
    const failed = list.filter((o) => o.result.status !== 'success').map((o) => `${o.name}: ${o.result.errorType} ${o.result.error}\n  ${o.expr}`);
    expect(failed).toEqual([]);
    const empty = list.filter((o) => o.result.series.length === 0 && !(o.key in MAY_BE_EMPTY)).map(show);
    expect(empty, `scenario: ${JSON.stringify(facts)}`).toEqual([]);
  });

  it.each(dashboards.map((d) => [d.file, d.dashboard] as const))('%s: the variables find values (label_values)', async (_file, d) => {
    expect(prom, missing).toBeDefined();
    const empty: string[] = [];
    for (const v of variables(d).filter((x) => x.type === 'query')) {
      const m = /^label_values\((\w+), (\w+)\)$/.exec(variableQuery(v));
      if (!m) throw new Error(`$${v.name}: not a label_values(metric, label) query`);
      const values = await prom!.labelValues(m[2]!, m[1]!);
      if (!values.length) empty.push(`$${v.name}: ${variableQuery(v)}`);
    }
    expect(empty).toEqual([]);
  });

  it('the exemptions name real targets', () => {
    expect(byKey.size, missing ?? 'no targets').toBeGreaterThan(0);
    expect(Object.keys(MAY_BE_EMPTY).filter((k) => !byKey.has(k))).toEqual([]);
  });

  it('the headline panels show what the scenario did', () => {
    expect(missing).toBeUndefined();
    const wrong: string[] = [];
    for (const v of VALUES) {
      const o = byKey.get(v.key);
      if (!o) wrong.push(`${v.key}: no such panel target`);
      else if (!v.ok(o.result.series)) wrong.push(`want ${v.want}: ${show(o)}`);
    }
    expect(wrong, `scenario: ${JSON.stringify(facts)}`).toEqual([]);
  });
});
