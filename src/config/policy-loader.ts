// rules/policies.yaml → a validated, frozen PolicySet: escalation chains (first match wins),
// inhibition, and notification settings. Without the file the shipped defaults below apply.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { COMPLAINT_CATEGORIES, DEFAULT_COMPLAINT_ROUTING, type ComplaintCategory } from '../domain/complaints.js';
import { ENTITY_KINDS, type EntityKind } from '../domain/entity.js';
import { SEVERITIES, type Severity } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';
import { RECIPIENT_REF_HELP, isEntityRef, parseRecipientRef } from '../route/recipients.js';
import type { AlertSelector, EscalationPolicy, InhibitRule, NotifySettings, PolicySet } from '../route/types.js';
import type { ChannelName } from '../domain/notification.js';
import { parseClockTime } from './rotas-loader.js';
import { issuesToErrors } from './rule-schema.js';
import { POLICY_FILE_NAMES, parseYaml } from './rules-loader.js';

export const DEFAULTS_SOURCE = '(defaults)';

/** The shipped policy, the same text as rules/policies.yaml (a test keeps them equal). */
export const DEFAULT_POLICIES_YAML = `# 预警升级策略 — who is told, and when, while nobody acknowledges (the shipped escalation defaults).
# Read from LOOKOUT_RULES_DIR/policies.yaml (it is not a rule file); without this file the same
# defaults apply. Every field is described in docs/contacts.md.
#
# escalation: first match wins (自上而下，第一条匹配的策略生效). An alert that no policy matches is
# recorded but notifies nobody: keep a catch-all (no match:) last if you want everything paged.
# after: measured from when the alert fired (自预警触发起计时), not from the previous step; a step
# runs only while the alert is still firing and unacknowledged.
escalation:
  # 营销案严重预警: 服务值班 + 营销案负责人 (+ 投诉主责部门负责人), 15 分钟未确认 → 市场部负责人
  # complaint_lead: for complaint alerts, the dept_lead of the day's leading complaint category
  # (complaint_routing below); for other campaign alerts it names nobody.
  - id: campaign_critical
    match: {kind: campaign, severity: critical}
    steps:
      - notify: [service_oncall, campaign_owner, complaint_lead]
      - after: 15m
        notify: [dept_lead:marketing]
    resolve_notice: true
  # 营销案其他预警: 服务值班 + 营销案负责人 (+ 投诉主责部门负责人)
  - id: campaign
    match: {kind: campaign}
    steps:
      - notify: [service_oncall, campaign_owner, complaint_lead]
  # 提醒 (info, e.g. 协议到期): 只通知渠道经理, 不升级, 不发恢复通知
  - id: info
    match: {severity: info}
    steps: [{notify: [manager]}]
    resolve_notice: false
  # 集团客户离网预警: 只通知客户经理, 不升级, 不发恢复通知
  - id: group_customer_churn
    match: {rule: group_customer_churn_warning}
    steps: [{notify: [customer_manager]}]
    resolve_notice: false
  # 严重: 渠道经理 + 区县负责人, 30 分钟未确认 → 片区负责人
  - id: critical
    match: {severity: critical}
    steps:
      - notify: [manager, district_head]
      - {after: 30m, notify: [region_head]}
  # 一般: 渠道经理, 30 分钟 → 区县负责人, 2 小时 → 片区负责人
  - id: warning
    match: {severity: warning}
    steps:
      - notify: [manager]
      - {after: 30m, notify: [district_head]}
      - {after: 2h, notify: [region_head]}
    # repeat: {every: 4h, times: 2}   # optional: repeat the last step while unacknowledged

# 抑制: a paging critical alert mutes the warning of the same entity (严重预警抑制同一渠道的一般预警)
inhibit:
  - source: {severity: critical}
    target: {severity: warning}
    equal: [entity]

# 通知设置: every key is optional and defaults to the value shown (quiet_hours: omitted = none)
notify:
  group_wait: 30s                       # 合并: one message per person for alerts within 30 s
  quiet_hours: {start: "22:00", end: "08:00", except: [critical]}   # 免打扰: SMS held until 08:00
  sms_per_hour: 10                      # 每人每小时短信上限; the overflow becomes one digest
  failover: {after: 3, to: email}       # 短信连续失败 3 次改发邮件; or failover: none
  retry: {attempts: 5, backoff: 2s}     # 发送重试 (exponential backoff)
  flapping: {window: 2h, max_fires: 3}  # 抖动: a 4th fire within 2 h is recorded, not re-paged
  stale_days: 2                         # 补录: alerts about days older than this are not paged
  feed_stall: {notify: [ops], expected_by: "06:00", ratio: 0.5}   # 数据断供: one alert to ops

# 投诉分类派单: complaint category (labels.category) → the department (dept_lead scope) that leads.
# network → 网管中心, billing → 业务支撑中心, promotion/tariff/service/other → 客服中心.
# A campaign complaint alert is led by the department of the day's largest category; its
# messages say so, and complaint_lead in a policy step names that department's dept_lead.
complaint_routing:
  network: network
  billing: billing
  promotion: customer_service
  tariff: customer_service
  service: customer_service
  other: customer_service
`;

