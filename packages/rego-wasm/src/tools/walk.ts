// A read-only walk over every term and expression of a rule, nested bodies included, for the checks and
// tools that look at a policy as written (strict checks, coverage lines) rather than as planned.
import type { Body, Expr, Rule, Term } from '../ast.js';

export interface Visitor {
  term?(term: Term): void;
  expr?(expr: Expr): void;
}

export function walkTerm(term: Term, visitor: Visitor): void {
  visitor.term?.(term);
  switch (term.type) {
    case 'ref':
      walkTerm(term.head, visitor);
      for (const part of term.path) walkTerm(part, visitor);
      return;
    case 'array':
    case 'set':
      for (const item of term.items) walkTerm(item, visitor);
      return;
    case 'object':
      for (const entry of term.entries) {
        walkTerm(entry.key, visitor);
        walkTerm(entry.value, visitor);
      }
      return;
    case 'arraycompr':
    case 'setcompr':
      walkTerm(term.head, visitor);
      walkBody(term.body, visitor);
      return;
    case 'objectcompr':
      walkTerm(term.key, visitor);
      walkTerm(term.value, visitor);
      walkBody(term.body, visitor);
      return;
    case 'call':
      for (const arg of term.args) walkTerm(arg, visitor);
      return;
    case 'binary':
      walkTerm(term.left, visitor);
      walkTerm(term.right, visitor);
      return;
    case 'in':
      if (term.key !== null) walkTerm(term.key, visitor);
      walkTerm(term.value, visitor);
      walkTerm(term.collection, visitor);
      return;
    default:
      return;
  }
}

export function walkExpr(expr: Expr, visitor: Visitor): void {
  visitor.expr?.(expr);
  switch (expr.type) {
    case 'term':
      walkTerm(expr.term, visitor);
      break;
    case 'assign':
    case 'unify':
      walkTerm(expr.left, visitor);
      walkTerm(expr.right, visitor);
      break;
    case 'not':
      walkExpr(expr.expr, visitor);
      return;
    case 'some':
      for (const v of expr.vars) walkTerm(v, visitor);
      return;
    case 'somein':
      if (expr.key !== null) walkTerm(expr.key, visitor);
      walkTerm(expr.value, visitor);
      walkTerm(expr.collection, visitor);
      return;
    case 'every':
      if (expr.key !== null) walkTerm(expr.key, visitor);
      walkTerm(expr.value, visitor);
      walkTerm(expr.collection, visitor);
      walkBody(expr.body, visitor);
      return;
  }
  for (const modifier of expr.with) {
    walkTerm(modifier.target, visitor);
    walkTerm(modifier.value, visitor);
  }
}

export function walkBody(body: Body, visitor: Visitor): void {
  for (const expr of body.exprs) walkExpr(expr, visitor);
}

export function walkRule(rule: Rule, visitor: Visitor): void {
  for (const arg of rule.args ?? []) walkTerm(arg, visitor);
  if (rule.key !== null) walkTerm(rule.key, visitor);
  if (!rule.implicitValue) walkTerm(rule.value, visitor);
  walkBody(rule.body, visitor);
  for (const clause of rule.elses) {
    if (!clause.implicitValue) walkTerm(clause.value, visitor);
    walkBody(clause.body, visitor);
  }
}
