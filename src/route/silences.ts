// Silences (maintenance windows), as Alertmanager has them: matchers on alert fields, a time
// window, who and why. Pure: the store keeps them, the mute stage asks `silenceMatches`.

import { RE2JS } from 're2js';
import { z } from 'zod';
import type { AlertRecord } from '../domain/alert.js';
import type { Entity } from '../domain/entity.js';
import type { NewSilence } from '../state/ports.js';
import { alertField } from './fields.js';
import { silenceState } from '../domain/silence.js';
import type { Silence, SilenceMatcher } from './types.js';

export const MATCHER_OPS = ['=', '!=', '=~', '!~'] as const;
export const MAX_MATCHERS = 20;
export const MAX_SILENCE_MS = 90 * 86_400_000;

const MAX_CACHED_REGEXES = 1000;
const regexCache = new Map<string, RE2JS>();

/** Why RE2 refuses a pattern, in words a person can act on. */
function regexProblem(value: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const hint = /\\[1-9]|\(\?[=!<]/.test(value) ? ' (backreferences and lookaround are not supported: matchers run on the linear-time RE2 engine)' : '';
  return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}: ${msg}${hint}`;
}

/**
 * The pattern compiled once on RE2 (linear time in the input, so no pattern can stall the
 * daemon); it must match the whole value. Throws SyntaxError for a pattern RE2 cannot run.
 */
export function anchoredRegex(value: string): RE2JS {
  let re = regexCache.get(value);
  if (re) return re;
  try {
    re = RE2JS.compile(value);
  } catch (err) {
    throw new SyntaxError(regexProblem(value, err));
  }
  // A crude bound: silences are few, but values come from the API.
  if (regexCache.size >= MAX_CACHED_REGEXES) regexCache.clear();
  regexCache.set(value, re);
  return re;
}

/** Does one matcher accept this field value (absent fields are "")? */
export function matcherAccepts(m: SilenceMatcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return anchoredRegex(m.value).matches(value);
    case '!~':
      return !anchoredRegex(m.value).matches(value);
  }
}

export function matcherMatches(m: SilenceMatcher, alert: AlertRecord, entity: Entity | undefined): boolean {
  return matcherAccepts(m, alertField(alert, entity, m.name) ?? '');
}

export { silenceState };

export function silenceMatches(s: Silence, alert: AlertRecord, entity: Entity | undefined, now: number): boolean {
  return silenceState(s, now) === 'active' && s.matchers.every((m) => matcherMatches(m, alert, entity));
}

const DURATION_UNITS: Readonly<Record<string, number>> = { w: 7 * 86_400_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/** `2h`, `30m`, `1d`, `1h30m`, `1w` → ms; NaN when malformed. */
export function parseDuration(s: string): number {
  if (!/^(?:\d+[wdhms])+$/.test(s)) return NaN;
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/(\d+)([wdhms])/g)) ms += Number(n) * DURATION_UNITS[unit!]!;
  return ms;
}

// An offset is required: a bare local time would depend on the server's zone.
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/** ISO-8601 with an offset, epoch ms (number or digit string) → epoch ms; NaN when unparseable. */
export function parseInstant(v: string | number): number {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : NaN;
  if (/^\d{1,16}$/.test(v)) return Number(v);
  if (!ISO_WITH_OFFSET.test(v)) return NaN;
  const [y, mo, d] = v.slice(0, 10).split('-').map(Number) as [number, number, number];
  // Date.parse rolls 2026-02-31 over into March; refuse it instead.
  if (mo < 1 || mo > 12 || d < 1 || new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) return NaN;
  return Date.parse(v.toUpperCase().replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2').replace(/([+-]\d{2})$/, '$1:00'));
}

// Any field route/fields.ts reads; `attrs.` and `labels.` need a key after the dot.
const FIELD_NAME = /^(?!(?:attrs|labels)\.$)[^\s.]\S{0,199}$/u;

const matcherSchema = z
  .strictObject({
    name: z.string().regex(FIELD_NAME, 'expected a field name: rule, entity, severity, state, kind, name, region, district, manager, tier, attrs.<k>, labels.<k> or a label name'),
    value: z.string().max(1000),
    op: z.enum(MATCHER_OPS, { error: `expected one of ${MATCHER_OPS.join(' ')}` }).default('='),
  })
  .superRefine((m, ctx) => {
    if (m.op !== '=~' && m.op !== '!~') return;
    try {
      anchoredRegex(m.value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `invalid regex: ${(err as Error).message}` });
    }
  });

const instant = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = parseInstant(v);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected ISO-8601 with an offset (2026-11-21T22:00:00+08:00) or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

const required = (expected: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? 'is required' : `expected ${expected}`) });

const text = (max: number) =>
  z
    .string(required('a string'))
    .trim()
    .min(1, 'must not be blank')
    .max(max, `must be at most ${max} characters`);

const newSilenceSchema = z.strictObject({
  matchers: z.array(matcherSchema, required('a list of {name, value, op}')).min(1, 'at least one matcher is needed').max(MAX_MATCHERS, `at most ${MAX_MATCHERS} matchers`),
  startsAt: instant.optional(),
  endsAt: instant.optional(),
  duration: z
    .string()
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (!(ms > 0)) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30m, 2h, 1d or 1h30m' });
        return z.NEVER;
      }
      return ms;
    })
    .optional(),
  createdBy: text(200),
  comment: text(1000),
});

export type ParsedSilence = { readonly ok: true; readonly silence: NewSilence } | { readonly ok: false; readonly message: string };

function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message)).join('; ');
}

const fail = (message: string): ParsedSilence => ({ ok: false, message });

/**
 * Validate a POSTed silence. A startsAt in the past becomes `now` (as Alertmanager does), so the
 * window reads as when the silence took effect.
 */
export function parseNewSilence(body: unknown, now: number): ParsedSilence {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('expected a JSON object {matchers, endsAt|duration, createdBy, comment}');
  const parsed = newSilenceSchema.safeParse(body);
  if (!parsed.success) return fail(formatIssues(parsed.error.issues));
  const b = parsed.data;
  const matchers: SilenceMatcher[] = b.matchers.map((m) => ({ name: m.name, value: m.value, op: m.op }));
  if (matchers.every((m) => matcherAccepts(m, ''))) {
    return fail('matchers: every matcher matches an empty field; at least one must not (a silence must not mute everything)');
  }
  if (b.endsAt === undefined && b.duration === undefined) return fail('endsAt or duration is required');
  if (b.endsAt !== undefined && b.duration !== undefined) return fail('give endsAt or duration, not both');
  const startsAt = Math.max(b.startsAt ?? now, now);
  const endsAt = b.endsAt ?? startsAt + b.duration!;
  if (endsAt <= now) return fail(`endsAt: must be in the future${endsAt < 1e11 ? ' (epoch seconds? use milliseconds)' : ''}`);
  if (endsAt <= startsAt) return fail('endsAt: must be after startsAt');
  if (endsAt - startsAt > MAX_SILENCE_MS) return fail('endsAt: a silence lasts at most 90 days');
  return { ok: true, silence: { matchers, startsAt, endsAt, createdBy: b.createdBy, comment: b.comment } };
}
