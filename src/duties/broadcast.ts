// Broadcasts (集群短信下行, docs/duties.md): one notice to every channel matching a selector, sent by
// SMS to each matching entity's manager — one SMS per manager however many of the channels they
// look after — through a rate-limited queue, with a notification record per recipient (kind
// `broadcast`) and a summary that adds up (queued + sent + delivered + failed = recipients).

import { createHash, randomBytes } from 'node:crypto';
import type { JobsOptions, Queue } from 'bullmq';
import type { Calendar, Clock } from '../domain/clock.js';
import { Calendar as Cal } from '../domain/clock.js';
import { ENTITY_KINDS, type Entity, type EntityKind } from '../domain/entity.js';
import { pickFields } from '../domain/fields.js';
import { smsSegments } from '../notify/render.js';
import type { NotificationRecord, NotificationState } from '../domain/notification.js';
import type { NotificationStore } from '../state/notification-store.js';
import { jobOptions } from '../queues/job-options.js';
import type { Directory } from '../route/types.js';
import type { BroadcastStore } from '../state/duty-store.js';
import type { DutyTemplates } from './templates.js';

/** Channels (渠道): what a selector without `kind` covers. Campaigns and group customers only when named. */
export const CHANNEL_KINDS: readonly EntityKind[] = ['own_hall', 'core_dealer', 'grassroots', 'electronic'];
export const SELECTOR_KEYS = ['kind', 'region', 'district', 'tier'] as const;
export type SelectorKey = (typeof SELECTOR_KEYS)[number];
export type BroadcastSelector = { readonly [K in SelectorKey]?: readonly string[] };

export const MAX_TEXT_CHARS = 500;
/** Entities listed by id in `unreachableEntities` (the count is always complete). */
export const MAX_LISTED_UNREACHABLE = 100;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export interface BroadcastRequest {
  readonly text: string;
  readonly selector: BroadcastSelector;
  readonly by: string;
  readonly id?: string;
  readonly dryRun: boolean;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function strings(v: unknown, field: string): Parsed<string[]> {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== 'string' || s.trim() === '' || s.length > 200)) {
    return { ok: false, message: `${field}: expected a non-empty string or a non-empty array of them` };
  }
  return { ok: true, value: [...new Set((list as string[]).map((s) => s.trim()))] };
}

/** `{kind?, region?, district?, tier?}`, each a string or a list of strings (any of). */
export function parseSelector(raw: unknown): Parsed<BroadcastSelector> {
  if (raw === undefined || raw === null) return { ok: true, value: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, message: 'selector: expected an object {kind?, region?, district?, tier?}' };
  const out: Record<string, readonly string[]> = {};
  for (const [key, v] of Object.entries(raw)) {
    if (!(SELECTOR_KEYS as readonly string[]).includes(key)) return { ok: false, message: `selector.${key}: unknown key (expected ${SELECTOR_KEYS.join(', ')})` };
    if (v === undefined) continue;
    const list = strings(v, `selector.${key}`);
    if (!list.ok) return list;
    if (key === 'kind') {
      const bad = list.value.filter((k) => !(ENTITY_KINDS as readonly string[]).includes(k));
      if (bad.length) return { ok: false, message: `selector.kind: ${bad.map((b) => JSON.stringify(b)).join(', ')} is not one of ${ENTITY_KINDS.join(', ')}` };
    }
    out[key] = list.value;
  }
  return { ok: true, value: out };
}

