// graph.reachable: the nodes reachable from a set of starting nodes; a node counts only when the graph has
// an entry for it, as in OPA.
import { BuiltinArgError, list, typeName } from './args.js';
import { entriesOf, isObjectValue, RegoSet, regoEqual, setOf } from './values.js';

export const graphBuiltins = {
  'graph.reachable': (graph: unknown, initial: unknown) => {
    if (!isObjectValue(graph))
      throw new BuiltinArgError('graph.reachable', `expected an object, got ${typeName(graph)}`);
    const edges = entriesOf(graph);
    const queue = [...list('graph.reachable', initial)];
    const reached: unknown[] = [];
    while (queue.length > 0) {
      const node = queue.shift();
      if (reached.some((r) => regoEqual(r, node))) continue;
      const entry = edges.find(([k]) => regoEqual(k, node));
      if (entry === undefined) continue;
      reached.push(node);
      // OPA skips a node whose edges are neither an array nor a set.
      if (Array.isArray(entry[1]) || entry[1] instanceof RegoSet) {
        queue.push(...list('graph.reachable', entry[1]));
      }
    }
    return setOf(reached);
  },
};
