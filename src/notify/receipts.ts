// Delivery receipts on notification records, and receipts kept for a record that is not there
// yet (the SMSC answered before the daemon stored the message ids, or the daemon forgot them in
// a crash): they are applied when the record learns its ids, and dropped after KEEP_MS.

import type { DeliveryReceipt } from './channels/channel.js';
import { NotifyParts } from './context.js';
import type { NotificationRecord } from '../domain/notification.js';

/** How long an unmatched receipt is kept. */
export const KEEP_MS = 7 * 86_400_000;

interface Kept extends DeliveryReceipt {
  readonly at: number;
}

/** The record with one more receipt; delivered once every segment's receipt says so. */
export function withReceipt(rec: NotificationRecord, r: DeliveryReceipt, at: number): Pick<NotificationRecord, 'receipts' | 'state'> {
  const receipts = [...rec.receipts.filter((x) => x.providerId !== r.providerId), { providerId: r.providerId, status: r.status, stat: r.stat, at }];
  const all = rec.providerIds.length > 0 && rec.providerIds.every((id) => receipts.some((x) => x.providerId === id && x.status === 'delivered'));
  const waiting = rec.state === 'sent' || rec.state === 'receipt_unknown';
  return { receipts, state: all && waiting ? 'delivered' : rec.state };
}

/** Receipts that came before their record, kept beside the records by provider id. */
export class KeptReceipts extends NotifyParts('clock', 'records') {
  async keep(r: DeliveryReceipt): Promise<void> {
    await this.records.keepReceipt(r.providerId, JSON.stringify({ ...r, at: this.clock.now() } satisfies Kept));
  }

  /** Apply the kept receipts of these provider ids to the record; returns how many were applied. */
  async apply(recordId: string, providerIds: readonly string[]): Promise<number> {
    if (!providerIds.length) return 0;
    const raws = await this.records.keptReceipts(providerIds);
    const kept = raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as Kept);
    if (!kept.length) return 0;
    let rec = await this.records.get(recordId);
    if (!rec) return 0;
    const now = this.clock.now();
    for (const r of kept) rec = { ...rec, ...withReceipt(rec, r, r.at) };
    await this.records.update(rec.id, { receipts: rec.receipts, state: rec.state }, now);
    await this.records.dropKeptReceipts(kept.map((r) => r.providerId));
    return kept.length;
  }

  /** Reconciler pass: kept receipts whose record is known now are applied; old ones are dropped. */
  async sweep(): Promise<{ applied: number; dropped: number }> {
    const all = await this.records.allKeptReceipts();
    const now = this.clock.now();
    let applied = 0;
    const stale: string[] = [];
    for (const [pid, raw] of Object.entries(all)) {
      const rec = await this.records.byProviderId(pid);
      if (rec) applied += await this.apply(rec.id, [pid]);
      else if ((JSON.parse(raw) as Kept).at < now - KEEP_MS) stale.push(pid);
    }
    if (stale.length) await this.records.dropKeptReceipts(stale);
    return { applied, dropped: stale.length };
  }
}
