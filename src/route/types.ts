// The org and notification configuration, as parsed and frozen: contacts (contacts.csv), on-call
// rotas (rotas.yaml), and the notification policy (rules/policies.yaml: escalation chains,
// inhibition, grouping, quiet hours, rate limits, failover, flapping, feed-stall guard).

import type { EntityKind } from '../domain/entity.js';
import type { ChannelName } from '../domain/notification.js';
import type { Severity } from '../domain/rule.js';


export const CONTACT_ROLES = [
  'channel_manager',
  'district_head',
  'region_head',
  'service_oncall',
  'campaign_owner',
  'dept_lead',
  'customer_manager',
  'ops',
] as const;
export type ContactRole = (typeof CONTACT_ROLES)[number];

/** A row of contacts.csv (`id,name,phone,email,role,scope`, optional `channels`, `webhook`). */
export interface Contact {
  readonly id: string;
  readonly name: string;
  /** Digits with an optional leading +, e.g. 13803730001. */
  readonly phone?: string;
  readonly email?: string;
  /** JSON POST target (an enterprise chat bot), when the contact is reached that way. */
  readonly webhook?: string;
  readonly role: ContactRole;
  /** district id (district_head), region id (region_head), department (dept_lead), … */
  readonly scope?: string;
  /** Preferred channels, first = primary. Default: sms (if phone), email (if email), webhook. */
  readonly channels: readonly ChannelName[];
}

/** Weekly on-call rota (rotas.yaml): the person on call changes at `handover` local time. */
export interface Rota {
  readonly role: ContactRole;
  /** Local date (YYYY-MM-DD) of a hand-over at which `people[0]` goes on call. */
  readonly start: string;
  /** 0 = Sunday … 6 = Saturday, derived from `start`. */
  readonly handoverWeekday: number;
  /** Minutes after local midnight, e.g. 540 for 09:00. */
  readonly handoverMinute: number;
  readonly people: readonly string[];
  /** Explicit cover: [from, to) epoch ms → contact id. */
  readonly overrides: readonly { readonly from: number; readonly to: number; readonly contact: string }[];
}

/** contacts.csv + rotas.yaml, validated together (every rota person is a contact). */
export interface Directory {
  readonly contacts: ReadonlyMap<string, Contact>;
  readonly rotas: ReadonlyMap<ContactRole, Rota>;
  /** Content hash of the files (for logs and the config-hash metric). */
  readonly hash: string;
}

/**
 * Who a policy step notifies, resolved against the alert's entity and the org:
 * `manager` (entity.manager), `district_head` / `region_head` (by the entity's district /
 * region), `service_oncall` (the rota's person on call, else every service_oncall contact),
 * `campaign_owner` (attrs.owner), `customer_manager` (entity.manager of a group customer),
 * `dept_lead:<scope>` (e.g. dept_lead:marketing), `ops`, `contact:<id>`.
 */
export type RecipientRef = string;

/** Which alerts a policy or inhibition side applies to. Absent field = any. */
export interface AlertSelector {
  readonly severity?: readonly Severity[];
  readonly kind?: readonly EntityKind[];
  readonly rule?: readonly string[];
  /** Equality on other alert fields (see route/fields.ts): region, district, labels.team, attrs.x … */
  readonly fields?: Readonly<Record<string, readonly string[]>>;
}

export interface PolicyStep {
  /** Delay from when the alert fired (not from the previous step). */
  readonly afterMs: number;
  readonly notify: readonly RecipientRef[];
}

export interface EscalationPolicy {
  readonly id: string;
  readonly match: AlertSelector;
  readonly steps: readonly PolicyStep[];
  /** Repeat the last step every `everyMs`, `times` more times, while unacknowledged. */
  readonly repeat?: { readonly everyMs: number; readonly times: number };
  /** Tell everyone who was told when the alert resolves. */
  readonly resolveNotice: boolean;
}

export interface InhibitRule {
  readonly source: AlertSelector;
  readonly target: AlertSelector;
  /** Fields that must be equal on both alerts (route/fields.ts names), e.g. [entity] or [region]. */
  readonly equal: readonly string[];
}

export interface NotifySettings {
  /** Alerts for one recipient inside this wait become one message. */
  readonly groupWaitMs: number;
  /** Local quiet hours for SMS: severities not in `except` are deferred to `end` and merged. */
  readonly quietHours?: { readonly startMinute: number; readonly endMinute: number; readonly except: readonly Severity[] };
  /** Per-recipient SMS limit per rolling hour; overflow goes into a digest. */
  readonly smsPerHour: number;
  /** Failed SMS deliveries (after retries) fail over to this channel; null = no failover. */
  readonly failover: { readonly after: number; readonly to: ChannelName } | null;
  readonly retry: { readonly attempts: number; readonly backoffMs: number };
  /** An alert that fires more than `maxFires` times inside `windowMs` is damped (recorded, not re-paged). */
  readonly flapping: { readonly windowMs: number; readonly maxFires: number };
  /** Alerts about periods older than this many local days (backfills) are recorded, not paged. */
  readonly staleDays: number;
  /** One feed-stalled alert instead of many no-data alerts. */
  readonly feedStall: {
    readonly notify: readonly RecipientRef[];
    /** Local minute of the day by which yesterday's export is expected. */
    readonly expectedByMinute: number;
    /** Stalled when the day's samples < ratio × the metric's 7-day median. */
    readonly ratio: number;
  };
}

export interface PolicySet {
  readonly escalation: readonly EscalationPolicy[];
  readonly inhibit: readonly InhibitRule[];
  readonly settings: NotifySettings;
  /** Complaint category → the department (`dept_lead` scope) that leads (`complaint_routing:`; defaults when absent). */
  readonly complaintRouting?: Readonly<Record<string, string>>;
  readonly hash: string;
  /** File the policy came from ('(defaults)' when none). */
  readonly source: string;
}

export type { Silence, SilenceMatcher } from '../domain/silence.js';

export type MuteReason =
  | { readonly by: 'silence'; readonly id: string }
  | { readonly by: 'inhibition'; readonly source: string };

/** Silences and inhibition both mute, so one mute stage serves both. */
export interface Muter {
  mutes(alert: import('../domain/alert.js').AlertRecord, entity: import('../domain/entity.js').Entity | undefined, now: number): Promise<MuteReason | undefined>;
}
