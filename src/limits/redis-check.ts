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
import { clusterSlotOf, denySubjectKey, denyTokenIdKey, rateLimitKey } from './keys.js';
import type { LimitRequest, LimitResult, StoreCheckResult, TokenFacts } from './types.js';

export interface CheckCall {
  keys: string[];
  args: string[];
  /** indexes into the check's LimitRequest[] of the rate-limit keys, in key order */
  limitIndexes: number[];
}

interface KeyEntry {
  key: string;
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
  const entries: KeyEntry[] = [];
  if (token?.jti != null) entries.push({ key: denyTokenIdKey(prefix, token.jti), kind: 'jti', limitIndex: -1 });
  if (token?.subject != null) entries.push({ key: denySubjectKey(prefix, token.subject), kind: 'sub', limitIndex: -1 });
  limits.forEach((request, index) => {
    entries.push({ key: rateLimitKey(prefix, request.rule.name, request.keyValue), kind: 'limit', limitIndex: index });
  });
  if (entries.length === 0) return [];
  const groups = splitBySlot ? groupBySlot(entries) : [entries];
  const issuedAt = token?.issuedAt != null ? String(token.issuedAt) : '';
  const deadline = String(deadlineMs);
  return groups.map((group) => toCall(group, limits, issuedAt, deadline));
}

function groupBySlot(entries: KeyEntry[]): KeyEntry[][] {
  const bySlot = new Map<number, KeyEntry[]>();
  for (const entry of entries) {
    const slot = clusterSlotOf(entry.key);
    const group = bySlot.get(slot);
    if (group === undefined) bySlot.set(slot, [entry]);
    else group.push(entry);
  }
  return [...bySlot.values()];
}

/** Leading ARGV before the per-key limit and period: hasJti, hasSub, iat, deadline. */
const FIXED_ARGS = 4;

function toCall(group: KeyEntry[], limits: readonly LimitRequest[], issuedAt: string, deadline: string): CheckCall {
  const jti = group.find((e) => e.kind === 'jti');
  const sub = group.find((e) => e.kind === 'sub');
  const limitEntries = group.filter((e) => e.kind === 'limit');
  const keys: string[] = [];
  if (jti) keys.push(jti.key);
  if (sub) keys.push(sub.key);
  const args = [jti ? '1' : '0', sub ? '1' : '0', issuedAt, deadline];
  for (const entry of limitEntries) {
    const rule = limits[entry.limitIndex]!.rule;
    keys.push(entry.key);
    args.push(String(rule.limit), String(rule.periodSeconds));
  }
  return { keys, args, limitIndexes: limitEntries.map((e) => e.limitIndex) };
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
  if (replies.some(isPastDeadlineReply)) throw new CheckDeadlineError('redis ran the check after its deadline; nothing was spent');
  const results: LimitResult[] = new Array<LimitResult>(limits.length);
  let revoked: StoreCheckResult['revoked'] = null;
  calls.forEach((call, callIndex) => {
    const reply = replies[callIndex];
    if (!Array.isArray(reply) || reply.some((n) => typeof n !== 'number')) {
      throw new CheckReplyError(`check script replied ${JSON.stringify(reply)}`);
    }
    const numbers = reply as number[];
    if (numbers[0] === 1) revoked = 'jti';
    else if (numbers[0] === 2) revoked ??= 'subject';
    else if (numbers[0] !== 0 || numbers.length !== 1 + 4 * call.limitIndexes.length) {
      throw new CheckReplyError(`check script replied ${JSON.stringify(reply)}`);
    } else {
      call.limitIndexes.forEach((limitIndex, i) => {
        const rule = limits[limitIndex]!.rule;
        const [allowed, remaining, resetSeconds, retryAfterSeconds] = numbers.slice(1 + 4 * i, 5 + 4 * i) as [
          number, number, number, number,
        ];
        results[limitIndex] = {
          rule: rule.name,
          allowed: allowed === 1,
          limit: rule.limit,
          periodSeconds: rule.periodSeconds,
          remaining,
          resetSeconds,
          retryAfterSeconds,
        };
      });
    }
  });
  if (revoked !== null) return { revoked, limits: [] };
  return { revoked: null, limits: results };
}

/**
 * Cluster only: the groups that spent tokens for a check refused as a whole (revoked, or over a limit in
 * another group), as refund calls: their rate-limit keys with limit and period per key.
 */
export function refundCalls(calls: readonly CheckCall[], replies: readonly unknown[], result: StoreCheckResult | null): CheckCall[] {
  if (calls.length < 2) return [];
  // result null: the check failed as a whole (a group ran past its deadline), so every spending group refunds
  if (result !== null && result.revoked === null && result.limits.every((limit) => limit.allowed)) return [];
  const refunds: CheckCall[] = [];
  calls.forEach((call, i) => {
    const reply = replies[i];
    const rules = call.limitIndexes.length;
    // a group spends only when it was not revoked and every one of its rules allowed
    if (rules === 0 || !Array.isArray(reply) || reply[0] !== 0) return;
    for (let j = 0; j < rules; j++) if (reply[1 + 4 * j] !== 1) return;
    refunds.push({ keys: call.keys.slice(call.keys.length - rules), args: call.args.slice(FIXED_ARGS), limitIndexes: call.limitIndexes });
  });
  return refunds;
}
