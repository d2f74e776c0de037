// Signal handling shared by `lookout start` and `lookout demo`.

/**
 * Stop cleanly on the first SIGINT/SIGTERM; a second one exits at once. A stop that cannot finish
 * within `boundMs` (Redis unreachable, a gateway hanging) exits 1 rather than hang until SIGKILL;
 * unfinished jobs stay in Redis and another worker retries them.
 */
export function onShutdown(stop: () => Promise<void>, say: (msg: string) => void, boundMs = 25_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    say(`${signal}: finishing in-flight jobs and stopping…`);
    setTimeout(() => {
      process.stderr.write(`lookout: stop did not finish within ${boundMs / 1000} s; exiting (unfinished jobs are retried)\n`);
      process.exit(1);
    }, boundMs).unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`lookout: stop failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => handler('SIGINT'));
  process.on('SIGTERM', () => handler('SIGTERM'));
}
