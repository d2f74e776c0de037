// A Lua script whose arguments may be large Buffers, sent without copying them. ioredis's defined
// commands join every argument of a command into one fresh buffer before writing it (its
// MixedBuffers): for the worker's fenced writes (tens of KB each, a KB or so a sample) that was an
// allocation and a copy of every byte written, and one socket write per command. Here the command's
// RESP goes to the socket in pieces, the Buffers as they are, corked so that the command leaves in
// one writev.
//
// Only for commands sent one by one (`sendCommand`): a pipeline gathers what each command's
// toWritable returns and writes it later, so a piece written straight to the socket would overtake
// the commands before it. `run` therefore never takes a pipeline.

import { createHash } from 'node:crypto';
import { settled, type RedisClient } from './client.js';
import { FlatCommand } from './flat-command.js';

/** What ioredis hands a command's toWritable: the connection's socket (or a stand-in without cork). */
interface Socket {
  cork?: () => void;
  uncork?: () => void;
  write?: (chunk: string | Buffer) => boolean;
}

/** EVALSHA / EVAL whose Buffer arguments are written to the socket as they are. */
class UncopiedCommand extends FlatCommand {
  override toWritable(socket: unknown): string | Buffer {
    const s = socket as Socket | undefined;
    if (!s || typeof s.cork !== 'function' || typeof s.uncork !== 'function' || typeof s.write !== 'function') return super.toWritable(socket as never);
    const args = this.args as (string | Buffer)[];
    // Corked for this command only: its pieces leave in one writev as soon as it is written, so
    // Redis works on it while the next call is computed.
    s.cork();
    let text = `*${args.length + 1}\r\n$${Buffer.byteLength(this.name)}\r\n${this.name}\r\n`;
    for (const arg of args) {
      if (typeof arg === 'string') {
        text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
      } else {
        s.write(`${text}$${arg.length}\r\n`);
        if (arg.length > 0) s.write(arg);
        text = '\r\n';
      }
    }
    s.write(text);
    s.uncork();
    // What ioredis writes after this: nothing more.
    return '';
  }
}

export class ScriptCall {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /**
   * Run the script with `keys` and `args` on the master of the keys' slot: EVALSHA, and EVAL once
   * when the server does not have the script (a restart, a failover, SCRIPT FLUSH).
   */
  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    try {
      return await this.send(redis, 'evalsha', this.sha, keys, args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      return this.send(redis, 'eval', this.lua, keys, args);
    }
  }

  private send(redis: RedisClient, name: 'evalsha' | 'eval', script: string, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    const command = new UncopiedCommand(name, [script, String(keys.length), ...keys, ...args], { replyEncoding: 'utf8', keyPrefix: redis.options.keyPrefix });
    return redis.sendCommand(command) as Promise<unknown>;
  }
}

/**
 * Calls of one script sent one by one and answered together, in the shape of a batch's exec:
 * [error, reply] per call, in order.
 */
export class ScriptCalls {
  private readonly sent: Promise<unknown>[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly script: ScriptCall,
  ) {}

  run(keys: readonly string[], args: readonly (string | Buffer)[]): void {
    const reply = this.script.run(this.redis, keys, args);
    reply.catch(() => undefined); // answered by exec
    this.sent.push(reply);
  }

  exec(): Promise<[Error | null, unknown][]> {
    return settled(this.sent);
  }
}
