// Who a policy step's recipient refs (manager, district_head, dept_lead:marketing …) name for one
// alert: resolved against the alert's entity, the contacts of the org tree and the on-call rotas.

import type { AlertRecord } from '../domain/alert.js';
import type { Calendar } from '../domain/clock.js';
import type { Entity } from '../domain/entity.js';
import { onCall } from './rota.js';
import { CONTACT_ROLES, type Contact, type ContactRole, type Directory, type RecipientRef, type Rota } from './types.js';

/** Refs filled from the alert's entity (and so meaningless for an alert without one). */
export const ENTITY_REFS = ['manager', 'customer_manager', 'district_head', 'region_head', 'campaign_owner', 'complaint_lead'] as const;
/** Refs filled from the org alone. */
export const ORG_REFS = ['service_oncall', 'ops'] as const;
export const REF_PREFIXES = ['dept_lead:', 'contact:', 'role:'] as const;

type PlainRef = (typeof ENTITY_REFS)[number] | (typeof ORG_REFS)[number];

export type ParsedRef =
  | { readonly kind: PlainRef }
  | { readonly kind: 'dept_lead'; readonly scope: string }
  | { readonly kind: 'contact'; readonly id: string }
  | { readonly kind: 'role'; readonly role: ContactRole };

export const RECIPIENT_REF_HELP =
  'manager, district_head, region_head, service_oncall, campaign_owner, customer_manager, ops, complaint_lead, dept_lead:<scope>, contact:<id> or role:<role>';

/** What the notifier knows about an alert beyond its entity (complaint routing). */
export interface RecipientHints {
  /**
   * `complaint_lead`: the department (dept_lead scope) leading on a campaign complaint alert, from
   * the day's complaint categories; null when the alert is not about complaints (nobody, no error).
   */
  readonly complaintLead?: string | null;
}

/** `dept_lead:marketing` → {kind: 'dept_lead', scope: 'marketing'}; undefined when not a ref. */
export function parseRecipientRef(ref: string): ParsedRef | undefined {
  if ((ENTITY_REFS as readonly string[]).includes(ref) || (ORG_REFS as readonly string[]).includes(ref)) {
    return { kind: ref as PlainRef };
  }
  const colon = ref.indexOf(':');
  if (colon < 0) return undefined;
  const head = ref.slice(0, colon);
  const arg = ref.slice(colon + 1);
  if (arg === '' || /\s/.test(arg)) return undefined;
  if (head === 'dept_lead') return { kind: 'dept_lead', scope: arg };
  if (head === 'contact') return { kind: 'contact', id: arg };
  if (head === 'role' && (CONTACT_ROLES as readonly string[]).includes(arg)) return { kind: 'role', role: arg as ContactRole };
  return undefined;
}

/** True for refs that need the alert's entity to resolve. */
export function isEntityRef(ref: ParsedRef): boolean {
  return (ENTITY_REFS as readonly string[]).includes(ref.kind);
}

/** contacts.csv + rotas.yaml as a Directory (maps frozen; the hash names the files' content). */
export function buildDirectory(contacts: readonly Contact[], rotas: readonly Rota[], hash: string): Directory {
  const byId = new Map<string, Contact>();
  for (const c of contacts) if (!byId.has(c.id)) byId.set(c.id, c);
  const byRole = new Map<ContactRole, Rota>();
  for (const r of rotas) byRole.set(r.role, r);
  return Object.freeze({ contacts: byId, rotas: byRole, hash });
}

export const EMPTY_DIRECTORY: Directory = buildDirectory([], [], '');

export interface Resolution {
  contacts: Contact[];
  missing: { ref: RecipientRef; reason: string }[];
}

type One = Contact[] | { readonly reason: string };

function scopeKey(role: ContactRole, scope: string | undefined): string {
  return `${role}\0${scope ?? ''}`;
}

/** The org tree, indexed by role and scope, answering "who is the district head of M03?". */
export class OrgDirectory {
  private readonly byRole = new Map<ContactRole, Contact[]>();
  private readonly byScope = new Map<string, Contact[]>();

  constructor(readonly directory: Directory) {
    for (const c of directory.contacts.values()) {
      push(this.byRole, c.role, c);
      push(this.byScope, scopeKey(c.role, c.scope), c);
    }
  }

