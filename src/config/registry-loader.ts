// Entity registry files (LOOKOUT_CONFIG_DIR/entities.csv and entities.yaml) → validated
// Entities, with one ConfigError per bad row naming file, line and field.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeCsv, readCsvRows, type CsvEncoding } from './csv-rows.js';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { Calendar } from '../domain/clock.js';
import { ENTITY_KINDS, type AttrValue, type Entity } from '../domain/entity.js';
import { ConfigError } from '../errors/catalogue.js';

export const ENTITY_CSV_REQUIRED = ['id', 'kind', 'name', 'region', 'district', 'manager'] as const;
export const ATTR_PREFIX = 'attr.';
/** Attributes every campaign must carry; `category` is recommended but optional for now. */
export const CAMPAIGN_REQUIRED_ATTRS = ['start', 'end', 'target_customers', 'owner'] as const;
/** Attributes that hold a local calendar date (YYYY-MM-DD) when present. */
const DATE_ATTRS = ['start', 'end', 'contract_end'] as const;

const ID_MAX = 200;
const text = (what: string) =>
  z
    .string({ error: (iss) => `expected ${what} as a string, got ${show(iss.input)}` })
    .trim()
    .min(1, { error: `${what} must not be empty` })
    .max(ID_MAX, { error: `${what} is longer than ${ID_MAX} characters` });

const attrValue = z.union([z.string(), z.number(), z.boolean()], {
  error: (iss) => `expected a string, number or boolean, got ${show(iss.input)}`,
});

export const entitySchema = z.strictObject({
  id: text('id'),
  kind: z.enum(ENTITY_KINDS, { error: (iss) => `expected one of ${ENTITY_KINDS.join(', ')}, got ${show(iss.input)}` }),
  name: text('name'),
  region: text('region').optional(),
  district: text('district').optional(),
  manager: text('manager (a contact id)').optional(),
  tier: text('tier').optional(),
  attrs: z.record(z.string(), attrValue).optional(),
});

/** Where an entity came from, for error messages. */
export interface EntityLocation {
  readonly file?: string;
  readonly line?: number;
  /** Finer line of one field (YAML knows it); falls back to `line`. */
  readonly lineOf?: (path: readonly PropertyKey[]) => number | undefined;
}

export type EntityCheck = { readonly ok: true; readonly entity: Entity } | { readonly ok: false; readonly errors: ConfigError[] };

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'a list' : 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

const OPTIONAL_TEXT = ['region', 'district', 'manager', 'tier'] as const;

/** null / "" for optional text fields mean "not given" (empty YAML keys, blank CSV cells). */
function normalise(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const k of OPTIONAL_TEXT) if (out[k] === null || out[k] === '') delete out[k];
  if (out.attrs === null) delete out.attrs;
  return out;
}

function semanticProblems(e: Entity): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  const a = e.attrs;
  if (e.kind === 'campaign') {
    for (const k of CAMPAIGN_REQUIRED_ATTRS) {
      if (a[k] === undefined || a[k] === '') out.push({ field: `attrs.${k}`, message: `a campaign needs attrs.${k} (start, end, target_customers, owner)` });
    }
    const tc = a.target_customers;
    if (tc !== undefined && (typeof tc !== 'number' || !(tc > 0))) {
      out.push({ field: 'attrs.target_customers', message: `expected a positive number, got ${show(tc)}` });
    }
    if (a.owner !== undefined && typeof a.owner !== 'string') out.push({ field: 'attrs.owner', message: `expected a contact id, got ${show(a.owner)}` });
  }
  const days: Record<string, number> = {};
  for (const k of DATE_ATTRS) {
    const v = a[k];
    if (v === undefined) continue;
    const day = typeof v === 'string' ? Calendar.parseIsoDay(v) : undefined;
    if (day === undefined) out.push({ field: `attrs.${k}`, message: `expected a date YYYY-MM-DD, got ${show(v)}` });
    else days[k] = day;
  }
  if (days.start !== undefined && days.end !== undefined && days.end < days.start) {
    out.push({ field: 'attrs.end', message: `campaign ends (${String(a.end)}) before it starts (${String(a.start)})` });
  }
  const fee = a.monthly_fee;
  if (fee !== undefined && (typeof fee !== 'number' || fee < 0)) {
    out.push({ field: 'attrs.monthly_fee', message: `expected a number ≥ 0 (yuan), got ${show(fee)}` });
  }
  return out;
}

