// json.*: patch, filter, remove, marshal (plain and with options), unmarshal, is_valid, with OPA's semantics:
// paths as OPA parses them, sets addressed by their members, keys of any type, numbers compared exactly.
import { array, BuiltinArgError, list, str, typeName } from './args.js';
import { goJsonMarshal } from './encoding.js';
import { INT64_MAX, INT64_MIN, NumberText, parseExactJson } from './exact.js';
import { entriesOf, isObjectValue, objectFrom, RegoObject, RegoSet, regoEqual, setOf, toPlainJson } from './values.js';

type Entries = Array<readonly [unknown, unknown]>;

function fail(name: string, detail: string): never {
  throw new BuiltinArgError(name, detail);
}

function objectOperand(name: string, v: unknown): Record<string, unknown> | RegoObject {
  if (!isObjectValue(v)) fail(name, `expected an object, got ${typeName(v)}`);
  return v;
}

/**
 * A path as OPA's json builtins read it: an array of segments as given, or a string with its leading slashes
 * trimmed, split on `/`, each segment unescaped (~1 is `/`, then ~0 is `~`); "" is the empty path.
 */
function parsePath(name: string, path: unknown): unknown[] {
  if (Array.isArray(path)) return [...path];
  if (typeof path !== 'string') fail(name, `a path must be a string or an array, got ${typeName(path)}`);
  if (path === '') return [];
  return path
    .replace(/^\/+/, '')
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** json.filter / json.remove paths: an array or a set of paths. */
function parsePaths(name: string, paths: unknown): unknown[][] {
  if (!Array.isArray(paths) && !(paths instanceof RegoSet))
    fail(name, `paths must be an array or a set, got ${typeName(paths)}`);
  return list(name, paths).map((p) => parsePath(name, p));
}

// ---------------------------------------------------------------- json.filter and json.remove

/** The paths as a tree: null selects everything below; an object node's children are keyed by segment. */
interface PathNode {
  entries: Array<[unknown, PathNode | null]>;
}

function childNode(node: PathNode, key: unknown): PathNode | null | undefined {
  return node.entries.find(([k]) => regoEqual(k, key))?.[1];
}

function setChild(node: PathNode, key: unknown, child: PathNode | null): void {
  const i = node.entries.findIndex(([k]) => regoEqual(k, key));
  if (i >= 0) node.entries[i] = [key, child];
  else node.entries.push([key, child]);
}

/** As OPA: the empty path selects nothing; a shorter path wins over a longer one below it. */
function pathTree(paths: unknown[][]): PathNode {
  const root: PathNode = { entries: [] };
  for (const path of paths) {
    if (path.length === 0) continue;
    let node = root;
    let covered = false;
    for (const key of path.slice(0, -1)) {
      const child = childNode(node, key);
      if (child === null) {
        covered = true;
        break;
      }
      if (child === undefined) {
        const fresh: PathNode = { entries: [] };
        setChild(node, key, fresh);
        node = fresh;
      } else node = child;
    }
    if (!covered) setChild(node, path[path.length - 1], null);
  }
  return root;
}

/** Array elements are selected by their index written as a string ("0"), never by a number segment. */
function filterValue(v: unknown, filter: PathNode | null): unknown {
  if (filter === null) return v;
  if (Array.isArray(v)) {
    return v.flatMap((x, i) => {
      const sub = childNode(filter, String(i));
      return sub === undefined ? [] : [filterValue(x, sub)];
    });
  }
  if (v instanceof RegoSet) {
    return setOf(
      v.items.flatMap((x) => {
        const sub = childNode(filter, x);
        return sub === undefined ? [] : [filterValue(x, sub)];
      }),
    );
  }
  if (isObjectValue(v)) {
    return objectFrom(
      entriesOf(v).flatMap(([k, x]) => {
        const sub = childNode(filter, k);
        return sub === undefined ? [] : [[k, filterValue(x, sub)] as const];
      }),
    );
  }
  return v;
}

/** v without what the tree selects; undefined when v itself is selected. */
function removeValue(v: unknown, filter: PathNode | null | undefined): unknown {
  if (filter === undefined) return v;
  if (filter === null) return undefined;
  if (Array.isArray(v)) {
    return v.flatMap((x, i) => {
      const rest = removeValue(x, childNode(filter, String(i)));
      return rest === undefined ? [] : [rest];
    });
  }
  if (v instanceof RegoSet) {
    return setOf(
      v.items.flatMap((x) => {
        const rest = removeValue(x, childNode(filter, x));
        return rest === undefined ? [] : [rest];
      }),
    );
  }
  if (isObjectValue(v)) {
    return objectFrom(
      entriesOf(v).flatMap(([k, x]) => {
        const rest = removeValue(x, childNode(filter, k));
        return rest === undefined ? [] : [[k, rest] as const];
      }),
    );
  }
  return v;
}

// ---------------------------------------------------------------- json.patch (RFC 6902 as OPA applies it)

const PATCH = 'json.patch';

/** An array index segment as OPA reads it: an integer, "-" (the end), or an integer string without leading zeros. */
function toIndex(length: number, key: unknown): number {
  let value: bigint;
  if (typeof key === 'number') {
    if (!Number.isInteger(key)) fail(PATCH, `invalid number type for indexing`);
    value = BigInt(key);
  } else if (typeof key === 'bigint') value = key;
  else if (key instanceof NumberText) {
    // Only a number written as an integer indexes (OPA refuses 1.0 and 1e0).
    if (!/^-?\d+$/.test(key.text)) fail(PATCH, 'invalid number type for indexing');
    value = BigInt(key.text);
  } else if (typeof key === 'string') {
    if (key === '-') return length;
    if (!/^[+-]?\d+$/.test(key)) fail(PATCH, `invalid string for indexing: ${JSON.stringify(key)}`);
    if (key !== '0' && key.startsWith('0')) fail(PATCH, 'leading zeros are not allowed in JSON paths');
    value = BigInt(key);
  } else fail(PATCH, `invalid type for indexing: ${typeName(key)}`);
  if (value < INT64_MIN || value > INT64_MAX) fail(PATCH, 'index out of range');
  // Beyond a double's integers the index is out of bounds anyway.
  return Number(value);
}

/** The child of node under key; an error when there is none (a set's child is the member equal to key). */
function lookup(node: unknown, key: unknown): unknown {
  if (Array.isArray(node)) {
    const i = toIndex(node.length, key);
    if (i < 0 || i >= node.length) fail(PATCH, `index ${i} is out of bounds`);
    return node[i];
  }
  if (node instanceof RegoSet) {
    const hit = node.items.find((x) => regoEqual(x, key));
    if (hit === undefined) fail(PATCH, 'the path names no member of the set');
    return hit;
  }
  if (isObjectValue(node)) {
    const hit = entriesOf(node).find(([k]) => regoEqual(k, key));
    if (hit === undefined) fail(PATCH, 'the path names no member of the object');
    return hit[1];
  }
  return fail(PATCH, `a ${typeName(node)} has no children`);
}

/** node with its existing child under key replaced by child (a changed set member replaces the old one). */
function replaceChild(node: unknown, key: unknown, child: unknown): unknown {
  if (Array.isArray(node)) {
    const out = [...node];
    out[toIndex(node.length, key)] = child;
    return out;
  }
  if (node instanceof RegoSet) return setOf([...node.items.filter((x) => !regoEqual(x, key)), child]);
  const entries = entriesOf(node as Record<string, unknown> | RegoObject);
  return objectFrom(entries.map(([k, v]) => (regoEqual(k, key) ? ([k, child] as const) : ([k, v] as const))));
}

/** RFC 6902 add into node: an object member is set, a set gets the member (key must equal it), an array grows. */
function insertChild(node: unknown, key: unknown, value: unknown): unknown {
  if (Array.isArray(node)) {
    const i = toIndex(node.length, key);
    if (i < 0 || i > node.length) fail(PATCH, 'index for array insertion out of bounds');
    return [...node.slice(0, i), value, ...node.slice(i)];
  }
  if (node instanceof RegoSet) {
    if (!regoEqual(key, value)) fail(PATCH, 'a set member is added under its own value');
    return setOf([...node.items, value]);
  }
  if (isObjectValue(node)) return objectFrom([...entriesOf(node).filter(([k]) => !regoEqual(k, key)), [key, value]]);
  return fail(PATCH, `cannot add into a ${typeName(node)}`);
}

function deleteChild(node: unknown, key: unknown): unknown {
  if (Array.isArray(node)) {
    const i = toIndex(node.length, key);
    if (i < 0 || i >= node.length) fail(PATCH, 'index for array delete out of bounds');
    return [...node.slice(0, i), ...node.slice(i + 1)];
  }
  lookup(node, key);
  if (node instanceof RegoSet) return setOf(node.items.filter((x) => !regoEqual(x, key)));
  return objectFrom(entriesOf(node as Record<string, unknown> | RegoObject).filter(([k]) => !regoEqual(k, key)));
}

/** The document after change(parent, last key) at path's parent; every step on the way must exist. */
function atParent(doc: unknown, path: unknown[], change: (parent: unknown, key: unknown) => unknown): unknown {
  const step = (node: unknown, i: number): unknown =>
    i === path.length - 1 ? change(node, path[i]) : replaceChild(node, path[i], step(lookup(node, path[i]), i + 1));
  return step(doc, 0);
}

/** The document, or REMOVED after `remove` of the root (OPA then answers undefined unless an add restores it). */
const REMOVED = Symbol('removed');
type Doc = unknown;

function patchAdd(doc: Doc, path: unknown[], value: unknown): Doc {
  if (path.length === 0) return value;
  if (doc === REMOVED) fail(PATCH, 'the document was removed');
  return atParent(doc, path, (parent, key) => insertChild(parent, key, value));
}

function patchRemove(doc: Doc, path: unknown[]): Doc {
  if (doc === REMOVED) fail(PATCH, 'the document was removed');
  if (path.length === 0) return REMOVED;
  return atParent(doc, path, deleteChild);
}

function patchRender(doc: Doc, path: unknown[]): unknown {
  if (doc === REMOVED) fail(PATCH, 'the document was removed');
  return path.reduce(lookup, doc);
}

function attribute(patch: Entries, name: string): unknown {
  const hit = patch.find(([k]) => k === name);
  if (hit === undefined) fail(PATCH, `missing '${name}' attribute`);
  return hit[1];
}

function applyPatch(doc: Doc, raw: unknown): Doc {
  if (!isObjectValue(raw)) fail(PATCH, 'every patch must be an object');
  const patch = entriesOf(raw);
  const op = attribute(patch, 'op');
  if (typeof op !== 'string') fail(PATCH, "attribute 'op' must be a string");
  if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op)) fail(PATCH, `unrecognized op '${op}'`);
  const rawPath = attribute(patch, 'path');
  const from = op === 'move' || op === 'copy' ? attribute(patch, 'from') : undefined;
  const value = op === 'add' || op === 'replace' || op === 'test' ? attribute(patch, 'value') : undefined;
  const path = parsePath(PATCH, rawPath);
  switch (op) {
    case 'add':
      return patchAdd(doc, path, value);
    case 'remove':
      return patchRemove(doc, path);
    case 'replace':
      return patchAdd(patchRemove(doc, path), path, value);
    case 'move': {
      const source = parsePath(PATCH, from);
      const chunk = patchRender(doc, source);
      return patchAdd(patchRemove(doc, source), path, chunk);
    }
    case 'copy':
      return patchAdd(doc, path, patchRender(doc, parsePath(PATCH, from)));
    default:
      if (!regoEqual(patchRender(doc, path), value)) fail(PATCH, 'test failed');
      return doc;
  }
}

