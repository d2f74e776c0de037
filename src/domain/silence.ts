// Silences (maintenance windows) as data: what the store keeps and the router matches against.
// Pure: no I/O. Matching lives in route/silences.ts, storage in state/silence-store.ts.

/** A silence (maintenance window): alerts matching every matcher are muted in [startsAt, endsAt). */
export interface Silence {
  readonly id: string;
  readonly matchers: readonly SilenceMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface SilenceMatcher {
  /** A route/fields.ts field name: rule, entity, severity, kind, region, district, attrs.x, labels.y */
  readonly name: string;
  readonly value: string;
  /** `=` equal, `!=` not equal, `=~` regex (anchored), `!~` not regex. */
  readonly op: '=' | '!=' | '=~' | '!~';
}

export type SilenceState = 'active' | 'pending' | 'expired';

export function silenceState(s: Pick<Silence, 'startsAt' | 'endsAt'>, now: number): SilenceState {
  if (now < s.startsAt) return 'pending';
  return now < s.endsAt ? 'active' : 'expired';
}
