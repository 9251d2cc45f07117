// json.*: patch, filter, remove, schemas.
import { array, BuiltinArgError, list, obj, str } from './args.js';
import { goJsonMarshal } from './encoding.js';
import { parseExactJson } from './exact.js';
import { RegoObject, RegoSet, toPlainJson } from './values.js';

type Json = unknown;

/** RFC 6901 path segments from a JSON pointer string or an array of segments (OPA accepts both). */
function pointerSegments(path: unknown): string[] {
  if (Array.isArray(path)) return path.map((p) => String(p));
  const text = str('json.patch', path);
  if (text === '') return [];
  if (!text.startsWith('/')) throw new BuiltinArgError('json.patch', `invalid path ${JSON.stringify(text)}`);
  return text
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function clone(v: Json): Json {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as Json);
}

function getAt(doc: Json, path: string[]): Json {
  let cur: Json = doc;
  for (const seg of path) {
    if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (typeof cur === 'object' && cur !== null) cur = (cur as Record<string, Json>)[seg];
    else return undefined;
  }
  return cur;
}

/** Applies one change at path; returns the new document (the root may be replaced). */
function changeAt(doc: Json, path: string[], change: (parent: Json, key: string) => void): Json {
  if (path.length === 0) throw new BuiltinArgError('json.patch', 'the root cannot be the target of this operation');
  const parent = getAt(doc, path.slice(0, -1));
  if (typeof parent !== 'object' || parent === null)
    throw new BuiltinArgError('json.patch', `no parent for /${path.join('/')}`);
  change(parent, path[path.length - 1]!);
  return doc;
}

function addAt(doc: Json, path: string[], value: Json): Json {
  if (path.length === 0) return value;
  return changeAt(doc, path, (parent, key) => {
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(i) || i < 0 || i > parent.length)
        throw new BuiltinArgError('json.patch', `bad index ${key}`);
      parent.splice(i, 0, value);
    } else (parent as Record<string, Json>)[key] = value;
  });
}

function removeAt(doc: Json, path: string[]): Json {
  return changeAt(doc, path, (parent, key) => {
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length)
        throw new BuiltinArgError('json.patch', `bad index ${key}`);
      parent.splice(i, 1);
    } else {
      if (!(key in (parent as object))) throw new BuiltinArgError('json.patch', `no member ${key}`);
      delete (parent as Record<string, Json>)[key];
    }
  });
}

/** json.patch(object, patches): RFC 6902 add, remove, replace, move, copy, test. */
function jsonPatch(target: unknown, patches: unknown): Json {
  let doc = clone(target);
  for (const raw of array('json.patch', patches)) {
    const p = obj('json.patch', raw);
    const path = pointerSegments(p.path);
    switch (p.op) {
      case 'add':
        doc = addAt(doc, path, clone(p.value));
        break;
      case 'remove':
        doc = removeAt(doc, path);
        break;
      case 'replace':
        if (getAt(doc, path) === undefined) throw new BuiltinArgError('json.patch', 'replace of a missing member');
        doc = path.length === 0 ? clone(p.value) : addAt(removeAt(doc, path), path, clone(p.value));
        break;
      case 'move':
      case 'copy': {
        const from = pointerSegments(p.from);
        const value = clone(getAt(doc, from));
        if (value === undefined) throw new BuiltinArgError('json.patch', `${String(p.op)} from a missing member`);
        if (p.op === 'move') doc = removeAt(doc, from);
        doc = addAt(doc, path, value);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(p.value))
          throw new BuiltinArgError('json.patch', 'test failed');
        break;
      default:
        throw new BuiltinArgError('json.patch', `unknown op ${String(p.op)}`);
    }
  }
  return doc;
}

/** A json.filter / json.remove path: "a/b/c" or ["a", "b", "c"], as segments. */
function pathSegments(name: string, p: unknown): string[] {
  if (typeof p === 'string') return p.split('/').filter((x) => x !== '');
  return array(name, p).map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
}

type PathTree = Map<string, PathTree>;

function pathTree(name: string, paths: unknown): PathTree {
  const root: PathTree = new Map();
  for (const p of list(name, paths)) {
    let node = root;
    for (const seg of pathSegments(name, p)) {
      let next = node.get(seg);
      if (next === undefined) node.set(seg, (next = new Map()));
      node = next;
    }
    node.set('', new Map()); // marks the end of a path: everything below is selected
  }
  return root;
}

/** json.filter: only the parts of doc that the paths name. */
function keep(doc: unknown, tree: PathTree): unknown {
  if (tree.has('')) return doc;
  if (Array.isArray(doc)) {
    const out: unknown[] = [];
    doc.forEach((x, i) => {
      const sub = tree.get(String(i));
      if (sub !== undefined) out.push(keep(x, sub));
    });
    return out;
  }
  if (typeof doc === 'object' && doc !== null && !(doc instanceof RegoSet)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) {
      const sub = tree.get(k);
      if (sub !== undefined)
        Object.defineProperty(out, k, { value: keep(v, sub), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return doc;
}

/** json.remove: doc without the parts the paths name. */
function drop(doc: unknown, tree: PathTree): unknown {
  if (tree.has('')) return undefined;
  if (Array.isArray(doc))
    return doc.flatMap((x, i) => {
      const sub = tree.get(String(i));
      if (sub === undefined) return [x];
      const rest = drop(x, sub);
      return rest === undefined ? [] : [rest];
    });
  if (typeof doc === 'object' && doc !== null && !(doc instanceof RegoSet)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(doc)) {
      const sub = tree.get(k);
      const rest = sub === undefined ? v : drop(v, sub);
      if (rest !== undefined)
        Object.defineProperty(out, k, { value: rest, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return doc;
}

function objectDoc(name: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof RegoSet || v instanceof RegoObject) {
    throw new BuiltinArgError(name, 'expected an object with string keys');
  }
  return v as Record<string, unknown>;
}

export const jsonBuiltins = {
  'json.patch': jsonPatch,
  'json.filter': (o: unknown, paths: unknown) => keep(objectDoc('json.filter', o), pathTree('json.filter', paths)),
  'json.remove': (o: unknown, paths: unknown) =>
    drop(objectDoc('json.remove', o), pathTree('json.remove', paths)) ?? {},
  'json.marshal': (v: unknown) => goJsonMarshal(toPlainJson(v)),
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
