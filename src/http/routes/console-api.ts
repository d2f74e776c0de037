// Read endpoints the web console needs beyond the plain API: open alerts with names, escalation
// level and who was told; one alert's timeline and chart series; a silence preview that asks the
// muter's own matcher; an entity's page; an ack that records `via: console`. Every answer carries
// the server's `now`, so ages never depend on the browser's clock.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Calendar } from '../../domain/clock.js';
import type { AlertRecord } from '../../domain/alert.js';
import type { Entity } from '../../domain/entity.js';
import { ruleMetric, type Rule } from '../../domain/rule.js';
import { baselineAt } from '../../evaluate/baseline.js';
import type { NotificationRecord } from '../../domain/notification.js';
import { parseNewSilence, silenceMatches } from '../../route/silences.js';
import type { Silence } from '../../route/types.js';
import { nameAlert, type NamedAlert } from '../alert-names.js';
import { requireScope, type TokenIndex } from '../auth.js';
import type { ConsoleDeps, HttpDeps } from '../deps.js';
import { found, fromStore, HttpError } from '../errors.js';
import { paginate } from '../paging.js';
import { errorResponses, IdParams, Item, NoQuery, operatorSecurity, pageQuery } from '../schemas.js';

/** Days the alert and entity charts show. */
export const CHART_DAYS = 35;
/** Notification records read for the alert list (newest first). */
const RECORDS_SCANNED = 5000;
const TOLD_STATES = new Set(['sending', 'sent', 'delivered', 'receipt_unknown']);

const base = { tags: ['console'], security: operatorSecurity };
const Now = z.number().describe('the server clock, epoch ms: ages are computed against it');

/** An alert as the console lists it: the record plus names (fallback ids), level and recipients. */
export interface ConsoleAlert extends NamedAlert {
  /** Highest escalation step notified so far, 1-based (0: nobody yet). */
  readonly level: number;
  readonly told: readonly { readonly contact: string; readonly name: string; readonly channel: string; readonly state: string; readonly step: number }[];
}

function needConsole(deps: HttpDeps): ConsoleDeps {
  if (!deps.console) throw new HttpError(503, 'not_ready', 'the console is not available in this process');
  return deps.console;
}

/** An alert with its names (as the alerts API names it: alert-names.ts), escalation level and recipients. */
function present(alert: AlertRecord, entity: Entity | undefined, rule: Rule | undefined, records: readonly NotificationRecord[], consoleDeps: ConsoleDeps, deps: HttpDeps): ConsoleAlert {
  const mine = records.filter((r) => r.kind === 'alert' && r.items.some((i) => i.alert === alert.id && i.episode === alert.episode));
  const step = (r: NotificationRecord) => Math.max(...r.items.filter((i) => i.alert === alert.id).map((i) => i.step));
  const told = mine
    .filter((r) => TOLD_STATES.has(r.state))
    .map((r) => ({ contact: r.contact, name: consoleDeps.contactName(r.contact) ?? r.contact, channel: r.channel, state: r.state, step: step(r) + 1 }));
  return {
    ...nameAlert(alert, entity, deps.ruleTitle?.(alert.rule) ?? rule?.name),
    level: told.reduce((m, t) => Math.max(m, t.step), 0),
    told,
  };
}

async function entityMap(deps: HttpDeps): Promise<Map<string, Entity>> {
  return new Map((await fromStore(deps.registry.list(), 'the registry')).map((e) => [e.id, e]));
}

async function recordsOf(deps: HttpDeps, alert?: string): Promise<NotificationRecord[]> {
  if (!deps.notifications) return [];
  return fromStore(deps.notifications.list({ limit: alert ? 500 : RECORDS_SCANNED, ...(alert && { alert }) }), 'the notification store');
}

/** One step of an alert's timeline, oldest first. */
interface TimelineEntry {
  readonly at: number;
  readonly type: 'started' | 'fired' | 'notified' | 'escalated' | 'receipt' | 'acknowledged' | 'resolved' | 'resolve_notice';
  readonly step?: number;
  readonly contact?: string;
  readonly name?: string;
  readonly channel?: string;
  readonly state?: string;
  readonly reason?: string;
  readonly by?: string;
  readonly via?: string;
  readonly status?: string;
}

