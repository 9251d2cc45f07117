// The policy authors' guide's builtin table (policies/README.md, between `<!-- builtins:start -->` and
// `<!-- builtins:end -->`), made from the catalog so that the guide cannot list a builtin, a type or an
// integer rule the compiler does not have. `npm run builtins:guide` writes it; a test compares.
import { CATALOG, type BuiltinSpec, type Shape } from '../builtins/catalog.js';

function typeText(shape: Shape): string {
  return shape.join(' or ');
}

/** The arguments as the guide writes them: types, `int64` / `integer` for integer operands. */
export function argumentsText(spec: BuiltinSpec): string {
  return spec.args.map((shape, i) => spec.integers?.[i] ?? typeText(shape)).join(', ');
}

function lowering(spec: BuiltinSpec): string {
  if (spec.lowering === 'native') return 'Wasm';
  return spec.fastPath === true ? 'Wasm, JavaScript when Wasm cannot decide' : 'JavaScript';
}

/** The markdown table of every builtin a policy may call, in name order. */
export function builtinTable(): string {
  const rows = Object.entries(CATALOG)
    .filter(([, spec]) => spec.lowering !== 'host')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, spec]) => {
      const notes = [
        ...(spec.infix === undefined ? [] : [`operator \`${spec.infix.replaceAll('|', '\\|')}\``]),
        ...(spec.deprecated === true ? ['deprecated'] : []),
      ];
      const where = [lowering(spec), ...notes].join('; ');
      return `| \`${name}\` | ${argumentsText(spec) || '(none)'} | ${typeText(spec.result)} | ${where} |`;
    });
  return ['| builtin | arguments | result | runs in |', '|---|---|---|---|', ...rows].join('\n');
}
