// The two pipelines, composed from the stages in the order the data flows.

import type { Logger } from 'pino';
import type { Calendar, Clock } from '../../domain/clock.js';
import type { Contact, NotifySettings } from '../../route/types.js';
import type { NotifyObserver } from '../context.js';
import type { NotificationRecords } from '../../domain/notification.js';
import { groupStage, joinGroupStage, type JoinGroupDeps } from './group.js';
import { muteStage } from './mute.js';
import { quietHoursStage } from './quiet-hours.js';
import { rateLimitStage } from './rate-limit.js';
import { recipientStage } from './recipient.js';
import { recordStage } from './record.js';
import { renderStage, type MessageMaker } from './render.js';
import { sendStage } from './send.js';
import { sequence, type IntakeStage, type MessageStage } from './stage.js';
import type { AlertLookup, DigestStore, Outbox, SentSmsLog } from './stores.js';

export interface MessagePipelineDeps {
  readonly alerts: AlertLookup;
  readonly contact: (id: string) => Contact | undefined;
  readonly records: Pick<NotificationRecords, 'create'>;
  readonly digests: DigestStore;
  readonly sent: SentSmsLog;
  readonly outbox: Outbox;
  readonly maker: MessageMaker;
  readonly settings: () => Pick<NotifySettings, 'quietHours' | 'smsPerHour'>;
  readonly calendar: Calendar;
  readonly clock: Clock;
  readonly observer: NotifyObserver;
  readonly logger: Logger;
}

/** A group or digest → at most one message per kind, recorded and queued (or deferred, or dropped). */
export function messagePipeline(deps: MessagePipelineDeps): MessageStage {
  return sequence('message', [groupStage(deps), recipientStage(deps), quietHoursStage(deps), rateLimitStage(deps), renderStage(deps.maker), recordStage(deps.records), sendStage(deps.outbox)]);
}

/** An escalation step's or reminder's intents → muted records, or their recipients' groups. */
export function intakePipeline(deps: JoinGroupDeps & { readonly records: Pick<NotificationRecords, 'create'>; readonly observer: NotifyObserver }): IntakeStage {
  return sequence('intake', [muteStage(deps), joinGroupStage(deps)]);
}
