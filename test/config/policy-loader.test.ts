import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICIES_YAML, defaultPolicies, formatDuration, loadPolicies, parseDuration, parsePolicies } from '../../src/config/policy-loader.js';
import { loadRuleSet } from '../../src/config/rules-loader.js';
import type { PolicySet } from '../../src/route/types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function parse(text: string): PolicySet {
  const res = parsePolicies(text, 'policies.yaml');
  if (!res.ok) throw new Error(res.errors.map((e) => e.format()).join('\n'));
  return res.policies;
}

describe('defaultPolicies', () => {
  it('are the shipped escalation defaults', () => {
    const p = defaultPolicies();
    expect(p.source).toBe('(defaults)');
    expect(p.hash).toMatch(/^[0-9a-f]{12}$/);
    const chains = Object.fromEntries(p.escalation.map((e) => [e.id, e.steps.map((s) => [s.afterMs / MIN, [...s.notify]])]));
    expect(chains).toEqual({
      campaign_critical: [
        [0, ['service_oncall', 'campaign_owner', 'complaint_lead']],
        [15, ['dept_lead:marketing']],
      ],
      campaign: [[0, ['service_oncall', 'campaign_owner', 'complaint_lead']]],
      info: [[0, ['manager']]],
      group_customer_churn: [[0, ['customer_manager']]],
      critical: [
        [0, ['manager', 'district_head']],
        [30, ['region_head']],
      ],
      warning: [
        [0, ['manager']],
        [30, ['district_head']],
        [120, ['region_head']],
      ],
    });
    expect(p.escalation.map((e) => e.match)).toEqual([
      { severity: ['critical'], kind: ['campaign'] },
      { kind: ['campaign'] },
      { severity: ['info'] },
      { rule: ['group_customer_churn_warning'] },
      { severity: ['critical'] },
      { severity: ['warning'] },
    ]);
    expect(p.escalation.find((e) => e.id === 'info')!.resolveNotice).toBe(false);
    expect(p.escalation.find((e) => e.id === 'group_customer_churn')!.resolveNotice).toBe(false);
    expect(p.escalation.find((e) => e.id === 'warning')!.resolveNotice).toBe(true);
    expect(p.inhibit).toEqual([{ source: { severity: ['critical'] }, target: { severity: ['warning'] }, equal: ['entity'] }]);
    expect(p.settings).toEqual({
      groupWaitMs: 30_000,
      quietHours: { startMinute: 22 * 60, endMinute: 8 * 60, except: ['critical'] },
      smsPerHour: 10,
      failover: { after: 3, to: 'email' },
      retry: { attempts: 5, backoffMs: 2000 },
      flapping: { windowMs: 2 * HOUR, maxFires: 3 },
      staleDays: 2,
      feedStall: { notify: ['ops'], expectedByMinute: 6 * 60, ratio: 0.5 },
    });
    expect(Object.isFrozen(p.escalation[0]!.steps[0]!.notify)).toBe(true);
  });

  it('the shipped rules/policies.yaml loads and equals the defaults', async () => {
    const res = await loadPolicies('rules');
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const { hash: _h, source, ...shipped } = res.policies;
    const { hash: _d, source: _s, ...defaults } = defaultPolicies();
    expect(source).toBe(join('rules', 'policies.yaml'));
    expect(shipped).toEqual(defaults);
    expect(await readFile('rules/policies.yaml', 'utf8')).toBe(DEFAULT_POLICIES_YAML);
  });

  it('the rules loader skips policies.yaml', async () => {
    const res = await loadRuleSet('rules');
    expect(res.ok && res.ruleSet.files.some((f) => f.endsWith('policies.yaml'))).toBe(false);
    expect(res.ok).toBe(true);
  });
});

