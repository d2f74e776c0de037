// What the notifier, SMS replies and the duties' dispatcher read: the core's stores, queues and
// live configuration, the channels (the worker's; none elsewhere) and the campaigns' complaint lead.

import { nullNotifyObserver, type NotifyContext, type Recipients } from '../notify/context.js';
import { EscalationStore } from '../state/escalation-store.js';
import { MessageBatches, RedisSentSms } from '../state/message-batches.js';
import type { Core } from './core.js';

export type Channels = NotifyContext['channels'];
export type ComplaintLead = NotifyContext['complaintLead'];

/** Where nothing is sent from (the API's replies, the duties' dispatcher). */
export const NO_CHANNELS = {} as Channels;

export function notifyContext(core: Core, complaintLead: ComplaintLead, channels: Channels): NotifyContext {
  const { config, cfg } = core;
  return {
    clock: core.clock,
    calendar: core.calendar,
    alerts: core.alerts,
    records: core.notifications,
    escalationState: new EscalationStore(core.redis, core.keys),
    batches: new MessageBatches(core.redis, core.keys),
    sentSms: new RedisSentSms(core.redis, core.keys),
    queues: core.queues,
    channels,
    entity: (id) => core.cache.get(id),
    ruleName: (id) => core.ruleTitle(id) ?? id,
    policies: () => cfg().policies,
    recipients: (): Recipients => cfg().recipients,
    enabled: () => cfg().directory.contacts.size > 0,
    muter: core.muter,
    renderer: () => cfg().renderer,
    links: config.linkSecret ? { secret: config.linkSecret, publicUrl: config.publicUrl, ttlMs: config.ackLinkTtlMs } : undefined,
    publicUrl: config.publicUrl,
    complaintLead,
    logger: core.logger.child({ component: 'notifier' }),
    observer: core.metrics.notify ?? nullNotifyObserver,
  };
}
