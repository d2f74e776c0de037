// contacts.csv (LOOKOUT_CONFIG_DIR) → validated Contacts, one ConfigError per bad cell naming file,
// line and field. Messages never echo a phone, email or webhook: they end up in logs.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeCsv, readCsvRows } from './csv-rows.js';
import { ConfigError } from '../errors/catalogue.js';
import { CONTACT_ROLES, type Contact, type ContactRole } from '../route/types.js';
import { CHANNEL_NAMES, type ChannelName } from '../domain/notification.js';

export const CONTACTS_FILE = 'contacts.csv';
export const CONTACT_CSV_REQUIRED = ['id', 'name', 'phone', 'email', 'role', 'scope'] as const;
export const CONTACT_CSV_OPTIONAL = ['channels', 'webhook'] as const;
/** Roles whose contacts only make sense for one district, region or department. */
export const SCOPED_ROLES: readonly ContactRole[] = ['district_head', 'region_head', 'dept_lead'];

const ID_PATTERN = /^[\p{L}\p{N}_.@-]{1,200}$/u;
const PHONE_PATTERN = /^\+?\d{6,15}$/;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface ContactsParse {
  readonly contacts: Contact[];
  readonly errors: ConfigError[];
}

export interface ContactsLoad extends ContactsParse {
  /** The path read; absent when there is no contacts.csv. */
  readonly file?: string;
  /** sha256 of the file text, 12 hex (absent with the file). */
  readonly hash?: string;
}

export function isContactRole(s: unknown): s is ContactRole {
  return typeof s === 'string' && (CONTACT_ROLES as readonly string[]).includes(s);
}

/** `138 0373-0001` → `13803730001`; undefined when it is not 6–15 digits with an optional +. */
export function normalisePhone(raw: string): string | undefined {
  const s = raw.replace(/[\s-]/g, '');
  return PHONE_PATTERN.test(s) ? s : undefined;
}

export function isEmail(s: string): boolean {
  return EMAIL_PATTERN.test(s);
}

export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function addressFor(c: { phone?: string; email?: string; webhook?: string }, ch: ChannelName): string | undefined {
  return ch === 'sms' ? c.phone : ch === 'email' ? c.email : c.webhook;
}

const ADDRESS_FIELD: Readonly<Record<ChannelName, string>> = { sms: 'phone', email: 'email', webhook: 'webhook' };
const ADDRESS_NOUN: Readonly<Record<ChannelName, string>> = { sms: 'a phone', email: 'an email', webhook: 'a webhook' };

type Cells = Readonly<Record<string, string | undefined>>;

/** Validate one row (cells by column name, blanks absent) → Contact, or bad_contact errors. */
export function validateContactRow(cells: Cells, file: string, line: number): { contact?: Contact; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const bad = (field: string, message: string) => errors.push(new ConfigError('bad_contact', message, file, line, field));
  const id = cells.id;
  const who = id ? `contact ${id}: ` : '';

  if (id === undefined) bad('id', 'id is required');
  else if (!ID_PATTERN.test(id)) bad('id', `${who}id must be letters, digits, _ . @ - (at most 200)`);
  if (cells.name === undefined) bad('name', `${who}name is required`);

  const role = cells.role;
  if (role === undefined) bad('role', `${who}role is required (one of ${CONTACT_ROLES.join(', ')})`);
  else if (!isContactRole(role)) bad('role', `${who}expected one of ${CONTACT_ROLES.join(', ')}, got ${JSON.stringify(role)}`);
  if (isContactRole(role) && SCOPED_ROLES.includes(role) && cells.scope === undefined) {
    const what = role === 'district_head' ? 'a district id' : role === 'region_head' ? 'a region id' : 'a department (network, billing, customer_service, marketing)';
    bad('scope', `${who}a ${role} needs a scope: ${what}`);
  }

  let phone: string | undefined;
  if (cells.phone !== undefined) {
    phone = normalisePhone(cells.phone);
    if (phone === undefined) bad('phone', `${who}phone: expected 6–15 digits (spaces, dashes and a leading + allowed)`);
  }
  const email = cells.email;
  if (email !== undefined && !isEmail(email)) bad('email', `${who}email: expected an address like name@example.cn`);
  const webhook = cells.webhook;
  // wecom+ / dingtalk+ name a group robot behind a proxy (src/notify/channels/robots.ts).
  if (webhook !== undefined && !isHttpUrl(webhook.replace(/^(wecom|dingtalk)\+/i, ''))) bad('webhook', `${who}webhook: expected an http(s) URL (or wecom+/dingtalk+ and one)`);

  let channels: ChannelName[] = [];
  if (cells.channels !== undefined) {
    for (const name of cells.channels.split(/[;|\s]+/).filter(Boolean)) {
      if (!(CHANNEL_NAMES as readonly string[]).includes(name)) {
        bad('channels', `${who}unknown channel ${JSON.stringify(name)} (expected ${CHANNEL_NAMES.join(', ')}, separated by ;)`);
      } else if (!channels.includes(name as ChannelName)) channels.push(name as ChannelName);
    }
    for (const ch of channels) {
      // Only complain about a missing address when the address cell was not itself invalid.
      if (addressFor({ phone, email, webhook }, ch) === undefined && cells[ADDRESS_FIELD[ch]] === undefined) {
        bad('channels', `${who}channel ${ch} needs ${ADDRESS_NOUN[ch]}`);
      }
    }
  } else {
    // One primary channel by default (SMS first): both SMS and email are an explicit choice.
    channels = CHANNEL_NAMES.filter((ch) => addressFor({ phone, email, webhook }, ch) !== undefined).slice(0, 1);
    if (channels.length === 0 && cells.phone === undefined && email === undefined && webhook === undefined) {
      bad('phone', `${who}a contact needs a phone, an email or a webhook`);
    }
  }

  if (errors.length > 0 || id === undefined || !isContactRole(role)) return { errors };
  const contact: Contact = {
    id,
    name: cells.name!,
    ...(phone !== undefined && { phone }),
    ...(email !== undefined && { email }),
    ...(webhook !== undefined && { webhook }),
    role,
    ...(cells.scope !== undefined && { scope: cells.scope }),
    channels: Object.freeze(channels),
  };
  return { contact: Object.freeze(contact), errors };
}

