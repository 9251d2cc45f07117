// graph.reachable and graph.reachable_paths over a graph given as an object from node to an array or set of
// neighbours; a node counts only when the graph has an entry for it, as in OPA.
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
  'graph.reachable_paths': reachablePaths,
};

/** The neighbours of an entry: its array or set elements (anything else has none, as in OPA). */
function neighbours(edges: unknown): unknown[] {
  return Array.isArray(edges) || edges instanceof RegoSet ? list('graph.reachable_paths', edges) : [];
}

/**
 * graph.reachable_paths as OPA computes it: from each starting node in the graph, every path that follows
 * edges until a node without neighbours, a node the graph lacks (the path ends before it) or a node already
 * on the path (the path ends before repeating it). OPA releases before the fix of its search kept one set of
 * reached nodes per starting edge, so a node met again along another branch (or two edges of one node back
 * onto the path) gave other paths. Where the two searches would part, the answer is undefined instead of one
 * of them: the search below runs both in step and stops there.
 */
function reachablePaths(graph: unknown, initial: unknown): RegoSet {
  const name = 'graph.reachable_paths';
  if (!isObjectValue(graph)) throw new BuiltinArgError(name, `expected an object, got ${typeName(graph)}`);
  if (!Array.isArray(initial) && !(initial instanceof RegoSet))
    throw new BuiltinArgError(name, `expected an array or set, got ${typeName(initial)}`);
  const edges = entriesOf(graph);
  const entry = (node: unknown): readonly [unknown, unknown] | undefined => edges.find(([k]) => regoEqual(k, node));
  const has = (nodes: readonly unknown[], n: unknown): boolean => nodes.some((x) => regoEqual(x, n));
  const disagree = (): never => {
    throw new BuiltinArgError(
      name,
      'OPA releases answer differently for this graph (a node reached along two branches)',
    );
  };
  const paths: unknown[][] = [];
  /** onPath: the nodes before this one (the fixed search); reached: what the older search had marked. */
  const walk = (node: unknown, path: unknown[], onPath: unknown[], reached: unknown[]): void => {
    const found = entry(node);
    if (found === undefined) {
      paths.push(path);
      return;
    }
    const here = [...path, node];
    const next = neighbours(found[1]);
    if (next.length === 0) {
      paths.push(here);
      return;
    }
    const seen = [...onPath, node];
    let hits = 0;
    for (const n of next) {
      const cycle = has(seen, n);
      if (cycle !== has(reached, n)) disagree();
      if (cycle) {
        // The older search appended the path once more for every further such edge.
        if (++hits > 1) disagree();
        paths.push(here);
      } else {
        if (!has(reached, node)) reached.push(node);
        walk(n, here, seen, reached);
      }
    }
  };
  for (const start of list(name, initial)) {
    const found = entry(start);
    if (found === undefined) continue;
    const next = neighbours(found[1]);
    if (next.length === 0) paths.push([start]);
    for (const n of next) walk(n, [start], [start], [start]);
  }
  return setOf(paths);
}
