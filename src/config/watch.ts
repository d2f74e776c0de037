// Reload on change: watch the rules, config and templates folders (and SIGHUP, wired by the CLI);
// bursts of editor writes are coalesced into one reload.

import { watch, type FSWatcher } from 'node:fs';

export function watchFolders(dirs: readonly string[], onChange: () => void, debounceMs = 500, onError?: (dir: string, err: Error) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(dirs)) {
    try {
      const w = watch(dir, { persistent: false }, fire);
      w.on('error', (err) => onError?.(dir, err));
      watchers.push(w);
    } catch (err) {
      // A folder that does not exist (no config dir yet) is simply not watched.
      onError?.(dir, err as Error);
    }
  }
  return () => {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