export type PolicyResult = { readonly ok: true; readonly policies: PolicySet } | { readonly ok: false; readonly errors: ConfigError[] };

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `15m`, `2h`, `1d`, `1h30m`, `0` → ms; undefined when not a duration. */
export function parseDuration(v: string | number): number | undefined {
  if (v === 0 || v === '0') return 0;
  if (typeof v !== 'string' || !/^(?:\d+(?:ms|s|m|h|d))+$/.test(v)) return undefined;
  let ms = 0;
  for (const m of v.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** 5400000 → `1h30m`; 0 → `0`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of Object.entries(UNIT_MS).reverse()) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

const DURATION_HELP = 'expected a duration like 30s, 15m, 2h, 1d (or 0)';
const duration = z
  .union([z.string(), z.number()], { error: DURATION_HELP })
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.issues.push({ code: 'custom', message: DURATION_HELP, input: v });
      return z.NEVER;
    }
    return ms;
  });
const positiveDuration = duration.refine((ms) => ms > 0, { error: 'must be longer than 0' });

const clockMinute = z
  .string({ error: 'expected a local time "HH:MM" (quoted)' })
  .transform((s, ctx) => {
    const minute = parseClockTime(s);
    if (minute === undefined) {
      ctx.issues.push({ code: 'custom', message: 'expected a local time "HH:MM"', input: s });
      return z.NEVER;
    }
    return minute;
  });

const toList = <T>(v: T | readonly T[]): T[] => (Array.isArray(v) ? [...(v as readonly T[])] : [v as T]);

const severityList = z
  .union([z.enum(SEVERITIES), z.array(z.enum(SEVERITIES)).min(1)], { error: `expected ${SEVERITIES.join(', ')} (or a list)` })
  .transform((v) => toList<Severity>(v));
const kindList = z
  .union([z.enum(ENTITY_KINDS), z.array(z.enum(ENTITY_KINDS)).min(1)], { error: `expected one of ${ENTITY_KINDS.join(', ')} (or a list)` })
  .transform((v) => toList(v));
const nonEmpty = z.string().min(1);
const stringList = z.union([nonEmpty, z.array(nonEmpty).min(1)], { error: 'expected a string or a list of strings' }).transform((v) => toList(v));
const scalar = z.union([nonEmpty, z.number(), z.boolean()]);
const fieldValues = z
  .union([scalar, z.array(scalar).min(1)], { error: 'expected a value or a list of values' })
  .transform((v) => toList(v).map(String));

const SELECTOR_KEYS = ['severity', 'kind', 'rule'] as const;

type SelectorIn = { severity?: Severity[]; kind?: EntityKind[]; rule?: string[]; [field: string]: string[] | undefined };

