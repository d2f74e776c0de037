// The outbox of the message stages in production: BullMQ's channel queues (stores.ts).

import { jobOptions, type RetryPolicy } from '../../queues/job-options.js';
import type { ChannelName } from '../../domain/notification.js';
import type { NotifyQueues } from '../context.js';
import type { DeliveryJob } from '../intent.js';
import type { Outbox } from './stores.js';

/** One BullMQ queue per channel; the job id is the record id, so a message is queued once. */
export class QueueOutbox implements Outbox {
  constructor(
    private readonly queues: NotifyQueues,
    private readonly retry: () => RetryPolicy,
  ) {}

  async enqueue(channel: ChannelName, id: string): Promise<void> {
    await this.queues[channel].add('send', { id } satisfies DeliveryJob, jobOptions(id, this.retry()));
  }
}
