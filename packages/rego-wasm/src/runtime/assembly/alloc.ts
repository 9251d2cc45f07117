// Bump allocator. The SDK resets the heap pointer between evaluations (it writes the input just below the
// pointer it passes to opa_eval), so nothing is ever freed individually and no collector exists.

let heapPtr: usize = (__heap_base + 7) & ~(<usize>7);

// Sizes are computed in 64 bits: a memory of the full 4 GiB has a byte size of 2^32, and an allocation near
// the end of the address space would wrap around onto live data (constants, data, the input) in 32 bits.
const ADDRESS_SPACE: u64 = 0x1_0000_0000;

/**
 * Bytes below which every allocation is known to fit: a lower bound of the memory's size (memory only ever
 * grows, also when JavaScript grows it), kept below the 4 GiB address space so that the fast path of alloc
 * never wraps around. Only an allocation past it asks the memory for its size.
 */
let knownEnd: u64 = 0;

function ensureMemory(end: u64): void {
  if (end >= ADDRESS_SPACE) unreachable();
  const have = (<u64>memory.size()) << 16;
  if (end > have) {
    // Grow geometrically: each grow may move the whole buffer, so page-by-page growth is quadratic.
    const needed = <i32>((end - have + 0xffff) >> 16);
    const current = memory.size();
    let pages = current > needed ? current : needed;
    if (memory.grow(pages) < 0 && memory.grow(needed) < 0) unreachable();
  }
  const size = (<u64>memory.size()) << 16;
  knownEnd = size < ADDRESS_SPACE ? size : ADDRESS_SPACE - 8;
}

/** A lower bound of the memory's size in bytes (0 before the first allocation that looked). */
// @ts-ignore: decorator
@inline export function memoryBytes(): u64 {
  return knownEnd;
}

export function alloc(size: usize): usize {
  // The SDK hands over heap pointers just past the input text, so align the start too.
  const start = ((<u64>heapPtr + 7) & ~(<u64>7));
  const end = (start + <u64>size + 7) & ~(<u64>7);
  if (end > knownEnd) ensureMemory(end);
  heapPtr = <usize>end;
  return <usize>start;
}

export function opa_malloc(size: usize): usize {
  return alloc(size);
}

export function opa_free(addr: usize): void {}

export function opa_heap_ptr_get(): usize {
  return heapPtr;
}

export function opa_heap_ptr_set(addr: usize): void {
  heapPtr = addr;
}
