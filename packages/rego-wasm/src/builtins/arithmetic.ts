// `+ - * / %`, abs, round, ceil, floor, sum, product and format_int as OPA answers them (bigFloat.ts).
// The runtime answers the operators on machine integers itself (its f_<name> fast paths); everything else
// comes here as exact number texts, so no digit is lost to a double on the way.
import { aggregate, arithmetic, formatInt, unary, type ArithOp, type UnaryOp } from './bigFloat.js';
import { BuiltinArgError } from './args.js';
import { textBuiltin, type TextBuiltin } from './texts.js';

const binary = (op: ArithOp): TextBuiltin => textBuiltin((a, b) => arithmetic(op, a as string, b as string));
const single = (op: UnaryOp): TextBuiltin => textBuiltin((a) => unary(op, a as string));

export const arithmeticBuiltins: Readonly<Record<string, TextBuiltin>> = {
  plus: binary('plus'),
  minus: binary('minus'),
  mul: binary('mul'),
  div: binary('div'),
  rem: binary('rem'),
  abs: single('abs'),
  round: single('round'),
  ceil: single('ceil'),
  floor: single('floor'),
  sum: textBuiltin((v) => aggregate('sum', v as string)),
  product: textBuiltin((v) => aggregate('product', v as string)),
  format_int: textBuiltin((n, base) => {
    const digits = formatInt(n as string, base as string);
    // OPA's operand error, thrown: undefined all the same (index.ts), an error under --strict-builtin-errors.
    if (digits === undefined)
      throw new BuiltinArgError(
        'format_int',
        `operand 2 must be one of {2, 8, 10, 16}, operand 1 a number (got ${String(n)}, ${String(base)})`,
      );
    return JSON.stringify(digits);
  }),
};
