import { describe, expect, it } from 'vitest';
import { jobOptions } from '../../src/queues/job-options.js';

describe('jobOptions', () => {
  it('a message job: its id, the policy retry with exponential backoff, kept 7 days done and 30 failed', () => {
    expect(jobOptions('n1', { attempts: 5, backoffMs: 2000 })).toEqual({
      jobId: 'n1',
      attempts: 5,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: { age: 7 * 86_400 },
      removeOnFail: { age: 30 * 86_400 },
    });
  });

  it('a delayed job keeps its delay, even 0, and may be forgotten sooner once done', () => {
    const o = jobOptions('flush.sms.C1.w', { attempts: 10, backoffMs: 1000 }, { delayMs: 0, keepCompletedDays: 1 });
    expect(o.delay).toBe(0);
    expect(o.removeOnComplete).toEqual({ age: 86_400 });
    expect('delay' in jobOptions('x', { attempts: 1, backoffMs: 1 })).toBe(false);
  });
});
