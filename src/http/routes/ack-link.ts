// Signed ack links: GET /ack/:token shows the alert and a button; POST /ack/:token acknowledges.
// GET never acknowledges, because chat apps and mail scanners fetch links to preview them.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AlertRecord, AlertState } from '../../domain/alert.js';
import type { Entity } from '../../domain/entity.js';
import type { Severity } from '../../domain/rule.js';
import { verifyAckLink, type AckLinkClaims } from '../../notify/ack-link.js';
import { consoleLink } from '../../notify/links.js';
import { nameAlert } from '../alert-names.js';
import type { HttpDeps } from '../deps.js';
import { errorBody, fromStore, type HttpErrorCode } from '../errors.js';
import { errorResponses, Item, NoQuery, Text } from '../schemas.js';

type Locale = 'zh' | 'en';

/** What a page reports: an error code of the catalogue or the outcome of a valid link. */
type Outcome = HttpErrorCode | 'confirm' | 'acknowledged' | 'already_acknowledged';

interface Words {
  readonly lang: string;
  readonly title: string;
  readonly fields: { rule: string; entity: string; place: string; summary: string; severity: string; state: string; period: string; contact: string };
  readonly states: Record<AlertState, string>;
  readonly severities: Record<Severity, string>;
  readonly button: string;
  readonly console: string;
  readonly prompt: string;
  readonly acknowledged: string;
  readonly already: (by: string, at: string) => string;
  readonly ended: string;
  readonly notFiring: (state: string) => string;
  readonly invalid: string;
  readonly expired: string;
  readonly notFound: string;
  readonly disabled: string;
}