function timeline(alert: AlertRecord, records: readonly NotificationRecord[], consoleDeps: ConsoleDeps): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  if (alert.firingAt === undefined || alert.firingAt !== alert.startsAt) out.push({ at: alert.startsAt, type: 'started' });
  if (alert.firingAt !== undefined) out.push({ at: alert.firingAt, type: 'fired' });
  const mine = records.filter((r) => r.items.some((i) => i.alert === alert.id && i.episode === alert.episode));
  const stepOf = (r: NotificationRecord) => Math.max(...r.items.filter((i) => i.alert === alert.id).map((i) => i.step));
  const stepsSeen = new Set<number>();
  // Steps break ties: records made in one instant still read in escalation order.
  for (const r of [...mine].sort((a, b) => a.createdAt - b.createdAt || stepOf(a) - stepOf(b))) {
    const step = stepOf(r);
    const who = { contact: r.contact, name: consoleDeps.contactName(r.contact) ?? r.contact, channel: r.channel };
    if (r.kind === 'resolve' || step < 0) {
      out.push({ at: r.createdAt, type: 'resolve_notice', ...who, state: r.state, ...(r.reason && { reason: r.reason }) });
      continue;
    }
    if (step > 0 && !stepsSeen.has(step)) out.push({ at: r.createdAt, type: 'escalated', step: step + 1 });
    stepsSeen.add(step);
    out.push({ at: r.createdAt, type: 'notified', step: step + 1, ...who, state: r.state, ...(r.reason && { reason: r.reason }) });
    for (const rc of r.receipts) out.push({ at: rc.at, type: 'receipt', ...who, status: rc.status });
  }
  if (alert.ack) out.push({ at: alert.ack.at, type: 'acknowledged', by: alert.ack.by, via: alert.ack.via });
  if (alert.resolvedAt !== undefined) out.push({ at: alert.resolvedAt, type: 'resolved' });
  return out.sort((a, b) => a.at - b.at);
}

/** Daily values and the rule's own baseline for each of the CHART_DAYS days up to today. */
async function dailyChart(deps: HttpDeps, consoleDeps: ConsoleDeps, entity: string, metric: string, rule: Rule | undefined, now: number) {
  const today = deps.calendar.dayOf(now);
  const fromDay = today - CHART_DAYS + 1;
  const history = rule?.kind === 'change' ? (rule.baseline.method === 'same_weekday_median' ? rule.baseline.weeks * 7 : rule.baseline.days) : 0;
  const series = (await fromStore(consoleDeps.series.readDays(entity, [metric], { fromDay: fromDay - history, toDay: today }), 'the series store')).get(metric) ?? new Map<number, number>();
  const days = [];
  for (let d = fromDay; d <= today; d++) {
    const baseline = rule?.kind === 'change' ? baselineAt(rule.baseline, series, d)?.value : undefined;
    days.push({ day: Calendar.isoDay(d), value: series.get(d) ?? null, baseline: baseline ?? null });
  }
  return days;
}

async function hourlyChart(deps: HttpDeps, consoleDeps: ConsoleDeps, entity: string, metric: string, now: number) {
  const today = deps.calendar.dayOf(now);
  const hours = await fromStore(consoleDeps.series.readHours(entity, metric, today * 24, deps.calendar.hourOf(now)), 'the series store');
  return [...hours].map(([h, value]) => ({ hour: h - today * 24, value }));
}

const AlertsQuery = z.strictObject({ ...pageQuery });
const ChartQuery = z.strictObject({ metric: z.string().min(1).max(100).optional() });

