// The check, in DESIGN.md's order: request -> identity -> limits (denylist, rate limits) -> policy input ->
// policy -> response. Each stage takes plain data and returns plain data; this module only sequences them,
// times them and records the outcome. A check always ends in a CheckResponse, never a thrown error.
import { randomUUID } from 'node:crypto';
import type { Identity, IdentityOutcome, IdentityStage } from '../identity/types.js';
import type { LimitsOutcome, LimitsStage } from '../limits/types.js';
import type { DecodedCheckRequest } from '../input/checkRequest.js';
import type { HttpRequestView } from '../input/types.js';
import { buildPolicyInput, type PolicyInput } from '../input/buildInput.js';
import { toRequestView } from '../input/requestView.js';
import { interpretDecision, type PolicyDecision } from '../policy/decision.js';
import { DecisionTypeError, PolicyEvaluationError } from '../policy/errors.js';
import type { PolicyResult } from '../policy/engine.js';
import {
  buildAllowResponse,
  buildDenyResponse,
  type CheckResponseMessage,
  type DenyOutcome,
} from '../response/buildCheckResponse.js';
import { setHeaders } from '../response/headers.js';
import { reasonEntry, type CheckReason } from '../response/reasons.js';
import type { DecisionLogger } from '../telemetry/decisionLog.js';

/** The part of a loaded policy a check needs. */
export interface ActivePolicy {
  revision: string;
  evaluate(input: unknown): PolicyResult;
}

export interface PipelineDeps {
  identity: IdentityStage;
  limits: LimitsStage;
  policy: () => ActivePolicy | null;
  logger: import('pino').Logger;
  decisionLog: DecisionLogger;
  observeCheck(result: string, reason: CheckReason, seconds: number): void;
  observePolicyEval(seconds: number): void;
  newDecisionId?: () => string;
}

export type CheckPipeline = (request: DecodedCheckRequest) => Promise<CheckResponseMessage>;

/** What a finished check produced, before it becomes a CheckResponse and a log line. */
type Verdict =
  | { kind: 'allow'; decision: PolicyDecision; forwardHeaders: Record<string, string>; rateHeaders: Record<string, string> }
  | ({ kind: 'deny'; detail?: string } & Omit<DenyOutcome, 'decisionId'>);

interface CheckContext {
  request: HttpRequestView;
  /** taken once when the check starts, so a reload mid-check cannot mix two policies */
  policy: ActivePolicy | null;
  identity: Identity | null;
  input?: PolicyInput;
}

