// Operator-editable message templates (templates/<locale>/*.mustache) → SMS, email and webhook
// text. Templates are read and checked once; SMS is fitted to one segment when the facts allow.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Mustache from 'mustache';
import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import type { Severity } from '../domain/rule.js';
import { ConfigError } from '../errors/catalogue.js';
import { segmentsOf } from './channels/sms-encoding.js';

export type Locale = 'zh' | 'en';

/** One alert as a message shows it to one recipient. */
export interface AlertView {
  readonly alert: AlertRecord;
  readonly entity?: Entity;
  readonly ruleName: string;
  /** 1-based escalation step. */
  readonly level: number;
  readonly ackCode?: string;
  readonly ackUrl?: string;
  /** The alert's console page (short link, consoleLink in links.ts). */
  readonly consoleUrl?: string;
  /** How long the alert lasted (resolve notices). */
  readonly durationMs?: number;
  /** Campaign complaint alerts: the department that leads, 业务支撑中心（计费类投诉 62%）, and its name alone. */
  readonly lead?: string;
  readonly leadDept?: string;
}

export interface EmailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface WebhookContent {
  readonly subject: string;
  readonly text: string;
  readonly data: Record<string, unknown>;
}

export type DigestReason = 'quiet_hours' | 'rate_limit';

/** Where a list SMS of several alerts points (the console's alert list); one alert points to its own page. */
export interface SmsLinks {
  readonly consoleHome?: string;
}

/** Multi-alert SMS (group, digest, resolve) always fit this many segments: fewer items, then "等 N 条". */
export const MAX_LIST_SEGMENTS = 1;

/** Segments an SMS needs: GSM-7 160 (153 per part when concatenated), UCS2 70 (67) UTF-16 units. */
export const smsSegments: (text: string) => number = segmentsOf;

// ---- template files and the fields each may use -------------------------------------------

const ITEM_FIELDS = [
  'id', 'rule', 'ruleName', 'severity', 'severityWord', 'isCritical', 'isWarning', 'isInfo', 'state',
  'entityId', 'entityName', 'entityKind', 'region', 'district', 'place',
  'summary', 'brief', 'period', 'value', 'baseline', 'measure', 'valueText', 'baselineText',
  'level', 'ackCode', 'ackUrl', 'consoleUrl', 'duration', 'index', 'first', 'last', 'lead', 'leadDept', 'topic', 'isCampaign',
] as const;

const LIST_FIELDS = ['alerts', 'count', 'shown', 'more', 'single', 'criticalCount', 'warningCount', 'infoCount', 'topic', 'consoleUrl'] as const;
const DIGEST_FIELDS = [...LIST_FIELDS, 'quietHours', 'rateLimit'] as const;

type ItemView = Record<(typeof ITEM_FIELDS)[number], unknown>;

interface FieldSchema {
  readonly fields: ReadonlySet<string>;
  /** Fields that are lists: inside their section these item fields are in scope too. */
  readonly lists: ReadonlyMap<string, ReadonlySet<string>>;
}

const ITEM_SCHEMA: FieldSchema = { fields: new Set(ITEM_FIELDS), lists: new Map() };
const LIST_SCHEMA: FieldSchema = { fields: new Set(LIST_FIELDS), lists: new Map([['alerts', new Set(ITEM_FIELDS)]]) };
const DIGEST_SCHEMA: FieldSchema = { fields: new Set(DIGEST_FIELDS), lists: LIST_SCHEMA.lists };

