import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/domain/alert.js';

describe('fingerprint', () => {
  it('is the first 16 hex digits of sha1(rule, NUL, entity), as stored alerts are keyed: unchanged by how it is computed', () => {
    // Alert records, versions and escalation chains in Redis are keyed by it: a different digest
    // would orphan every open alert on an upgrade.
    for (const [rule, entity] of [
      ['card_opening_drop', 'D0001'],
      ['complaint_surge', '营销案-2026-秋季'],
      ['', ''],
    ] as const) {
      const streamed = createHash('sha1').update(rule).update('\0').update(entity).digest('hex').slice(0, 16);
      expect(fingerprint(rule, entity)).toBe(streamed);
    }
    expect(fingerprint('card_opening_drop', 'D0001')).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint('a', 'bc')).not.toBe(fingerprint('ab', 'c'));
  });
});