/** The body of POST /api/v1/broadcasts. */
export function parseBroadcastRequest(body: unknown): Parsed<BroadcastRequest> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return { ok: false, message: 'expected a JSON object {text, selector, by}' };
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) {
    if (!['text', 'selector', 'by', 'id', 'dry_run'].includes(key)) return { ok: false, message: `${key}: unknown field (expected text, selector, by, id, dry_run)` };
  }
  const text = typeof b.text === 'string' ? b.text.trim() : '';
  if (!text) return { ok: false, message: 'text: expected a non-empty string' };
  if (Array.from(text).length > MAX_TEXT_CHARS) return { ok: false, message: `text: at most ${MAX_TEXT_CHARS} characters (got ${Array.from(text).length})` };
  if (typeof b.by !== 'string' || b.by.trim() === '' || b.by.length > 64) return { ok: false, message: 'by: expected who sends it (a contact id or name, 1–64 characters)' };
  if (b.id !== undefined && (typeof b.id !== 'string' || !ID_RE.test(b.id))) return { ok: false, message: 'id: expected 1–64 of A-Z a-z 0-9 _ -' };
  if (b.dry_run !== undefined && typeof b.dry_run !== 'boolean') return { ok: false, message: 'dry_run: expected true or false' };
  const selector = parseSelector(b.selector);
  if (!selector.ok) return selector;
  return { ok: true, value: { text, selector: selector.value, by: b.by.trim(), id: b.id as string | undefined, dryRun: b.dry_run === true } };
}

export function selectorMatches(sel: BroadcastSelector, e: Entity): boolean {
  const kinds = sel.kind ?? CHANNEL_KINDS;
  if (!kinds.includes(e.kind)) return false;
  if (sel.region && (e.region === undefined || !sel.region.includes(e.region))) return false;
  if (sel.district && (e.district === undefined || !sel.district.includes(e.district))) return false;
  if (sel.tier && (e.tier === undefined || !sel.tier.includes(e.tier))) return false;
  return true;
}

export interface PlannedRecipient {
  readonly contact: string;
  readonly name: string;
  /** Matching entities this contact manages (one SMS for all of them). */
  readonly entities: number;
  /** Why this recipient cannot be sent to (the record fails at once), e.g. no phone. */
  readonly problem?: { readonly code: string; readonly message: string };
}

export interface BroadcastPlan {
  readonly entities: number;
  readonly recipients: readonly PlannedRecipient[];
  readonly unreachable: readonly { readonly entity: string; readonly reason: string }[];
}

/** Who a selector reaches: matching entities' managers, once each, in the order of their first matching entity (by id). */
export function planBroadcast(entities: readonly Entity[], dir: Directory, sel: BroadcastSelector): BroadcastPlan {
  const matched = entities.filter((e) => selectorMatches(sel, e)).sort((a, b) => a.id.localeCompare(b.id));
  const byContact = new Map<string, number>();
  const unreachable: { entity: string; reason: string }[] = [];
  for (const e of matched) {
    if (e.manager === undefined) {
      unreachable.push({ entity: e.id, reason: 'no manager' });
      continue;
    }
    if (!dir.contacts.has(e.manager)) {
      unreachable.push({ entity: e.id, reason: `manager ${e.manager} is not in contacts.csv` });
      continue;
    }
    byContact.set(e.manager, (byContact.get(e.manager) ?? 0) + 1);
  }
  const recipients = [...byContact].map(([id, n]): PlannedRecipient => {
    const c = dir.contacts.get(id)!;
    return {
      contact: id,
      name: c.name,
      entities: n,
      ...(!c.phone && { problem: { code: 'no_address', message: `contact ${id} has no phone` } }),
    };
  });
  return { entities: matched.length, recipients, unreachable };
}

/** What is stored per broadcast (as JSON, by state/duty-store.ts: hash `<prefix>:bc`). */
export interface BroadcastRecord {
  readonly id: string;
  readonly text: string;
  /** The SMS as sent (broadcast-sms template). */
  readonly message: string;
  readonly segments: number;
  readonly selector: BroadcastSelector;
  readonly by: string;
  readonly createdAt: number;
  readonly entities: number;
  readonly recipients: readonly (PlannedRecipient & { readonly notification: string })[];
  readonly unreachable: number;
  readonly unreachableEntities: readonly { readonly entity: string; readonly reason: string }[];
  /** Messages per second the broadcast queue is limited to (LOOKOUT_BROADCAST_RATE). */
  readonly rate: number;
  /** `creating` until every record and job exists (a re-POST with the same id finishes it). */
  readonly state: 'creating' | 'queued';
}

