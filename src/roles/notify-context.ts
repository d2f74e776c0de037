// What the notifier, SMS replies and the duties' dispatcher read: the core's stores, queues and
// live configuration, the channels (the worker's; none elsewhere) and the campaigns' complaint lead.

import { nullNotifyObserver, type NotifyContext, type Recipients } from '../notify/context.js';
import type { Core } from './core.js';

export type Channels = NotifyContext['channels'];
export type ComplaintLead = NotifyContext['complaintLead'];

/** Where nothing is sent from (the API's replies, the duties' dispatcher). */
export const NO_CHANNELS = {} as Channels;

export function notifyContext(core: Core, complaintLead: ComplaintLead, channels: Channels): NotifyContext {
  const { config, cfg } = core;
  return {
    redis: core.redis,
    keys: core.keys,
    clock: core.clock,
    calendar: core.calendar,
    alerts: core.alerts,
    records: core.notifications,
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
