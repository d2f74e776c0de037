// Where people open the console: LOOKOUT_PUBLIC_URL, unless that is the default and the daemon
// ended up on another port (the demo falls back to a free one).

import type { AppConfig } from '../config/env.js';

export function consoleUrl(config: Pick<AppConfig, 'publicUrl' | 'httpPort'>, listening?: string): string {
  const defaulted = config.publicUrl === `http://localhost:${config.httpPort}`;
  if (defaulted && listening) {
    const port = new URL(listening).port;
    return `http://localhost${port ? `:${port}` : ''}/`;
  }
  return `${config.publicUrl}/`;
}
