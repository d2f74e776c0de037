// The monthly satisfaction ranking by email: on LOOKOUT_RANKING_CRON (default 09:00 on the 1st)
// the previous month's ranking goes to the customer-service department lead(s)
// (dept_lead:customer_service) and every region head. One notification record per recipient
// (kind `report`, a stable id per month and contact), sent by the notifier's email queue — so a
// second scheduler, a retry or a re-send of the same month never mails anyone twice.

import { createHash } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Clock } from '../domain/clock.js';
import { pickFields } from '../domain/fields.js';
import type { NotificationRecord, NotificationState } from '../domain/notification.js';
import type { NotificationStore } from '../state/notification-store.js';
import { jobOptions } from '../queues/job-options.js';
import type { Contact, Directory } from '../route/types.js';
import { hallRanking, rankingView, type HallRanking, type RankingSource } from './ranking.js';
import type { DutyTemplates } from './templates.js';

/** Who receives the ranking (docs/duties.md). */
export const RANKING_DEPT = 'customer_service';

export interface RankingMailDeps {
  readonly source: RankingSource;
  readonly clock: Clock;
  readonly directory: () => Directory;
  readonly records: NotificationStore;
  /** The notifier's `notify-email` queue. */
  readonly emailQueue: Queue;
  readonly templates: DutyTemplates;
  readonly publicUrl: string;
  readonly retry: () => { readonly attempts: number; readonly backoffMs: number };
}

export interface RankingMailResult {
  readonly month: string;
  readonly halls: number;
  readonly rated: number;
  readonly notifications: readonly { readonly contact: string; readonly notification: string; readonly state: NotificationState; readonly created: boolean }[];
}

export function rankingRecordId(month: string, contact: string): string {
  return createHash('sha1').update(`ranking\0${month}\0${contact}`).digest('hex').slice(0, 20);
}

/** dept_lead:customer_service and every region_head, once each, in contacts.csv order. */
export function rankingRecipients(dir: Directory): Contact[] {
  return [...dir.contacts.values()].filter((c) => (c.role === 'dept_lead' && c.scope === RANKING_DEPT) || c.role === 'region_head');
}

export class RankingMailer extends pickFields<RankingMailDeps>()('publicUrl', 'templates', 'clock', 'source', 'retry', 'directory', 'records', 'emailQueue') {

  reportUrl(month: string): string {
    return `${this.publicUrl}/api/v1/reports/halls/satisfaction?month=${month}&format=html`;
  }

  /** The ranking as the email shows it. */
  render(r: HallRanking): { subject: string; text: string; html: string } {
    const view = rankingView(r, this.templates.locale, this.reportUrl(r.month));
    return {
      subject: this.templates.text('rankingSubject', view).replace(/\s+/g, ' ').trim(),
      text: this.templates.text('rankingText', view),
      html: this.templates.html('rankingHtml', view),
    };
  }

  async send(month: string): Promise<RankingMailResult | { readonly error: string }> {
    const now = this.clock.now();
    const res = await hallRanking(this.source, month, now);
    if (!res.ok) return { error: res.message };
    const content = this.render(res.ranking);
    const retry = this.retry();
    const out: RankingMailResult['notifications'][number][] = [];
    for (const c of rankingRecipients(this.directory())) {
      const id = rankingRecordId(month, c.id);
      const rec: NotificationRecord = {
        id,
        channel: 'email',
        contact: c.id,
        kind: 'report',
        items: [],
        state: c.email ? 'queued' : 'failed',
        ...(!c.email && { error: { code: 'no_address', message: `contact ${c.id} has no email` } }),
        attempts: 0,
        ...content,
        data: { report: 'halls_satisfaction', month },
        providerIds: [],
        receipts: [],
        createdAt: now,
        updatedAt: now,
      };
      const { record, created } = await this.records.create(rec);
      if (record.state === 'queued') {
        await this.emailQueue.add('send', { id }, jobOptions(id, retry));
      }
      out.push({ contact: c.id, notification: id, state: record.state, created });
    }
    return { month, halls: res.ranking.halls, rated: res.ranking.rated, notifications: out };
  }
}
