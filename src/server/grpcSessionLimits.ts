// How long one gRPC connection (an HTTP/2 session) may live: `grpc.maxConnectionIdleSeconds` (no call for that
// long: GOAWAY and close), `grpc.maxConnectionAgeSeconds` (GOAWAY at that age, ±10% so a fleet of connections
// made together does not reconnect together, then closed after `maxConnectionAgeGraceSeconds`), and
// `grpc.keepaliveSeconds` (a PING that long after the last one was answered; no answer within
// `keepaliveTimeoutSeconds` and the peer is gone: the connection is destroyed, its descriptor freed).
// The same rules as gRPC's server options of those names, so clients (Envoy) see what they expect.
import { constants, type ServerHttp2Session } from 'node:http2';

/** How long connections may live and how many may be open (`grpc.*` of the config); 0 turns a limit off. */
export interface ConnectionSettings {
  maxConnections: number;
  maxConnectionIdleSeconds: number;
  maxConnectionAgeSeconds: number;
  maxConnectionAgeGraceSeconds: number;
  keepaliveSeconds: number;
  keepaliveTimeoutSeconds: number;
}

/** One session's bookkeeping: the transport reports each call's start and end, for the idle rule. */
export interface SessionActivity {
  callStarted(): void;
  callEnded(): void;
}

/** The largest delay a Node timer takes (longer ones fire at once, with a warning). */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The last-stream-id of the first GOAWAY of a graceful close: "every stream you opened may still finish". */
const ALL_STREAMS = 2 ** 31 - 1;
const MAX_AGE = Buffer.from('max_age');

const ms = (seconds: number): number => (seconds > 0 ? Math.min(Math.round(seconds * 1000), MAX_TIMER_MS) : 0);

/** Applies the lifetime rules to a new session; its timers end with it. */
export function limitSessionLifetime(session: ServerHttp2Session, settings: ConnectionSettings): SessionActivity {
  // The session's pending timers, so its end clears them (a long-lived connection re-arms its keepalive often).
  const timers = new Set<NodeJS.Timeout>();
  const later = (delayMs: number, run: () => void): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, delayMs);
    timer.unref();
    timers.add(timer);
    return timer;
  };
  const cancel = (timer: NodeJS.Timeout): void => {
    clearTimeout(timer);
    timers.delete(timer);
  };
  session.once('close', () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  });

  const ageMs = ms(settings.maxConnectionAgeSeconds);
  if (ageMs > 0) {
    const jitter = (Math.random() * 2 - 1) * (ageMs / 10);
    later(ageMs + jitter, () => {
      if (session.closed || session.destroyed) return;
      // Two-phase close: the first GOAWAY stops new streams without failing any already on the wire.
      session.goaway(constants.NGHTTP2_NO_ERROR, ALL_STREAMS, MAX_AGE);
      session.close();
      const graceMs = ms(settings.maxConnectionAgeGraceSeconds);
      if (graceMs > 0) later(graceMs, () => session.destroy());
    });
  }

  const keepaliveMs = ms(settings.keepaliveSeconds);
  if (keepaliveMs > 0) {
    const timeoutMs = ms(settings.keepaliveTimeoutSeconds);
    const ping = (): void => {
      if (session.closed || session.destroyed) return;
      const unanswered = later(timeoutMs, () => session.destroy());
      let sent = false;
      try {
        sent = session.ping((error) => {
          cancel(unanswered);
          if (error !== null) session.destroy();
          else later(keepaliveMs, ping);
        });
      } catch {
        // too many unanswered pings, or the session is going: treat as gone
      }
      if (!sent) {
        cancel(unanswered);
        session.destroy();
      }
    };
    later(keepaliveMs, ping);
  }

  const idleMs = ms(settings.maxConnectionIdleSeconds);
  if (idleMs === 0) return { callStarted: () => undefined, callEnded: () => undefined };
  let active = 0;
  let idleSince = Date.now();
  const checkIdle = (): void => {
    if (session.closed || session.destroyed) return;
    const idleFor = active === 0 ? Date.now() - idleSince : 0;
    // Node's close(): GOAWAY, then the socket closes once no stream is open (at once when idle).
    if (idleFor >= idleMs) session.close();
    else later(idleMs - idleFor, checkIdle);
  };
  later(idleMs, checkIdle);
  return {
    callStarted: () => {
      active += 1;
    },
    callEnded: () => {
      active -= 1;
      if (active === 0) idleSince = Date.now();
    },
  };
}
