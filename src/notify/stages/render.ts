// Render: the pending intents become one message per kind (alert notices, resolve notices; a
// digest is one message), with the text, subject or body its channel takes.

import type { Clock } from '../../domain/clock.js';
import type { Entity } from '../../domain/entity.js';
import type { Contact } from '../../route/types.js';
import type { ChannelName } from '../../domain/notification.js';
import { ackUrl, signAckLink } from '../ack-link.js';
import type { NotifyContext } from '../context.js';
import type { DeferredIntent } from '../intent.js';
import { consoleHome, consoleLink } from '../links.js';
import type { NotificationKind, NotificationRecord } from '../../domain/notification.js';
import type { AlertView, MessageRenderer } from '../render.js';
import { recordId, type Draft, type MessageStage, type Pending } from './stage.js';
import type { AckCodes } from './stores.js';
import { pickFields } from '../../domain/fields.js';

export interface RenderDeps {
  readonly renderer: () => MessageRenderer;
  readonly ackCodes: AckCodes;
  readonly clock: Clock;
  readonly entity: (id: string) => Entity | undefined;
  readonly ruleName: (id: string) => string;
  readonly complaintLead?: NotifyContext['complaintLead'];
  readonly links?: NotifyContext['links'];
  readonly publicUrl?: string;
}

export type MessageContent = Pick<NotificationRecord, 'subject' | 'text' | 'html' | 'data'>;

/** Views and content of a message (the render stage; failover renders its email with it too). */
export class MessageMaker extends pickFields<RenderDeps>()('renderer', 'ackCodes', 'clock', 'entity', 'ruleName', 'complaintLead', 'links', 'publicUrl') {
  async views(these: readonly Pending[], contact: Contact): Promise<AlertView[]> {
    const out: AlertView[] = [];
    for (const { intent, alert } of these) {
      const ackCode = await this.ackCodes.of(alert.fingerprint);
      const links = this.links;
      const url =
        links && intent.kind === 'alert'
          ? ackUrl(links.publicUrl, signAckLink(links.secret, { alert: alert.id, episode: alert.episode, contact: contact.id, exp: this.clock.now() + links.ttlMs }))
          : undefined;
      const entity = this.entity(alert.entity);
      // Campaign complaint alerts say which department leads (complaint routing).
      const lead = intent.kind === 'alert' ? await this.complaintLead?.(alert, entity) : undefined;
      out.push({
        alert,
        entity,
        ...(lead && { lead: lead.text, leadDept: lead.dept }),
        ruleName: this.ruleName(alert.rule),
        level: intent.item.step + 1,
        ackCode: intent.kind === 'alert' ? ackCode : undefined,
        ackUrl: url,
        ...(this.publicUrl && { consoleUrl: consoleLink(this.publicUrl, alert.id) }),
        durationMs: alert.resolvedAt && alert.firingAt ? alert.resolvedAt - alert.firingAt : undefined,
      });
    }
    return out;
  }

  content(channel: ChannelName, kind: NotificationKind, views: readonly AlertView[], intents: readonly DeferredIntent[]): MessageContent {
    const r = this.renderer();
    const resolve = kind === 'resolve';
    if (channel === 'sms') {
      const links = this.publicUrl ? { consoleHome: consoleHome(this.publicUrl) } : {};
      if (kind === 'digest') return { text: r.smsDigest(views, intents.some((i) => i.reason === 'rate_limit') ? 'rate_limit' : 'quiet_hours', links) };
      return { text: resolve ? r.smsResolve(views) : r.smsAlert(views, links) };
    }
    if (channel === 'email') return resolve ? r.emailResolve(views) : r.emailAlert(views);
    const w = r.webhookAlert(views);
    return { subject: w.subject, text: w.text, data: w.data };
  }
}

export function renderStage(maker: MessageMaker): MessageStage {
  return {
    name: 'render',
    async run(m, b) {
      const drafts: Draft[] = [...b.drafts];
      for (const about of ['alert', 'resolve'] as const) {
        const these = b.pending.filter((p) => p.intent.kind === about);
        if (!these.length) continue;
        const kind: NotificationKind = m.origin === 'digest' ? 'digest' : about;
        const content = maker.content(m.channel, kind, await maker.views(these, b.contact!), these.map((p) => p.intent));
        drafts.push({
          about,
          record: {
            id: recordId(m.contactId, m.channel, m.batch, about),
            channel: m.channel,
            contact: m.contactId,
            kind,
            items: these.map((p) => p.intent.item),
            state: 'queued',
            attempts: 0,
            ...content,
            providerIds: [],
            receipts: [],
            createdAt: m.now,
            updatedAt: m.now,
          },
        });
      }
      return { ...b, drafts };
    },
  };
}