/** Every template file a locale folder must hold, with the view it is rendered with. */
export const TEMPLATE_FILES = {
  smsAlert: { file: 'sms-alert.mustache', schema: ITEM_SCHEMA },
  smsAlertShort: { file: 'sms-alert-short.mustache', schema: ITEM_SCHEMA },
  smsGroup: { file: 'sms-group.mustache', schema: LIST_SCHEMA },
  smsDigest: { file: 'sms-digest.mustache', schema: DIGEST_SCHEMA },
  smsResolve: { file: 'sms-resolve.mustache', schema: LIST_SCHEMA },
  emailAlertSubject: { file: 'email-alert.subject.mustache', schema: LIST_SCHEMA },
  emailAlertText: { file: 'email-alert.text.mustache', schema: LIST_SCHEMA },
  emailAlertHtml: { file: 'email-alert.html.mustache', schema: LIST_SCHEMA },
  emailResolveSubject: { file: 'email-resolve.subject.mustache', schema: LIST_SCHEMA },
  emailResolveText: { file: 'email-resolve.text.mustache', schema: LIST_SCHEMA },
  emailResolveHtml: { file: 'email-resolve.html.mustache', schema: LIST_SCHEMA },
  webhookAlert: { file: 'webhook-alert.mustache', schema: LIST_SCHEMA },
} as const satisfies Record<string, { file: string; schema: FieldSchema }>;

export type TemplateKind = keyof typeof TEMPLATE_FILES;
type Templates = Readonly<Record<TemplateKind, string>>;

type Token = [string, string, number, number, ...unknown[]];

function lineAt(source: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

/** Names a template uses that its view lacks, with the line of each. */
function unknownNames(tokens: readonly Token[], scope: ReadonlySet<string>, schema: FieldSchema, source: string, out: string[], html: boolean): void {
  for (const token of tokens) {
    const [type, name, start] = token;
    if (type === 'text' || type === '!' || type === '=') continue;
    const line = lineAt(source, start);
    if (type === '>') {
      out.push(`partial "${name}" at line ${line} (partials are not supported)`);
      continue;
    }
    if (html && type === '&') out.push(`{{{${name}}}} or {{&${name}}} at line ${line} would skip HTML escaping; use {{${name}}}`);
    const head = name.split('.')[0] ?? name;
    if (name !== '.' && !scope.has(head)) out.push(`unknown field "${name}" at line ${line}`);
    if (type === '#' || type === '^') {
      const items = type === '#' ? schema.lists.get(name) : undefined;
      const inner = items ? new Set([...scope, ...items]) : scope;
      unknownNames((token[4] as Token[] | undefined) ?? [], inner, schema, source, out, html);
    }
  }
}

function checkTemplate(file: string, source: string, schema: FieldSchema): void {
  let tokens: Token[];
  try {
    tokens = Mustache.parse(source) as unknown as Token[];
  } catch (err) {
    throw new ConfigError('bad_template', `does not parse: ${(err as Error).message}`, file);
  }
  const problems: string[] = [];
  unknownNames(tokens, schema.fields, schema, source, problems, file.endsWith('.html.mustache'));
  if (problems.length > 0) {
    const line = Number(/at line (\d+)/.exec(problems[0]!)?.[1]);
    const known = [...schema.fields, ...[...schema.lists.values()].flatMap((s) => [...s])];
    throw new ConfigError('bad_template', `${problems.join('; ')} (fields: ${[...new Set(known)].join(', ')})`, file, line || undefined);
  }
}

// ---- views --------------------------------------------------------------------------------

/** Severity as the messages say it (SMS, email, reports). */
export const SEVERITY_WORDS: Readonly<Record<Locale, Readonly<Record<Severity, string>>>> = {
  zh: { critical: '严重', warning: '警告', info: '提示' },
  en: { critical: 'CRITICAL', warning: 'WARNING', info: 'INFO' },
};

/** What a message is about, for its prefix: 【渠道预警…】, 【营销案预警…】, or both for a mixed list. */
export const TOPIC_WORDS: Readonly<Record<Locale, Readonly<Record<'channel' | 'campaign' | 'mixed', string>>>> = {
  zh: { channel: '渠道预警', campaign: '营销案预警', mixed: '渠道·营销案预警' },
  en: { channel: 'channel alert', campaign: 'campaign alert', mixed: 'alerts' },
};

const isCampaign = (v: AlertView) => v.entity?.kind === 'campaign';

function listTopic(views: readonly AlertView[], locale: Locale): string {
  const campaigns = views.filter(isCampaign).length;
  return TOPIC_WORDS[locale][campaigns === 0 ? 'channel' : campaigns === views.length ? 'campaign' : 'mixed'];
}

/** 2 小时 / 1 小时 30 分钟 / 3 天 2 小时 (zh); 2 h / 1 h 30 min / 3 d 2 h (en). */
export function formatDuration(ms: number, locale: Locale): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  const [d, h, m] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  const units = locale === 'zh' ? { d: '天', h: '小时', m: '分钟' } : { d: 'd', h: 'h', m: 'min' };
  const parts = d > 0 ? [[d, units.d], [h, units.h]] : h > 0 ? [[h, units.h], [m, units.m]] : [[m, units.m]];
  return parts
    .filter(([n], i) => i === 0 || n !== 0)
    .map(([n, u]) => `${n} ${u}`)
    .join(' ');
}

