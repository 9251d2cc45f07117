// Planning of bodies, expressions and terms in continuation-passing style: planning something that iterates
// (a scan) plans the rest of the body inside the scan's block, so backtracking is only block exits. Every
// `k` continuation is called exactly once, at the point where the rest of the body must be planned.
import type { Body, Expr, Location, RefTerm, StringTerm, Term, VarTerm } from '../ast.js';
import { resolveCall, type RuleTreeNode } from '../analysis/index.js';
import {
  callOutputArgument,
  comprehensionScope,
  everyScope,
  isPattern,
  newProbe,
  orderBody,
  requireBound,
  unboundLocal,
  unifyPairOrder,
  unifyPairs,
  unsafeVarError,
} from '../analysis/safety.js';
import { resolveVar, type VarScope } from '../analysis/scope.js';
import { RegoCompileError } from '../errors.js';
import { BUILTINS, type Local, type Operand } from '../ir.js';
import { CONFLICT_OBJECT_KEY, DATA_LOCAL, type FuncBuilder, type PolicyBuilder } from './builder.js';

export interface PlanContext {
  policy: PolicyBuilder;
  func: FuncBuilder;
  scope: VarScope;
  /** Variable id -> the local holding its value, for every variable bound so far on this path. */
  env: Map<string, Local>;
  /** Name of the Func being planned, for recursion detection. */
  owner: string;
  /**
   * The local holding the input box: an array `[input]`, or `[]` when there is no input. Functions receive
   * the box rather than input itself so a call never has an undefined argument (the backend treats one as
   * an undefined call), while `input` inside still reads as undefined.
   */
  inputBox: Local;
}

type Continue = () => void;
type ContinueWith = (value: Operand) => void;

const BINARY_BUILTINS: Readonly<Record<string, string>> = {
  '+': 'plus', '-': 'minus', '*': 'mul', '/': 'div', '%': 'rem', '&': 'and', '|': 'or',
  '==': 'equal', '!=': 'neq', '<': 'lt', '<=': 'lte', '>': 'gt', '>=': 'gte',
};

function boundIds(ctx: PlanContext): Set<string> {
  return new Set(ctx.env.keys());
}

function child(ctx: PlanContext, scope: VarScope): PlanContext {
  return { ...ctx, scope, env: new Map(ctx.env) };
}

function stringTerm(value: string, loc: Location): StringTerm {
  return { type: 'string', value, raw: false, loc };
}

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

// ---------- bodies ----------

/** Plans a body (reordered for safety at this point, from what is bound now), then `k`. */
export function planBody(body: Body, ctx: PlanContext, k: Continue): void {
  const { ordered } = orderBody(body.exprs, ctx.scope, boundIds(ctx));
  planExprs(ordered, 0, ctx, k);
}

/**
 * Plans expressions in order. When an expression's continuation runs in the same block it started in (it
 * opened no scan), the rest is planned by the loop rather than inside the callback: every continuation is
 * the last thing its planner does, so the order of statements is the same, and long bodies cost no stack.
 */
function planExprs(exprs: Expr[], start: number, ctx: PlanContext, k: Continue): void {
  for (let index = start; index < exprs.length; index++) {
    const expr = exprs[index] as Expr;
    if (ctx.policy.options.coverage === true) planCoverProbe(expr, ctx);
    const startBlock = ctx.func.current;
    let continueHere = false;
    planExpr(expr, ctx, () => {
      if (ctx.func.current === startBlock) {
        continueHere = true;
        return;
      }
      planExprs(exprs, index + 1, ctx, k);
    });
    if (!continueHere) return;
  }
  k();
}

/** Checks head terms are safe after the body, then evaluates them. */
export function planHeadTerms(terms: Term[], ctx: PlanContext, k: (values: Operand[]) => void): void {
  requireBound(terms, ctx.scope, boundIds(ctx));
  planTerms(terms, ctx, k);
}

// ---------- expressions ----------

