// Terms that are constants: what the planner puts in the constant pool, what a `with` may replace a
// function by, and the keys that pair object literal entries.
import type { Term } from '../ast.js';

/** JSON text of a term that needs no evaluation (sets excluded: JSON cannot express them). */
export function constantJson(term: Term): string | null {
  switch (term.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(term.value);
    case 'number':
      return term.text;
    case 'string':
      return JSON.stringify(term.value);
    case 'array': {
      const items = term.items.map(constantJson);
      return items.every((item) => item !== null) ? `[${items.join(',')}]` : null;
    }
    case 'object': {
      const entries: string[] = [];
      const seen = new Set<string>();
      for (const entry of term.entries) {
        if (entry.key.type !== 'string') return null;
        if (seen.has(entry.key.value)) return null;
        seen.add(entry.key.value);
        const value = constantJson(entry.value);
        if (value === null) return null;
        entries.push(`${JSON.stringify(entry.key.value)}:${value}`);
      }
      return `{${entries.join(',')}}`;
    }
    default:
      return null;
  }
}

/** Static key of a scalar term, for pairing object literal entries in unification. */
export function scalarKey(term: Term): string | null {
  switch (term.type) {
    case 'null':
      return 'null';
    case 'boolean':
      return String(term.value);
    case 'number':
      // Integers by exact value (large ones must not collide after rounding), others as doubles.
      return /^-?\d+$/.test(term.text) ? `n:${BigInt(term.text).toString()}` : `n:${Number(term.text)}`;
    case 'string':
      return `s:${term.value}`;
    default:
      return null;
  }
}