/** Parse contacts.csv text: a header naming at least the required columns, then one row per contact. */
export function readContactCsv(csvText: string, file = CONTACTS_FILE): ContactsParse {
  const { rows, errors } = readCsvRows(csvText, file, 'bad_contact', { relaxColumnCount: true });
  const header = rows.shift();
  if (!header) return { contacts: [], errors };

  const known = new Set<string>([...CONTACT_CSV_REQUIRED, ...CONTACT_CSV_OPTIONAL]);
  const col = new Map<string, number>();
  for (const [i, name] of header.cells.entries()) {
    if (col.has(name)) return { contacts: [], errors: [new ConfigError('bad_csv_header', `column ${JSON.stringify(name)} appears twice`, file, header.line, name)] };
    if (!known.has(name)) {
      return {
        contacts: [],
        errors: [new ConfigError('bad_csv_header', `unknown column ${JSON.stringify(name)} (known: ${[...known].join(', ')})`, file, header.line, name)],
      };
    }
    col.set(name, i);
  }
  const missing = CONTACT_CSV_REQUIRED.filter((c) => !col.has(c));
  if (missing.length > 0) {
    const msg = `missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`;
    return { contacts: [], errors: [new ConfigError('bad_csv_header', msg, file, header.line, missing[0])] };
  }

  const contacts: Contact[] = [];
  const firstLine = new Map<string, number>();
  for (const { cells, line } of rows) {
    const byName: Record<string, string | undefined> = {};
    for (const [name, i] of col) {
      const v = cells[i];
      byName[name] = v === undefined || v === '' ? undefined : v;
    }
    const { contact, errors: rowErrors } = validateContactRow(byName, file, line);
    errors.push(...rowErrors);
    if (!contact) continue;
    const first = firstLine.get(contact.id);
    if (first !== undefined) {
      errors.push(new ConfigError('duplicate_contact', `contact ${contact.id} is already defined at line ${first}`, file, line, 'id'));
      continue;
    }
    firstLine.set(contact.id, line);
    contacts.push(contact);
  }
  return { contacts, errors };
}

export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

/** Read `<configDir>/contacts.csv`; no file means no contacts (and no error). */
export async function loadContacts(configDir: string): Promise<ContactsLoad> {
  const file = join(configDir, CONTACTS_FILE);
  let text: string;
  try {
    text = decodeCsv(await readFile(file), file);
  } catch (err) {
    if (err instanceof ConfigError) return { contacts: [], errors: [err], file };
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { contacts: [], errors: [] };
    return { contacts: [], errors: [new ConfigError('bad_contact', `cannot read file: ${(err as Error).message}`, file)], file };
  }
  return { ...readContactCsv(text, file), file, hash: contentHash(text) };
}
