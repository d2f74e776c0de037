// rotas.yaml (LOOKOUT_CONFIG_DIR) → validated weekly on-call Rotas, errors naming file, line, field.
// Whether the people exist is checked later against contacts.csv (config/org-check.ts).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { Calendar } from '../domain/clock.js';
import { ConfigError } from '../errors/catalogue.js';
import { localInstant } from '../route/rota.js';
import type { ContactRole, Rota } from '../route/types.js';
import { contentHash } from './contacts-loader.js';
import { formatPath, issuesToErrors, lineOf } from './rule-schema.js';
import { parseYaml } from './rules-loader.js';

export const ROTAS_FILE = 'rotas.yaml';
/** Roles a rota may staff: the ones paged as "whoever is on call" (route/recipients.ts). */
export const ROTA_ROLES = ['service_oncall', 'ops'] as const satisfies readonly ContactRole[];

export interface RotasLoad {
  readonly rotas: Rota[];
  readonly errors: ConfigError[];
  readonly file?: string;
  readonly hash?: string;
}

/** `09:00` → 540; undefined unless HH:MM (or H:MM) within a day. */
export function parseClockTime(s: string): number | undefined {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(s);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

/**
 * A local date-time in the calendar's zone (`2026-12-24T18:00`, `2026-12-24 18:00`, a bare date
 * for midnight), or an ISO instant with an explicit offset → epoch ms.
 */
export function parseLocalDateTime(s: string, calendar: Calendar): number | undefined {
  if (/(?:Z|[+-]\d{2}:?\d{2})$/.test(s) && s.includes('T')) {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}:\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (!m) return undefined;
  const day = Calendar.parseIsoDay(m[1]!);
  const minute = m[2] === undefined ? 0 : parseClockTime(m[2]);
  if (day === undefined || minute === undefined) return undefined;
  return localInstant(calendar, day, minute) + Number(m[3] ?? 0) * 1000;
}

const contactId = z.string({ error: 'expected a contact id' }).trim().min(1, { error: 'expected a contact id' });
const isoDay = z
  .string({ error: 'expected a date YYYY-MM-DD (quote it if YAML reads it as something else)' })
  .refine((s) => Calendar.parseIsoDay(s) !== undefined, { error: 'expected a date YYYY-MM-DD' });
const clockTime = z
  .string({ error: 'expected a local time "HH:MM" (quoted)' })
  .refine((s) => parseClockTime(s) !== undefined, { error: 'expected a local time "HH:MM"' });
const localTime = z.string({ error: 'expected a local date-time like "2026-12-24T18:00"' });

const overrideSchema = z.strictObject({ from: localTime, to: localTime, contact: contactId });

const rotaSchema = z.strictObject({
  start: isoDay,
  handover: clockTime.default('09:00'),
  people: z.array(contactId, { error: 'expected a list of contact ids' }).min(1, { error: 'a rota needs at least one person' }),
  overrides: z.array(overrideSchema, { error: 'expected a list of {from, to, contact}' }).default([]),
});

const rotasFileSchema = z.strictObject({
  rotas: z
    .record(z.string(), z.unknown(), { error: 'expected a mapping of role → rota (e.g. service_oncall:)' })
    .superRefine((rotas, ctx) => {
      for (const role of Object.keys(rotas)) {
        if (!(ROTA_ROLES as readonly string[]).includes(role)) {
          ctx.addIssue({ code: 'custom', message: `a rota staffs one of ${ROTA_ROLES.join(', ')}, not ${JSON.stringify(role)}`, path: [role] });
        }
      }
    })
    .default({}),
});

/** Parse rotas.yaml text; override times are local to `calendar`'s zone. */
export function readRotasYaml(text: string, calendar: Calendar, file = ROTAS_FILE): { rotas: Rota[]; errors: ConfigError[] } {
  const { src, errors: syntax } = parseYaml(file, text);
  if (syntax.length > 0) return { rotas: [], errors: syntax };
  const raw: unknown = src.doc.toJS() ?? {};
  const top = rotasFileSchema.safeParse(raw);
  if (!top.success) return { rotas: [], errors: issuesToErrors(top.error.issues, src, [], raw, 'bad_rota') };

  const rotas: Rota[] = [];
  const errors: ConfigError[] = [];
  for (const [role, body] of Object.entries(top.data.rotas) as [ContactRole, unknown][]) {
    const at = ['rotas', role];
    const res = rotaSchema.safeParse(body);
    if (!res.success) {
      errors.push(...issuesToErrors(res.error.issues, src, at, body, 'bad_rota'));
      continue;
    }
    const r = res.data;
    const startDay = Calendar.parseIsoDay(r.start)!;
    const overrides: { from: number; to: number; contact: string }[] = [];
    r.overrides.forEach((o, i) => {
      const from = parseLocalDateTime(o.from, calendar);
      const to = parseLocalDateTime(o.to, calendar);
      const path = [...at, 'overrides', i];
      const bad = (field: string, message: string) =>
        errors.push(new ConfigError('bad_rota', message, file, lineOf(src, [...path, field]), formatPath([...path, field])));
      if (from === undefined) bad('from', 'expected a local date-time like "2026-12-24T18:00"');
      if (to === undefined) bad('to', 'expected a local date-time like "2026-12-26T09:00"');
      if (from !== undefined && to !== undefined) {
        if (to <= from) bad('to', 'an override must end after it starts');
        else overrides.push(Object.freeze({ from, to, contact: o.contact }));
      }
    });
    rotas.push(
      Object.freeze({
        role,
        start: r.start,
        handoverWeekday: Calendar.weekday(startDay),
        handoverMinute: parseClockTime(r.handover)!,
        people: Object.freeze([...r.people]),
        overrides: Object.freeze(overrides),
      }),
    );
  }
  return errors.length > 0 ? { rotas: [], errors } : { rotas, errors };
}

/** Read `<configDir>/rotas.yaml`; no file means no rotas (service_oncall pages every on-call contact). */
export async function loadRotas(configDir: string, calendar: Calendar): Promise<RotasLoad> {
  const file = join(configDir, ROTAS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rotas: [], errors: [] };
    return { rotas: [], errors: [new ConfigError('bad_rota', `cannot read file: ${(err as Error).message}`, file)], file };
  }
  return { ...readRotasYaml(text, calendar, file), file, hash: contentHash(text) };
}