const WORDS: Record<Locale, Words> = {
  zh: {
    lang: 'zh-CN',
    title: '渠道预警确认',
    fields: { rule: '预警规则', entity: '对象', place: '区域', summary: '情况', severity: '级别', state: '状态', period: '周期', contact: '接收人' },
    states: { pending: '观察中', firing: '告警中', acknowledged: '已确认', resolved: '已恢复' },
    severities: { critical: '严重', warning: '警告', info: '提示' },
    button: '确认收到',
    console: '在控制台查看详情',
    prompt: '确认后，本预警的升级通知将停止。',
    acknowledged: '已确认，升级通知已停止。',
    already: (by, at) => `该预警已由 ${by} 于 ${at} 确认。`,
    ended: '该预警已经结束，无需确认。',
    notFiring: (state) => `该预警当前为「${state}」，无法确认。`,
    invalid: '确认链接无效（可能不完整或已被改动）。',
    expired: '确认链接已过期，请回复短信确认或联系值班人员。',
    notFound: '找不到该预警。',
    disabled: '未启用确认链接。',
  },
  en: {
    lang: 'en',
    title: 'Acknowledge warning',
    fields: { rule: 'Rule', entity: 'Entity', place: 'Where', summary: 'What', severity: 'Severity', state: 'State', period: 'Period', contact: 'Sent to' },
    states: { pending: 'pending', firing: 'firing', acknowledged: 'acknowledged', resolved: 'resolved' },
    severities: { critical: 'critical', warning: 'warning', info: 'info' },
    button: 'Acknowledge',
    console: 'Open in the console',
    prompt: 'Acknowledging stops the escalation of this warning.',
    acknowledged: 'Acknowledged. The escalation has stopped.',
    already: (by, at) => `Already acknowledged by ${by} at ${at}.`,
    ended: 'This warning has already ended; there is nothing to acknowledge.',
    notFiring: (state) => `This warning is ${state} and cannot be acknowledged.`,
    invalid: 'This acknowledgement link is not valid (incomplete or altered).',
    expired: 'This acknowledgement link has expired; reply to the SMS or call the on-call person.',
    notFound: 'No such warning.',
    disabled: 'Acknowledgement links are not enabled.',
  },
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

interface Page {
  readonly status: number;
  readonly outcome: Outcome;
  readonly message: string;
  readonly alert?: AlertRecord;
  readonly entity?: Entity;
  readonly form?: boolean;
  /** Who the link was sent to (contact name, else id). */
  readonly contact?: string;
}

/** What a page shows of its alert: titles and names, not ids alone; the link to its console page. */
interface Shown {
  readonly ruleTitle: string;
  readonly contact?: string;
  readonly consoleUrl: string;
}

function renderPage(w: Words, p: Page, shown?: Shown): string {
  const a = p.alert;
  const place = [p.entity?.region, p.entity?.district].filter(Boolean).join(' / ');
  const rows = a
    ? [
        [w.fields.rule, shown?.ruleTitle ?? a.rule],
        [w.fields.entity, p.entity?.name ? `${p.entity.name}（${a.entity}）` : a.entity],
        ...(place ? [[w.fields.place, place]] : []),
        [w.fields.summary, a.summary],
        [w.fields.severity, w.severities[a.severity]],
        [w.fields.state, w.states[a.state]],
        [w.fields.period, a.period],
        ...(shown?.contact ? [[w.fields.contact, shown.contact]] : []),
      ]
        .map(([k, v]) => `<dt>${esc(k!)}</dt><dd>${esc(v!)}</dd>`)
        .join('')
    : '';
  // No action attribute: the form posts back to this same URL, whatever prefix a proxy adds.
  const form = p.form ? `<form method="post"><button type="submit">${esc(w.button)}</button></form>` : '';
  const link = a && shown ? `<p><a href="${esc(shown.consoleUrl)}">${esc(w.console)}</a></p>` : '';
  return `<!doctype html>
<html lang="${esc(w.lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${esc(w.title)}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}dt{color:#666;font-size:.85rem;margin-top:.6rem}dd{margin:0}button{font-size:1.1rem;padding:.6rem 1.4rem;margin-top:1rem}</style></head>
<body><main data-code="${esc(p.outcome)}"><h1>${esc(w.title)}</h1><p>${esc(p.message)}</p>${rows ? `<dl>${rows}</dl>` : ''}${form}${link}</main></body></html>
`;
}

function wantsJson(request: FastifyRequest): boolean {
  return /\bapplication\/json\b/.test(request.headers.accept ?? '');
}

function sendPage(request: FastifyRequest, reply: FastifyReply, w: Words, p: Page, shown?: Shown): FastifyReply {
  void reply.code(p.status).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
  if (wantsJson(request)) {
    if (p.status >= 400) return reply.send(errorBody(p.outcome as HttpErrorCode, p.message));
    const alert = p.alert && nameAlert(p.alert, p.entity, shown?.ruleTitle);
    return reply.send({ outcome: p.outcome, message: p.message, alert, ...(shown?.consoleUrl && { consoleUrl: shown.consoleUrl }), ...(p.form !== undefined && { ackable: p.form }) });
  }
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('x-frame-options', 'DENY')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
    .send(renderPage(w, p, shown));
}

export function ackLinkRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const w = WORDS[deps.config.locale];
  const when = new Intl.DateTimeFormat(w.lang, { timeZone: deps.config.timeZone, dateStyle: 'short', timeStyle: 'short' });

  /** The verified claims and the alert they name, or the page that says why not. */
  async function resolve(request: FastifyRequest): Promise<{ claims: AckLinkClaims; alert: AlertRecord } | Page> {
    if (!deps.ackLinks) return { status: 404, outcome: 'not_found', message: w.disabled };
    const token = (request.params as { '*': string })['*'];
    const verdict = verifyAckLink(deps.ackLinks.secret, token, deps.clock.now());
    if (!verdict.ok) {
      return verdict.code === 'link_expired'
        ? { status: 410, outcome: 'link_expired', message: w.expired }
        : { status: 400, outcome: 'link_invalid', message: w.invalid };
    }
    const alert = await fromStore(deps.alerts.get(verdict.claims.alert), 'the alert store');
    if (!alert) return { status: 404, outcome: 'not_found', message: w.notFound };
    return { claims: verdict.claims, alert };
  }

  const entityOf = (alert: AlertRecord) => fromStore(deps.registry.get(alert.entity), 'the entity registry');
  const who = (contact: string) => deps.contactName?.(contact) || contact;
  const ackedLine = (a: AlertRecord) => w.already(a.ack ? who(a.ack.by) : '?', a.ack ? when.format(a.ack.at) : '?');
  // Pages of a valid link name the rule by its title and the recipient by name, and link the console page.
  const send = (request: FastifyRequest, reply: FastifyReply, p: Page) =>
    sendPage(request, reply, w, p, p.alert && {
      ruleTitle: deps.ruleTitle?.(p.alert.rule) ?? p.alert.rule,
      ...(p.contact && { contact: who(p.contact) }),
      consoleUrl: consoleLink(deps.config.publicUrl, p.alert.id),
    });

  // The link is the credential (no bearer token); responses are HTML, or JSON on Accept: application/json.
  const schema = { tags: ['ack links'], security: [], querystring: NoQuery, response: { 200: z.union([Item, Text]), ...errorResponses } };

  // `/ack/*`, not `/ack/:token`: the router caps `:param` values at 100 characters.
  void app.register(async (scope) => {
    // Browsers post the button as a form; its (empty) body carries nothing we need.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, _body, done) => done(null, {}));

    scope.get('/ack/*', { schema: { ...schema, summary: 'The page of a signed ack link (never acknowledges; HTML, or JSON for Accept: application/json)' } }, async (request, reply) => {
      const found = await resolve(request);
      if ('status' in found) return send(request, reply, found);
      const { claims, alert } = found;
      const entity = await entityOf(alert);
      const page = (message: string, form: boolean): Page => ({ status: 200, outcome: 'confirm', message, alert, entity, form, contact: claims.contact });
      if (alert.episode !== claims.episode || alert.state === 'resolved') return send(request, reply, page(w.ended, false));
      if (alert.state === 'acknowledged') return send(request, reply, page(ackedLine(alert), false));
      if (alert.state !== 'firing') return send(request, reply, page(w.notFiring(w.states[alert.state]), false));
      return send(request, reply, page(w.prompt, true));
    });

    scope.post('/ack/*', { bodyLimit: 4096, schema: { ...schema, summary: 'Acknowledge via a signed ack link (the button of the page)' } }, async (request, reply) => {
      const found = await resolve(request);
      if ('status' in found) return send(request, reply, found);
      const { claims, alert } = found;
      const entity = await entityOf(alert);
      if (alert.episode !== claims.episode) {
        return send(request, reply, { status: 409, outcome: 'not_ackable', message: w.ended, alert, entity, contact: claims.contact });
      }
      const result = await fromStore(deps.alerts.ack(claims.alert, claims.contact, 'link', deps.clock.now(), claims.episode), 'the alert store');
      if (result.ok) {
        const already = alert.state === 'acknowledged';
        const message = already ? ackedLine(result.alert) : w.acknowledged;
        return send(request, reply, { status: 200, outcome: already ? 'already_acknowledged' : 'acknowledged', message, alert: result.alert, entity, contact: claims.contact });
      }
      if (result.code === 'not_found') return send(request, reply, { status: 404, outcome: 'not_found', message: w.notFound });
      const now = result.alert ?? alert;
      const message = now.state === 'resolved' ? w.ended : w.notFiring(w.states[now.state]);
      return send(request, reply, { status: 409, outcome: 'not_ackable', message, alert: now, entity, contact: claims.contact });
    });
  });
}
