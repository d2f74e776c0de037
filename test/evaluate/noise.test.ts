// The noise test (SPEC §3.4): on a simulated branch the default rules must page rarely on
// ordinary days, yet catch the anomalies a manager needs to hear about.

import { beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../src/config/rules-loader.js';
import { injectAnomalies, samplesForDay, seriesFor, simulateBranch } from '../../src/demo/simulate.js';
import type { Anomaly, Branch } from '../../src/demo/simulate.js';
import type { AlertRecord } from '../../src/domain/alert.js';
import { Calendar } from '../../src/domain/clock.js';
import type { Rule } from '../../src/domain/rule.js';
import { evaluateEntity } from '../../src/evaluate/index.js';
import { applyVerdict } from '../../src/domain/lifecycle.js';

const TODAY = Calendar.parseIsoDay('2026-11-21')!;
const JUDGED_DAYS = 35; // five weeks of ordinary days, each with four weeks of history before it
const HISTORY = JUDGED_DAYS + 28;

let rules: readonly Rule[];
let branch: Branch;

beforeAll(async () => {
  const res = await loadRuleSet('rules');
  if (!res.ok) throw new Error(res.errors.map((e) => e.format()).join('\n'));
  rules = res.ruleSet.rules;
  branch = simulateBranch({ seed: 20261121, today: TODAY, historyDays: HISTORY });
});

describe('simulated branch', () => {
  it('has the shape of a prefecture branch', () => {
    const count = (kind: string) => branch.entities.filter((e) => e.kind === kind).length;
    expect([count('core_dealer'), count('grassroots'), count('own_hall'), count('campaign')]).toEqual([40, 3000, 200, 20]);
    const monitored = branch.entities.filter((e) => e.kind === 'grassroots' && Number(e.attrs.monthly_fee) >= 50).length;
    expect(monitored).toBeGreaterThan(2700);
    expect(branch.districts).toHaveLength(31);
    expect(new Set(branch.contacts.map((c) => c.role))).toEqual(
      new Set(['channel_manager', 'district_head', 'region_head', 'service_oncall', 'campaign_owner', 'dept_lead', 'ops']),
    );
    const contactIds = new Set(branch.contacts.map((c) => c.id));
    expect(branch.entities.every((e) => e.manager !== undefined && contactIds.has(e.manager))).toBe(true);
  });

  it('is deterministic and produces idempotent sample ids', () => {
    const again = simulateBranch({ seed: 20261121, today: TODAY, historyDays: HISTORY });
    const a = samplesForDay(branch, TODAY - 1);
    expect(samplesForDay(again, TODAY - 1)).toEqual(a);
    expect(a.find((s) => s.entity === 'D0001')?.id).toBe('D0001/card_opening/2026-11-20');
    expect(new Set(a.map((s) => s.id)).size).toBe(a.length);
    expect(a.filter((s) => s.metric === 'complaints').every((s) => s.labels?.category)).toBe(true);
  });
});

describe('default rules on a simulated branch', () => {
  it('page rarely on ordinary days (well under 1 notifying alert per day per 1,000 entities)', () => {
    const series = seriesFor(branch, TODAY - HISTORY, TODAY);
    const state = new Map<string, Map<string, AlertRecord>>();
    const paged = new Map<string, number>();
    const recorded = new Map<string, number>();
    const watched = branch.entities.filter((e) => e.kind !== 'own_hall');
    for (let d = TODAY - JUDGED_DAYS + 1; d <= TODAY; d++) {
      const ctx = { now: branch.calendar.startOfDay(d) + 9 * 3_600_000, today: d, calendar: branch.calendar };
      for (const e of watched) {
        const priors = state.get(e.id) ?? new Map<string, AlertRecord>();
        state.set(e.id, priors);
        for (const v of evaluateEntity(rules, e, series.get(e.id)!, priors, ctx)) {
          const step = applyVerdict(priors.get(v.rule), v, ctx.now);
          if (step.record) priors.set(v.rule, step.record);
          const change = step.event?.change;
          if (v.rule === 'contract_end_reminder' || (change !== 'fire' && change !== 'upgrade')) continue;
          const tally = step.record!.notify ? paged : recorded;
          tally.set(v.rule, (tally.get(v.rule) ?? 0) + 1);
        }
      }
    }
    const entities = branch.entities.filter((e) => e.kind === 'core_dealer' || e.kind === 'grassroots').length;
    const total = [...paged.values()].reduce((a, b) => a + b, 0);
    const perDay = total / JUDGED_DAYS;
    const per1000 = (perDay / entities) * 1000;
    console.log(
      `noise: ${total} notifying alerts in ${JUDGED_DAYS} ordinary days over ${entities} dealers+outlets ` +
        `= ${perDay.toFixed(2)}/day = ${per1000.toFixed(2)} per 1,000 entities per day; ` +
        `by rule ${JSON.stringify(Object.fromEntries(paged))}; info-only (not paged) ${JSON.stringify(Object.fromEntries(recorded))}`,
    );
    expect(per1000).toBeLessThan(0.5);
    expect(paged.get('core_dealer_card_opening_drop') ?? 0).toBeLessThanOrEqual(JUDGED_DAYS / 3);
    expect(paged.get('campaign_complaint_rate') ?? 0).toBe(0);
  });

  it('catch the injected anomalies', () => {
    const dealers = branch.entities.filter((e) => e.kind === 'core_dealer');
    const drops: Anomaly[] = [0.5, 0.6, 0.7, 0.8].map((drop, k) => ({
      entity: dealers[5 + 7 * k]!.id,
      metric: 'card_opening',
      from: TODAY - 1,
      to: TODAY,
      factor: 1 - drop,
      description: `dealer −${drop * 100}%`,
    }));
    const others = injectAnomalies(branch, TODAY).filter((a) => a.metric !== 'card_opening');
    expect(others.map((a) => a.metric).sort()).toEqual(['air_recharge', 'air_recharge', 'complaints']);
    const anomalies = [...drops, ...others];
    const series = seriesFor(branch, TODAY - 35, TODAY, anomalies);
    const ctx = { now: branch.calendar.startOfDay(TODAY) + 9 * 3_600_000, today: TODAY, calendar: branch.calendar };
    const caught = anomalies.map((a) => {
      const e = branch.entities.find((x) => x.id === a.entity)!;
      const fired = evaluateEntity(rules, e, series.get(e.id)!, new Map(), ctx).filter(
        (v) => v.severity !== null && v.notify && v.rule !== 'contract_end_reminder',
      );
      console.log(`${fired.length ? 'caught' : 'MISSED'} ${a.description}: ${fired.map((v) => `${v.rule} ${v.severity} ${v.summary}`).join(' | ')}`);
      return fired.length > 0;
    });
    expect(caught).toEqual(anomalies.map(() => true));
  });
});