export function consoleApiRoutes(fastify: FastifyInstance, deps: HttpDeps, tokens: TokenIndex): void {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const reader = requireScope(tokens, ['operator', 'viewer']);
  const operator = requireScope(tokens, ['operator']);
  const rulesById = (consoleDeps: ConsoleDeps) => new Map(consoleDeps.rules().map((r) => [r.id, r]));

  app.get(
    '/api/v1/console/alerts',
    {
      onRequest: reader,
      schema: {
        ...base,
        summary: 'Open alerts (pending, firing, acknowledged) with names, escalation level and who was told',
        querystring: AlertsQuery,
        response: { 200: z.object({ now: Now, alerts: z.array(Item), next: z.string().optional() }), ...errorResponses },
      },
    },
    async (request) => {
      const consoleDeps = needConsole(deps);
      const now = deps.clock.now();
      const [all, entities, records] = await Promise.all([fromStore(deps.alerts.list(), 'the alert store'), entityMap(deps), recordsOf(deps)]);
      const rules = rulesById(consoleDeps);
      const open = all.filter((a) => a.state !== 'resolved');
      const page = paginate(open, { key: (a) => [a.updatedAt, a.id], shape: ['number', 'string'], descending: [true, false], limit: request.query.limit, cursor: request.query.cursor });
      const alerts = page.items.map((a) => present(a, entities.get(a.entity), rules.get(a.rule), records, consoleDeps, deps));
      return { now, alerts, ...(page.next !== undefined && { next: page.next }) };
    },
  );

  app.get(
    '/api/v1/console/alerts/:id',
    {
      onRequest: reader,
      schema: {
        ...base,
        summary: "One alert with its timeline (fired, notifications and receipts, escalation, ack, resolve)",
        params: IdParams,
        querystring: NoQuery,
        response: { 200: z.object({ now: Now, alert: Item, entity: Item.optional(), timeline: z.array(Item) }), ...errorResponses },
      },
    },
    async (request) => {
      const consoleDeps = needConsole(deps);
      const now = deps.clock.now();
      const alert = found(await fromStore(deps.alerts.get(request.params.id), 'the alert store'), 'alert', request.params.id);
      const [entity, records] = await Promise.all([fromStore(deps.registry.get(alert.entity), 'the registry'), recordsOf(deps, alert.id)]);
      const rule = rulesById(consoleDeps).get(alert.rule);
      return { now, alert: present(alert, entity, rule, records, consoleDeps, deps), ...(entity && { entity }), timeline: timeline(alert, records, consoleDeps) };
    },
  );

  app.get(
    '/api/v1/console/alerts/:id/series',
    {
      onRequest: reader,
      schema: {
        ...base,
        summary: `The alert's metric for its entity: the last ${CHART_DAYS} days against the rule's baseline, and today's hours`,
        params: IdParams,
        querystring: NoQuery,
        response: {
          200: z.object({ now: Now, metric: z.string().nullable(), days: z.array(Item), hours: z.array(Item), judged: Item.optional() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const consoleDeps = needConsole(deps);
      const now = deps.clock.now();
      const alert = found(await fromStore(deps.alerts.get(request.params.id), 'the alert store'), 'alert', request.params.id);
      const rule = rulesById(consoleDeps).get(alert.rule);
      const metric = rule ? ruleMetric(rule) : undefined;
      if (!metric) return { now, metric: null, days: [], hours: [] };
      const [days, hours] = await Promise.all([dailyChart(deps, consoleDeps, alert.entity, metric, rule, now), hourlyChart(deps, consoleDeps, alert.entity, metric, now)]);
      return { now, metric, days, hours, judged: { day: alert.period, value: alert.value ?? null, baseline: alert.baseline ?? null } };
    },
  );

  app.get(
    '/api/v1/console/entities/:id',
    {
      onRequest: reader,
      schema: {
        ...base,
        summary: `One entity: its alerts and the last ${CHART_DAYS} days of each metric its rules read`,
        params: IdParams,
        querystring: ChartQuery,
        response: { 200: z.object({ now: Now, entity: Item, alerts: z.array(Item), series: z.array(Item) }), ...errorResponses },
      },
    },
    async (request) => {
      const consoleDeps = needConsole(deps);
      const now = deps.clock.now();
      const entity = found(await fromStore(deps.registry.get(request.params.id), 'the registry'), 'entity', request.params.id);
      const [alerts, records] = await Promise.all([fromStore(deps.alerts.list({ entity: entity.id }), 'the alert store'), recordsOf(deps)]);
      const rules = rulesById(consoleDeps);
      const metrics = request.query.metric ? [request.query.metric] : [...new Set(consoleDeps.rules().map(ruleMetric).filter((m): m is string => m !== undefined))];
      const series = [];
      for (const metric of metrics) {
        const days = await dailyChart(deps, consoleDeps, entity.id, metric, undefined, now);
        if (days.some((d) => d.value !== null)) series.push({ metric, days });
      }
      return { now, entity, alerts: alerts.map((a) => present(a, entity, rules.get(a.rule), records, consoleDeps, deps)), series };
    },
  );

  app.post(
    '/api/v1/console/silences/preview',
    {
      onRequest: reader,
      schema: {
        ...base,
        summary: 'The open alerts a silence would mute (matched by the muter’s own code); nothing is stored',
        querystring: NoQuery,
        body: z.unknown().describe('a silence as for POST /api/v1/silences; createdBy and comment may be left out'),
        response: { 200: z.object({ now: Now, alerts: z.array(Item) }), ...errorResponses },
      },
    },
    async (request) => {
      const consoleDeps = needConsole(deps);
      const now = deps.clock.now();
      const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Record<string, unknown>;
      const parsed = parseNewSilence({ createdBy: 'preview', comment: 'preview', ...body }, now);
      if (!parsed.ok) throw new HttpError(400, 'bad_request', parsed.message);
      const silence: Silence = { ...parsed.silence, id: 'preview', createdAt: now, updatedAt: now };
      // Judged inside the window, so a silence that starts later still shows what it will mute.
      const at = Math.max(now, silence.startsAt);
      const [all, entities] = await Promise.all([fromStore(deps.alerts.list(), 'the alert store'), entityMap(deps)]);
      const rules = rulesById(consoleDeps);
      const alerts = all
        .filter((a) => a.state !== 'resolved' && silenceMatches(silence, a, entities.get(a.entity), at))
        .map((a) => present(a, entities.get(a.entity), rules.get(a.rule), [], consoleDeps, deps));
      return { now, alerts };
    },
  );

  app.post(
    '/api/v1/console/alerts/:id/ack',
    {
      onRequest: operator,
      schema: {
        ...base,
        summary: 'Acknowledge a firing alert from the console (recorded with via "console")',
        params: IdParams,
        querystring: NoQuery,
        body: z.object({ by: z.string().min(1).max(200).regex(/\S/) }),
        response: { 200: z.object({ alert: Item }), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      const result = await fromStore(deps.alerts.ack(id, request.body.by.trim(), 'console', deps.clock.now()), 'the alert store');
      if (result.ok) return { alert: result.alert };
      if (result.code === 'not_found') throw new HttpError(404, 'not_found', `no alert ${JSON.stringify(id)}`);
      throw new HttpError(409, 'not_ackable', `alert ${id} is ${result.alert?.state ?? 'not firing'}; only a firing alert can be acknowledged`);
    },
  );
}