/** "开卡量 40，同期基线 100，下降 60%" → "开卡量下降 60%": the metric and the verdict, for lists. */
export function briefOf(summary: string): string {
  const plain = summary.replace(/（[^）]*）/g, '').trim();
  const clauses = plain.split('，').map((c) => c.trim()).filter(Boolean);
  if (clauses.length < 2) return plain;
  const title = clauses[0]!.split(/\s/)[0] ?? '';
  return `${title}${clauses[clauses.length - 1]}`;
}

/** "开卡量 40，同期基线 100，下降 60%" → "下降 60%": the verdict alone, for lists short of room ('' without one). */
export function verdictOf(summary: string): string {
  const clauses = summary.replace(/（[^）]*）/g, '').split('，').map((c) => c.trim()).filter(Boolean);
  return clauses.length < 2 ? '' : clauses[clauses.length - 1]!;
}

/** 37 / 37.5 / 0.42 / 1234.57: a figure as messages show it ('' without one). */
export function figure(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '';
  const abs = Math.abs(n);
  return String(Number(n.toFixed(abs >= 100 || Number.isInteger(n) ? 0 : abs >= 1 ? 1 : 2)));
}

function itemView(v: AlertView, locale: Locale, index: number, total: number): ItemView {
  const a = v.alert;
  const e = v.entity;
  return {
    id: a.id,
    rule: a.rule,
    ruleName: v.ruleName,
    severity: a.severity,
    severityWord: SEVERITY_WORDS[locale][a.severity],
    isCritical: a.severity === 'critical',
    isWarning: a.severity === 'warning',
    isInfo: a.severity === 'info',
    state: a.state,
    entityId: a.entity,
    entityName: e?.name ?? '',
    entityKind: e?.kind ?? '',
    region: e?.region ?? '',
    district: e?.district ?? '',
    place: [e?.region, e?.district].filter(Boolean).join('/'),
    summary: a.summary,
    brief: briefOf(a.summary),
    period: a.period,
    value: a.value,
    baseline: a.baseline,
    measure: a.measure,
    valueText: figure(a.value),
    baselineText: figure(a.baseline),
    level: v.level,
    ackCode: v.ackCode ?? '',
    ackUrl: v.ackUrl ?? '',
    consoleUrl: v.consoleUrl ?? '',
    duration: v.durationMs === undefined ? '' : formatDuration(v.durationMs, locale),
    index: index + 1,
    first: index === 0,
    last: index === total - 1,
    lead: v.lead ?? '',
    leadDept: v.leadDept ?? '',
    topic: TOPIC_WORDS[locale][isCampaign(v) ? 'campaign' : 'channel'],
    isCampaign: isCampaign(v),
  };
}

function listView(views: readonly AlertView[], shown: number, locale: Locale, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const visible = views.slice(0, shown);
  const consoleUrl = views.length === 1 ? (views[0]!.consoleUrl ?? '') : '';
  const bySeverity = (s: Severity) => views.filter((v) => v.alert.severity === s).length;
  return {
    alerts: visible.map((v, i) => itemView(v, locale, i, visible.length)),
    count: views.length,
    shown: visible.length,
    more: views.length - visible.length,
    single: views.length === 1,
    criticalCount: bySeverity('critical'),
    warningCount: bySeverity('warning'),
    infoCount: bySeverity('info'),
    topic: listTopic(views, locale),
    consoleUrl,
    ...extra,
  };
}

