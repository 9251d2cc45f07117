// A small HTTP/2 load generator for gRPC frames whose body varies per request (h2load sends one body file):
// `sessions` connections × `streams` concurrent streams, cycling through `bodies`. Closed loop (as fast as
// answers come) or open loop at a fixed rate. Used for the 1,000-distinct-token runs of bench:check.
import { connect, constants } from 'node:http2';
import { performance } from 'node:perf_hooks';

export interface FramesLoadOptions {
  port: number;
  path: string;
  bodies: Buffer[];
  sessions: number;
  streams: number;
  seconds: number;
  /** checks per second across all sessions; absent: closed loop */
  rate?: number;
}

export interface FramesLoadResult {
  done: number;
  failed: number;
  seconds: number;
  latenciesMs: number[];
  /** each request's start (ms since the epoch) and latency, in the order they finished */
  records: Array<{ startMs: number; latencyMs: number }>;
}

export async function framesLoad(options: FramesLoadOptions): Promise<FramesLoadResult> {
  const sessions = Array.from({ length: options.sessions }, () => connect(`http://127.0.0.1:${options.port}`));
  await Promise.all(sessions.map((s) => new Promise((resolve) => s.once('connect', resolve))));
  let next = 0;
  let done = 0;
  let failed = 0;
  const latenciesMs: number[] = [];
  // Start times in a second array of plain numbers, not an object per request: what this process keeps alive
  // during the phase is copied by each of its young collections, whose pauses delay the answers it times.
  const startsMs: number[] = [];
  const one = (sessionIndex: number): Promise<void> =>
    new Promise((resolve) => {
      const body = options.bodies[next++ % options.bodies.length]!;
      const t0 = performance.now();
      const stream = sessions[sessionIndex]!.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: options.path,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      let grpcStatus: string | undefined;
      stream.on('trailers', (trailers) => (grpcStatus = String(trailers['grpc-status'])));
      stream.on('data', () => undefined);
      stream.once('close', () => {
        const latencyMs = performance.now() - t0;
        latenciesMs.push(latencyMs);
        startsMs.push(performance.timeOrigin + t0);
        if (grpcStatus === '0') done++;
        else failed++;
        resolve();
      });
      stream.end(body);
    });
  const start = performance.now();
  const deadline = start + options.seconds * 1000;
  if (options.rate === undefined) {
    await Promise.all(
      sessions.flatMap((_, s) =>
        Array.from({ length: options.streams }, async () => {
          while (performance.now() < deadline) await one(s);
        }),
      ),
    );
  } else {
    // Open loop: a tick every 10 ms issues what the rate owes since the start, whatever is still in flight.
    const inFlight = new Set<Promise<void>>();
    let issued = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        if (now >= deadline) {
          clearInterval(timer);
          resolve();
          return;
        }
        const owed = Math.floor(((now - start) / 1000) * options.rate!) - issued;
        for (let i = 0; i < owed; i++) {
          const p = one(issued++ % sessions.length);
          inFlight.add(p);
          void p.then(() => inFlight.delete(p));
        }
      }, 10);
    });
    await Promise.all(inFlight);
  }
  const seconds = (performance.now() - start) / 1000;
  for (const s of sessions) s.close();
  const records = startsMs.map((startMs, i) => ({ startMs, latencyMs: latenciesMs[i]! }));
  return { done, failed, seconds, latenciesMs: latenciesMs.sort((a, b) => a - b), records };
}
