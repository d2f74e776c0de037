// The request-path connection fails fast when Redis is gone, and the outage tracker counts one
// outage per stretch of failures with its length.
import { describe, expect, it } from 'vitest';
import { connectRequestRedis, OutageTracker, withTimeout } from '../../src/redis/connect.js';
import { freePort } from '../../src/redis/embedded.js';

describe('OutageTracker', () => {
  it('reports one outage per stretch of failures, with its length', () => {
    let now = 1000;
    const seen: string[] = [];
    const t = new OutageTracker({ down: () => seen.push('down'), up: (s) => seen.push(`up ${s}`) }, () => now);
    t.succeeded();
    t.failed();
    now += 2500;
    t.failed();
    expect(t.isDown).toBe(true);
    now += 500;
    t.succeeded();
    t.succeeded();
    expect(seen).toEqual(['down', 'up 3']);
    t.stop();
    t.failed();
    expect(t.isDown).toBe(false);
  });
});

describe('connectRequestRedis', () => {
  it('rejects a command at once while nothing listens, instead of queueing it', async () => {
    const r = connectRequestRedis(`redis://127.0.0.1:${await freePort()}`, 'test');
    r.on('error', () => undefined);
    const t0 = performance.now();
    await expect(r.ping()).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(500);
    r.disconnect();
  });

  it('withTimeout rejects past its bound and passes a value within it', async () => {
    await expect(withTimeout(new Promise(() => undefined), 50, 'never')).rejects.toThrow('never: Redis did not answer within 50 ms');
    await expect(withTimeout(Promise.resolve(7), 50, 'soon')).resolves.toBe(7);
  });
});