function webhookItem(v: AlertView): Record<string, unknown> {
  const a = v.alert;
  return {
    id: a.id,
    fingerprint: a.fingerprint,
    episode: a.episode,
    rule: a.rule,
    ruleName: v.ruleName,
    severity: a.severity,
    state: a.state,
    entity: a.entity,
    entityName: v.entity?.name,
    region: v.entity?.region,
    district: v.entity?.district,
    summary: a.summary,
    period: a.period,
    value: a.value,
    baseline: a.baseline,
    measure: a.measure,
    level: v.level,
    ackCode: v.ackCode,
    ackUrl: v.ackUrl,
    ...(v.lead && { lead: v.lead }),
    startsAt: a.startsAt,
    firingAt: a.firingAt,
  };
}

function nonEmpty(views: readonly AlertView[], what: string): void {
  if (views.length === 0) throw new RangeError(`${what}: no alerts to render`);
}

// SMS, plain text and subjects are not HTML: values go in as they are.
const TEXT = { escape: (v: unknown) => String(v) };

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

// ---- the renderer --------------------------------------------------------------------------

export class MessageRenderer {
  private constructor(
    readonly locale: Locale,
    readonly dir: string,
    private readonly templates: Templates,
  ) {}

  /** Reads and checks every template of one locale folder; a missing or bad file is a ConfigError. */
  static async load(dir: string, locale: Locale): Promise<MessageRenderer> {
    const out: Partial<Record<TemplateKind, string>> = {};
    for (const [kind, { file, schema }] of Object.entries(TEMPLATE_FILES) as [TemplateKind, (typeof TEMPLATE_FILES)[TemplateKind]][]) {
      const path = join(dir, file);
      let source: string;
      try {
        source = await readFile(path, 'utf8');
      } catch (err) {
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'template file is missing' : `cannot read: ${(err as Error).message}`;
        throw new ConfigError('bad_template', `${why} (LOOKOUT_TEMPLATES_DIR=${dir})`, path);
      }
      checkTemplate(path, source, schema);
      out[kind] = source;
    }
    return new MessageRenderer(locale, dir, out as Templates);
  }

  private text(kind: TemplateKind, view: unknown): string {
    return Mustache.render(this.templates[kind], view, {}, TEXT);
  }

  private html(kind: TemplateKind, view: unknown): string {
    return Mustache.render(this.templates[kind], view);
  }

  /**
   * One alert → sms-alert, else sms-alert-short, else shorter facts (fitAlert); several → sms-group.
   * The console link is the first thing an SMS gives up: it is added only when the message, fitted
   * without it, still fits one segment with it.
   */
  smsAlert(views: readonly AlertView[], links: SmsLinks = {}): string {
    nonEmpty(views, 'smsAlert');
    if (views.length > 1) return this.fitList('smsGroup', views, {}, links.consoleHome);
    return this.fitAlert(itemView(views[0]!, this.locale, 0, 1));
  }

  /** The first text that fits one segment without the link, with the link when that still fits. */
  private fitWithLink(tries: Iterable<readonly [TemplateKind, Record<string, unknown>]>, link: string): string {
    let last = '';
    for (const [kind, view] of tries) {
      last = this.text(kind, { ...view, consoleUrl: '' }).trim();
      if (smsSegments(last) > 1) continue;
      if (!link) return last;
      const linked = this.text(kind, { ...view, consoleUrl: link }).trim();
      return smsSegments(linked) <= 1 ? linked : last;
    }
    return last;
  }

  /**
   * One segment for one alert, giving things up in this order: the console link, the full lead,
   * the rule name (short template), the summary's asides, the lead department, the summary's
   * tail, and only then the entity's name; id and 确认 code stay.
   */
  private fitAlert(item: ItemView): string {
    return this.fitWithLink(this.alertTries(item), String(item.consoleUrl));
  }

