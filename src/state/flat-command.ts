// Commands whose arguments are given flat. ioredis's Command flattens its arguments with
// Array.prototype.flat, which costs ~80 ns an argument on Node 20 (the spread of the same array costs
// under 1 ns an element): 25 µs for an MGET of 300 keys, a few per cent of a worker's CPU in the
// reads and fenced writes of its rounds and in the judgements' reads. The hot commands with many
// arguments are built here, their arguments taken as they are.

import { Command } from 'ioredis';
import type { ChainableCommander } from 'ioredis';

type Arg = string | Buffer | number;

export interface FlatCommandOptions {
  /** null: Buffers; 'utf8': strings. */
  readonly replyEncoding?: BufferEncoding | null;
  /** The client's key prefix (ioredis keyPrefix): with one, the arguments go the usual way, which prefixes the keys. */
  readonly keyPrefix?: string;
}

export class FlatCommand extends Command {
  constructor(name: string, args: readonly Arg[], options: FlatCommandOptions = {}) {
    const prefixed = options.keyPrefix !== undefined && options.keyPrefix !== '';
    super(name, prefixed ? [...args] : [], options as ConstructorParameters<typeof Command>[2]);
    if (!prefixed) this.args = args as Arg[];
  }
}

/** A client, pipeline, MULTI or batch (client.ts) that takes a command object. */
interface Sends {
  sendCommand(command: Command): unknown;
}

/** Queue MGET of `keys` (answered as Buffers) on a pipeline, MULTI or batch. */
export function mgetBuffers(batch: ChainableCommander, keys: readonly string[]): void {
  (batch as unknown as Sends).sendCommand(new FlatCommand('mget', keys, { replyEncoding: null }));
}

/** Queue MGET of `keys` (answered as strings) on a pipeline, MULTI or batch. */
export function mgetStrings(batch: ChainableCommander, keys: readonly string[]): void {
  (batch as unknown as Sends).sendCommand(new FlatCommand('mget', keys, { replyEncoding: 'utf8' }));
}

/** Queue HMGET of `fields` of `key` (answered as strings) on a pipeline, MULTI or batch. */
export function hmgetStrings(batch: ChainableCommander, key: string, fields: readonly string[]): void {
  (batch as unknown as Sends).sendCommand(new FlatCommand('hmget', [key, ...fields], { replyEncoding: 'utf8' }));
}
