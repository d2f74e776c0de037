// What the HTTP layer is given by the composition root; it reaches state only through ports.

import type { Logger } from 'pino';
import type { Calendar, Clock } from '../domain/clock.js';
import type { MetricCatalogue } from '../domain/metric.js';
import type { SampleRejection } from '../domain/sample.js';
import type { AppConfig } from '../config/env.js';
import type { AlertStore, RegistryStore, SampleSink, SilenceStore } from '../state/ports.js';

export interface ReadyReport {
  readonly ok: boolean;
  readonly checks: Record<string, boolean | string>;
}

export interface HttpDeps {
  readonly config: AppConfig;
  readonly clock: Clock;
  readonly calendar: Calendar;
  /** The current catalogue (rule files may add metrics on reload). */
  readonly metrics: () => MetricCatalogue;
  readonly sink: SampleSink;
  readonly registry: RegistryStore;
  readonly alerts: AlertStore;
  readonly ready: () => Promise<ReadyReport>;
  /** Set when contacts.csv is loaded: PUT entities must name known managers and owners. */
  readonly contactExists?: (id: string) => boolean;
  /** A contact's name (the ack page says who acknowledged); absent or undefined: the id is shown. */
  readonly contactName?: (id: string) => string | undefined;
  /** A rule's title (`name:` in the rules YAML) from the loaded rules; alerts in the API carry it as `ruleTitle`. */
  readonly ruleTitle?: (id: string) => string | undefined;
  /** Notification records (roles running the notifier). */
  readonly notifications?: import('../state/notification-store.js').NotificationStore;
  /** SMS replies and receipts posted by HTTP SMS gateways. */
  readonly sms?: {
    reply(m: import('../notify/channels/channel.js').InboundSms): Promise<import('../notify/sms-replies.js').ReplyResult>;
    receipt(r: import('../notify/channels/channel.js').DeliveryReceipt): Promise<void>;
  };
  /** Signed ack links (LOOKOUT_LINK_SECRET); `/ack/:token` answers 404 when absent. */
  readonly ackLinks?: { readonly secret: string };
  /** Silences (maintenance windows); routes answer 503 when absent. */
  readonly silences?: SilenceStore;
  readonly metricsText: () => Promise<{ contentType: string; body: string }>;
  /** Request lines and 5xx causes go here; headers are never logged (tokens). */
  readonly logger?: Logger;
  /** Told after samples are durable (or all rejected), for metrics; `counts` covers rejections beyond the listed ones. */
  readonly onIngest?: (accepted: number, rejected: readonly SampleRejection[], source: string, counts?: { readonly total: number; readonly byCode: Readonly<Record<string, number>> }) => void;
  /** Campaigns, daily reports and post-evaluation records (src/campaigns); routes answer 503 when absent. */
  readonly campaigns?: import('../campaigns/service.js').CampaignService;
  /** Channel duties: broadcasts and the halls' satisfaction ranking (src/duties); 503 when absent. */
  readonly duties?: import('../duties/index.js').DutiesApi;
  /** What the web console reads beyond the stores above (src/http/routes/console-api.ts). */
  readonly console?: ConsoleDeps;
}

/** Rules, names and series for the console's pages. */
export interface ConsoleDeps {
  readonly rules: () => readonly import('../domain/rule.js').Rule[];
  readonly contactName: (id: string) => string | undefined;
  readonly series: {
    readDays(entity: string, metrics: readonly string[], range: { fromDay: number; toDay: number }): Promise<import('../domain/series.js').EntitySeries>;
    readHours(entity: string, metric: string, fromHour: number, toHour: number): Promise<Map<number, number>>;
  };
}
