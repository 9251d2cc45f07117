// W3C Trace Context as a check span needs it: the parent read from `traceparent`/`tracestate`, new trace and span
// ids, and the sampling decision (the parent's sampled flag when there is one, else `sampleRatio` on the trace
// id). Pure functions apart from the random ids. https://www.w3.org/TR/trace-context/
import { randomFillSync } from 'node:crypto';

export interface ParentContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
  /** the caller's `tracestate`, passed on unchanged when it is well formed */
  traceState: string | undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * The remote parent named by the request's headers, or null when `traceparent` is absent or malformed (the
 * check then starts a trace of its own, as the specification asks). Version 00 has exactly four fields; a later
 * version may append more after a `-`, which are ignored. Upper-case hex, version ff and all-zero ids are invalid.
 */
export function parseTraceParent(
  traceparent: string | undefined,
  tracestate: string | undefined,
): ParentContext | null {
  if (traceparent === undefined) return null;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (match === null) return null;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === undefined || traceId === undefined || spanId === undefined || flags === undefined) return null;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return null;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1, traceState: validTraceState(tracestate) };
}

// A list member is `key=value`: a simple or `tenant@system` key and a value of printable ASCII without `,` or
// `=` that does not end in a space. At most 32 members (the specification's limit).
const MEMBER =
  /^[a-z0-9][_0-9a-z\-*/]{0,255}(@[a-z][_0-9a-z\-*/]{0,13})?=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** The `tracestate` to carry on, or undefined when it is absent, empty or malformed (a vendor may drop it). */
export function validTraceState(tracestate: string | undefined): string | undefined {
  if (tracestate === undefined) return undefined;
  const members = tracestate
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (members.length === 0 || members.length > 32 || !members.every((member) => MEMBER.test(member))) return undefined;
  return members.join(',');
}

/**
 * The ratio sampler for a trace that starts here: the trace id's 56 rightmost bits (the random part that W3C
 * Trace Context level 2 defines) read as a fraction of 2^56, kept when below `ratio`. The same id gives the same
 * answer in every process, so a trace is kept or dropped as a whole.
 */
export function sampledByRatio(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  // 56 bits exceed a double's 53: compared as BigInts (ratio × 2^56 is exact, a power-of-two scaling).
  return BigInt(`0x${traceId.slice(-14)}`) < BigInt(Math.floor(ratio * 2 ** 56));
}

// Ids come from a pool of cryptographic random bytes, refilled when used up: one system call per 512 spans.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/** A random 16-byte trace id in lower-case hex, never all zeros. */
export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ZERO_TRACE_ID) id = randomHex(16);
  return id;
}

/** A random 8-byte span id in lower-case hex, never all zeros. */
export function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_SPAN_ID) id = randomHex(8);
  return id;
}