export function planExpr(expr: Expr, ctx: PlanContext, k: Continue): void {
  switch (expr.type) {
    case 'term':
      planTermExpr(expr.term, ctx, k);
      return;
    case 'assign':
      planTerm(expr.right, ctx, (value) => assignPattern(expr.left, value, ctx, k));
      return;
    case 'unify':
      planUnify(expr.left, expr.right, ctx, k);
      return;
    case 'not':
      planNot(expr.expr, ctx, k);
      return;
    case 'some':
      k();
      return;
    case 'somein':
      planTerm(expr.collection, ctx, (collection) => {
        scan(collection, ctx, (key, value) => {
          const matchValue = (): void => matchPattern(expr.value, { kind: 'local', local: value }, ctx, k);
          if (expr.key === null) matchValue();
          else matchPattern(expr.key, { kind: 'local', local: key }, ctx, matchValue);
        });
      });
      return;
    case 'every':
      planEvery(expr, ctx, k);
      return;
  }
}

function planTermExpr(term: Term, ctx: PlanContext, k: Continue): void {
  const output = callOutputArgument(term, ctx.scope.root, ctx.scope.module);
  if (output !== null && term.type === 'call') {
    planCall(term, output.inputs, ctx, (result) => matchPattern(output.output, result, ctx, k));
    return;
  }
  if (term.type === 'call' && term.name === 'print' && resolveCall(ctx.scope.root, ctx.scope.module, term.name, term.nameLoc).kind === 'print') {
    // Without a host to show it (production), print is a no-op; OPA's print never fails either way.
    if (ctx.policy.options.print === true) planPrint(term.args, ctx, k);
    else k();
    return;
  }
  if (term.type === 'binary' && (term.op === '==' || term.op === '!=')) {
    const op = term.op;
    planTerm(term.left, ctx, (a) =>
      planTerm(term.right, ctx, (b) => {
        ctx.func.emit(op === '==' ? { op: 'equal', a, b } : { op: 'notEqual', a, b });
        k();
      }),
    );
    return;
  }
  planTerm(term, ctx, (value) => {
    ctx.func.emit({ op: 'notFalse', source: value });
    k();
  });
}

/**
 * Negation as failure: a flag set when the inner expression succeeds, leaving its block (and any scans in
 * it) at the first success; nothing bound inside leaks out.
 */
function planNot(inner: Expr, ctx: PlanContext, k: Continue): void {
  const found = ctx.func.newLocal();
  ctx.func.emit({ op: 'reset', target: found });
  const innerCtx = child(ctx, ctx.scope);
  const block = ctx.func.nested(() => {
    const blockDepth = ctx.func.depth;
    planExpr(inner, innerCtx, () => {
      ctx.func.emit({ op: 'assign', source: ctx.policy.constant('true'), target: found });
      ctx.func.breakOutTo(blockDepth);
    });
  });
  ctx.func.emit({ op: 'blocks', blocks: [block] });
  ctx.func.emit({ op: 'isUndefined', source: found });
  k();
}

/** every: no element for which the body fails (true for an empty collection). */
function planEvery(expr: Extract<Expr, { type: 'every' }>, ctx: PlanContext, k: Continue): void {
  planTerm(expr.collection, ctx, (collection) => {
    requireCollection(collection, ctx);
    const counterExample = ctx.func.newLocal();
    ctx.func.emit({ op: 'reset', target: counterExample });
    const inner = everyScope(expr, ctx.scope);
    const block = ctx.func.nested(() => {
      const searchDepth = ctx.func.depth;
      scan(collection, ctx, (key, value) => {
        const bodyCtx = child(ctx, inner);
        bodyCtx.env.set(`${inner.id}:${expr.value.name}`, value);
        if (expr.key !== null) bodyCtx.env.set(`${inner.id}:${expr.key.name}`, key);
        const succeeded = ctx.func.newLocal();
        ctx.func.emit({ op: 'reset', target: succeeded });
        const bodyBlock = ctx.func.nested(() => {
          const bodyDepth = ctx.func.depth;
          planBody(expr.body, bodyCtx, () => {
            ctx.func.emit({ op: 'assign', source: ctx.policy.constant('true'), target: succeeded });
            ctx.func.breakOutTo(bodyDepth); // one solution of the body is enough for this element
          });
        });
        ctx.func.emit({ op: 'blocks', blocks: [bodyBlock] });
        ctx.func.emit({ op: 'isUndefined', source: succeeded });
        ctx.func.emit({ op: 'assign', source: ctx.policy.constant('true'), target: counterExample });
        ctx.func.breakOutTo(searchDepth); // one counterexample decides
      });
    });
    ctx.func.emit({ op: 'blocks', blocks: [block] });
    ctx.func.emit({ op: 'isUndefined', source: counterExample });
    k();
  });
}

