// Planning of bodies, expressions and terms in continuation-passing style: planning something that iterates
// (a scan) plans the rest of the body inside the scan's block, so backtracking is only block exits. Every
// `k` continuation is called exactly once, at the point where the rest of the body must be planned.
import {
  withModifiersOf,
  type Body,
  type Expr,
  type Location,
  type RefTerm,
  type StringTerm,
  type Term,
  type VarTerm,
  type WithModifier,
} from '../ast.js';
import {
  annotatedBody,
  annotatedHoists,
  annotatedUnification,
  annotatedWithTarget,
  constantJson,
  resolvedCall,
  varBinding,
  type CallTarget,
  type RuleTreeNode,
  type VarBinding,
} from '../analysis/index.js';
import { outputArgument, unifyPairs, unsafeVarError } from '../analysis/safety.js';
import { forEachLevelTerm, type VarScope } from '../analysis/scope.js';
import { RegoCompileError } from '../errors.js';
import { type Local, type Operand } from '../ir.js';
import { builtinSpec, operatorBuiltin } from '../builtins/catalog.js';
import {
  CONFLICT_OBJECT_KEY,
  extendContext,
  isDataMocked,
  type FuncBuilder,
  type FuncMock,
  type MockContext,
  type PolicyBuilder,
} from './builder.js';

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
  /** The local holding data (with any `with` overrides applied). */
  data: Local;
  /** The `with` replacements in force (see MockContext). */
  mocks: MockContext;
  /** In a rule's clause: its head's and parameters' variables as that clause resolves them (AnnotatedBody.clauseVars). */
  clauseVars?: ReadonlyMap<VarTerm, VarBinding>;
  /** Values of iterating refs already evaluated ahead of their expression (see AnnotatedProgram.hoists). */
  hoisted?: ReadonlyMap<RefTerm, Operand>;
}

type Continue = () => void;
type ContinueWith = (value: Operand) => void;

/** The builtin the catalog lists for an operator (`+` is plus, `in` internal.member_2 or _3). */
function operatorCall(op: string, arity: number): string {
  const name = operatorBuiltin(op, arity);
  if (name === undefined) throw new Error(`the builtin catalog has no operator ${op} of ${arity} operands`);
  return name;
}

function child(ctx: PlanContext, scope: VarScope): PlanContext {
  return { ...ctx, scope, env: new Map(ctx.env) };
}

function stringTerm(value: string, loc: Location): StringTerm {
  return { type: 'string', value, raw: false, loc };
}

// ---------- bodies ----------

/** Plans a body in the order the analysis chose for it (see AnnotatedBody), then `k`. */
export function planBody(body: Body, ctx: PlanContext, k: Continue): void {
  planExprs(annotatedBody(ctx.policy.program, body).exprs, 0, ctx, k);
}

/**
 * Plans expressions in order. When an expression's continuation runs in the same block it started in (it
 * opened no scan), the rest is planned by the loop rather than inside the callback: every continuation is
 * the last thing its planner does, so the order of statements is the same, and long bodies cost no stack.
 */
