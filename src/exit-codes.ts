// The process exit codes of every `lookout` command, documented in docs/cli.md.

export const EXIT = {
  /** Done as asked. */
  ok: 0,
  /** The thing asked for failed: rule errors, a failed rule test, rejected rows, a failed send. */
  failed: 1,
  /** Usage or configuration error: unknown option, missing argument, bad environment, unreadable file. */
  usage: 2,
  /** No Redis to talk to: none recorded, or it does not answer. */
  redis: 3,
  /** The HTTP port (LOOKOUT_HTTP_PORT) is taken by another process. */
  portInUse: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
