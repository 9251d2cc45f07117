// Terms that are constants: what the planner puts in the constant pool, and what a `with` may replace a
// function by.
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
