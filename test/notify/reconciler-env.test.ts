import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';

describe('reconciler settings from the environment', () => {
  it('has defaults and reads overrides', () => {
    expect(loadConfig({})).toMatchObject({ reconcileMs: 60_000, sendingTimeoutMs: 120_000, receiptTimeoutMs: 48 * 3_600_000 });
    expect(loadConfig({ LOOKOUT_RECONCILE_INTERVAL_MS: '0', LOOKOUT_SENDING_TIMEOUT_MS: '300000', LOOKOUT_RECEIPT_TIMEOUT_HOURS: '72' })).toMatchObject({
      reconcileMs: 0,
      sendingTimeoutMs: 300_000,
      receiptTimeoutMs: 72 * 3_600_000,
    });
  });

  it('refuses a bad value with one line naming the variable', () => {
    expect(() => loadConfig({ LOOKOUT_RECEIPT_TIMEOUT_HOURS: '0' })).toThrow('LOOKOUT_RECEIPT_TIMEOUT_HOURS: expected an integer 1–720, got "0"');
    expect(() => loadConfig({ LOOKOUT_SENDING_TIMEOUT_MS: 'soon' })).toThrow('LOOKOUT_SENDING_TIMEOUT_MS');
  });
});
