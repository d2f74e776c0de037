// Cursor pagination for list endpoints: a stable order, an opaque cursor naming the last item
// served, and `next` only while items remain.

import { HttpError } from './errors.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** The sort key of an item: compared field by field; the last field must be unique (an id). */
export type SortKey = readonly (string | number)[];

export interface Page<T> {
  readonly items: T[];
  readonly next?: string;
}

/** A list response: the page's items under `key`, and `next` when there is more. */
export function pageBody<K extends string, T>(key: K, page: Page<T>): { [P in K]: T[] } & { next?: string } {
  return { [key]: page.items, ...(page.next !== undefined && { next: page.next }) } as { [P in K]: T[] } & { next?: string };
}

function compare(a: SortKey, b: SortKey, descending: readonly boolean[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const c = x < y ? -1 : 1;
    return descending[i] ? -c : c;
  }
  return 0;
}

export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key a cursor names, or a 400 bad_cursor when it was not made by this endpoint. */
export function decodeCursor(cursor: string, shape: readonly ('string' | 'number')[]): SortKey {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const ok = Array.isArray(key) && key.length === shape.length && key.every((v, i) => typeof v === shape[i] && (typeof v !== 'number' || Number.isFinite(v)));
  if (!ok) throw new HttpError(400, 'bad_cursor', 'cursor: not a cursor of this endpoint; pass the `next` value of the previous page unchanged');
  return key as SortKey;
}

export interface PageSpec<T> {
  /** The sort key of an item; its last field must be unique. */
  readonly key: (item: T) => SortKey;
  /** The type of each key field, to check a cursor even when the list is now empty. */
  readonly shape: readonly ('string' | 'number')[];
  /** Which key fields sort newest/largest first; default all ascending. */
  readonly descending?: readonly boolean[];
  readonly limit?: number;
  readonly cursor?: string;
}

/** One page of `all` (already filtered) in the spec's stable order, after the cursor's item. */
export function paginate<T>(all: readonly T[], spec: PageSpec<T>): Page<T> {
  const limit = spec.limit ?? DEFAULT_LIMIT;
  const keyed = all.map((item) => ({ item, key: spec.key(item) }));
  const desc = spec.descending ?? [];
  const after = spec.cursor === undefined ? undefined : decodeCursor(spec.cursor, spec.shape);
  keyed.sort((a, b) => compare(a.key, b.key, desc));
  const rest = after === undefined ? keyed : keyed.filter((k) => compare(k.key, after, desc) > 0);
  const page = rest.slice(0, limit);
  const last = page[page.length - 1];
  return rest.length > limit && last ? { items: page.map((p) => p.item), next: encodeCursor(last.key) } : { items: page.map((p) => p.item) };
}
