// The pipeline's own stage timers, for `npm run bench:check` (µs per check per stage). Off in production: the
// pipeline only reads the clock when a StageTimes is passed in. A stage's time is what it spends on the CPU from
// the pipeline's point of view: its synchronous work up to the promise it returns, plus the pipeline's own work
// after the promise settles; the wait for Redis (and the reply's parsing inside ioredis) is not counted, so the
// difference between these sums and the process's CPU time per check is the transport (HTTP/2, gRPC framing,
// protobuf) and I/O.

export const CHECK_STAGES = [
  'request',
  'identity',
  'limits',
  'contract',
  'input',
  'policy',
  'response',
  'telemetry',
] as const;
export type CheckStage = (typeof CHECK_STAGES)[number];

export interface StageTimes {
  /** adds `nanoseconds` to a stage's total */
  add(stage: CheckStage, nanoseconds: number): void;
  /** counts one finished check */
  checked(): void;
  /** totals so far: nanoseconds per stage and the number of checks */
  snapshot(): { checks: number; nanoseconds: Record<CheckStage, number> };
  /** the clock the laps read, in milliseconds (a test passes its own, so its figures do not depend on the load) */
  now(): number;
}

export function createStageTimes(now: () => number = () => performance.now()): StageTimes {
  const totals = new Float64Array(CHECK_STAGES.length);
  const index = new Map<CheckStage, number>(CHECK_STAGES.map((stage, i) => [stage, i]));
  let checks = 0;
  return {
    add(stage, nanoseconds) {
      totals[index.get(stage)!]! += nanoseconds;
    },
    checked() {
      checks++;
    },
    now,
    snapshot() {
      return {
        checks,
        nanoseconds: Object.fromEntries(CHECK_STAGES.map((stage, i) => [stage, totals[i]!])) as Record<
          CheckStage,
          number
        >,
      };
    },
  };
}

/** Per check: `lap(stage)` gives the time since the last lap (or resume) to the stage; `resume()` after an await. */
export interface StageLaps {
  lap(stage: CheckStage): void;
  resume(): void;
}

// performance.now(): a double, where hrtime.bigint() allocates a BigInt per reading (a dozen readings per check).
export function startLaps(times: StageTimes): StageLaps {
  let mark = times.now();
  return {
    lap(stage) {
      const now = times.now();
      times.add(stage, (now - mark) * 1e6);
      mark = now;
    },
    resume() {
      mark = times.now();
    },
  };
}