/** json.patch(doc, patches): any patch that fails makes the result undefined, as in OPA. */
function jsonPatch(target: unknown, patches: unknown): unknown {
  const result = array(PATCH, patches).reduce(applyPatch, target);
  if (result === REMOVED) fail(PATCH, 'the patches removed the whole document');
  return result;
}

// ---------------------------------------------------------------- json.marshal_with_options

const MARSHAL_OPTIONS = 'json.marshal_with_options';

/** Go's json.Marshal text of a string (HTML characters and the JS line separators escaped). */
function goString(s: string): string {
  return goJsonMarshal(s);
}

/** A number as OPA writes it: its text as the policy wrote or computed it. */
function numberText(v: number | bigint | NumberText): string {
  if (v instanceof NumberText) return v.text;
  if (typeof v === 'number' && !Number.isFinite(v)) fail(MARSHAL_OPTIONS, 'not a JSON number');
  return String(v);
}

/** A key that is not a string becomes its own JSON text, as OPA converts such objects to JSON. */
function keyText(k: unknown): string {
  return typeof k === 'string' ? k : goMarshal(k, null);
}

/** Go's UTF-8 byte order of two strings (how encoding/json sorts map keys). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Indent {
  prefix: string;
  indent: string;
}

/** Go's json.Marshal (indent null) or json.MarshalIndent text of v: keys sorted, sets as arrays. */
function goMarshal(v: unknown, layout: Indent | null, depth = 0): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return goString(v);
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof NumberText) return numberText(v);
  const open = (items: string[], brackets: '[]' | '{}'): string => {
    if (items.length === 0) return brackets;
    if (layout === null) return `${brackets[0]}${items.join(',')}${brackets[1]}`;
    const inner = `\n${layout.prefix}${layout.indent.repeat(depth + 1)}`;
    const outer = `\n${layout.prefix}${layout.indent.repeat(depth)}`;
    return `${brackets[0]}${inner}${items.join(`,${inner}`)}${outer}${brackets[1]}`;
  };
  if (Array.isArray(v))
    return open(
      v.map((x) => goMarshal(x, layout, depth + 1)),
      '[]',
    );
  if (v instanceof RegoSet)
    return open(
      v.items.map((x) => goMarshal(x, layout, depth + 1)),
      '[]',
    );
  if (isObjectValue(v)) {
    const entries = entriesOf(v)
      .map(([k, x]) => [keyText(k), x] as const)
      .sort(([a], [b]) => byteOrder(a, b));
    const sep = layout === null ? ':' : ': ';
    return open(
      entries.map(([k, x]) => `${goString(k)}${sep}${goMarshal(x, layout, depth + 1)}`),
      '{}',
    );
  }
  return fail(MARSHAL_OPTIONS, `cannot marshal a ${typeName(v)}`);
}

