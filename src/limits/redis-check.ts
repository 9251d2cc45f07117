// How one check becomes check-script calls, and how their replies become a StoreCheckResult. Pure, so the
// key grouping and the reply protocol are tested without a server.
//
// Standalone and Sentinel: one call holding every key of the check (one round trip, fully atomic).
// Cluster: a script may only touch keys of one slot, and the denylist keys README.md fixes live in slots of
// their own, so the keys are grouped by slot and the groups are sent together, one call per group; they
// travel in parallel to their nodes, so the check still waits one network round trip. Each group is atomic on
// its own; across groups a request refused by one group (revoked, or over a limit there) has spent a token in
// the buckets of the other groups it matched. Those tokens are given back right after the answer (refundCalls),
// so a revoked token or a refused request does not drain a budget; until the refund lands, a concurrent
// request may see one token fewer. That errs on the side of refusing, never of allowing more than a limit.
import { clusterSlotOf, denySubjectKey, denyTokenIdKey, ruleKeys } from './keys.js';
import type { LimitRequest, LimitResult, StoreCheckResult, TokenFacts } from './types.js';

export interface CheckCall {
  keys: string[];
  args: string[];
  /** indexes into the check's LimitRequest[] of the rate-limit keys, in key order */
  limitIndexes: number[];
}

interface KeyEntry {
  /** the denylist key, or a rule's bucket, override and penalty keys (one slot) */
  keys: string[];
  kind: 'jti' | 'sub' | 'limit';
  limitIndex: number;
}

/**
 * `deadlineMs`: when the sidecar stops waiting for the answer, in Redis's clock (ms). The script spends
 * nothing past it, so a command a stalled server runs late cannot spend a budget for a check already refused.
 */
export function buildCheckCalls(
  prefix: string,
  token: TokenFacts | null,
  limits: readonly LimitRequest[],
  splitBySlot: boolean,
  deadlineMs: number,
): CheckCall[] {
  if (!splitBySlot) return oneCall(prefix, token, limits, deadlineMs);
  const entries: KeyEntry[] = [];
  if (token?.jti != null) entries.push({ keys: [denyTokenIdKey(prefix, token.jti)], kind: 'jti', limitIndex: -1 });
  if (token?.subject != null)
    entries.push({ keys: [denySubjectKey(prefix, token.subject)], kind: 'sub', limitIndex: -1 });
  limits.forEach((request, index) => {
    const keys = ruleKeys(prefix, request.rule.name, request.keyValue);
    entries.push({ keys: [keys.bucket, keys.override, keys.penalty], kind: 'limit', limitIndex: index });
  });
  if (entries.length === 0) return [];
  const groups = splitBySlot ? groupBySlot(entries) : [entries];
  const issuedAt = token?.issuedAt != null ? String(token.issuedAt) : '';
  const deadline = String(deadlineMs);
  return groups.map((group) => toCall(group, limits, issuedAt, deadline));
}

/** Standalone and Sentinel: the one call toCall would make of every key, built without the grouping. */
function oneCall(
  prefix: string,
  token: TokenFacts | null,
  limits: readonly LimitRequest[],
  deadlineMs: number,
): CheckCall[] {
  const jti = token?.jti ?? null;
  const subject = token?.subject ?? null;
  if (jti === null && subject === null && limits.length === 0) return [];
  const keys: string[] = [];
  if (jti !== null) keys.push(denyTokenIdKey(prefix, jti));
  if (subject !== null) keys.push(denySubjectKey(prefix, subject));
  const issuedAt = token?.issuedAt != null ? String(token.issuedAt) : '';
  const args = [jti !== null ? '1' : '0', subject !== null ? '1' : '0', issuedAt, String(deadlineMs)];
  const limitIndexes: number[] = [];
  for (let i = 0; i < limits.length; i++) {
    const request = limits[i]!;
    const { bucket, override, penalty } = ruleKeys(prefix, request.rule.name, request.keyValue);
    keys.push(bucket, override, penalty);
    const ruleArguments = ruleArgs(request);
    for (let j = 0; j < ruleArguments.length; j++) args.push(ruleArguments[j]!);
    limitIndexes.push(i);
  }
  return [{ keys, args, limitIndexes }];
}

function groupBySlot(entries: KeyEntry[]): KeyEntry[][] {
  const bySlot = new Map<number, KeyEntry[]>();
  for (const entry of entries) {
    const slot = clusterSlotOf(entry.keys[0]!);
    const group = bySlot.get(slot);
    if (group === undefined) bySlot.set(slot, [entry]);
    else group.push(entry);
  }
  return [...bySlot.values()];
}

/** Per rule: allowed, remaining, resetSeconds, retryAfterSeconds, limit in force, flags. */
const REPLY_PER_RULE = 6;

/** A rule's ARGV for a request of cost 1 (every check's), made once per rule: rules never change once made. */
const unitCostArgs = new WeakMap<LimitRequest['rule'], readonly string[]>();

/** ARGV per rule, after hasJti, hasSub, iat and deadline: limit, periodSeconds, cost, shadow, penaltyMs, penaltyFactor. */
function ruleArgs(request: LimitRequest): readonly string[] {
  if (request.cost !== undefined) return ruleArgsAt(request.rule, request.cost);
  let args = unitCostArgs.get(request.rule);
  if (args === undefined) {
    args = ruleArgsAt(request.rule, 1);
    unitCostArgs.set(request.rule, args);
  }
  return args;
}