function pathString(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Validate one entity (JSON, YAML item or CSV row) → Entity, or bad_entity errors. */
export function validateEntity(raw: unknown, where: EntityLocation = {}): EntityCheck {
  const lineOf = (path: readonly PropertyKey[]): number | undefined => where.lineOf?.(path) ?? where.line;
  const id = raw !== null && typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
  const prefix = id ? `entity ${id}: ` : '';
  const parsed = entitySchema.safeParse(normalise(raw));
  if (!parsed.success) {
    const errors = parsed.error.issues.map((iss) => {
      if (iss.code === 'unrecognized_keys') {
        const known = Object.keys(entitySchema.shape).join(', ');
        return new ConfigError('bad_entity', `${prefix}unknown field ${iss.keys.join(', ')} (known: ${known}; put extra facts under attrs)`, where.file, lineOf([iss.keys[0]!]), iss.keys[0]);
      }
      const field = pathString(iss.path) || undefined;
      const message = iss.path.length === 0 ? `expected an entity object, got ${show(raw)}` : iss.message;
      return new ConfigError('bad_entity', `${prefix}${message}`, where.file, lineOf(iss.path), field);
    });
    // Every bad field at once: the attribute checks run on what was given, too.
    const given = normalise(raw) as { kind?: unknown; attrs?: unknown } | null;
    if (given && typeof given === 'object' && given.attrs && typeof given.attrs === 'object' && !Array.isArray(given.attrs)) {
      const flagged = new Set(errors.map((e) => e.field));
      const partial = { kind: given.kind, attrs: given.attrs } as unknown as Entity;
      for (const p of semanticProblems(partial)) {
        if (!flagged.has(p.field)) errors.push(new ConfigError('bad_entity', `${prefix}${p.message}`, where.file, lineOf(p.field.split('.')), p.field));
      }
    }
    return { ok: false, errors };
  }
  const d = parsed.data;
  const entity: Entity = {
    id: d.id,
    kind: d.kind,
    name: d.name,
    ...(d.region !== undefined && { region: d.region }),
    ...(d.district !== undefined && { district: d.district }),
    ...(d.manager !== undefined && { manager: d.manager }),
    ...(d.tier !== undefined && { tier: d.tier }),
    attrs: (d.attrs ?? {}) as Record<string, AttrValue>,
  };
  const problems = semanticProblems(entity);
  if (problems.length > 0) {
    return {
      ok: false,
      errors: problems.map((p) => new ConfigError('bad_entity', `${prefix}${p.message}`, where.file, lineOf(p.field.split('.')), p.field)),
    };
  }
  return { ok: true, entity };
}

export interface RegistryParse {
  readonly entities: Entity[];
  readonly errors: ConfigError[];
}

/** A CSV attr cell → number / boolean / string ("0371" keeps its leading zero as a string). */
export function attrFromCell(cell: string): AttrValue {
  if (/^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(cell)) {
    const n = Number(cell);
    if (Number.isSafeInteger(n) || !Number.isInteger(n)) return n;
  }
  if (cell === 'true') return true;
  if (cell === 'false') return false;
  return cell;
}

function dedupe(items: readonly { entity: Entity; line?: number }[], file: string, errors: ConfigError[]): Entity[] {
  const firstLine = new Map<string, number | undefined>();
  const out: Entity[] = [];
  for (const { entity, line } of items) {
    if (firstLine.has(entity.id)) {
      const first = firstLine.get(entity.id);
      errors.push(new ConfigError('duplicate_entity', `entity ${entity.id} is already defined${first !== undefined ? ` at line ${first}` : ''}`, file, line, 'id'));
      continue;
    }
    firstLine.set(entity.id, line);
    out.push(entity);
  }
  return out;
}

/**
 * Parse entities.csv text. Blank cells are absent; `attr.<name>` columns become attrs. With
 * `contacts`, a manager who is not among them is an `unknown_contact` error on that row too.
 */
export function readEntityCsv(csvText: string, file = 'entities.csv', contacts?: ReadonlySet<string>): RegistryParse {
  const { rows, errors } = readCsvRows(csvText, file, 'bad_entity');
  const header = rows.shift();
  if (!header) return { entities: [], errors };

  const col = new Map<string, number>();
  const attrCols: [string, number][] = [];
  const known = new Set<string>([...ENTITY_CSV_REQUIRED, 'tier']);
  for (const [i, name] of header.cells.entries()) {
    if (col.has(name)) return { entities: [], errors: [new ConfigError('bad_csv_header', `column ${JSON.stringify(name)} appears twice`, file, header.line, name)] };
    col.set(name, i);
    if (name.startsWith(ATTR_PREFIX) && name.length > ATTR_PREFIX.length) attrCols.push([name.slice(ATTR_PREFIX.length), i]);
    else if (!known.has(name)) {
      return {
        entities: [],
        errors: [new ConfigError('bad_csv_header', `unknown column ${JSON.stringify(name)} (known: ${[...known].join(', ')}, attr.<name>)`, file, header.line, name)],
      };
    }
  }
  const missing = ENTITY_CSV_REQUIRED.filter((c) => !col.has(c));
  if (missing.length > 0) {
    return {
      entities: [],
      errors: [new ConfigError('bad_csv_header', `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, file, header.line, missing[0])],
    };
  }

  const cell = (cells: string[], name: string): string | undefined => {
    const i = col.get(name);
    const v = i === undefined ? undefined : cells[i];
    return v === '' ? undefined : v;
  };
  const good: { entity: Entity; line: number }[] = [];
  for (const { cells, line } of rows) {
    const attrs: Record<string, AttrValue> = {};
    for (const [name, i] of attrCols) {
      const v = cells[i];
      if (v !== undefined && v !== '') attrs[name] = attrFromCell(v);
    }
    const raw = {
      id: cell(cells, 'id'),
      kind: cell(cells, 'kind'),
      name: cell(cells, 'name'),
      region: cell(cells, 'region'),
      district: cell(cells, 'district'),
      manager: cell(cells, 'manager'),
      tier: cell(cells, 'tier'),
      attrs,
    };
    const check = validateEntity(raw, { file, line, lineOf: () => line });
    const unknownManager =
      contacts && raw.manager !== undefined && !contacts.has(raw.manager)
        ? [new ConfigError('unknown_contact', `manager ${JSON.stringify(raw.manager)} is not a contact in contacts.csv`, file, line, 'manager')]
        : [];
    if (check.ok && !unknownManager.length) good.push({ entity: check.entity, line });
    else errors.push(...(check.ok ? [] : check.errors).map((e) => new ConfigError(e.code, e.message, e.file, e.line, e.field?.replace(/^attrs\./, ATTR_PREFIX))), ...unknownManager);
  }
  return { entities: dedupe(good, file, errors), errors };
}

/** Parse entities.yaml text: a list of entity objects (the JSON shape of PUT /api/v1/entities). */
export function readEntityYaml(yamlText: string, file = 'entities.yaml'): RegistryParse {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    return {
      entities: [],
      errors: doc.errors.map((e) => new ConfigError('yaml_syntax', e.message.split('\n')[0]!, file, lineCounter.linePos(e.pos[0]).line)),
    };
  }
  const lineAt = (node: unknown): number | undefined => {
    const range = (node as YamlNode | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  const root = doc.contents;
  if (root === null) return { entities: [], errors: [] };
  if (!isSeq(root)) {
    return { entities: [], errors: [new ConfigError('bad_entity', 'expected a list of entities (- id: D0001 …)', file, lineAt(root))] };
  }
  const values = doc.toJS({ maxAliasCount: 100 }) as unknown[];
  const errors: ConfigError[] = [];
  const good: { entity: Entity; line?: number }[] = [];
  root.items.forEach((node, i) => {
    const line = lineAt(node);
    const lineOf = (path: readonly PropertyKey[]): number | undefined => {
      if (!isMap(node)) return line;
      for (let n = path.length; n > 0; n--) {
        const found = lineAt(node.getIn(path.slice(0, n), true));
        if (found !== undefined) return found;
      }
      return line;
    };
    const check = validateEntity(values[i], { file, line, lineOf });
    if (check.ok) good.push({ entity: check.entity, line });
    else errors.push(...check.errors);
  });
  return { entities: dedupe(good, file, errors), errors };
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Decode an entities file: a coded error instead of garbled text when it is not UTF-8. */
export function decodeEntityFile(bytes: Uint8Array, file: string, encoding?: CsvEncoding): { text?: string; error?: ConfigError } {
  try {
    return { text: decodeCsv(bytes, file, encoding) };
  } catch (err) {
    if (err instanceof ConfigError) return { error: err };
    throw err;
  }
}

/** Parse an entities file (CSV, or YAML by its extension) from its bytes. */
export function readEntityFile(bytes: Uint8Array, file: string, encoding?: CsvEncoding, contacts?: ReadonlySet<string>): RegistryParse {
  const { text, error } = decodeEntityFile(bytes, file, encoding);
  if (error) return { entities: [], errors: [error] };
  return /\.ya?ml$/i.test(file) ? readEntityYaml(text!, file) : readEntityCsv(text!, file, contacts);
}

/**
 * Load `entities.csv` and `entities.yaml` (or `.yml`) from the config directory. Missing files
 * are fine. An id defined in both files is a duplicate_entity error too (which one wins would
 * otherwise be a guess).
 */
export async function loadRegistryFiles(configDir: string): Promise<RegistryParse> {
  const errors: ConfigError[] = [];
  const entities: Entity[] = [];
  const origin = new Map<string, string>();
  const add = (parsed: RegistryParse, file: string): void => {
    errors.push(...parsed.errors);
    for (const e of parsed.entities) {
      const other = origin.get(e.id);
      if (other !== undefined) {
        errors.push(new ConfigError('duplicate_entity', `entity ${e.id} is also defined in ${other}`, file, undefined, 'id'));
        continue;
      }
      origin.set(e.id, file);
      entities.push(e);
    }
  };
  const csvPath = join(configDir, 'entities.csv');
  const csvBytes = await readOptional(csvPath);
  if (csvBytes !== undefined) add(readEntityFile(csvBytes, csvPath), csvPath);
  for (const name of ['entities.yaml', 'entities.yml']) {
    const path = join(configDir, name);
    const yamlBytes = await readOptional(path);
    if (yamlBytes === undefined) continue;
    add(readEntityFile(yamlBytes, path), path);
    break;
  }
  return { entities, errors };
}
