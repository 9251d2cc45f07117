// Bytes the V8 heap allocated between start() and stop(): the heap's used size now, plus what each garbage
// collection in between freed (v8.GCProfiler reports the used size before and after each). Unlike CPU time it
// does not depend on what else the machine runs, so a cut in allocations shows in one run.
import { GCProfiler, getHeapStatistics } from 'node:v8';

export interface AllocationMeter {
  /** bytes allocated since start(); the meter is finished */
  stop(): number;
}

export function startAllocationMeter(): AllocationMeter {
  const profiler = new GCProfiler();
  profiler.start();
  const startUsed = getHeapStatistics().used_heap_size;
  return {
    stop() {
      const endUsed = getHeapStatistics().used_heap_size;
      const { statistics } = profiler.stop();
      let allocated = 0;
      let since = startUsed;
      for (const gc of statistics) {
        allocated += gc.beforeGC.heapStatistics.usedHeapSize - since;
        since = gc.afterGC.heapStatistics.usedHeapSize;
      }
      return allocated + endUsed - since;
    },
  };
}