export type Counts = Record<'queued' | 'sent' | 'delivered' | 'failed', number>;

export interface BroadcastSummary extends Omit<BroadcastRecord, 'recipients' | 'state'> {
  readonly createdAtLocal: string;
  readonly recipients: number;
  readonly counts: Counts;
  /** Nothing is queued any more. */
  readonly done: boolean;
  readonly messages: readonly {
    readonly contact: string;
    readonly name: string;
    readonly entities: number;
    readonly notification: string;
    readonly state: NotificationState | 'missing';
    readonly error?: { readonly code: string; readonly message: string };
    readonly sentAt?: number;
  }[];
}

export interface DryRun {
  readonly dryRun: true;
  readonly message: string;
  readonly segments: number;
  readonly selector: BroadcastSelector;
  readonly entities: number;
  readonly recipients: number;
  readonly contacts: readonly PlannedRecipient[];
  readonly unreachable: number;
  readonly unreachableEntities: BroadcastRecord['unreachableEntities'];
}

export type CreateOutcome =
  | { readonly status: 'created' | 'existing'; readonly broadcast: BroadcastSummary }
  | { readonly status: 'dry_run'; readonly preview: DryRun }
  | { readonly status: 'empty'; readonly message: string; readonly preview: DryRun }
  | { readonly status: 'conflict'; readonly message: string };

export interface BroadcasterDeps {
  readonly store: BroadcastStore;
  readonly clock: Clock;
  readonly calendar: Calendar;
  readonly entities: () => Promise<Entity[]>;
  readonly directory: () => Directory;
  readonly records: NotificationStore;
  readonly queue: Queue;
  readonly templates: DutyTemplates;
  readonly retry: () => { readonly attempts: number; readonly backoffMs: number };
  readonly rate: number;
  readonly retentionDays: number;
}

const DAY_MS = 86_400_000;

export function broadcastRecordId(broadcast: string, contact: string): string {
  return createHash('sha1').update(`broadcast\0${broadcast}\0${contact}`).digest('hex').slice(0, 20);
}

function newId(now: number): string {
  return `bc-${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(4).toString('hex')}`;
}

const sameRequest = (a: BroadcastRecord, r: BroadcastRequest) => a.text === r.text && JSON.stringify(a.selector) === JSON.stringify(r.selector);

export class Broadcaster extends pickFields<BroadcasterDeps>()('templates', 'calendar', 'entities', 'directory', 'rate', 'clock', 'retry', 'records', 'queue', 'store', 'retentionDays') {

  /** The SMS text for an operator's notice. */
  render(text: string, by: string, now: number): string {
    return this.templates.text('broadcastSms', { text, by, date: Cal.isoDay(this.calendar.dayOf(now)) }).trim();
  }

  async create(req: BroadcastRequest): Promise<CreateOutcome> {
    const { store, clock } = this;
    if (req.id) {
      const prior = await this.record(req.id);
      if (prior) {
        if (!sameRequest(prior, req)) return { status: 'conflict', message: `broadcast ${req.id} exists with another text or selector` };
        if (prior.state === 'creating') await this.enqueue(prior);
        return { status: 'existing', broadcast: await this.summary(prior) };
      }
    }
    const now = clock.now();
    const plan = planBroadcast(await this.entities(), this.directory(), req.selector);
    const message = this.render(req.text, req.by, now);
    const preview: DryRun = {
      dryRun: true,
      message,
      segments: smsSegments(message),
      selector: req.selector,
      entities: plan.entities,
      recipients: plan.recipients.length,
      contacts: plan.recipients,
      unreachable: plan.unreachable.length,
      unreachableEntities: plan.unreachable.slice(0, MAX_LISTED_UNREACHABLE),
    };
    if (plan.recipients.length === 0) {
      const why = plan.entities === 0 ? 'the selector matches no channel' : `none of the ${plan.entities} matching channels has a manager in contacts.csv`;
      return { status: 'empty', message: why, preview };
    }
    if (req.dryRun) return { status: 'dry_run', preview };

    const id = req.id ?? newId(now);
    const record: BroadcastRecord = {
      id,
      text: req.text,
      message,
      segments: preview.segments,
      selector: req.selector,
      by: req.by,
      createdAt: now,
      entities: plan.entities,
      recipients: plan.recipients.map((r) => ({ ...r, notification: broadcastRecordId(id, r.contact) })),
      unreachable: plan.unreachable.length,
      unreachableEntities: preview.unreachableEntities,
      rate: this.rate,
      state: 'creating',
    };
    if (!(await store.addBroadcast(id, JSON.stringify(record), now))) return this.create(req);
    await this.enqueue(record);
    await this.prune(now);
    return { status: 'created', broadcast: await this.summary({ ...record, state: 'queued' }) };
  }