export function createCheckPipeline(deps: PipelineDeps): CheckPipeline {
  const newDecisionId = deps.newDecisionId ?? randomUUID;

  async function decide(check: DecodedCheckRequest, context: CheckContext): Promise<Verdict> {
    const identityOutcome = await deps.identity.verify(context.request);
    const identityDenial = denialForIdentity(identityOutcome);
    if (identityDenial !== undefined) return identityDenial;
    const verified = identityOutcome.kind === 'verified' ? identityOutcome : undefined;
    context.identity = verified?.identity ?? null;

    const limitsOutcome = await deps.limits.evaluate(
      context.request,
      verified === undefined
        ? null
        : {
            facts: { jti: verified.identity.token_id, subject: verified.identity.subject, issuedAt: verified.issuedAt },
            claims: verified.identity.claims,
          },
    );
    const limitsDenial = denialForLimits(limitsOutcome);
    if (limitsDenial !== undefined) return limitsDenial;
    const rateHeaders = limitsOutcome.kind === 'pass' ? limitsOutcome.headers : {};

    // The policy input is built only now: it carries the verified identity, and a request refused at 401
    // or 429 never pays for body parsing.
    const policy = context.policy;
    if (policy === null) return deny('no_policy', { detail: 'no policy loaded' });
    const input = buildPolicyInput(check.attributes, context.request, context.identity);
    context.input = input;

    const evalStart = process.hrtime.bigint();
    let result: PolicyResult;
    try {
      result = policy.evaluate(input);
    } catch (error) {
      if (error instanceof PolicyEvaluationError) return deny('policy_error', { detail: error.message });
      throw error;
    } finally {
      deps.observePolicyEval(secondsSince(evalStart));
    }
    if (!result.defined) return deny('undefined_decision', { detail: 'undefined decision' });

    let decision: PolicyDecision;
    try {
      decision = interpretDecision(result.value);
    } catch (error) {
      if (error instanceof DecisionTypeError) return deny('decision_type', { detail: error.message });
      throw error;
    }
    if (!decision.allowed) {
      return deny('policy_denied', {
        headers: decision.headers,
        httpStatus: decision.httpStatus,
        body: decision.body,
        dynamicMetadata: decision.dynamicMetadata,
      });
    }
    const forwardHeaders = verified?.forwardHeaders ?? {};
    return { kind: 'allow', decision, forwardHeaders, rateHeaders };
  }

  return async function check(checkRequest: DecodedCheckRequest): Promise<CheckResponseMessage> {
    const start = process.hrtime.bigint();
    const decisionId = newDecisionId();
    const context: CheckContext = {
      request: toRequestView(checkRequest.attributes),
      policy: deps.policy(),
      identity: null,
    };
    let verdict: Verdict;
    try {
      verdict = await decide(checkRequest, context);
    } catch (error) {
      // A stage broke its never-throws contract: answer 503 rather than fail the gRPC call.
      deps.logger.error({ err: error, decision_id: decisionId }, 'check failed unexpectedly');
      verdict = deny('internal_error', { detail: error instanceof Error ? error.message : String(error) });
    }
    const response = toResponse(verdict, decisionId);
    const reason: CheckReason = verdict.kind === 'allow' ? 'allowed' : verdict.reason;
    const entry = reasonEntry(reason);
    const seconds = secondsSince(start);
    deps.observeCheck(entry.result, reason, seconds);
    deps.decisionLog.log({
      decisionId,
      result: entry.result,
      status: verdict.kind === 'allow' ? 200 : (verdict.httpStatus ?? entry.httpStatus),
      reason,
      detail: verdict.kind === 'deny' ? verdict.detail : undefined,
      method: context.request.method,
      path: context.request.path,
      subject: context.identity?.subject ?? null,
      revision: context.policy?.revision ?? null,
      durationMs: seconds * 1000,
      input: context.input,
    });
    return response;
  };
}

function toResponse(verdict: Verdict, decisionId: string): CheckResponseMessage {
  if (verdict.kind === 'deny') {
    const { kind: _kind, detail: _detail, ...outcome } = verdict;
    return buildDenyResponse({ ...outcome, decisionId });
  }
  const { decision } = verdict;
  return buildAllowResponse({
    decisionId,
    requestHeaders: [...setHeaders(verdict.forwardHeaders), ...decision.headers],
    requestHeadersToRemove: decision.requestHeadersToRemove,
    responseHeaders: [...setHeaders(verdict.rateHeaders), ...decision.responseHeadersToAdd],
    queryParametersToSet: decision.queryParametersToSet,
    queryParametersToRemove: decision.queryParametersToRemove,
    dynamicMetadata: decision.dynamicMetadata,
  });
}

function deny(
  reason: DenyOutcome['reason'],
  extra: Partial<Omit<DenyOutcome, 'decisionId' | 'reason'>> & { detail?: string } = {},
): Verdict {
  return { kind: 'deny', reason, headers: [], dynamicMetadata: {}, ...stripUndefined(extra) };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function denialForIdentity(outcome: IdentityOutcome): Verdict | undefined {
  switch (outcome.kind) {
    case 'anonymous':
    case 'verified':
      return undefined;
    case 'rejected':
      if (outcome.failure === 'missing') return deny('missing_token', { detail: 'missing' });
      if (outcome.failure === 'revoked') return deny('token_revoked', { description: 'token revoked', detail: 'revoked' });
      return deny('invalid_token', { description: outcome.description, detail: outcome.failure });
    case 'unavailable':
      return deny('identity_unavailable', { detail: outcome.description });
  }
}

function denialForLimits(outcome: LimitsOutcome): Verdict | undefined {
  switch (outcome.kind) {
    case 'pass':
      return undefined;
    case 'revoked':
      return deny('token_revoked', { description: 'token revoked', detail: `revoked by ${outcome.by}` });
    case 'limited':
      return deny('rate_limited', { headers: setHeaders(outcome.headers), detail: outcome.rule });
    case 'unavailable':
      return deny('store_unavailable', { detail: outcome.description });
  }
}

function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
