// A Lua script sent as one ioredis Command per call, for the check's hot path: EVAL the first time on a socket
// (so a fresh connection needs no second round trip to load it), EVALSHA after, and EVAL again on the same socket
// after a NOSCRIPT (SCRIPT FLUSH). That is what ioredis's defineCommand does, without what its generated method
// adds to every call: the rest-argument and options objects, the argument array copied three times (once by
// Array.prototype.flat, slow), a closure wrapping each command's reject, and the conversion of the reply to
// strings (the check script replies with integers).
import { createHash } from 'node:crypto';
import { Command } from 'ioredis';
import type { RedisClient } from './redis-connect.js';

export interface ScriptSender {
  /** EVALSHA (or EVAL) of the script with `keys` and `args`; the reply as ioredis decodes it (bulk strings as Buffers) */
  send(client: RedisClient, keys: readonly string[], args: readonly string[]): Promise<unknown>;
}

export function scriptSender(lua: string): ScriptSender {
  const sha = createHash('sha1').update(lua).digest('hex');
  /** sockets that have run the script (EVAL) since they connected or since their last NOSCRIPT */
  const loaded = new WeakSet<object>();

  class ScriptCommand extends Command {
    socket: object | undefined;

    /**
     * `args` all strings, so nothing of Command's argument handling applies to them; they are set after the
     * constructor because it copies its arguments with Array.prototype.flat, which costs a microsecond a call.
     */
    constructor(args: string[]) {
      super('evalsha', []);
      this.args = args;
    }

    override toWritable(socket: object): string | Buffer {
      this.socket = socket;
      if (!loaded.has(socket)) {
        loaded.add(socket);
        this.name = 'eval';
        this.args[0] = lua;
      } else if (this.name === 'eval') {
        this.name = 'evalsha';
        this.args[0] = sha;
      }
      return super.toWritable(socket);
    }
  }

  function command(keys: readonly string[], args: readonly string[]): ScriptCommand {
    const all: string[] = new Array<string>(2 + keys.length + args.length);
    all[0] = sha;
    all[1] = String(keys.length);
    for (let i = 0; i < keys.length; i++) all[2 + i] = keys[i]!;
    for (let i = 0; i < args.length; i++) all[2 + keys.length + i] = args[i]!;
    return new ScriptCommand(all);
  }

  return {
    send(client, keys, args) {
      const first = command(keys, args);
      void client.sendCommand(first);
      return first.promise.catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
        // The server dropped its scripts: this socket loads it again with EVAL.
        if (first.socket !== undefined) loaded.delete(first.socket);
        const again = command(keys, args);
        void client.sendCommand(again);
        return again.promise;
      });
    },
  };
}
