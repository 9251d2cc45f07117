// A V8 heap snapshot (.heapsnapshot, as v8.writeHeapSnapshot writes it) summarised for bench:footprint:breakdown:
// what the live heap holds by kind of object, the module source texts by package, and the objects that retain
// the most (dominator tree: what would be freed if that object went). Pure functions over the parsed JSON.
import { fileURLToPath } from 'node:url';

interface SnapshotJson {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapGraph {
  count: number;
  type(node: number): string;
  name(node: number): string;
  selfSize(node: number): number;
  /** Outgoing edges as [edge type, edge name, target node], weak edges included. */
  edges(node: number): Array<[string, string, number]>;
}

export function parseHeapSnapshot(text: string): HeapGraph {
  const json = JSON.parse(text) as SnapshotJson;
  const { meta } = json.snapshot;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) =>
    meta.node_fields.indexOf(f),
  ) as [number, number, number, number];
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const count = json.nodes.length / nodeFields;
  const firstEdge = new Uint32Array(count + 1);
  for (let node = 0, edge = 0; node < count; node++) {
    firstEdge[node] = edge;
    edge += json.nodes[node * nodeFields + edgeCountAt]! * edgeFields;
    firstEdge[node + 1] = edge;
  }
  return {
    count,
    type: (node) => nodeTypes[json.nodes[node * nodeFields + typeAt]!]!,
    name: (node) => json.strings[json.nodes[node * nodeFields + nameAt]!]!,
    selfSize: (node) => json.nodes[node * nodeFields + sizeAt]!,
    edges(node) {
      const out: Array<[string, string, number]> = [];
      for (let at = firstEdge[node]!; at < firstEdge[node + 1]!; at += edgeFields) {
        const type = edgeTypes[json.edges[at]!]!;
        const nameOrIndex = json.edges[at + 1]!;
        const name = type === 'element' || type === 'hidden' ? String(nameOrIndex) : json.strings[nameOrIndex]!;
        out.push([type, name, json.edges[at + 2]! / nodeFields]);
      }
      return out;
    },
  };
}

/**
 * Immediate dominators from the root (node 0) over strong edges (Cooper, Harvey and Kennedy's iterative
 * algorithm), and each node's retained size: itself and everything only it keeps alive.
 */
export function retainedSizes(graph: HeapGraph): { idom: Int32Array; retained: Float64Array } {
  const order = new Int32Array(graph.count).fill(-1);
  const postorder: number[] = [];
  const strong = (node: number): number[] => graph.edges(node).flatMap(([type, , to]) => (type === 'weak' ? [] : [to]));
  const stack: Array<{ node: number; next: number[] }> = [{ node: 0, next: strong(0) }];
  const seen = new Uint8Array(graph.count);
  seen[0] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const to = top.next.pop();
    if (to === undefined) {
      stack.pop();
      order[top.node] = postorder.length;
      postorder.push(top.node);
    } else if (seen[to] === 0) {
      seen[to] = 1;
      stack.push({ node: to, next: strong(to) });
    }
  }
  const predecessors: number[][] = Array.from({ length: graph.count }, () => []);
  for (const node of postorder) for (const to of strong(node)) predecessors[to]!.push(node);
  const idom = new Int32Array(graph.count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!;
      while (order[b]! < order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed;) {
    changed = false;
    for (let i = postorder.length - 2; i >= 0; i--) {
      const node = postorder[i]!;
      let dominator = -1;
      for (const from of predecessors[node]!) {
        if (idom[from] === -1) continue;
        dominator = dominator === -1 ? from : intersect(from, dominator);
      }
      if (idom[node] !== dominator) {
        idom[node] = dominator;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(graph.count);
  for (const node of postorder) {
    retained[node]! += graph.selfSize(node);
    if (node !== 0) retained[idom[node]!]! += retained[node]!;
  }
  return { idom, retained };
}

export interface Row {
  what: string;
  bytes: number;
  count: number;
}

/** Self sizes by kind: strings, arrays, object shapes, code (bytecode and metadata), objects by constructor. */
export function selfSizeByKind(graph: HeapGraph, top: number): Row[] {
  const rows = new Map<string, Row>();
  for (let node = 0; node < graph.count; node++) {
    const type = graph.type(node);
    const keyed = type === 'object' || type === 'native' || type === 'code' || type === 'hidden';
    const what = keyed ? `${type} ${graph.name(node).slice(0, 48) || '(anonymous)'}` : type;
    const row = rows.get(what) ?? { what, bytes: 0, count: 0 };
    row.bytes += graph.selfSize(node);
    row.count++;
    rows.set(what, row);
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top);
}

/**
 * The source text each loaded script keeps on the heap (a Script's `source` edge), summed by `packageOf` its
 * file (ES modules are named by URL, CommonJS ones by path); Node's own scripts are left out.
 */
export function sourceTextByPackage(graph: HeapGraph, packageOf: (file: string) => string, top: number): Row[] {
  const rows = new Map<string, Row>();
  for (let node = 0; node < graph.count; node++) {
    const url = graph.name(node);
    if (graph.type(node) !== 'code' || !(url.startsWith('file://') || url.startsWith('/'))) continue;
    const source = graph.edges(node).find(([type, name]) => type === 'internal' && name === 'source');
    if (source === undefined || graph.type(source[2]) !== 'string') continue;
    const what = packageOf(url.startsWith('file:') ? fileURLToPath(url) : url);
    const row = rows.get(what) ?? { what, bytes: 0, count: 0 };
    row.bytes += graph.selfSize(source[2]);
    row.count++;
    rows.set(what, row);
  }
  return [...rows.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top);
}

/**
 * The objects that retain the most, each with the chain of retainers above it (dominators, nearest first).
 * A node is listed only when no single object it dominates retains nearly all of it (a chain of wrappers
 * shows once, at its bottom), and the synthetic roots are left out.
 */
export function largestRetained(graph: HeapGraph, top: number, minBytes = 64 * 1024): Row[] {
  const { idom, retained } = retainedSizes(graph);
  const largestChild = new Float64Array(graph.count);
  for (let node = 1; node < graph.count; node++) {
    const parent = idom[node]!;
    if (parent >= 0 && retained[node]! > largestChild[parent]!) largestChild[parent] = retained[node]!;
  }
  const label = (node: number): string => {
    const name = graph.name(node).replace(/\s+/g, ' ').slice(0, 40);
    return `${graph.type(node)} ${name || '(anonymous)'}`;
  };
  const rows: Row[] = [];
  for (let node = 1; node < graph.count; node++) {
    if (retained[node]! < minBytes || largestChild[node]! > 0.9 * retained[node]!) continue;
    if (graph.type(node) === 'synthetic' || idom[node] === -1) continue;
    const chain: string[] = [];
    for (let up = idom[node]!; up > 0 && chain.length < 3; up = idom[up]!) chain.push(label(up));
    rows.push({ what: [label(node), ...chain].join(' <- '), bytes: retained[node]!, count: 1 });
  }
  return rows.sort((a, b) => b.bytes - a.bytes).slice(0, top);
}