  /** Create every recipient's record and job (both idempotent), then mark the broadcast queued. */
  private async enqueue(b: BroadcastRecord): Promise<void> {
    const now = this.clock.now();
    const jobs: { name: string; data: { id: string }; opts: JobsOptions }[] = [];
    const retry = this.retry();
    for (const r of b.recipients) {
      const rec: NotificationRecord = {
        id: r.notification,
        channel: 'sms',
        contact: r.contact,
        kind: 'broadcast',
        items: [],
        state: r.problem ? 'failed' : 'queued',
        ...(r.problem && { error: r.problem }),
        attempts: 0,
        text: b.message,
        data: { broadcast: b.id, entities: r.entities },
        providerIds: [],
        receipts: [],
        createdAt: b.createdAt,
        updatedAt: now,
      };
      const { record } = await this.records.create(rec);
      if (record.state !== 'queued') continue;
      jobs.push({
        name: 'send',
        data: { id: rec.id },
        opts: jobOptions(rec.id, retry),
      });
    }
    for (let i = 0; i < jobs.length; i += 500) await this.queue.addBulk(jobs.slice(i, i + 500));
    await this.store.putBroadcast(b.id, JSON.stringify({ ...b, state: 'queued' }));
  }

  /** Forget broadcasts older than the retention (their records are pruned with the day close). */
  private prune(now: number): Promise<void> {
    return this.store.pruneBroadcasts(now - this.retentionDays * DAY_MS);
  }

  async record(id: string): Promise<BroadcastRecord | undefined> {
    const raw = await this.store.broadcast(id);
    return raw ? (JSON.parse(raw) as BroadcastRecord) : undefined;
  }

  async get(id: string): Promise<BroadcastSummary | undefined> {
    const b = await this.record(id);
    return b ? this.summary(b) : undefined;
  }

  /** Newest first. */
  async list(limit = 20): Promise<BroadcastSummary[]> {
    const ids = await this.store.recentBroadcasts(limit);
    const out: BroadcastSummary[] = [];
    for (const id of ids) {
      const s = await this.get(id);
      if (s) out.push(s);
    }
    return out;
  }

  async summary(b: BroadcastRecord): Promise<BroadcastSummary> {
    const { recipients, state: _state, ...rest } = b;
    const ids = recipients.map((r) => r.notification);
    const raws = await this.store.notificationRecords(ids);
    const counts: Counts = { queued: 0, sent: 0, delivered: 0, failed: 0 };
    const messages = recipients.map((r, i) => {
      const raw = raws[i];
      const rec = raw ? (JSON.parse(raw) as NotificationRecord) : undefined;
      const state: NotificationState | 'missing' = rec?.state ?? 'missing';
      if (state === 'sent' || state === 'delivered' || state === 'failed' || state === 'queued') counts[state]++;
      else counts.queued++;
      return {
        contact: r.contact,
        name: r.name,
        entities: r.entities,
        notification: r.notification,
        state,
        ...(rec?.error && { error: rec.error }),
        ...(rec?.sentAt !== undefined && { sentAt: rec.sentAt }),
      };
    });
    return {
      ...rest,
      createdAtLocal: this.calendar.formatLocal(b.createdAt),
      recipients: recipients.length,
      counts,
      done: counts.queued === 0,
      messages,
    };
  }
}