  private *alertTries(item: ItemView): Generator<readonly [TemplateKind, Record<string, unknown>]> {
    const tries = item.lead ? [item, { ...item, lead: '', leadDept: '' }] : [item];
    for (const it of tries) {
      yield ['smsAlert', it];
      yield ['smsAlertShort', it];
      // The summary's asides (（阈值 10）) go before the lead department does.
      yield ['smsAlertShort', { ...it, summary: String(it.summary).replace(/（[^）]*）/g, '').trim() }];
    }
    const bare = tries[tries.length - 1]!;
    for (const named of [bare, { ...bare, entityName: '' }]) {
      const chars = Array.from(String(named.summary));
      for (let keep = chars.length - 1; keep >= 0; keep--) {
        // Cut at a clause boundary's punctuation rather than leaving "，…".
        const summary = `${chars.slice(0, keep).join('').replace(/[\s，,、；;：:]+$/, '')}…`;
        yield ['smsAlertShort', { ...named, summary, brief: summary }];
      }
    }
  }

  /** Alerts held back by quiet hours or the rate limit, as one bounded SMS. */
  smsDigest(views: readonly AlertView[], reason: DigestReason, links: SmsLinks = {}): string {
    nonEmpty(views, 'smsDigest');
    return this.fitList('smsDigest', views, { quietHours: reason === 'quiet_hours', rateLimit: reason === 'rate_limit' }, links.consoleHome);
  }

  /** Resolved alerts leave the console's open list, so only a single notice links (to its alert's page). */
  smsResolve(views: readonly AlertView[]): string {
    nonEmpty(views, 'smsResolve');
    return this.fitList('smsResolve', views);
  }

  emailAlert(views: readonly AlertView[]): EmailContent {
    nonEmpty(views, 'emailAlert');
    const view = listView(views, views.length, this.locale);
    return { subject: oneLine(this.text('emailAlertSubject', view)), text: this.text('emailAlertText', view), html: this.html('emailAlertHtml', view) };
  }

  emailResolve(views: readonly AlertView[]): EmailContent {
    nonEmpty(views, 'emailResolve');
    const view = listView(views, views.length, this.locale);
    return { subject: oneLine(this.text('emailResolveSubject', view)), text: this.text('emailResolveText', view), html: this.html('emailResolveHtml', view) };
  }

  /** Markdown-ish text for chat bots, plus the alerts as data. */
  webhookAlert(views: readonly AlertView[]): WebhookContent {
    nonEmpty(views, 'webhookAlert');
    const view = listView(views, views.length, this.locale);
    return {
      subject: oneLine(this.text('emailAlertSubject', view)),
      text: this.text('webhookAlert', view).trim(),
      data: { alerts: views.map(webhookItem) },
    };
  }

  /**
   * A list SMS within MAX_LIST_SEGMENTS: as many alerts (in order) as fit, each with its name and
   * brief, else only the verdict, else neither, else without the severity word too; then the same
   * without the names (ids and codes stay whole); the alerts left out are counted ("等 N 条").
   * The link (one alert's page, else `home`) is given up first: added only when the fitted list
   * still has room for it.
   */
  private fitList(kind: TemplateKind, views: readonly AlertView[], extra: Record<string, unknown> = {}, home?: string): string {
    const link = views.length === 1 ? (views[0]!.consoleUrl ?? '') : (home ?? '');
    return this.fitWithLink(this.listTries(kind, views, extra), link);
  }

  private *listTries(kind: TemplateKind, views: readonly AlertView[], extra: Record<string, unknown>): Generator<readonly [TemplateKind, Record<string, unknown>]> {
    for (let shown = views.length; shown >= 1; shown--) {
      const view = listView(views, shown, this.locale, extra);
      // The names go last, and before any item does (an item carries its ack code); without
      // them the briefs and severity words get their room back.
      for (const named of [view.alerts as ItemView[], (view.alerts as ItemView[]).map((a) => ({ ...a, entityName: '' }))]) {
        yield [kind, { ...view, alerts: named }];
        yield [kind, { ...view, alerts: named.map((a) => ({ ...a, brief: verdictOf(String(a.summary)) })) }];
        yield [kind, { ...view, alerts: named.map((a) => ({ ...a, brief: '' })) }];
        yield [kind, { ...view, alerts: named.map((a) => ({ ...a, brief: '', severityWord: '' })) }];
      }
    }
  }
}
