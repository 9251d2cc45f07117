// Concurrent checks share one socket write to Redis. A check's store call is queued, and every call queued
// while the event loop handles one round of I/O (each gRPC connection's data arrives in a callback of its own)
// is sent from one setImmediate callback, right after that round: the socket is corked around the sends, so the
// commands leave in one write (one syscall, one wake-up of Redis) instead of one each. Each call is still its
// own EVALSHA, answered in one round trip; nothing is merged.
//
// The deadline and the timeout of a call are set when it is sent, not when it was queued (the send runs the
// store's whole call), so they keep measuring Redis and not this process (redis-store.ts withinTimeout): a
// call queued before a long synchronous stretch (a big policy evaluation) is sent after it with its full
// allowance. That is what ioredis's own auto-pipelining (also flushed from setImmediate) lacked: its commands
// carried the time they waited for the flush into their timeout.
import type { Writable } from 'node:stream';

export interface WriteBatch {
  /** runs `send` after this round of I/O callbacks, with the other sends queued in it, in one write */
  defer<T>(send: () => Promise<T>): Promise<T>;
}

/** `socket()`: the connection's current socket (read at each flush: a reconnect replaces it). */
export function createWriteBatch(socket: () => Writable | undefined): WriteBatch {
  let queued: Array<() => void> = [];
  const flush = (): void => {
    const sends = queued;
    queued = [];
    const target = socket();
    const corked = target !== undefined && target.writable;
    if (corked) target.cork();
    try {
      for (const send of sends) send();
    } finally {
      if (corked) target.uncork();
    }
  };
  return {
    defer<T>(send: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (queued.length === 0) setImmediate(flush);
        queued.push(() => {
          try {
            send().then(resolve, reject);
          } catch (error) {
            reject(error);
          }
        });
      });
    },
  };
}
