// What the channel-duty routes (broadcasts, the halls' ranking) share: this process's duties, and
// how a failure of their work answers.

import type { DutiesApi } from '../duties/index.js';
import { ConfigError } from '../errors/catalogue.js';
import type { HttpDeps } from './deps.js';
import { HttpError } from './errors.js';

/** The channel duties, or 503 naming what is not available in a process without them. */
export function dutiesOf(deps: HttpDeps, what: string): DutiesApi {
  if (!deps.duties) throw new HttpError(503, 'not_ready', `${what} are not available in this process`);
  return deps.duties;
}

/** Redis trouble is 503 (retry later); a message template broken since start-up is a 500 naming it. */
export async function dutyWork<T>(work: Promise<T>, what: string): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    if (err instanceof ConfigError) throw new HttpError(500, 'internal_error', err.format(), undefined, { cause: err });
    throw new HttpError(503, 'not_ready', `${what} is unavailable (Redis unreachable?); retry later`, undefined, { cause: err });
  }
}
