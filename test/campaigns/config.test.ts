// LOOKOUT_REPORT_CRON: validated at start like LOOKOUT_DAY_CLOSE_CRON; daily crons can be caught up.
import { describe, expect, it } from 'vitest';
import { dailyCronMinute } from '../../src/campaigns/reporter.js';
import { loadConfig } from '../../src/config/env.js';
import { ConfigError } from '../../src/errors/catalogue.js';

describe('LOOKOUT_REPORT_CRON', () => {
  it('defaults to 09:00 local', () => {
    expect(loadConfig({}).reportCron).toBe('0 9 * * *');
    expect(loadConfig({ LOOKOUT_REPORT_CRON: '30 8 * * 1-5' }).reportCron).toBe('30 8 * * 1-5');
  });

  it('a bad expression is one line naming the variable', () => {
    let err: unknown;
    try {
      loadConfig({ LOOKOUT_REPORT_CRON: 'at nine' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).format()).toBe('LOOKOUT_REPORT_CRON: LOOKOUT_REPORT_CRON: expected a cron expression such as "5 0 * * *", got "at nine" [bad_env]');
  });

  it('a plain daily expression gives its minute of the day (for catching up a missed run)', () => {
    expect(dailyCronMinute('0 9 * * *')).toBe(540);
    expect(dailyCronMinute('30 8 * * *')).toBe(510);
    expect(dailyCronMinute('0 9 * * 1-5')).toBeUndefined();
    expect(dailyCronMinute('*/5 * * * *')).toBeUndefined();
  });
});