function planExprs(exprs: readonly Expr[], start: number, ctx: PlanContext, k: Continue): void {
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

/** Evaluates head terms after the body (the analysis checked that the body binds all their variables). */
export function planHeadTerms(terms: Term[], ctx: PlanContext, k: (values: Operand[]) => void): void {
  planTerms(terms, ctx, k);
}

// ---------- expressions ----------

export function planExpr(expr: Expr, ctx: PlanContext, k: Continue): void {
  if (withModifiersOf(expr).length > 0 && expr.type !== 'not') {
    planWith(expr, withModifiersOf(expr), ctx, k);
    return;
  }
  planPlainExpr(expr, ctx, k);
}

/** An expression without its `with` modifiers (planWith has applied them to ctx). */
function planPlainExpr(expr: Expr, ctx: PlanContext, k: Continue): void {
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

// ---------- with ----------

/** target := source[key], or undefined when there is no such key (never fails). */
function lookupOrUndefined(source: Operand, key: Operand, ctx: PlanContext): Local {
  const target = ctx.func.newLocal();
  ctx.func.emit({ op: 'reset', target });
  const block = ctx.func.nested(() => ctx.func.emit({ op: 'dot', source, key, target }));
  ctx.func.emit({ op: 'blocks', blocks: [block] });
  return target;
}

/** A copy of root with the value at path replaced (objects created along the way as needed). */
function upsertPath(root: Operand, path: string[], value: Operand, ctx: PlanContext): Operand {
  const [first, ...rest] = path;
  if (first === undefined) return value;
  const key = ctx.policy.constant(JSON.stringify(first));
  const inner =
    rest.length === 0
      ? value
      : upsertPath({ kind: 'local', local: lookupOrUndefined(root, key, ctx) }, rest, value, ctx);
  const target = ctx.func.newLocal();
  ctx.func.emit({ op: 'objectUpsert', source: root, key, value: inner, target });
  return { kind: 'local', local: target };
}

/**
 * `expr with target as value ...`: the values are evaluated first, in the enclosing context; then the
 * expression is planned with input, data, functions and builtins replaced as OPA does, and every rule it
 * reaches is planned again for that context (see MockContext). Modifiers apply in order.
 */
function planWith(expr: Expr, modifiers: WithModifier[], ctx: PlanContext, k: Continue): void {
  const targets = modifiers.map((modifier) => annotatedWithTarget(ctx.policy.program, modifier));
  const valueTerms = targets.flatMap((target) => (target.kind === 'function' ? [] : [target.value]));
  planTerms(valueTerms, ctx, (values) => {
    let inputBox = ctx.inputBox;
    let data: Operand = { kind: 'local', local: ctx.data };
    const dataMocks: string[][] = [];
    const funcMocks = new Map<string, FuncMock>();
    let next = 0;
    for (const target of targets) {
      if (target.kind === 'function') {
        funcMocks.set(target.key, target.mock);
        continue;
      }
      const value = values[next++] as Operand;
      if (target.kind === 'input') {
        const input = lookupOrUndefined({ kind: 'local', local: inputBox }, ctx.policy.constant('0'), ctx);
        const replaced = upsertPath({ kind: 'local', local: input }, target.path, value, ctx);
        inputBox = ctx.func.newLocal();
        ctx.func.emit({ op: 'makeArray', target: inputBox, capacity: 1 });
        ctx.func.emit({ op: 'arrayAppend', array: inputBox, value: replaced });
      } else {
        data = upsertPath(data, target.path, value, ctx);
        if (target.replacesRules) dataMocks.push(target.path);
      }
    }
    const inner: PlanContext = {
      ...ctx,
      inputBox,
      data: ctx.func.toLocal(data),
      mocks: extendContext(ctx.mocks, dataMocks, funcMocks),
    };
    planPlainExpr(expr, inner, k);
  });
}

/** The output argument of a call used as an expression (see callOutputArgument), from the call's annotation. */
function plannedOutputArgument(term: Term, ctx: PlanContext): { inputs: Term[]; output: Term } | null {
  return term.type === 'call' ? outputArgument(term, resolvedCall(ctx.policy.program, term)) : null;
}

function planTermExpr(term: Term, ctx: PlanContext, k: Continue): void {
  const refs = plannedOutputArgument(term, ctx) === null ? annotatedHoists(ctx.policy.program, term) : [];
  if (refs.length > 0) {
    // As OPA does: the refs that iterate run first and bind their variables, then the expression.
    const hoisted = new Map(ctx.hoisted ?? []);
    const next = (index: number): void => {
      const ref = refs[index];
      if (ref === undefined) {
        planPlainTermExpr(term, { ...ctx, hoisted }, k);
        return;
      }
      planTerm(ref, ctx, (value) => {
        hoisted.set(ref, value);
        next(index + 1);
      });
    };
    next(0);
    return;
  }
  planPlainTermExpr(term, ctx, k);
}

function planPlainTermExpr(term: Term, ctx: PlanContext, k: Continue): void {
  const output = plannedOutputArgument(term, ctx);
  if (output !== null && term.type === 'call') {
    planCall(term, output.inputs, ctx, (result) => matchPattern(output.output, result, ctx, k));
    return;
  }
  if (term.type === 'call' && term.name === 'print' && resolvedCall(ctx.policy.program, term).kind === 'print') {
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
    const inner = annotatedBody(ctx.policy.program, expr.body).scope;
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

/** What a variable refers to, as the analysis resolved it (a clause's head and parameters for that clause). */
function bindingOf(v: VarTerm, ctx: PlanContext): VarBinding {
  return ctx.clauseVars?.get(v) ?? varBinding(ctx.policy.program, v);
}

function bindVar(v: VarTerm, value: Operand, ctx: PlanContext): void {
  const binding = bindingOf(v, ctx);
  if (binding.kind !== 'local') throw unsafeVarError(v);
  ctx.env.set(binding.id, ctx.func.toLocal(value));
}

/** The id of a local variable nothing has bound yet on this path, else null. */
function unboundVarId(term: Term, ctx: PlanContext): string | null {
  if (term.type !== 'var') return null;
  const binding = bindingOf(term, ctx);
  return binding.kind === 'local' && !ctx.env.has(binding.id) ? binding.id : null;
}

/** An unbound variable, or an array/object literal with one in a pattern position (a value position). */
function isPattern(term: Term, ctx: PlanContext): boolean {
  if (unboundVarId(term, ctx) !== null) return true;
  if (term.type === 'array') return term.items.some((item) => isPattern(item, ctx));
  if (term.type === 'object') return term.entries.some((entry) => isPattern(entry.value, ctx));
  return false;
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
  if (pattern.type === 'array' && isPattern(pattern, ctx)) {
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
      ctx.func.emit({
        op: 'dot',
        source: { kind: 'local', local: source },
        key: ctx.policy.constant(String(index)),
        target: element,
      });
      matchPattern(item, { kind: 'local', local: element }, ctx, () => matchItem(index + 1));
    };
    matchItem(0);
    return;
  }
  if (pattern.type === 'object' && isPattern(pattern, ctx)) {
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
      throw new RegoCompileError(
        left.loc,
        'unification',
        'these two literals have different shapes (array length or object keys), so = can never succeed',
        'invalid',
      );
    }
    const order = annotatedUnification(ctx.policy.program, left);
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
  const leftPattern = isPattern(left, ctx);
  const rightPattern = isPattern(right, ctx);
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
      planTerms(
        term.entries.flatMap((entry) => [entry.key, entry.value]),
        ctx,
        (parts) => {
          const object = ctx.func.newLocal();
          ctx.func.emit({ op: 'makeObject', target: object });
          for (let i = 0; i < parts.length; i += 2) {
            ctx.func.emit({ op: 'objectInsert', object, key: parts[i] as Operand, value: parts[i + 1] as Operand });
          }
          k({ kind: 'local', local: object });
        },
      );
      return;
    case 'arraycompr':
    case 'setcompr':
    case 'objectcompr':
      planComprehension(term, ctx, k);
      return;
    case 'call':
      if (term.name === 'print') {
        const target = resolvedCall(ctx.policy.program, term);
        if (target.kind === 'print') {
          k(ctx.policy.constant('true'));
          return;
        }
      }
      planCall(term, term.args, ctx, k);
      return;
    case 'binary':
      planTerm(term.left, ctx, (a) =>
        planTerm(term.right, ctx, (b) => callBuiltin(operatorCall(term.op, 2), [a, b], ctx, k)),
      );
      return;
    case 'in':
      if (term.key === null) {
        planTerms([term.value, term.collection], ctx, (ops) => callBuiltin(operatorCall('in', 2), ops, ctx, k));
      } else {
        planTerms([term.key, term.value, term.collection], ctx, (ops) =>
          callBuiltin(operatorCall('in', 3), ops, ctx, k),
        );
      }
      return;
    default:
      throw new RegoCompileError(term.loc, term.type, 'this term cannot be evaluated here', 'unsupported');
  }
}

function callBuiltin(name: string, args: Operand[], ctx: PlanContext, k: ContinueWith): void {
  const mock = ctx.mocks.funcMocks.get(`builtin:${name}`);
  if (mock !== undefined) {
    callMock(mock, args, ctx, k);
    return;
  }
  const target = ctx.func.newLocal();
  ctx.func.emit({ op: 'call', func: name, args, target });
  k({ kind: 'local', local: target });
}

function planCall(term: Extract<Term, { type: 'call' }>, args: Term[], ctx: PlanContext, k: ContinueWith): void {
  const target = resolvedCall(ctx.policy.program, term);
  if (target.kind === 'print') {
    k(ctx.policy.constant('true'));
    return;
  }
  if (args.length !== target.arity) {
    throw new RegoCompileError(
      term.nameLoc,
      term.name,
      `${term.name} takes ${target.arity} argument(s), got ${args.length}`,
      'invalid',
    );
  }
  if (target.kind === 'builtin') {
    if (builtinSpec(target.name) === undefined)
      throw new RegoCompileError(term.nameLoc, term.name, 'not a supported builtin', 'undefined');
    if (builtinSpec(target.name)?.relation === true) {
      // A relation answers with the array of all its answers: the rest of the body runs once per answer.
      planTerms(args, ctx, (ops) =>
        callBuiltin(target.name, ops, ctx, (all) =>
          scan(all, ctx, (_key, value) => k({ kind: 'local', local: value })),
        ),
      );
      return;
    }
    planTerms(args, ctx, (ops) => callBuiltin(target.name, ops, ctx, k));
    return;
  }
  const mock = ctx.mocks.funcMocks.get(`function:${target.group.name}`);
  planTerms(args, ctx, (ops) => {
    if (mock !== undefined) callMock(mock, ops, ctx, k);
    else callFunction(target.group, ops, term.nameLoc, ctx, k);
  });
}

function callFunction(
  group: Extract<CallTarget, { kind: 'function' }>['group'],
  ops: Operand[],
  loc: Location,
  ctx: PlanContext,
  k: ContinueWith,
): void {
  const func = ctx.policy.funcFor({ kind: 'group', group }, ctx.mocks);
  ctx.policy.addDependency(ctx.owner, func, loc);
  const target = ctx.func.newLocal();
  ctx.func.emit({
    op: 'call',
    func,
    args: [{ kind: 'local', local: ctx.inputBox }, { kind: 'local', local: ctx.data }, ...ops],
    target,
  });
  k({ kind: 'local', local: target });
}

/** A call whose function or builtin a `with` replaced: by another function or builtin, or by a value. */
function callMock(mock: FuncMock, ops: Operand[], ctx: PlanContext, k: ContinueWith): void {
  switch (mock.kind) {
    case 'value':
      k(ctx.policy.constant(mock.json));
      return;
    case 'builtin': {
      const target = ctx.func.newLocal();
      ctx.func.emit({ op: 'call', func: mock.name, args: ops, target });
      k({ kind: 'local', local: target });
      return;
    }
    case 'function':
      callFunction(mock.group, ops, mock.group.definitions[0]?.rule.loc ?? { file: '<with>', line: 1, col: 1 }, ctx, k);
      return;
  }
}

function planComprehension(
  term: Extract<Term, { type: 'arraycompr' | 'setcompr' | 'objectcompr' }>,
  ctx: PlanContext,
  k: ContinueWith,
): void {
  const scope = annotatedBody(ctx.policy.program, term.body).scope;
  const collection = ctx.func.newLocal();
  const inner = child(ctx, scope);
  if (term.type === 'arraycompr') ctx.func.emit({ op: 'makeArray', target: collection, capacity: 0 });
  else if (term.type === 'setcompr') ctx.func.emit({ op: 'makeSet', target: collection });
  else ctx.func.emit({ op: 'makeObject', target: collection });
  const block = ctx.func.nested(() =>
    planBody(term.body, inner, () => {
      if (term.type === 'objectcompr') {
        planHeadTerms([term.key, term.value], inner, ([key, value]) =>
          ctx.func.emit({
            op: 'objectInsertOnce',
            object: collection,
            key: key as Operand,
            value: value as Operand,
            message: ctx.policy.message(CONFLICT_OBJECT_KEY),
          }),
        );
      } else {
        planHeadTerms([term.head], inner, ([value]) =>
          ctx.func.emit(
            term.type === 'arraycompr'
              ? { op: 'arrayAppend', array: collection, value: value as Operand }
              : { op: 'setAdd', set: collection, value: value as Operand },
          ),
        );
      }
    }),
  );
  ctx.func.emit({ op: 'blocks', blocks: [block] });
  k({ kind: 'local', local: collection });
}

function planVar(term: VarTerm, ctx: PlanContext, k: ContinueWith): void {
  const binding = bindingOf(term, ctx);
  if (binding.kind === 'local') {
    const local = ctx.env.get(binding.id);
    if (local === undefined) throw unsafeVarError(term);
    k({ kind: 'local', local });
    return;
  }
  planAbsoluteRef(binding.path, [], term.loc, ctx, k);
}

function planRef(term: RefTerm, ctx: PlanContext, k: ContinueWith): void {
  const hoisted = ctx.hoisted?.get(term);
  if (hoisted !== undefined) {
    k(hoisted);
    return;
  }
  const head = term.head;
  if (head.type === 'var') {
    const binding = bindingOf(head, ctx);
    if (binding.kind === 'global') {
      planAbsoluteRef(binding.path, term.path, term.loc, ctx, k);
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
  if (isPattern(part, ctx)) {
    throw new RegoCompileError(
      part.loc,
      'ref pattern',
      'a composite key with unbound variables in a reference is not supported; iterate with a variable and compare',
      'unsupported',
    );
  }
  planTerm(part, ctx, (key) => {
    const target = ctx.func.newLocal();
    ctx.func.emit({ op: 'dot', source, key, target });
    walkPath({ kind: 'local', local: target }, path, index + 1, ctx, k);
  });
}

/** A key without unbound variables (and no composite pattern): looking it up cannot iterate. */
function isGroundKey(part: Term, ctx: PlanContext): boolean {
  let ground = true;
  forEachLevelTerm(part, (t) => {
    if (t.type === 'var' && unboundVarId(t, ctx) !== null) ground = false;
  });
  return ground;
}

/**
 * A reference rooted at input or data. Under data, constant segments walk the rule tree: reaching a rule
 * calls its function; stopping at an inner node (a variable or the end) builds that node's virtual document;
 * leaving the tree is a plain lookup in base data.
 */
export function planAbsoluteRef(
  prefix: string[],
  rest: Term[],
  loc: Location,
  ctx: PlanContext,
  k: ContinueWith,
): void {
  const path: Term[] = [...prefix.slice(1).map((segment) => stringTerm(segment, loc)), ...rest];
  if (prefix[0] === 'input') {
    const input = ctx.func.newLocal();
    ctx.func.emit({
      op: 'dot',
      source: { kind: 'local', local: ctx.inputBox },
      key: ctx.policy.constant('0'),
      target: input,
    });
    walkPath({ kind: 'local', local: input }, path, 0, ctx, k);
    return;
  }
  let node: RuleTreeNode = ctx.scope.root;
  let index = 0;
  const fromData = (): void => walkPath({ kind: 'local', local: ctx.data }, path, 0, ctx, k);
  if (isDataMocked(ctx.mocks, [])) {
    fromData();
    return;
  }
  while (node.group === null && index < path.length) {
    const part = path[index] as Term;
    if (part.type !== 'string') break;
    const next = node.children.get(part.value);
    // Leaving the rule tree, or reaching a path a `with` replaced: a plain lookup in data.
    if (next === undefined || isDataMocked(ctx.mocks, next.path.slice(1))) {
      fromData();
      return;
    }
    node = next;
    index++;
  }
  const group = node.group;
  if (group?.kind === 'function') {
    throw new RegoCompileError(
      loc,
      'function reference',
      `${group.name} is a function: call it with arguments`,
      'invalid',
    );
  }
  // A partial object read at its first keys evaluates those keys only, so only their conflicts are raised
  // (as in OPA): `obj.a`, `obj[k]`, `p.a.k` for a head `p[x][y] := v`.
  let depth = 0;
  if (group?.kind === 'partialObject') {
    while (
      depth <= group.keyDepth &&
      path[index + depth] !== undefined &&
      isGroundKey(path[index + depth] as Term, ctx)
    )
      depth++;
  }
  if (group !== null && depth > 0) {
    const lookup = ctx.policy.funcFor({ kind: 'lookup', group, depth }, ctx.mocks);
    ctx.policy.addDependency(ctx.owner, lookup, loc);
    planTerms(path.slice(index, index + depth), ctx, (keys) => {
      const value = ctx.func.newLocal();
      ctx.func.emit({
        op: 'call',
        func: lookup,
        args: [{ kind: 'local', local: ctx.inputBox }, { kind: 'local', local: ctx.data }, ...keys],
        target: value,
      });
      walkPath({ kind: 'local', local: value }, path, index + depth, ctx, k);
    });
    return;
  }
  const func = ctx.policy.funcFor(group === null ? { kind: 'node', node } : { kind: 'group', group }, ctx.mocks);
  ctx.policy.addDependency(ctx.owner, func, loc);
  const value = ctx.func.newLocal();
  ctx.func.emit({
    op: 'call',
    func,
    args: [
      { kind: 'local', local: ctx.inputBox },
      { kind: 'local', local: ctx.data },
    ],
    target: value,
  });
  walkPath({ kind: 'local', local: value }, path, index, ctx, k);
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
    const block = ctx.func.nested(() =>
      planTerm(arg, inner, (value) => ctx.func.emit({ op: 'setAdd', set: values, value })),
    );
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
