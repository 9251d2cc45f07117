// The runtime half of a Portcullis policy module: values, JSON, builtins and the OPA Wasm ABI entry points.
// The emitter adds the policy (its plans, functions and constants) to this module and defines the
// `portcullis.*` imports below, which are placeholders for the policy-specific parts.
import { alloc, opa_heap_ptr_get, opa_heap_ptr_set } from './alloc';
import {
  T_ARR, T_OBJ, T_SET, newInt, newArr, newObj, newSet, arrPush, setAdd, objPut, objKeyAt, objValAt, arrGet,
  colLen, tagOf, isCollection, equal, strLen, strPtr, isTag, T_STR, NULL_V, TRUE_V, FALSE_V,
} from './value';
import { opa_json_parse, bufStart, bufAscii, bufByte, bufValue, bufFinishCStr } from './json';

export { opa_malloc, opa_free, opa_heap_ptr_get, opa_heap_ptr_set } from './alloc';
export { opa_json_parse, opa_value_parse, opa_json_dump, opa_value_dump } from './json';
export * from './builtins';
export * from './strings';

export const opa_wasm_abi_version: i32 = 1;
export const opa_wasm_abi_minor_version: i32 = 3;

/** Runs entrypoint `ep`'s plan, which adds to the result set through rt_result_add. */
@external('portcullis', 'dispatch')
declare function pc_dispatch(ep: i32, input: usize, data: usize): void;
/** Forgets memoized function results: they are valid for one evaluation only. */
@external('portcullis', 'reset')
declare function pc_reset(): void;
@external('portcullis', 'builtins')
declare function pc_builtins(): usize;
@external('portcullis', 'entrypoints')
declare function pc_entrypoints(): usize;

@external('env', 'opa_abort')
declare function opa_abort(addr: usize): void;

export function builtins(): usize {
  return pc_builtins();
}

export function entrypoints(): usize {
  return pc_entrypoints();
}

// ---------------------------------------------------------------- evaluation

let resultSet: usize = 0;
/**
 * Heap address where the current evaluation began. Constants and data lie below it and outlive the
 * evaluation, so a statement that would modify one is a compiler bug: it aborts instead of corrupting
 * every later decision.
 */
let evalBase: usize = 0;

function guardMutable(v: usize): void {
  if (v < evalBase) abortWithText('internal error: the policy tried to modify a constant or data value');
}

function abortWithText(s: string): void {
  const n = <usize>s.length;
  const c = alloc(n + 1);
  const src = changetype<usize>(s);
  for (let i: usize = 0; i < n; i++) store<u8>(c + i, <u8>load<u16>(src + (i << 1)));
  store<u8>(c + n, 0);
  opa_abort(c);
  unreachable();
}

export function rt_result_add(v: usize): void {
  if (v != 0) setAdd(resultSet, v);
}

/** `[{"result": V}, ...]` as a value (the ctx API returns it) */
function resultValue(): usize {
  const out = newArr(colLen(resultSet));
  const key = resultKey();
  for (let i: u32 = 0; i < colLen(resultSet); i++) {
    const o = newObj(1);
    objPut(o, key, arrGet(resultSet, i), false);
    arrPush(out, o);
  }
  return out;
}

function resultKey(): usize {
  const s = alloc(12 + 6);
  store<u32>(s, T_STR);
  store<u32>(s, 6, 4);
  store<u32>(s, <u32>(s + 12), 8);
  store<u32>(s + 12, 0x75736572); // "resu"
  store<u16>(s + 16, 0x746c); // "lt"
  return s;
}

function runPlan(ep: i32, input: usize, data: usize): void {
  evalBase = opa_heap_ptr_get();
  resultSet = newSet();
  pc_reset();
  pc_dispatch(ep, input, data);
}

export function opa_eval(
  reserved: usize, ep: i32, data: usize, inputAddr: usize, inputLen: usize, heapPtr: usize, format: i32,
): usize {
  opa_heap_ptr_set(heapPtr);
  const input = inputLen > 0 ? opa_json_parse(inputAddr, inputLen) : 0;
  // An input that cannot be loaded must fail the evaluation: evaluating without it would make every
  // `input` reference undefined, and `not deny` rules would then allow.
  if (inputLen > 0 && input == 0) abortWithText('input is not JSON or is nested deeper than 512 levels');
  runPlan(ep, input, data);
  bufStart();
  bufByte(91);
  for (let i: u32 = 0; i < colLen(resultSet); i++) {
    if (i > 0) bufByte(44);
    bufAscii('{"result":');
    bufValue(arrGet(resultSet, i));
    bufByte(125);
  }
  bufByte(93);
  return bufFinishCStr();
}

