// One readable line per alert transition (console, logs, demo).

import type { AlertEvent } from '../domain/alert.js';

const CHANGE_LABEL: Record<AlertEvent['change'], string> = {
  start: 'PENDING ',
  fire: 'FIRING  ',
  upgrade: 'UPGRADE ',
  downgrade: 'DOWNGRADE',
  ack: 'ACKED   ',
  resolve: 'RESOLVED',
  cancel: 'CANCELLED',
};

const SEVERITY_LABEL = { info: 'info    ', warning: 'warning ', critical: 'CRITICAL' } as const;

export function formatTransition(e: AlertEvent, entityName?: string): string {
  const a = e.alert;
  const who = entityName ? `${a.entity} ${entityName}` : a.entity;
  const sev = e.change === 'upgrade' || e.change === 'downgrade' ? `${e.previousSeverity}→${a.severity}` : SEVERITY_LABEL[a.severity].trim();
  const ack = e.change === 'ack' && a.ack ? ` by ${a.ack.by} via ${a.ack.via}` : '';
  const quiet = a.notify ? '' : ' (recorded, not paged)';
  return `${CHANGE_LABEL[e.change]} ${sev.padEnd(8)} ${a.rule}  ${who}  ${a.summary} [${a.period}]${ack}${quiet}  id=${a.id}`;
}
