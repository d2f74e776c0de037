export const ENTITY_KINDS = ['own_hall', 'core_dealer', 'grassroots', 'electronic', 'campaign', 'group_customer'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export type AttrValue = string | number | boolean;

/** A channel, campaign or group customer in the registry (docs/ingest.md#entities-csv). Extra columns live in `attrs`. */
export interface Entity {
  readonly id: string;
  readonly kind: EntityKind;
  readonly name: string;
  readonly region?: string;
  readonly district?: string;
  /** Contact id of the responsible manager (contacts.csv). */
  readonly manager?: string;
  readonly tier?: string;
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

export function isEntityKind(s: unknown): s is EntityKind {
  return typeof s === 'string' && (ENTITY_KINDS as readonly string[]).includes(s);
}