/** Edit distance ≤ 2 from a selector key, so `severty:` is a typo and not a label to match on. */
function nearKey(k: string): string | undefined {
  return SELECTOR_KEYS.find((s) => s !== k && editDistance(s, k.toLowerCase()) <= 2);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/** `{severity, kind, rule}` plus any alert field (region, labels.team, attrs.x …) → AlertSelector. */
const selectorSchema = z.preprocess(
  (v) => (v === null ? {} : v),
  z
    .object({ severity: severityList.optional(), kind: kindList.optional(), rule: stringList.optional() }, { error: 'expected a mapping of field → value(s)' })
    .catchall(fieldValues)
    .superRefine((s, ctx) => {
      for (const k of Object.keys(s)) {
        const near = nearKey(k);
        if (near) ctx.addIssue({ code: 'custom', message: `did you mean ${near}? (other keys match alert fields: region, district, labels.x, attrs.x …)`, path: [k] });
      }
    })
    .transform((s): AlertSelector => {
      const { severity, kind, rule, ...rest } = s as SelectorIn;
      const fields = Object.fromEntries(Object.entries(rest).filter((e): e is [string, string[]] => e[1] !== undefined));
      return {
        ...(severity && { severity }),
        ...(kind && { kind }),
        ...(rule && { rule }),
        ...(Object.keys(fields).length > 0 && { fields }),
      };
    }),
);

const recipientRef = z.string({ error: `expected a recipient: ${RECIPIENT_REF_HELP}` }).superRefine((ref, ctx) => {
  if (!parseRecipientRef(ref)) ctx.addIssue({ code: 'custom', message: `unknown recipient ${JSON.stringify(ref)} (expected ${RECIPIENT_REF_HELP})` });
});
const refList = z
  .union([recipientRef, z.array(recipientRef).min(1, { error: 'name at least one recipient' })], { error: `expected a recipient or a list: ${RECIPIENT_REF_HELP}` })
  .transform((v) => toList(v));

const stepSchema = z.strictObject({ after: duration.optional(), notify: refList });

const policySchema = z
  .strictObject({
    id: z.string({ error: 'expected an id' }).regex(/^[a-z0-9_]+$/, { error: 'expected [a-z0-9_]+' }),
    match: selectorSchema.optional(),
    steps: z.array(stepSchema, { error: 'expected a list of steps' }).min(1, { error: 'a policy needs at least one step' }),
    repeat: z.strictObject({ every: positiveDuration, times: z.number().int().min(1) }).optional(),
    resolve_notice: z.boolean().default(true),
  })
  .superRefine((p, ctx) => {
    let prev: number | undefined;
    p.steps.forEach((s, i) => {
      if (i > 0 && s.after === undefined) {
        ctx.addIssue({ code: 'custom', message: 'every step after the first needs after: (measured from when the alert fired)', path: ['steps', i, 'after'] });
        return;
      }
      const after = s.after ?? 0;
      if (prev !== undefined && after <= prev) {
        ctx.addIssue({ code: 'custom', message: `must be later than the previous step (${formatDuration(prev)}): after is measured from when the alert fired`, path: ['steps', i, 'after'] });
      }
      prev = after;
    });
  })
  .transform(
    (p): EscalationPolicy => ({
      id: p.id,
      match: p.match ?? {},
      steps: p.steps.map((s) => ({ afterMs: s.after ?? 0, notify: s.notify })),
      ...(p.repeat && { repeat: { everyMs: p.repeat.every, times: p.repeat.times } }),
      resolveNotice: p.resolve_notice,
    }),
  );

const inhibitSchema = z
  .strictObject({ source: selectorSchema, target: selectorSchema, equal: z.array(nonEmpty, { error: 'expected a list of field names' }).default([]) })
  .transform((r): InhibitRule => ({ source: r.source, target: r.target, equal: r.equal }));

const quietHoursSchema = z
  .strictObject({ start: clockMinute, end: clockMinute, except: severityList.default(['critical']) })
  .refine((q) => q.start !== q.end, { error: 'start and end must differ', path: ['end'] });

const failoverSchema = z.strictObject({
  after: z.number().int().min(1).default(3),
  to: z.enum(['email', 'webhook'], { error: 'expected email or webhook (SMS fails over to another channel)' }).default('email'),
});

/** `none` / null → null (turned off); otherwise the object schema. */
function orNone<T extends z.ZodType>(schema: T) {
  return z.unknown().transform((v, ctx): z.output<T> | null => {
    if (v === 'none' || v === null) return null;
    const res = schema.safeParse(v);
    if (res.success) return res.data;
    for (const issue of res.error.issues) ctx.issues.push({ ...issue, input: v } as z.core.$ZodRawIssue);
    return z.NEVER;
  });
}

const feedStallSchema = z.strictObject({
  notify: z
    .union([recipientRef, z.array(recipientRef)], { error: 'expected a list of recipients' })
    .transform((v) => toList(v))
    .superRefine((refs, ctx) => {
      refs.forEach((ref, i) => {
        const parsed = parseRecipientRef(ref);
        if (parsed && isEntityRef(parsed)) {
          ctx.addIssue({ code: 'custom', message: `${ref} needs an entity, and a feed stall has none (use ops, service_oncall, dept_lead:<scope>, role:<role> or contact:<id>)`, path: [i] });
        }
      });
    })
    .default(['ops']),
  expected_by: clockMinute.default(360),
  ratio: z.number().gt(0).max(1).default(0.5),
});

const notifySchema = z.strictObject({
  group_wait: duration.default(30_000),
  quiet_hours: orNone(quietHoursSchema).optional(),
  sms_per_hour: z.number().int().min(1).default(10),
  failover: orNone(failoverSchema).optional(),
  retry: z.strictObject({ attempts: z.number().int().min(1).default(5), backoff: duration.default(2000) }).prefault({}),
  flapping: z.strictObject({ window: positiveDuration.default(7_200_000), max_fires: z.number().int().min(1).default(3) }).prefault({}),
  stale_days: z.number().int().min(0).default(2),
  feed_stall: feedStallSchema.prefault({}),
});

const DEFAULT_FAILOVER = { after: 3, to: 'email' as ChannelName };

const departmentScope = z.string({ error: 'expected a department (a dept_lead scope such as billing)' }).regex(/^[a-z0-9_]+$/, { error: 'expected a department (a dept_lead scope such as billing): [a-z0-9_]+' });
/** `complaint_routing:` category → department; categories left out keep their default. */
const complaintRoutingSchema = z.preprocess(
  (v) => (v === null ? {} : v),
  z.strictObject(Object.fromEntries(COMPLAINT_CATEGORIES.map((c) => [c, departmentScope.optional()])) as Record<ComplaintCategory, z.ZodOptional<typeof departmentScope>>, {
    error: `expected a mapping of complaint category (${COMPLAINT_CATEGORIES.join(', ')}) → department`,
  }),
);

const policyFileSchema = z
  .strictObject({
    escalation: z.array(policySchema, { error: 'expected a list of policies (first match wins)' }),
    inhibit: z.array(inhibitSchema, { error: 'expected a list of inhibit rules' }).default([]),
    notify: z.preprocess((v) => (v === null ? {} : v), notifySchema.prefault({})),
    complaint_routing: complaintRoutingSchema.optional(),
  })
  .superRefine((f, ctx) => {
    const seen = new Set<string>();
    f.escalation.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', message: `policy id ${p.id} appears twice`, path: ['escalation', i, 'id'] });
      seen.add(p.id);
    });
  });