/** Fails unless the value is an array, object or set (`every` over anything else is undefined, not true). */
function requireCollection(value: Operand, ctx: PlanContext): void {
  const isCollection = ctx.func.newLocal();
  ctx.func.emit({ op: 'reset', target: isCollection });
  const yes = ctx.policy.constant('true');
  const checks = (['array', 'object', 'set'] as const).map((type) =>
    ctx.func.nested(() => {
      ctx.func.emit({ op: 'isType', source: value, type });
      ctx.func.emit({ op: 'assign', source: yes, target: isCollection });
    }),
  );
  ctx.func.emit({ op: 'blocks', blocks: checks });
  ctx.func.emit({ op: 'isDefined', source: isCollection });
}

function scan(collection: Operand, ctx: PlanContext, body: (key: Local, value: Local) => void): void {
  const source = ctx.func.toLocal(collection);
  const key = ctx.func.newLocal();
  const value = ctx.func.newLocal();
  const block = ctx.func.nested(() => body(key, value));
  ctx.func.emit({ op: 'scan', source, key, value, block });
}

function bindVar(v: VarTerm, value: Operand, ctx: PlanContext): void {
  const resolved = resolveVar(ctx.scope, v.name);
  if (resolved?.kind !== 'local') throw unsafeVarError(v);
  ctx.env.set(resolved.id, ctx.func.toLocal(value));
}

function unboundVarId(term: Term, ctx: PlanContext): string | null {
  return unboundLocal(term, ctx.scope, boundIds(ctx));
}

/** `left := value`: left is a variable or an array/object pattern; its variables are new. */
function assignPattern(left: Term, value: Operand, ctx: PlanContext, k: Continue): void {
  matchPattern(left, value, ctx, k);
}

/** Matches a pattern against a computed value: binds unbound variables, compares everything else. */
export function matchPattern(pattern: Term, value: Operand, ctx: PlanContext, k: Continue): void {
  if (unboundVarId(pattern, ctx) !== null && pattern.type === 'var') {
    bindVar(pattern, value, ctx);
    k();
    return;
  }
  const bound = boundIds(ctx);
  if (pattern.type === 'array' && isPattern(pattern, ctx.scope, bound)) {
    const source = ctx.func.toLocal(value);
    ctx.func.emit({ op: 'isType', source: { kind: 'local', local: source }, type: 'array' });
    ctx.func.emit({ op: 'lenEqual', source: { kind: 'local', local: source }, length: pattern.items.length });
    const matchItem = (index: number): void => {
      const item = pattern.items[index];
      if (item === undefined) {
        k();
        return;
      }
      const element = ctx.func.newLocal();
      ctx.func.emit({ op: 'dot', source: { kind: 'local', local: source }, key: ctx.policy.constant(String(index)), target: element });
      matchPattern(item, { kind: 'local', local: element }, ctx, () => matchItem(index + 1));
    };
    matchItem(0);
    return;
  }
  if (pattern.type === 'object' && isPattern(pattern, ctx.scope, bound)) {
    const source = ctx.func.toLocal(value);
    ctx.func.emit({ op: 'isType', source: { kind: 'local', local: source }, type: 'object' });
    ctx.func.emit({ op: 'lenEqual', source: { kind: 'local', local: source }, length: pattern.entries.length });
    const matchEntry = (index: number): void => {
      const entry = pattern.entries[index];
      if (entry === undefined) {
        k();
        return;
      }
      planTerm(entry.key, ctx, (key) => {
        const element = ctx.func.newLocal();
        ctx.func.emit({ op: 'dot', source: { kind: 'local', local: source }, key, target: element });
        matchPattern(entry.value, { kind: 'local', local: element }, ctx, () => matchEntry(index + 1));
      });
    };
    matchEntry(0);
    return;
  }
  planTerm(pattern, ctx, (expected) => {
    ctx.func.emit({ op: 'equal', a: expected, b: value });
    k();
  });
}

