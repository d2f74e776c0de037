// Small helpers the notifier end-to-end tests share: ingest, read notification records, wait.
import { expect } from 'vitest';
import type { NotificationRecord, NotificationState } from '../../src/domain/notification.js';
import type { ChannelName } from '../../src/domain/notification.js';
import { metricValue, waitFor, type TestLookout } from './lookout.js';
import { ORG, type TestContact } from './org.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function ingest(lk: TestLookout, samples: unknown[]): Promise<void> {
  const res = await lk.post<{ accepted: number; rejected: unknown[] }>('/api/v1/samples', samples);
  expect(res.status).toBe(202);
  expect(res.body.rejected).toEqual([]);
}

export interface NotificationsBody {
  readonly notifications: NotificationRecord[];
}

export interface NotificationQuery {
  readonly state?: NotificationState;
  readonly contact?: string;
  readonly channel?: ChannelName;
  readonly alert?: string;
}

/** GET /api/v1/notifications with these filters, oldest first (records created in the same ms of the injected clock come in id order). */
export async function notifications(lk: TestLookout, q: NotificationQuery = {}): Promise<NotificationRecord[]> {
  const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined) as [string, string][]).toString();
  const res = await lk.get<NotificationsBody>(`/api/v1/notifications${qs ? `?${qs}` : ''}`);
  expect(res.status).toBe(200);
  return [...res.body.notifications].reverse();
}

/** Wait until the query returns at least `n` records. */
export function waitForRecords(lk: TestLookout, q: NotificationQuery, n = 1, timeoutMs = 5000): Promise<NotificationRecord[]> {
  return waitFor(`${n} notification record(s) ${JSON.stringify(q)}`, async () => {
    const list = await notifications(lk, q);
    return list.length >= n ? list : undefined;
  }, timeoutMs);
}

export async function metric(lk: TestLookout, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await lk.get<string>('/metrics');
  return metricValue(m.body, name, labels) ?? 0;
}

/** ORG with some contacts' channels changed (e.g. C001 → sms;email). */
export function orgWith(channels: Record<string, string>): TestContact[] {
  return ORG.map((c) => (channels[c.id] ? { ...c, channels: channels[c.id] } : c));
}

/** The id of the (only) alert of an entity. */
export async function alertId(lk: TestLookout, entity: string, rule?: string): Promise<string> {
  const list = (await lk.alertsOf(entity)).filter((a) => !rule || a.rule === rule);
  expect(list).toHaveLength(1);
  return list[0]!.id;
}

/** Policies with one step per severity, to the manager only (a test counts exactly what it expects), and these `notify:` settings. */
export function managerOnly(notifyYaml: string): string {
  return `
escalation:
  - id: critical
    match: {severity: critical}
    steps: [{notify: [manager]}]
  - id: warning
    match: {severity: warning}
    steps: [{notify: [manager]}]
inhibit:
  - source: {severity: critical}
    target: {severity: warning}
    equal: [entity]
notify:
${notifyYaml}
`;
}
