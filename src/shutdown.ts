// Signal handling shared by `lookout start` and `lookout demo`.

/** Stop cleanly on the first SIGINT/SIGTERM; a second one exits at once. */
export function onShutdown(stop: () => Promise<void>, say: (msg: string) => void): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    say(`${signal}: finishing in-flight jobs and stopping…`);
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