// ---- the pre-1.2 context API: [input, data, entrypoint, result]

export function opa_eval_ctx_new(): usize {
  const ctx = alloc(16);
  memory.fill(ctx, 0, 16);
  return ctx;
}
export function opa_eval_ctx_set_input(ctx: usize, v: usize): void { store<u32>(ctx, <u32>v, 0); }
export function opa_eval_ctx_set_data(ctx: usize, v: usize): void { store<u32>(ctx, <u32>v, 4); }
export function opa_eval_ctx_set_entrypoint(ctx: usize, ep: i32): void { store<i32>(ctx, ep, 8); }
export function opa_eval_ctx_get_result(ctx: usize): usize { return <usize>load<u32>(ctx, 12); }

export function eval(ctx: usize): i32 {
  runPlan(load<i32>(ctx, 8), <usize>load<u32>(ctx, 0), <usize>load<u32>(ctx, 4));
  store<u32>(ctx, <u32>resultValue(), 12);
  return 0;
}

// ---------------------------------------------------------------- helpers the emitted code calls

export function rt_len(v: usize): u32 {
  return isCollection(v) ? colLen(v) : 0;
}

/** Key of the i-th element in scan order: the index for arrays, the key for objects, the element for sets. */
export function rt_iter_key(v: usize, i: u32): usize {
  const t = tagOf(v);
  if (t == T_ARR) return newInt(<i64>i);
  if (t == T_OBJ) return objKeyAt(v, i);
  return arrGet(v, i);
}

export function rt_iter_value(v: usize, i: u32): usize {
  if (tagOf(v) == T_OBJ) return objValAt(v, i);
  return arrGet(v, i);
}

export function rt_equal(a: usize, b: usize): i32 {
  return equal(a, b) ? 1 : 0;
}

/** 1 when the value is undefined or false: what makes `notFalse` fail. */
export function rt_is_false(v: usize): i32 {
  return v == 0 || v == FALSE_V || (tagOf(v) == 2 && load<u32>(v, 4) == 0) ? 1 : 0;
}

export function rt_has_type(v: usize, t: u32): i32 {
  return v != 0 && tagOf(v) == t ? 1 : 0;
}

export function rt_len_equal(v: usize, n: u32): i32 {
  return isCollection(v) && colLen(v) == n ? 1 : 0;
}

export function rt_new_array(cap: u32): usize { return newArr(cap); }
export function rt_new_object(): usize { return newObj(); }
export function rt_new_set(): usize { return newSet(); }
export function rt_array_append(a: usize, v: usize): void {
  if (!isTag(a, T_ARR)) return;
  guardMutable(a);
  arrPush(a, v);
}
export function rt_set_add(s: usize, v: usize): void {
  if (!isTag(s, T_SET)) return;
  guardMutable(s);
  setAdd(s, v);
}
export function rt_object_insert(o: usize, k: usize, v: usize): void {
  if (!isTag(o, T_OBJ)) return;
  guardMutable(o);
  objPut(o, k, v, false);
}
/** 0 when inserted (or already equal), 1 on a conflicting value for the key. */
export function rt_object_insert_once(o: usize, k: usize, v: usize): i32 {
  if (!isTag(o, T_OBJ)) return 0;
  guardMutable(o);
  return objPut(o, k, v, true) ? 0 : 1;
}

/** Aborts the evaluation with a string value as the message (the SDK throws it). */
export function rt_abort(msg: usize): void {
  let n: usize = 0;
  let p: usize = 0;
  if (isTag(msg, T_STR)) {
    n = strLen(msg);
    p = strPtr(msg);
  }
  const c = alloc(n + 1);
  memory.copy(c, p, n);
  store<u8>(c + n, 0);
  opa_abort(c);
  unreachable();
}

/** AssemblyScript's abort, routed to the SDK's: runtime code never calls it on purpose. */
export function asAbort(message: usize, fileName: usize, line: u32, column: u32): void {
  const c = alloc(24);
  store<u64>(c, 0x20656d69746e7572); // "runtime "
  store<u64>(c + 8, 0x0000726f727265); // "error"
  opa_abort(c);
  unreachable();
}

// keep the singletons referenced so their static data is laid out
export function rt_null(): usize { return NULL_V; }
export function rt_true(): usize { return TRUE_V; }
export function rt_false(): usize { return FALSE_V; }