describe('parsePolicies', () => {
  it('fills every notify setting from its default; omitted quiet_hours means none', () => {
    const p = parse('escalation: []\n');
    const { quietHours, ...rest } = p.settings;
    const { quietHours: _q, ...defaults } = defaultPolicies().settings;
    expect(quietHours).toBeUndefined();
    expect(rest).toEqual(defaults);
    expect(p.escalation).toEqual([]);
    expect(p.inhibit).toEqual([]);
    expect(p.source).toBe('policies.yaml');
  });

  it('reads selectors, repeats, failover none and partial settings', () => {
    const p = parse(`
escalation:
  - id: network
    match: {labels.category: network, region: [R1, R2], rule: complaints_surge, severity: [warning, critical]}
    steps:
      - {notify: [dept_lead:network, contact:OP1]}
      - {after: 1h30m, notify: role:region_head}
    repeat: {every: 4h, times: 2}
    resolve_notice: false
  - id: everything
    steps: [{notify: [manager]}]
notify:
  failover: none
  retry: {attempts: 2}
  quiet_hours: {start: "21:30", end: "07:00"}
  feed_stall: {notify: [ops, dept_lead:billing], ratio: 0.3}
`);
    expect(p.escalation[0]).toEqual({
      id: 'network',
      match: { severity: ['warning', 'critical'], rule: ['complaints_surge'], fields: { 'labels.category': ['network'], region: ['R1', 'R2'] } },
      steps: [
        { afterMs: 0, notify: ['dept_lead:network', 'contact:OP1'] },
        { afterMs: 90 * MIN, notify: ['role:region_head'] },
      ],
      repeat: { everyMs: 4 * HOUR, times: 2 },
      resolveNotice: false,
    });
    expect(p.escalation[1]).toEqual({ id: 'everything', match: {}, steps: [{ afterMs: 0, notify: ['manager'] }], resolveNotice: true });
    expect(p.settings.failover).toBeNull();
    expect(p.settings.retry).toEqual({ attempts: 2, backoffMs: 2000 });
    expect(p.settings.quietHours).toEqual({ startMinute: 21 * 60 + 30, endMinute: 7 * 60, except: ['critical'] });
    expect(p.settings.feedStall).toEqual({ notify: ['ops', 'dept_lead:billing'], expectedByMinute: 360, ratio: 0.3 });
  });

  it('hashes the text', () => {
    expect(parse('escalation: []\n').hash).not.toBe(parse('escalation: [] # changed\n').hash);
  });

  const policy = (body: string) => `escalation:\n  - id: p\n${body}`;
  it.each([
    ['unknown top-level key', 'escalation: []\nescalate: []\n', 2, 'escalate', /unknown field/],
    ['missing escalation', 'inhibit: []\n', 1, 'escalation', /required field is missing/],
    ['unknown policy key', policy('    steps: [{notify: [manager]}]\n    colour: red\n'), 4, 'escalation[0].colour', /unknown field/],
    ['unknown step key', policy('    steps:\n      - {notify: [manager], wait: 5m}\n'), 4, 'escalation[0].steps[0].wait', /unknown field/],
    ['bad recipient', policy('    steps:\n      - notify: [manager, boss]\n'), 4, 'escalation[0].steps[0].notify[1]', /unknown recipient "boss"/],
    ['role of no such role', policy('    steps: [{notify: ["role:boss"]}]\n'), 3, 'escalation[0].steps[0].notify[0]', /unknown recipient/],
    ['dept_lead without scope', policy('    steps: [{notify: [dept_lead]}]\n'), 3, 'escalation[0].steps[0].notify[0]', /unknown recipient/],
    ['empty notify', policy('    steps: [{notify: []}]\n'), 3, 'escalation[0].steps[0].notify', /at least one recipient/],
    ['no steps', policy('    steps: []\n'), 3, 'escalation[0].steps', /at least one step/],
    ['bad duration', policy('    steps:\n      - notify: [manager]\n      - {after: 30 minutes, notify: [district_head]}\n'), 5, 'escalation[0].steps[1].after', /duration like 30s/],
    ['later step without after', policy('    steps:\n      - notify: [manager]\n      - notify: [district_head]\n'), 5, 'escalation[0].steps[1].after', /needs after/],
    [
      'steps out of order',
      policy('    steps:\n      - notify: [manager]\n      - {after: 2h, notify: [district_head]}\n      - {after: 30m, notify: [region_head]}\n'),
      6,
      'escalation[0].steps[2].after',
      /later than the previous step \(2h\)/,
    ],
    ['equal afters', policy('    steps:\n      - {after: 5m, notify: [manager]}\n      - {after: 5m, notify: [region_head]}\n'), 5, 'escalation[0].steps[1].after', /later than/],
    ['bad severity', policy('    match: {severity: urgent}\n    steps: [{notify: [manager]}]\n'), 3, 'escalation[0].match.severity', /info, warning, critical/],
    ['bad kind', policy('    match: {kind: dealer}\n    steps: [{notify: [manager]}]\n'), 3, 'escalation[0].match.kind', /core_dealer/],
    ['selector key typo', policy('    match: {severty: critical}\n    steps: [{notify: [manager]}]\n'), 3, 'escalation[0].match.severty', /did you mean severity/],
    ['bad id', policy('    steps: [{notify: [manager]}]\n  - id: Bad-Id\n    steps: [{notify: [manager]}]\n'), 4, 'escalation[1].id', /\[a-z0-9_\]/],
    ['duplicate id', policy('    steps: [{notify: [manager]}]\n  - id: p\n    steps: [{notify: [manager]}]\n'), 4, 'escalation[1].id', /appears twice/],
    ['repeat every 0', policy('    steps: [{notify: [manager]}]\n    repeat: {every: 0, times: 2}\n'), 4, 'escalation[0].repeat.every', /longer than 0/],
    ['inhibit without target', 'escalation: []\ninhibit:\n  - source: {severity: critical}\n', 3, 'inhibit[0].target', /required field is missing/],
    ['bad quiet hours', 'escalation: []\nnotify:\n  quiet_hours: {start: "24:00", end: "08:00"}\n', 3, 'notify.quiet_hours.start', /HH:MM/],
    ['quiet hours start = end', 'escalation: []\nnotify:\n  quiet_hours: {start: "08:00", end: "08:00"}\n', 3, 'notify.quiet_hours.end', /differ/],
    ['failover to sms', 'escalation: []\nnotify:\n  failover: {after: 3, to: sms}\n', 3, 'notify.failover.to', /email or webhook/],
    ['failover unknown key', 'escalation: []\nnotify:\n  failover: {after: 3, to: email, via: x}\n', 3, 'notify.failover.via', /unknown field/],
    ['unknown notify key', 'escalation: []\nnotify:\n  sms_per_day: 10\n', 3, 'notify.sms_per_day', /unknown field/],
    ['sms_per_hour 0', 'escalation: []\nnotify:\n  sms_per_hour: 0\n', 3, 'notify.sms_per_hour', /1/],
    ['feed stall to an entity role', 'escalation: []\nnotify:\n  feed_stall: {notify: [ops, manager]}\n', 3, 'notify.feed_stall.notify[1]', /needs an entity/],
    ['feed stall ratio above 1', 'escalation: []\nnotify:\n  feed_stall: {ratio: 2}\n', 3, 'notify.feed_stall.ratio', /1/],
  ])('%s → bad_policy at file:line:field', (_name, text, line, field, message) => {
    const res = parsePolicies(text, 'policies.yaml');
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.errors).toHaveLength(1);
    expect(res.errors[0]).toMatchObject({ code: 'bad_policy', file: 'policies.yaml', line, field });
    expect(res.errors[0]!.message).toMatch(message);
  });

  it('reports YAML syntax errors (duplicate keys included) as yaml_syntax', () => {
    const res = parsePolicies('escalation: []\nescalation: []\n', 'policies.yaml');
    expect(!res.ok && res.errors[0]).toMatchObject({ code: 'yaml_syntax', file: 'policies.yaml', line: 2 });
  });

  it.each([
    ['0', 0],
    ['30s', 30_000],
    ['15m', 15 * MIN],
    ['2h', 2 * HOUR],
    ['1d', 24 * HOUR],
    ['1h30m', 90 * MIN],
    ['500ms', 500],
    ['2 h', undefined],
    ['1.5h', undefined],
    ['15', undefined],
  ] as const)('parseDuration(%j) = %j', (s, ms) => {
    expect(parseDuration(s)).toBe(ms);
    if (ms !== undefined && ms > 0) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

describe('loadPolicies', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lookout-policies-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('falls back to the shipped defaults without policies.yaml', async () => {
    const res = await loadPolicies(dir);
    expect(res).toEqual({ ok: true, policies: defaultPolicies() });
  });

  it('reads policies.yaml and names it in errors', async () => {
    await writeFile(join(dir, 'policies.yaml'), 'escalation:\n  - id: x\n    steps: [{notify: [nobody]}]\n');
    const res = await loadPolicies(dir);
    expect(!res.ok && res.errors.map((e) => e.format())).toEqual([
      `${join(dir, 'policies.yaml')}:3: escalation[0].steps[0].notify[0]: unknown recipient "nobody" (expected manager, district_head, region_head, service_oncall, campaign_owner, customer_manager, ops, complaint_lead, dept_lead:<scope>, contact:<id> or role:<role>) [bad_policy]`,
    ]);
  });
});
