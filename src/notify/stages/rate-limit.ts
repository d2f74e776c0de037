// Rate limit (SMS only): a recipient gets at most `sms_per_hour` SMS in a rolling hour; a group
// over the limit goes into a digest due when the hour's oldest SMS leaves the window. Digests
// themselves are not limited (they are the overflow).

import type { NotifySettings } from '../../route/types.js';
import type { MessageStage } from './stage.js';
import { deferToDigest, type DeferDeps } from './defer.js';
import type { SentSmsLog } from './stores.js';

const HOUR_MS = 3_600_000;

export interface RateLimitDeps extends DeferDeps {
  readonly settings: () => Pick<NotifySettings, 'smsPerHour'>;
  readonly sent: SentSmsLog;
}

export function rateLimitStage(deps: RateLimitDeps): MessageStage {
  return {
    name: 'rate limit',
    async run(m, b) {
      if (m.channel !== 'sms' || m.origin !== 'group' || !b.pending.length) return b;
      const sent = await deps.sent.since(m.contactId, m.now - HOUR_MS);
      if (sent.length < deps.settings().smsPerHour) return b;
      await deferToDigest(deps, m, b.pending.map((p) => p.intent), Math.min(...sent) + HOUR_MS, 'rate_limit');
      return { ...b, pending: [], notes: [...b.notes, `${b.pending.length} over the SMS limit, into a digest`] };
    },
  };
}
