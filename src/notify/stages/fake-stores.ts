// In-memory twins of the message stages' stores (stores.ts), for unit tests in milliseconds.

import type { AlertRecord } from '../../domain/alert.js';
import type { ChannelName } from '../../domain/notification.js';
import type { DeferredIntent } from '../intent.js';
import type { AckCodes, AlertLookup, DigestStore, GroupStore, Outbox, SentSmsLog } from './stores.js';

export class FakeAlerts implements AlertLookup {
  readonly byId = new Map<string, AlertRecord>();

  constructor(alerts: readonly AlertRecord[] = []) {
    for (const a of alerts) this.put(a);
  }

  put(a: AlertRecord): void {
    this.byId.set(a.id, a);
  }

  async get(id: string): Promise<AlertRecord | undefined> {
    return this.byId.get(id);
  }
}

export class FakeGroups implements GroupStore {
  /** Per `<channel>:<contact>`: the open window and the intents in it. */
  readonly open = new Map<string, { window: string; intents: DeferredIntent[] }>();
  private readonly seen = new Set<string>();

  async join(intent: DeferredIntent, newWindow: string): Promise<string> {
    const k = `${intent.channel}:${intent.contact}`;
    const g = this.open.get(k) ?? { window: newWindow, intents: [] };
    this.open.set(k, g);
    if (this.seen.has(intent.key)) return g.window;
    this.seen.add(intent.key);
    g.intents.push(intent);
    return g.window;
  }
}

export class FakeDigests implements DigestStore {
  /** Per contact: what its digest holds, and when it is due. */
  readonly byContact = new Map<string, { intents: DeferredIntent[]; due: number }>();

  async defer(contact: string, intents: readonly DeferredIntent[], due: number): Promise<void> {
    const d = this.byContact.get(contact);
    if (d) {
      d.intents.push(...intents);
      d.due = Math.min(d.due, due);
    } else this.byContact.set(contact, { intents: [...intents], due });
  }
}

export class FakeSentSms implements SentSmsLog {
  readonly byContact = new Map<string, { id: string; at: number }[]>();

  async since(contact: string, from: number): Promise<number[]> {
    return (this.byContact.get(contact) ?? []).filter((s) => s.at >= from).map((s) => s.at);
  }

  async add(contact: string, notification: string, at: number): Promise<void> {
    this.byContact.set(contact, [...(this.byContact.get(contact) ?? []), { id: notification, at }]);
  }
}

export class FakeOutbox implements Outbox {
  readonly queued: { channel: ChannelName; id: string }[] = [];

  async enqueue(channel: ChannelName, id: string): Promise<void> {
    // The job id is the record id: queued once.
    if (!this.queued.some((q) => q.id === id)) this.queued.push({ channel, id });
  }
}

export class FakeAckCodes implements AckCodes {
  readonly byFingerprint = new Map<string, string>();

  async of(fp: string): Promise<string | undefined> {
    return this.byFingerprint.get(fp);
  }
}
