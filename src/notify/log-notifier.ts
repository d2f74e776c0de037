// Until the SMS/email notifier lands, the alert-events queue is consumed by this one: a log line
// per transition (and a callback the demo prints through).

import { Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from 'pino';
import type { AlertEvent } from '../domain/alert.js';
import { QUEUES } from '../queues/names.js';
import { formatTransition } from './format.js';

export function startLogNotifier(opts: {
  connection: ConnectionOptions;
  prefix: string;
  logger: Logger;
  entityName?: (id: string) => string | undefined;
  onTransition?: (e: AlertEvent, line: string) => void;
}): Worker<AlertEvent> {
  return new Worker<AlertEvent>(
    QUEUES.alertEvents,
    async (job) => {
      const e = job.data;
      const line = formatTransition(e, opts.entityName?.(e.alert.entity));
      opts.logger.info(
        { event: e.id, change: e.change, rule: e.alert.rule, entity: e.alert.entity, severity: e.alert.severity, from: e.from, to: e.to },
        line,
      );
      opts.onTransition?.(e, line);
    },
    { connection: opts.connection, prefix: opts.prefix, concurrency: 1, removeOnComplete: { age: 7 * 86400, count: 100_000 } },
  );
}