function planUnify(left: Term, right: Term, ctx: PlanContext, k: Continue): void {
  const leftVar = unboundVarId(left, ctx);
  const rightVar = unboundVarId(right, ctx);
  if (leftVar !== null && rightVar !== null) throw unsafeVarError(left as VarTerm);
  if (leftVar !== null || rightVar !== null) {
    const [variable, value] = leftVar !== null ? [left, right] : [right, left];
    planTerm(value, ctx, (computed) => matchPattern(variable, computed, ctx, k));
    return;
  }
  const split = unifyPairs(left, right);
  if (split !== null) {
    if (split.mismatch) {
      throw new RegoCompileError(left.loc, 'unification', 'these two literals have different shapes (array length or object keys), so = can never succeed', 'invalid');
    }
    const probe = newProbe(boundIds(ctx));
    const order = unifyPairOrder(split.pairs, ctx.scope, probe);
    if (order === null) {
      const [first] = probe.missing.values();
      throw unsafeVarError(first ?? (left as VarTerm));
    }
    const planPair = (index: number): void => {
      const pair = order[index];
      if (pair === undefined) {
        k();
        return;
      }
      planUnify(pair[0], pair[1], ctx, () => planPair(index + 1));
    };
    planPair(0);
    return;
  }
  const bound = boundIds(ctx);
  const leftPattern = isPattern(left, ctx.scope, bound);
  const rightPattern = isPattern(right, ctx.scope, bound);
  if (leftPattern !== rightPattern) {
    const [pattern, value] = leftPattern ? [left, right] : [right, left];
    planTerm(value, ctx, (computed) => matchPattern(pattern, computed, ctx, k));
    return;
  }
  planTerm(left, ctx, (a) =>
    planTerm(right, ctx, (b) => {
      ctx.func.emit({ op: 'equal', a, b });
      k();
    }),
  );
}

// ---------- terms ----------

/**
 * A term made only of literals (sets included) planned without a continuation: it cannot iterate, so
 * long literal collections (allowlists) cost no stack depth.
 */
function planLiteral(term: Term, ctx: PlanContext): Operand | null {
  const json = constantJson(term);
  if (json !== null) return ctx.policy.constant(json);
  switch (term.type) {
    case 'array':
    case 'set': {
      const items: Operand[] = [];
      for (const item of term.items) {
        const operand = planLiteral(item, ctx);
        if (operand === null) return null;
        items.push(operand);
      }
      const target = ctx.func.newLocal();
      if (term.type === 'array') {
        ctx.func.emit({ op: 'makeArray', target, capacity: items.length });
        for (const value of items) ctx.func.emit({ op: 'arrayAppend', array: target, value });
      } else {
        ctx.func.emit({ op: 'makeSet', target });
        for (const value of items) ctx.func.emit({ op: 'setAdd', set: target, value });
      }
      return { kind: 'local', local: target };
    }
    case 'object': {
      const parts: Operand[] = [];
      for (const entry of term.entries) {
        const key = planLiteral(entry.key, ctx);
        const value = key === null ? null : planLiteral(entry.value, ctx);
        if (key === null || value === null) return null;
        parts.push(key, value);
      }
      const target = ctx.func.newLocal();
      ctx.func.emit({ op: 'makeObject', target });
      for (let i = 0; i < parts.length; i += 2) {
        ctx.func.emit({ op: 'objectInsert', object: target, key: parts[i] as Operand, value: parts[i + 1] as Operand });
      }
      return { kind: 'local', local: target };
    }
    default:
      return null;
  }
}

