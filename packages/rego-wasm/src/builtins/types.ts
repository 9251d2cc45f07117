// The deprecated cast_* builtins OPA still accepts: each returns its argument when it already has the type,
// and is an error (undefined) otherwise; cast_array and cast_set also convert between arrays and sets.
import { BuiltinArgError, typeName } from './args.js';
import { isObjectValue, RegoSet, setOf } from './values.js';

function expect(name: string, ok: boolean, v: unknown): unknown {
  if (!ok) throw new BuiltinArgError(name, `operand has type ${typeName(v)}`);
  return v;
}

export const typeBuiltins = {
  cast_array: (v: unknown) => {
    if (v instanceof RegoSet) return [...v.items];
    return expect('cast_array', Array.isArray(v), v);
  },
  cast_set: (v: unknown) => {
    if (Array.isArray(v)) return setOf(v);
    return expect('cast_set', v instanceof RegoSet, v);
  },
  cast_boolean: (v: unknown) => expect('cast_boolean', typeof v === 'boolean', v),
  cast_null: (v: unknown) => expect('cast_null', v === null, v),
  cast_object: (v: unknown) => expect('cast_object', isObjectValue(v), v),
  cast_string: (v: unknown) => expect('cast_string', typeof v === 'string', v),
};