function marshalWithOptions(value: unknown, options: unknown): string {
  const opts = objectOperand(MARSHAL_OPTIONS, options);
  let prefix = '';
  let indent = '\t';
  let implicitPretty = false;
  let explicitPretty: boolean | undefined;
  for (const [k, v] of entriesOf(opts)) {
    if (typeof k !== 'string') fail(MARSHAL_OPTIONS, 'option names must be strings');
    if (k === 'prefix') {
      prefix = str(MARSHAL_OPTIONS, v);
      implicitPretty = true;
    } else if (k === 'indent') {
      indent = str(MARSHAL_OPTIONS, v);
      implicitPretty = true;
    } else if (k === 'pretty') {
      if (typeof v !== 'boolean') fail(MARSHAL_OPTIONS, 'pretty must be a boolean');
      explicitPretty = v;
    } else fail(MARSHAL_OPTIONS, `unknown option ${k}`);
  }
  // MarshalIndent does not prefix the first line; OPA adds the prefix there.
  if (explicitPretty ?? implicitPretty) return `${prefix}${goMarshal(value, { prefix, indent })}`;
  return goMarshal(value, null);
}

export const jsonBuiltins = {
  'json.patch': jsonPatch,
  'json.filter': (o: unknown, paths: unknown) =>
    filterValue(objectOperand('json.filter', o), pathTree(parsePaths('json.filter', paths))),
  'json.remove': (o: unknown, paths: unknown) => {
    const doc = objectOperand('json.remove', o);
    return removeValue(doc, pathTree(parsePaths('json.remove', paths)));
  },
  'json.marshal': (v: unknown) => goJsonMarshal(toPlainJson(v)),
  'json.marshal_with_options': marshalWithOptions,
  // Exact: integers beyond 2^53 stay BigInt, a key named __proto__ stays data.
  'json.unmarshal': (s: unknown) => parseExactJson(str('json.unmarshal', s)),
  'json.is_valid': (s: unknown) => {
    if (typeof s !== 'string') return false;
    try {
      JSON.parse(s);
      return true;
    } catch {
      return false;
    }
  },
};