/** True when planning the term emits no scan, so it needs no continuation. */
function isLiteral(term: Term): boolean {
  switch (term.type) {
    case 'null':
    case 'boolean':
    case 'number':
    case 'string':
      return true;
    case 'array':
    case 'set':
      return term.items.every(isLiteral);
    case 'object':
      return term.entries.every((entry) => isLiteral(entry.key) && isLiteral(entry.value));
    default:
      return false;
  }
}

export function planTerms(terms: Term[], ctx: PlanContext, k: (values: Operand[]) => void): void {
  const values: Operand[] = [];
  // Like planExprs: items whose continuation runs in the block they started in are planned by the loop.
  const next = (start: number): void => {
    for (let index = start; index < terms.length; index++) {
      const term = terms[index] as Term;
      if (isLiteral(term)) {
        values[index] = planLiteral(term, ctx) as Operand;
        continue;
      }
      const startBlock = ctx.func.current;
      let continueHere = false;
      planTerm(term, ctx, (value) => {
        values[index] = value;
        if (ctx.func.current === startBlock) {
          continueHere = true;
          return;
        }
        next(index + 1);
      });
      if (!continueHere) return;
    }
    k(values);
  };
  next(0);
}

export function planTerm(term: Term, ctx: PlanContext, k: ContinueWith): void {
  if (isLiteral(term)) {
    k(planLiteral(term, ctx) as Operand);
    return;
  }
  switch (term.type) {
    case 'var':
      planVar(term, ctx, k);
      return;
    case 'ref':
      planRef(term, ctx, k);
      return;
    case 'array':
      planTerms(term.items, ctx, (items) => {
        const array = ctx.func.newLocal();
        ctx.func.emit({ op: 'makeArray', target: array, capacity: items.length });
        for (const item of items) ctx.func.emit({ op: 'arrayAppend', array, value: item });
        k({ kind: 'local', local: array });
      });
      return;
    case 'set':
      planTerms(term.items, ctx, (items) => {
        const set = ctx.func.newLocal();
        ctx.func.emit({ op: 'makeSet', target: set });
        for (const item of items) ctx.func.emit({ op: 'setAdd', set, value: item });
        k({ kind: 'local', local: set });
      });
      return;
    case 'object':
      planTerms(term.entries.flatMap((entry) => [entry.key, entry.value]), ctx, (parts) => {
        const object = ctx.func.newLocal();
        ctx.func.emit({ op: 'makeObject', target: object });
        for (let i = 0; i < parts.length; i += 2) {
          ctx.func.emit({ op: 'objectInsert', object, key: parts[i] as Operand, value: parts[i + 1] as Operand });
        }
        k({ kind: 'local', local: object });
      });
      return;
    case 'arraycompr':
    case 'setcompr':
    case 'objectcompr':
      planComprehension(term, ctx, k);
      return;
    case 'call':
      if (term.name === 'print') {
        const target = resolveCall(ctx.scope.root, ctx.scope.module, term.name, term.nameLoc);
        if (target.kind === 'print') {
          k(ctx.policy.constant('true'));
          return;
        }
      }
      planCall(term, term.args, ctx, k);
      return;
    case 'binary':
      planTerm(term.left, ctx, (a) =>
        planTerm(term.right, ctx, (b) => callBuiltin(BINARY_BUILTINS[term.op] as string, [a, b], ctx, k)),
      );
      return;
    case 'in':
      if (term.key === null) {
        planTerms([term.value, term.collection], ctx, (ops) => callBuiltin('internal.member_2', ops, ctx, k));
      } else {
        planTerms([term.key, term.value, term.collection], ctx, (ops) => callBuiltin('internal.member_3', ops, ctx, k));
      }
      return;
    default:
      throw new RegoCompileError(term.loc, term.type, 'this term cannot be evaluated here', 'unsupported');
  }
}

