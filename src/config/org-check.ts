// Load-time cross-checks of entities, contacts, rotas and policies, so that a contact nobody can
// find is an error at start-up and not a silently skipped page at 3 a.m.

import type { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { ConfigError } from '../errors/catalogue.js';
import { EMPTY_DIRECTORY, OrgDirectory, buildDirectory, parseRecipientRef } from '../route/recipients.js';
import type { Directory, EscalationPolicy, PolicySet, RecipientRef } from '../route/types.js';
import { CONTACTS_FILE, contentHash, loadContacts } from './contacts-loader.js';
import { loadPolicies } from './policy-loader.js';
import { formatPath } from './rule-schema.js';
import { ROTAS_FILE, loadRotas } from './rotas-loader.js';

/** How many entity ids an error names before it says "and N more". */
export const EXAMPLE_ENTITIES = 5;

/** Paths to name in errors (the checks themselves only need the parsed data). */
export interface OrgFiles {
  readonly contacts?: string;
  readonly rotas?: string;
  readonly entities?: string;
}

export type OrgResult =
  | { readonly ok: true; readonly directory: Directory; readonly policies: PolicySet }
  | { readonly ok: false; readonly errors: ConfigError[] };

function examples(ids: readonly string[]): string {
  const shown = ids.slice(0, EXAMPLE_ENTITIES).join(', ');
  return ids.length > EXAMPLE_ENTITIES ? `${shown} and ${ids.length - EXAMPLE_ENTITIES} more` : shown;
}

function countEntities(n: number): string {
  return n === 1 ? '1 entity' : `${n} entities`;
}

/** Entity managers and campaign owners that contacts.csv lacks: one error per unknown contact id. */
export function checkEntityContacts(dir: Directory, entities: readonly Entity[], files: OrgFiles = {}): ConfigError[] {
  const unknown = new Map<string, { id: string; field: string; entities: string[] }>();
  const note = (id: string, field: string, entity: string) => {
    const key = `${field}\0${id}`;
    const entry = unknown.get(key) ?? { id, field, entities: [] };
    entry.entities.push(entity);
    unknown.set(key, entry);
  };
  for (const e of entities) {
    if (e.manager !== undefined && !dir.contacts.has(e.manager)) note(e.manager, 'manager', e.id);
    const owner = e.attrs.owner;
    if (e.kind === 'campaign' && typeof owner === 'string' && !dir.contacts.has(owner)) note(owner, 'attrs.owner', e.id);
  }
  return [...unknown.values()].map((u) => {
    const what = u.field === 'manager' ? 'manager' : 'campaign owner (attrs.owner)';
    const msg = `${what} ${u.id} of ${u.entities.length === 1 ? 'entity' : 'entities'} ${examples(u.entities)} is not in ${files.contacts ?? CONTACTS_FILE}`;
    return new ConfigError('unknown_contact', msg, files.entities, undefined, u.field);
  });
}

/** Rota people and override cover that contacts.csv lacks. */
export function checkRotaContacts(dir: Directory, files: OrgFiles = {}): ConfigError[] {
  const out: ConfigError[] = [];
  for (const [role, rota] of dir.rotas) {
    const check = (id: string, field: string) => {
      if (!dir.contacts.has(id)) out.push(new ConfigError('unknown_contact', `${role} rota names ${id}, who is not in ${files.contacts ?? CONTACTS_FILE}`, files.rotas ?? ROTAS_FILE, undefined, field));
    };
    rota.people.forEach((id, i) => check(id, formatPath(['rotas', role, 'people', i])));
    rota.overrides.forEach((o, i) => check(o.contact, formatPath(['rotas', role, 'overrides', i, 'contact'])));
  }
  return out;
}

interface Gap {
  readonly role: string;
  readonly scope: string;
  readonly why: string;
  readonly entities: string[];
  readonly users: Set<string>;
}

/** Could `p` be the first policy to match some alert of an entity of `kind`? Severity, rule and fields are ignored. */
function kindMatches(p: EscalationPolicy, kind: Entity['kind']): boolean {
  return p.match.kind === undefined || p.match.kind.includes(kind);
}

/** A policy that takes every alert of the kind, so no later policy is reached for it. */
function catchesAll(p: EscalationPolicy, kind: Entity['kind']): boolean {
  const m = p.match;
  return kindMatches(p, kind) && !m.severity && !m.rule && Object.keys(m.fields ?? {}).length === 0;
}

/** Every policy ref resolvable for every entity it could apply to; one error per missing (role, scope). */
export function checkFillable(org: OrgDirectory, entities: readonly Entity[], policies: PolicySet, files: OrgFiles = {}): ConfigError[] {
  const dir = org.directory;
  const gaps = new Map<string, Gap>();
  const gap = (role: string, scope: string, why: string, user: string, entity?: string) => {
    const key = `${role}\0${scope}`;
    let g = gaps.get(key);
    if (!g) gaps.set(key, (g = { role, scope, why, entities: [], users: new Set() }));
    g.users.add(user);
    if (entity !== undefined && g.entities.at(-1) !== entity) g.entities.push(entity);
  };
  const staffed = (role: 'service_oncall' | 'ops') => dir.rotas.has(role) || org.ofRole(role).length > 0;

  /** Refs the org fills whatever the entity (dept_lead:x, service_oncall, ops, role:r). */
  const checkOrgRef = (ref: RecipientRef, user: string, entity?: string): void => {
    const p = parseRecipientRef(ref);
    if (!p) return;
    if (p.kind === 'dept_lead' && org.ofRole('dept_lead', p.scope).length === 0) gap('dept_lead', p.scope, `no dept_lead with scope ${p.scope}`, user, entity);
    if ((p.kind === 'service_oncall' || p.kind === 'ops') && !staffed(p.kind)) gap(p.kind, '', `no ${p.kind} contact (and no ${p.kind} rota)`, user, entity);
    if (p.kind === 'role' && org.ofRole(p.role).length === 0) gap(p.role, '', `no contact has role ${p.role}`, user, entity);
  };

  const checkEntityRef = (ref: RecipientRef, e: Entity, user: string): void => {
    const p = parseRecipientRef(ref);
    if (!p) return;
    switch (p.kind) {
      case 'manager':
      case 'customer_manager':
        // An unknown manager id is reported by checkEntityContacts; here only the absent one.
        if (e.manager === undefined) gap(p.kind, '(none)', 'entities without a manager', user, e.id);
        return;
      case 'campaign_owner': {
        const owner = e.attrs.owner;
        if (typeof owner === 'string' && (dir.contacts.has(owner) || e.kind === 'campaign')) return;
        gap('campaign_owner', '(none)', 'entities without a known campaign owner (attrs.owner)', user, e.id);
        return;
      }
      case 'district_head':
        if (e.district === undefined) gap('district_head', '(none)', 'entities without a district', user, e.id);
        else if (org.ofRole('district_head', e.district).length === 0) gap('district_head', e.district, `no district_head for district ${e.district}`, user, e.id);
        return;
      case 'region_head':
        if (e.region === undefined) gap('region_head', '(none)', 'entities without a region', user, e.id);
        else if (org.ofRole('region_head', e.region).length === 0) gap('region_head', e.region, `no region_head for region ${e.region}`, user, e.id);
        return;
      default:
        checkOrgRef(ref, user, e.id);
    }
  };

  for (const e of entities) {
    for (const p of policies.escalation) {
      if (!kindMatches(p, e.kind)) continue;
      p.steps.forEach((s, i) => s.notify.forEach((ref) => checkEntityRef(ref, e, `policy ${p.id} step ${i + 1}`)));
      if (catchesAll(p, e.kind)) break;
    }
  }
  for (const ref of policies.settings.feedStall.notify) checkOrgRef(ref, 'notify.feed_stall');

  return [...gaps.values()].map((g) => {
    const affects = g.entities.length > 0 ? `; affects ${countEntities(g.entities.length)}: ${examples(g.entities)}` : '';
    const msg = `${g.why}, needed by ${[...g.users].join(', ')}${affects}`;
    const onEntity = g.scope === '(none)';
    return new ConfigError('missing_contact', msg, onEntity ? files.entities : (files.contacts ?? CONTACTS_FILE), undefined, onEntity ? g.role : `role=${g.role}${g.scope ? ` scope=${g.scope}` : ''}`);
  });
}

/** `contact:<id>` refs in the policies that contacts.csv lacks. */
export function checkPolicyContacts(dir: Directory, policies: PolicySet, files: OrgFiles = {}): ConfigError[] {
  const out: ConfigError[] = [];
  const check = (ref: RecipientRef, field: string) => {
    const p = parseRecipientRef(ref);
    if (p?.kind === 'contact' && !dir.contacts.has(p.id)) {
      out.push(new ConfigError('unknown_contact', `${ref}: ${p.id} is not in ${files.contacts ?? CONTACTS_FILE}`, policies.source, undefined, field));
    }
  };
  policies.escalation.forEach((p, i) => p.steps.forEach((s, j) => s.notify.forEach((ref) => check(ref, formatPath(['escalation', i, 'steps', j, 'notify'])))));
  policies.settings.feedStall.notify.forEach((ref) => check(ref, 'notify.feed_stall.notify'));
  return out;
}

/** Every cross-check: managers, campaign owners, rota people, contact refs, fillable roles. */
export function checkOrg(dir: Directory, entities: readonly Entity[], policies: PolicySet, files: OrgFiles = {}): ConfigError[] {
  return [
    ...checkEntityContacts(dir, entities, files),
    ...checkRotaContacts(dir, files),
    ...checkPolicyContacts(dir, policies, files),
    ...checkFillable(new OrgDirectory(dir), entities, policies, files),
  ];
}

/**
 * contacts.csv + rotas.yaml (configDir) and policies.yaml (rulesDir), cross-checked against the
 * entities. Without contacts.csv the check is skipped and the directory is empty (development:
 * alerts are recorded, nobody is notified).
 */
export async function loadOrg(configDir: string, rulesDir: string, calendar: Calendar, entities: readonly Entity[]): Promise<OrgResult> {
  const [contacts, rotas, policies] = await Promise.all([loadContacts(configDir), loadRotas(configDir, calendar), loadPolicies(rulesDir)]);
  const errors = [...contacts.errors, ...rotas.errors, ...(policies.ok ? [] : policies.errors)];
  if (contacts.file === undefined) {
    return errors.length > 0 || !policies.ok ? { ok: false, errors } : { ok: true, directory: EMPTY_DIRECTORY, policies: policies.policies };
  }
  const files: OrgFiles = { contacts: contacts.file, ...(rotas.file !== undefined && { rotas: rotas.file }) };
  const directory = buildDirectory(contacts.contacts, rotas.rotas, contentHash(`${contacts.hash ?? ''}\0${rotas.hash ?? ''}`));
  errors.push(
    ...(policies.ok
      ? checkOrg(directory, entities, policies.policies, files)
      : [...checkEntityContacts(directory, entities, files), ...checkRotaContacts(directory, files)]),
  );
  if (errors.length > 0 || !policies.ok) return { ok: false, errors };
  return { ok: true, directory, policies: policies.policies };
}
