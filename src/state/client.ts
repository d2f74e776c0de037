// The connection the stores talk to: one standalone Redis (or Sentinel), or an ioredis Cluster.
// On a cluster every command goes to the master of its key's slot; a MULTI or pipeline must stay
// within one slot, so work that spans entities of several shards goes through `batch`.

import { Cluster, type ChainableCommander, type Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * Queue commands and run them together. On a standalone Redis: a MULTI (`atomic`) or a pipeline.
 * On a cluster, keys of several slots may be queued: each command is sent to its slot's master at
 * once (ioredis routes it, defined scripts included) and `exec` gathers the answers in order, as a
 * pipeline's — atomic per command (a script is), not across slots. Readers that need one
 * consistent view of several slots must not rely on it (the judgement's guard is the alert
 * version, read and committed in the control slot).
 */
export function batch(redis: RedisClient, atomic = false): ChainableCommander {
  if (!isCluster(redis)) return atomic ? redis.multi() : redis.pipeline();
  return separately(redis);
}

/**
 * The batch interface over commands sent one by one (the client routes each to its slot's node on
 * a cluster). Unlike a pipeline, whose commands ioredis joins into one buffer before writing, each
 * command goes to the socket as it is built. (The worker's fenced writes, MBs a call, go further:
 * their payload is not even copied into the command's own buffer, script-call.ts.)
 */
export function separately(redis: RedisClient): ChainableCommander {
  const sent: Promise<unknown>[] = [];
  const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_, name) {
      if (name === 'exec') return () => settled(sent);
      if (name === 'length') return sent.length;
      if (name === 'then') return undefined;
      const command = (redis as unknown as Record<string | symbol, unknown>)[name];
      if (typeof command !== 'function') throw new TypeError(`batch: no command ${String(name)}`);
      return (...args: unknown[]) => {
        const reply = (command as (...a: unknown[]) => Promise<unknown>).apply(redis, args);
        reply.catch(() => undefined);
        sent.push(reply);
        return proxy;
      };
    },
  });
  return proxy;
}

/** Replies of commands sent one by one, in the shape of a batch's exec: [error, reply] each, in order. */
export async function settled(sent: readonly Promise<unknown>[]): Promise<[Error | null, unknown][]> {
  return (await Promise.allSettled(sent)).map((r) => (r.status === 'fulfilled' ? [null, r.value] : [r.reason as Error, null]));
}

/** A queue of commands (MULTI, pipeline or the cluster batch above). */
export type Batch = ChainableCommander;