function callBuiltin(name: string, args: Operand[], ctx: PlanContext, k: ContinueWith): void {
  const target = ctx.func.newLocal();
  ctx.func.emit({ op: 'call', func: name, args, target });
  k({ kind: 'local', local: target });
}

function planCall(term: Extract<Term, { type: 'call' }>, args: Term[], ctx: PlanContext, k: ContinueWith): void {
  const target = resolveCall(ctx.scope.root, ctx.scope.module, term.name, term.nameLoc);
  if (target.kind === 'print') {
    k(ctx.policy.constant('true'));
    return;
  }
  if (args.length !== target.arity) {
    throw new RegoCompileError(term.nameLoc, term.name, `${term.name} takes ${target.arity} argument(s), got ${args.length}`, 'invalid');
  }
  if (target.kind === 'builtin') {
    if (BUILTINS[target.name] === undefined) throw new RegoCompileError(term.nameLoc, term.name, 'not a supported builtin', 'undefined');
    planTerms(args, ctx, (ops) => callBuiltin(target.name, ops, ctx, k));
    return;
  }
  const func = ctx.policy.funcFor({ kind: 'group', group: target.group });
  ctx.policy.addDependency(ctx.owner, func, term.nameLoc);
  planTerms(args, ctx, (ops) =>
    callBuiltin(func, [{ kind: 'local', local: ctx.inputBox }, { kind: 'local', local: DATA_LOCAL }, ...ops], ctx, k),
  );
}

function planComprehension(
  term: Extract<Term, { type: 'arraycompr' | 'setcompr' | 'objectcompr' }>,
  ctx: PlanContext,
  k: ContinueWith,
): void {
  const scope = comprehensionScope(term, ctx.scope) as VarScope;
  const collection = ctx.func.newLocal();
  const inner = child(ctx, scope);
  if (term.type === 'arraycompr') ctx.func.emit({ op: 'makeArray', target: collection, capacity: 0 });
  else if (term.type === 'setcompr') ctx.func.emit({ op: 'makeSet', target: collection });
  else ctx.func.emit({ op: 'makeObject', target: collection });
  const block = ctx.func.nested(() =>
    planBody(term.body, inner, () => {
      if (term.type === 'objectcompr') {
        planHeadTerms([term.key, term.value], inner, ([key, value]) =>
          ctx.func.emit({ op: 'objectInsertOnce', object: collection, key: key as Operand, value: value as Operand, message: ctx.policy.message(CONFLICT_OBJECT_KEY) }),
        );
      } else {
        planHeadTerms([term.head], inner, ([value]) =>
          ctx.func.emit(term.type === 'arraycompr' ? { op: 'arrayAppend', array: collection, value: value as Operand } : { op: 'setAdd', set: collection, value: value as Operand }),
        );
      }
    }),
  );
  ctx.func.emit({ op: 'blocks', blocks: [block] });
  k({ kind: 'local', local: collection });
}

function planVar(term: VarTerm, ctx: PlanContext, k: ContinueWith): void {
  const resolved = resolveVar(ctx.scope, term.name);
  if (resolved === null) throw unsafeVarError(term);
  if (resolved.kind === 'local') {
    const local = ctx.env.get(resolved.id);
    if (local === undefined) throw unsafeVarError(term);
    k({ kind: 'local', local });
    return;
  }
  planAbsoluteRef(resolved.path, [], term.loc, ctx, k);
}

function planRef(term: RefTerm, ctx: PlanContext, k: ContinueWith): void {
  const head = term.head;
  if (head.type === 'var') {
    const resolved = resolveVar(ctx.scope, head.name);
    if (resolved === null) throw unsafeVarError(head);
    if (resolved.kind === 'global') {
      planAbsoluteRef(resolved.path, term.path, term.loc, ctx, k);
      return;
    }
  }
  planTerm(head, ctx, (base) => walkPath(base, term.path, 0, ctx, k));
}