  contact(id: string): Contact | undefined {
    return this.directory.contacts.get(id);
  }

  /** Contacts of `role` (with `scope` when given), in contacts.csv order. */
  ofRole(role: ContactRole, scope?: string): readonly Contact[] {
    return (scope === undefined ? this.byRole.get(role) : this.byScope.get(scopeKey(role, scope))) ?? [];
  }

  /** Resolve refs to contacts (de-duplicated, in order) and say which refs found nobody, and why. */
  resolve(refs: readonly RecipientRef[], alert: AlertRecord, entity: Entity | undefined, now: number, calendar: Calendar, hints: RecipientHints = {}): Resolution {
    const out: Resolution = { contacts: [], missing: [] };
    const seen = new Set<string>();
    for (const ref of refs) {
      const found = this.resolveOne(ref, alert, entity, now, calendar, hints);
      if (!Array.isArray(found)) {
        out.missing.push({ ref, reason: found.reason });
        continue;
      }
      for (const c of found) {
        if (seen.has(c.id)) continue;
        seen.add(c.id);
        out.contacts.push(c);
      }
    }
    return out;
  }

  private resolveOne(ref: RecipientRef, alert: AlertRecord, entity: Entity | undefined, now: number, calendar: Calendar, hints: RecipientHints): One {
    const parsed = parseRecipientRef(ref);
    if (!parsed) return { reason: `${JSON.stringify(ref)} is not a recipient (expected ${RECIPIENT_REF_HELP})` };
    if (isEntityRef(parsed) && !entity) return { reason: `entity ${alert.entity} is not in the registry` };
    switch (parsed.kind) {
      case 'manager':
      case 'customer_manager':
        return this.byId(entity!.manager, `entity ${entity!.id}'s manager`, `entity ${entity!.id} has no manager`);
      case 'campaign_owner': {
        const owner = entity!.attrs.owner;
        const what = `entity ${entity!.id}'s campaign owner (attrs.owner)`;
        return this.byId(typeof owner === 'string' ? owner : undefined, what, `entity ${entity!.id} has no campaign owner (attrs.owner)`);
      }
      case 'district_head':
        return this.scoped('district_head', entity!.district, `entity ${entity!.id} has no district`, 'district');
      case 'region_head':
        return this.scoped('region_head', entity!.region, `entity ${entity!.id} has no region`, 'region');
      case 'dept_lead':
        return this.scoped('dept_lead', parsed.scope, '', 'department');
      case 'complaint_lead':
        // Only campaign complaint alerts have a lead department; for any other alert the ref names nobody.
        return typeof hints.complaintLead === 'string' ? this.scoped('dept_lead', hints.complaintLead, '', 'department') : [];
      case 'service_oncall':
      case 'ops':
        return this.onCallOrAll(parsed.kind, now, calendar);
      case 'contact':
        return this.byId(parsed.id, 'contact', '');
      case 'role': {
        const all = this.ofRole(parsed.role);
        return all.length > 0 ? [...all] : { reason: `no contact has role ${parsed.role}` };
      }
    }
  }

  private byId(id: string | undefined, what: string, unset: string): One {
    if (id === undefined) return { reason: unset };
    const c = this.contact(id);
    return c ? [c] : { reason: `${what} ${id} is not in contacts.csv` };
  }

  private scoped(role: ContactRole, scope: string | undefined, noScope: string, scopeName: string): One {
    if (scope === undefined) return { reason: noScope };
    const found = this.ofRole(role, scope);
    return found.length > 0 ? [...found] : { reason: `no ${role} for ${scopeName} ${scope} in contacts.csv` };
  }

  /** The rota's person on call, else everyone with the role. */
  private onCallOrAll(role: ContactRole, now: number, calendar: Calendar): One {
    const rota = this.directory.rotas.get(role);
    if (rota) {
      const id = onCall(rota, now, calendar);
      const c = this.contact(id);
      return c ? [c] : { reason: `${id || 'nobody'} is on duty (${role} rota) but not in contacts.csv` };
    }
    const all = this.ofRole(role);
    return all.length > 0 ? [...all] : { reason: `no contact has role ${role}` };
  }
}

function push<K>(map: Map<K, Contact[]>, key: K, c: Contact): void {
  const list = map.get(key);
  if (list) list.push(c);
  else map.set(key, [c]);
}
