// How the channel-duty routes answer when this process has no duties or their work fails.

import { describe, expect, it } from 'vitest';
import type { DutiesApi } from '../../src/duties/index.js';
import { ConfigError } from '../../src/errors/catalogue.js';
import { dutiesOf, dutyWork } from '../../src/http/duties.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { HttpError } from '../../src/http/errors.js';

describe('dutiesOf', () => {
  it('is the process duties when there are some', () => {
    const duties = {} as DutiesApi;
    expect(dutiesOf({ duties } as HttpDeps, 'broadcasts')).toBe(duties);
  });

  it('is 503 not_ready naming what is missing when there are none', () => {
    const err = (() => {
      try {
        dutiesOf({} as HttpDeps, 'broadcasts');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ statusCode: 503, code: 'not_ready', message: 'broadcasts are not available in this process' });
  });
});

describe('dutyWork', () => {
  it('passes the result through', async () => {
    expect(await dutyWork(Promise.resolve(7), 'the broadcast store')).toBe(7);
  });

  it('a store failure is 503 not_ready naming the store', async () => {
    await expect(dutyWork(Promise.reject(new Error('ECONNREFUSED')), 'the broadcast store')).rejects.toMatchObject({
      statusCode: 503,
      code: 'not_ready',
      message: 'the broadcast store is unavailable (Redis unreachable?); retry later',
    });
  });

  it('a broken template is 500 internal_error naming the file', async () => {
    const broken = new ConfigError('bad_template', 'does not parse', 'templates/zh/ranking.html', 3);
    await expect(dutyWork(Promise.reject(broken), 'the satisfaction report')).rejects.toMatchObject({ statusCode: 500, code: 'internal_error', message: broken.format() });
  });

  it('an HttpError keeps its own answer', async () => {
    const notFound = new HttpError(404, 'not_found', 'no broadcast "x"');
    await expect(dutyWork(Promise.reject(notFound), 'the broadcast store')).rejects.toBe(notFound);
  });
});