/** dot / scan along a ref's path; an unbound variable in the path iterates and binds. */
function walkPath(source: Operand, path: Term[], index: number, ctx: PlanContext, k: ContinueWith): void {
  const part = path[index];
  if (part === undefined) {
    k(source);
    return;
  }
  if (part.type === 'var' && unboundVarId(part, ctx) !== null) {
    scan(source, ctx, (key, value) => {
      bindVar(part, { kind: 'local', local: key }, ctx);
      walkPath({ kind: 'local', local: value }, path, index + 1, ctx, k);
    });
    return;
  }
  if (isPattern(part, ctx.scope, boundIds(ctx))) {
    throw new RegoCompileError(part.loc, 'ref pattern', 'a composite key with unbound variables in a reference is not supported; iterate with a variable and compare', 'unsupported');
  }
  planTerm(part, ctx, (key) => {
    const target = ctx.func.newLocal();
    ctx.func.emit({ op: 'dot', source, key, target });
    walkPath({ kind: 'local', local: target }, path, index + 1, ctx, k);
  });
}

/**
 * A reference rooted at input or data. Under data, constant segments walk the rule tree: reaching a rule
 * calls its function; stopping at an inner node (a variable or the end) builds that node's virtual document;
 * leaving the tree is a plain lookup in base data.
 */
export function planAbsoluteRef(prefix: string[], rest: Term[], loc: Location, ctx: PlanContext, k: ContinueWith): void {
  const path: Term[] = [...prefix.slice(1).map((segment) => stringTerm(segment, loc)), ...rest];
  if (prefix[0] === 'input') {
    const input = ctx.func.newLocal();
    ctx.func.emit({ op: 'dot', source: { kind: 'local', local: ctx.inputBox }, key: ctx.policy.constant('0'), target: input });
    walkPath({ kind: 'local', local: input }, path, 0, ctx, k);
    return;
  }
  let node: RuleTreeNode = ctx.scope.root;
  let index = 0;
  while (node.group === null && index < path.length) {
    const part = path[index] as Term;
    if (part.type !== 'string') break;
    const next = node.children.get(part.value);
    if (next === undefined) {
      walkPath({ kind: 'local', local: DATA_LOCAL }, path, 0, ctx, k);
      return;
    }
    node = next;
    index++;
  }
  const group = node.group;
  if (group?.kind === 'function') {
    throw new RegoCompileError(loc, 'function reference', `${group.name} is a function: call it with arguments`, 'invalid');
  }
  const func = ctx.policy.funcFor(group === null ? { kind: 'node', node } : { kind: 'group', group });
  ctx.policy.addDependency(ctx.owner, func, loc);
  callBuiltin(func, [{ kind: 'local', local: ctx.inputBox }, { kind: 'local', local: DATA_LOCAL }], ctx, (value) =>
    walkPath(value, path, index, ctx, k),
  );
}


/**
 * print(a, b) as OPA compiles it: each argument becomes the set of its values (empty when undefined, which
 * the host shows as <undefined>), and the host's `internal.print` gets the array of those sets.
 */
function planPrint(args: Term[], ctx: PlanContext, k: Continue): void {
  const array = ctx.func.newLocal();
  ctx.func.emit({ op: 'makeArray', target: array, capacity: args.length });
  for (const arg of args) {
    const values = ctx.func.newLocal();
    ctx.func.emit({ op: 'makeSet', target: values });
    const inner = child(ctx, ctx.scope);
    const block = ctx.func.nested(() => planTerm(arg, inner, (value) => ctx.func.emit({ op: 'setAdd', set: values, value })));
    ctx.func.emit({ op: 'blocks', blocks: [block] });
    ctx.func.emit({ op: 'arrayAppend', array, value: { kind: 'local', local: values } });
  }
  callBuiltin('internal.print', [{ kind: 'local', local: array }], ctx, () => k());
}

/** Coverage: tells the host (`internal.cover`) that evaluation reached this expression's line. */
function planCoverProbe(expr: Expr, ctx: PlanContext): void {
  const where = ctx.policy.constant(JSON.stringify([expr.loc.file, expr.loc.line]));
  ctx.func.emit({ op: 'call', func: 'internal.cover', args: [where], target: ctx.func.newLocal() });
}