function ruleArgsAt(rule: LimitRequest['rule'], cost: number): string[] {
  const penalty = rule.penalty;
  const factor = penalty === undefined ? 1 : penalty.block === true ? 0 : (penalty.limitFactor ?? 0);
  return [
    String(rule.limit),
    String(rule.periodSeconds),
    String(cost),
    rule.shadow === true ? '1' : '0',
    String(penalty === undefined ? 0 : penalty.seconds * 1000),
    String(factor),
  ];
}

function toCall(group: KeyEntry[], limits: readonly LimitRequest[], issuedAt: string, deadline: string): CheckCall {
  const jti = group.find((e) => e.kind === 'jti');
  const sub = group.find((e) => e.kind === 'sub');
  const limitEntries = group.filter((e) => e.kind === 'limit');
  const keys: string[] = [];
  if (jti) keys.push(...jti.keys);
  if (sub) keys.push(...sub.keys);
  const args = [jti ? '1' : '0', sub ? '1' : '0', issuedAt, deadline];
  for (const entry of limitEntries) {
    keys.push(...entry.keys);
    args.push(...ruleArgs(limits[entry.limitIndex]!));
  }
  return { keys, args, limitIndexes: limitEntries.map((e) => e.limitIndex) };
}

function isNumberList(reply: unknown): reply is number[] {
  if (!Array.isArray(reply)) return false;
  for (const item of reply) if (typeof item !== 'number') return false;
  return true;
}

/** Thrown when a reply does not follow the script's protocol (someone else's script under our SHA, say). */
export class CheckReplyError extends Error {
  readonly code = 'CHECK_REPLY';
}

/** Redis ran the script after the check's deadline: nothing was spent, and the check has no answer. */
export class CheckDeadlineError extends Error {
  readonly code = 'CHECK_DEADLINE';
}

/** The script's reply to a call it ran after the deadline. */
export function isPastDeadlineReply(reply: unknown): boolean {
  return Array.isArray(reply) && reply.length === 1 && reply[0] === 3;
}

export function combineCheckReplies(
  calls: readonly CheckCall[],
  replies: readonly unknown[],
  limits: readonly LimitRequest[],
): StoreCheckResult {
  for (const reply of replies) {
    if (isPastDeadlineReply(reply))
      throw new CheckDeadlineError('redis ran the check after its deadline; nothing was spent');
  }
  const results: LimitResult[] = new Array<LimitResult>(limits.length);
  let revoked: StoreCheckResult['revoked'] = null;
  // plain loops: no closure, slice or destructured array per rule on every check
  for (let callIndex = 0; callIndex < calls.length; callIndex++) {
    const call = calls[callIndex]!;
    const reply = replies[callIndex];
    if (!isNumberList(reply)) throw new CheckReplyError(`check script replied ${JSON.stringify(reply)}`);
    const numbers = reply;
    const limitIndexes = call.limitIndexes;
    if (numbers[0] === 1) revoked = 'jti';
    else if (numbers[0] === 2) revoked ??= 'subject';
    else if (numbers[0] !== 0 || numbers.length !== 1 + REPLY_PER_RULE * limitIndexes.length) {
      throw new CheckReplyError(`check script replied ${JSON.stringify(reply)}`);
    } else {
      for (let i = 0; i < limitIndexes.length; i++) {
        const limitIndex = limitIndexes[i]!;
        const rule = limits[limitIndex]!.rule;
        const at = 1 + REPLY_PER_RULE * i;
        const flags = numbers[at + 5];
        results[limitIndex] = {
          rule: rule.name,
          allowed: numbers[at] === 1,
          shadow: rule.shadow === true,
          limit: numbers[at + 4]!,
          periodSeconds: rule.periodSeconds,
          remaining: numbers[at + 1]!,
          resetSeconds: numbers[at + 2]!,
          retryAfterSeconds: numbers[at + 3]!,
          penalty: flags === 2 ? 'started' : flags === 1 ? 'active' : null,
        };
      }
    }
  }
  if (revoked !== null) return { revoked, limits: [] };
  return { revoked: null, limits: results };
}

/**
 * Cluster only: the groups that spent tokens for a check refused as a whole (revoked, over a limit in another
 * group, or another group past its deadline: `result` null), as refund calls: each spending rule's bucket key
 * with its limit and the tokens it took.
 */
export function refundCalls(
  calls: readonly CheckCall[],
  replies: readonly unknown[],
  result: StoreCheckResult | null,
  limits: readonly LimitRequest[],
): CheckCall[] {
  if (calls.length < 2) return [];
  if (result !== null && result.revoked === null && result.limits.every((limit) => limit.allowed || limit.shadow))
    return [];
  const refunds: CheckCall[] = [];
  calls.forEach((call, i) => {
    const reply = replies[i];
    const rules = call.limitIndexes.length;
    if (rules === 0 || !Array.isArray(reply) || reply[0] !== 0) return;
    // a group spends only when every one of its rules that is not in shadow mode allowed
    const spent: number[] = [];
    for (let j = 0; j < rules; j++) {
      const request = limits[call.limitIndexes[j]!]!;
      const allowed = reply[1 + REPLY_PER_RULE * j] === 1;
      if (!allowed && request.rule.shadow !== true) return;
      if (allowed) spent.push(j);
    }
    if (spent.length === 0) return;
    const ruleKeysStart = call.keys.length - 3 * rules;
    refunds.push({
      keys: spent.map((j) => call.keys[ruleKeysStart + 3 * j]!),
      args: spent.flatMap((j) => {
        const request = limits[call.limitIndexes[j]!]!;
        return [String(reply[1 + REPLY_PER_RULE * j + 4]), String(request.cost ?? 1)];
      }),
      limitIndexes: spent.map((j) => call.limitIndexes[j]!),
    });
  });
  return refunds;
}