function toSettings(n: z.output<typeof notifySchema>): NotifySettings {
  const q = n.quiet_hours;
  return {
    groupWaitMs: n.group_wait,
    ...(q && { quietHours: { startMinute: q.start, endMinute: q.end, except: q.except } }),
    smsPerHour: n.sms_per_hour,
    failover: n.failover === undefined ? DEFAULT_FAILOVER : n.failover,
    retry: { attempts: n.retry.attempts, backoffMs: n.retry.backoff },
    flapping: { windowMs: n.flapping.window, maxFires: n.flapping.max_fires },
    staleDays: n.stale_days,
    feedStall: { notify: n.feed_stall.notify, expectedByMinute: n.feed_stall.expected_by, ratio: n.feed_stall.ratio },
  };
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** sha256 of the policy text, 12 hex. */
export function policyHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Parse policies.yaml text → a frozen PolicySet, or bad_policy errors (file, line, field). */
export function parsePolicies(text: string, file: string): PolicyResult {
  const { src, errors } = parseYaml(file, text);
  if (errors.length > 0) return { ok: false, errors };
  const raw: unknown = src.doc.toJS() ?? {};
  const res = policyFileSchema.safeParse(raw);
  if (!res.success) {
    const errs = issuesToErrors(res.error.issues, src, [], raw, 'bad_policy');
    return { ok: false, errors: errs.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) };
  }
  const policies: PolicySet = {
    escalation: res.data.escalation,
    inhibit: res.data.inhibit,
    settings: toSettings(res.data.notify),
    complaintRouting: { ...DEFAULT_COMPLAINT_ROUTING, ...Object.fromEntries(Object.entries(res.data.complaint_routing ?? {}).filter((e): e is [string, string] => e[1] !== undefined)) },
    hash: policyHash(text),
    source: file,
  };
  return { ok: true, policies: deepFreeze(policies) };
}

let defaults: PolicySet | undefined;

/** The shipped defaults (DEFAULT_POLICIES_YAML), source '(defaults)'. */
export function defaultPolicies(): PolicySet {
  if (!defaults) {
    const res = parsePolicies(DEFAULT_POLICIES_YAML, DEFAULTS_SOURCE);
    if (!res.ok) throw new Error(`shipped policies are invalid: ${res.errors.map((e) => e.format()).join('; ')}`);
    defaults = res.policies;
  }
  return defaults;
}

/** Read `<rulesDir>/policies.yaml` (or .yml); without one, the shipped defaults. */
export async function loadPolicies(rulesDir: string): Promise<PolicyResult> {
  for (const name of POLICY_FILE_NAMES) {
    const file = join(rulesDir, name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      return { ok: false, errors: [new ConfigError('bad_policy', `cannot read file: ${(err as Error).message}`, file)] };
    }
    return parsePolicies(text, file);
  }
  return { ok: true, policies: defaultPolicies() };
}
