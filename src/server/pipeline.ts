// The check, in the order README.md describes: request -> identity -> limits (denylist, rate limits) -> policy input ->
// policy -> response. Each stage takes plain data and returns plain data; this module only sequences them,
// times them and records the outcome. A check always ends in a CheckResponse, never a thrown error.
import type { ContractOutcome, ContractStage, RequestBody } from '../contract/types.js';
import { PROBLEM_CONTENT_TYPE, validationProblem } from '../contract/problem.js';
import type { Identity, IdentityOutcome, IdentityStage } from '../identity/types.js';
import type { LimitsOutcome, LimitsStage, TokenFacts } from '../limits/types.js';
import type { DecodedCheckRequest } from '../input/checkRequest.js';
import type { HttpRequestView } from '../input/types.js';
import { buildPolicyInput, type InputOptions, type PolicyInput } from '../input/buildInput.js';
import { toRequestView } from '../input/requestView.js';
import { interpretDecision, type PolicyDecision } from '../policy/decision.js';
import { DEFAULT_POLICY_MODES, policyOutcomeMode, type PolicyModes } from '../policy/modes.js';
import { DecisionTypeError, PolicyEvaluationError } from '../policy/errors.js';
import type { PolicyResult } from '../policy/engine.js';
import {
  buildAllowResponse,
  buildCallError,
  buildDenyResponse,
  type CheckAnswer,
  type CheckResponseMessage,
  type DenyOutcome,
} from '../response/buildCheckResponse.js';
import { setHeaders } from '../response/headers.js';
import { reasonEntry, type CheckReason } from '../response/reasons.js';
import type { DecisionLogger, DecisionPeer, DecisionRecord } from '../telemetry/decisionLog.js';
import type { CheckTrace, CheckTracer } from '../telemetry/tracing.js';
import { newDecisionId as randomDecisionId } from './decisionId.js';
import { startLaps, type StageLaps, type StageTimes } from './stageTimes.js';

/** The part of a loaded policy a check needs. */
export interface ActivePolicy {
  revision: string;
  evaluate(input: unknown): PolicyResult;
}

export interface PipelineDeps {
  identity: IdentityStage;
  limits: LimitsStage;
  /** the OpenAPI contract; absent when `openapi` is not configured (input.openapi is then null) */
  contract?: ContractStage;
  /** The sidecar starts only once a policy loaded, and a failed reload keeps the last good one. */
  policy: () => ActivePolicy;
  logger: import('pino').Logger;
  decisionLog: DecisionLogger;
  observeCheck(result: string, reason: CheckReason, seconds: number): void;
  observePolicyEval(seconds: number): void;
  /**
   * Every header name `forwardClaims` can set. Those the check does not set (anonymous request, absent
   * claim) are removed upstream, so a client can never forge one.
   */
  forwardHeaderNames?: readonly string[];
  newDecisionId?: () => string;
  /** config `input` */
  input?: InputOptions;
  /** policy.dryRun, policy.onError, policy.onUndefined (default: none of them) */
  policyModes?: PolicyModes;
  countDryRunDenial?(reason: CheckReason): void;
  /** config `tracing`; absent: no spans */
  tracer?: CheckTracer | null;
  /** per-stage CPU time (bench:check); absent: the clock is not read */
  stageTimes?: StageTimes;
}

/** What the connection a check arrived on tells: with mTLS, the verified client certificate. */
export interface CheckConnection {
  peer?: DecisionPeer;
}

export type CheckPipeline = (request: DecodedCheckRequest, connection?: CheckConnection) => Promise<CheckAnswer>;

/** What a finished check produced, before it becomes a CheckResponse and a log line. */
type Verdict =
  | {
      kind: 'allow';
      decision: PolicyDecision;
      forwardHeaders: Record<string, string>;
      rateHeaders: Record<string, string>;
    }
  | ({ kind: 'deny'; detail?: string } & Omit<DenyOutcome, 'decisionId'>);

interface CheckContext {
  request: HttpRequestView;
  /** taken once when the check starts, so a reload mid-check cannot mix two policies */
  policy: ActivePolicy;
  identity: Identity | null;
  input?: PolicyInput;
  /** what a policy.dryRun allow sends: the identity's forwarded claims and the rate-limit headers */
  forwardHeaders?: Record<string, string>;
  rateHeaders?: Record<string, string>;
  /** what the policy gave (for OPA-shaped decision logs) */
  policyOutcome?: { defined: boolean; value?: unknown; error?: string; evalSeconds: number };
  /** the check's spans, when tracing is on */
  trace?: CheckTrace;
  /** the stage timers, when deps.stageTimes is given */
  laps?: StageLaps;
}

/** input options when none are configured (no OpenAPI operation matched: `openapi` null either way) */
const NO_INPUT_OPTIONS: InputOptions = {};

export function createCheckPipeline(deps: PipelineDeps): CheckPipeline {
  const newDecisionId = deps.newDecisionId ?? randomDecisionId;

  async function decide(check: DecodedCheckRequest, context: CheckContext): Promise<Verdict> {
    // 0. Failed-authentication throttling: a key blocked for failed authentications costs no verification.
    // Traced as part of the identity stage: it is the gate in front of verification.
    const endIdentity = context.trace?.startStage('identity');
    const laps = context.laps;
    let identityOutcome: IdentityOutcome;
    try {
      const pendingGate = deps.limits.authGate(context.request);
      laps?.lap('identity');
      const gate = await pendingGate;
      laps?.resume();
      if (gate.kind === 'blocked') {
        return deny('auth_blocked', { headers: setHeaders(gate.headers), detail: 'too many failed authentications' });
      }

      // 1. Token
      const pendingIdentity = deps.identity.verify(context.request);
      laps?.lap('identity');
      identityOutcome = await pendingIdentity;
      laps?.resume();
    } finally {
      endIdentity?.();
    }
    if (identityOutcome.kind === 'rejected' || identityOutcome.kind === 'unavailable') {
      if (identityOutcome.kind === 'rejected' && identityOutcome.failure !== 'missing')
        deps.limits.authFailed(context.request);
      return denialForIdentity(identityOutcome);
    }
    const verified = identityOutcome.kind === 'verified' ? identityOutcome : undefined;
    context.identity = verified?.identity ?? null;

    // 2-3. Denylist and rate limits (one store round trip)
    const endLimits = context.trace?.startStage('limits');
    laps?.lap('identity');
    const pendingLimits = deps.limits.evaluate(context.request, tokenFactsOf(verified));
    laps?.lap('limits');
    const limitsOutcome = await (endLimits === undefined ? pendingLimits : pendingLimits.finally(endLimits));
    laps?.resume();
    if (limitsOutcome.kind !== 'pass') return denialForLimits(limitsOutcome);
    context.forwardHeaders = verified?.forwardHeaders ?? {};
    context.rateHeaders = limitsOutcome.headers;
    laps?.lap('limits');

    // OpenAPI contract: after identity (scopes) and limits (a flood is refused before it costs validation).
    const contractOutcome: ContractOutcome = deps.contract?.evaluate(
      context.request,
      requestBodyOf(check, context.request),
      context.identity,
    ) ?? { kind: 'pass', openapi: null };
    laps?.lap('contract');
    if (contractOutcome.kind !== 'pass') return denialForContract(contractOutcome);

    // 4. Policy. Its input is built only now: it carries the verified identity, and a request refused at
    // 401 or 429 never pays for body parsing.
    const endPolicy = context.trace?.startStage('policy');
    let evaluated: ReturnType<typeof evaluatePolicy>;
    try {
      const built = buildPolicyInput(
        check.attributes,
        context.request,
        context.identity,
        contractOutcome.openapi === null && (deps.input?.openapi ?? null) === null
          ? (deps.input ?? NO_INPUT_OPTIONS)
          : { ...deps.input, openapi: contractOutcome.openapi },
      );
      laps?.lap('input');
      if (built.kind === 'invalid') return deny('bad_request', { detail: built.detail });
      context.input = built.input;
      evaluated = evaluatePolicy(context.policy, context.input, deps.observePolicyEval, context);
    } finally {
      endPolicy?.();
      laps?.lap('policy');
    }
    if (evaluated.kind === 'deny') return evaluated;
    if (!evaluated.decision.allowed) {
      const { decision } = evaluated;
      return deny('policy_denied', {
        headers: decision.headers,
        httpStatus: decision.httpStatus,
        body: decision.body,
        dynamicMetadata: decision.dynamicMetadata,
      });
    }
    return {
      kind: 'allow',
      decision: evaluated.decision,
      forwardHeaders: verified?.forwardHeaders ?? {},
      rateHeaders: limitsOutcome.headers,
    };
  }

  return async function check(checkRequest: DecodedCheckRequest, connection?: CheckConnection): Promise<CheckAnswer> {
    const start = performance.now();
    const laps = deps.stageTimes === undefined ? undefined : startLaps(deps.stageTimes);
    const decisionId = newDecisionId();
    const context: CheckContext = {
      request: toRequestView(checkRequest.attributes),
      policy: deps.policy(),
      identity: null,
    };
    if (laps !== undefined) context.laps = laps;
    context.trace = deps.tracer?.startCheck(context.request.headers);
    laps?.lap('request');
    let verdict: Verdict;
    try {
      verdict = await decide(checkRequest, context);
      laps?.resume();
    } catch (error) {
      // A stage broke its never-throws contract: answer 503 rather than fail the gRPC call.
      deps.logger.error({ err: error, decision_id: decisionId }, 'check failed unexpectedly');
      verdict = deny('internal_error', { detail: error instanceof Error ? error.message : String(error) });
    }
    // policy.dryRun / onError / onUndefined: `decided` is what the check decided, `verdict` what it answers.
    const decided = verdict;
    const mode =
      decided.kind === 'deny' ? policyOutcomeMode(decided.reason, deps.policyModes ?? DEFAULT_POLICY_MODES) : 'answer';
    if (mode === 'dry_run_allow' && decided.kind === 'deny') verdict = dryRunAllow(decided, context);
    const response: CheckAnswer =
      mode === 'grpc_error' && decided.kind === 'deny'
        ? buildCallError(decided.reason, decisionId)
        : toResponse(verdict, decisionId, deps.forwardHeaderNames ?? []);
    laps?.lap('response');
    const reason: CheckReason = verdict.kind === 'allow' ? 'allowed' : verdict.reason;
    const entry = reasonEntry(reason);
    const seconds = secondsSince(start);
    deps.observeCheck(entry.result, reason, seconds);
    if (mode === 'dry_run_allow' && decided.kind === 'deny') deps.countDryRunDenial?.(decided.reason);
    const decidedReason: CheckReason = decided.kind === 'allow' ? 'allowed' : decided.reason;
    const decidedEntry = reasonEntry(decidedReason);
    // As the decision log: the real decision, also in a dry run.
    context.trace?.end({
      decision: decidedEntry.result,
      reason: decidedReason,
      policyRevision: context.policy.revision,
    });
    // Built field by field: object spreads of conditional parts cost a copy each, on every check.
    const record: DecisionRecord = {
      decisionId,
      // the log tells the real decision, also in a dry run
      result: decidedEntry.result,
      status:
        mode === 'grpc_error' ? null : decided.kind === 'allow' ? 200 : (decided.httpStatus ?? decidedEntry.httpStatus),
      reason: decidedReason,
      detail: decided.kind === 'deny' ? decided.detail : undefined,
      method: context.request.method,
      path: context.request.path,
      subject: context.identity?.subject ?? null,
      revision: context.policy.revision,
      durationMs: seconds * 1000,
      input: context.input,
    };
    if (mode === 'dry_run_allow') record.dryRun = true;
    if (mode === 'grpc_error') record.grpcStatus = 'UNKNOWN';
    if (context.policyOutcome !== undefined) record.policy = context.policyOutcome;
    if (connection?.peer !== undefined) record.peer = connection.peer;
    deps.decisionLog.log(record);
    if (laps !== undefined) {
      laps.lap('telemetry');
      deps.stageTimes!.checked();
    }
    return response;
  };
}

/**
 * policy.dryRun: allow with none of the policy's request changes (OPA-Envoy answers an empty OkHttpResponse),
 * keeping its dynamic_metadata, the identity's forwarded claims and the rate-limit headers.
 */
function dryRunAllow(denied: Extract<Verdict, { kind: 'deny' }>, context: CheckContext): Verdict {
  return {
    kind: 'allow',
    decision: { ...interpretDecision(true), dynamicMetadata: denied.dynamicMetadata },
    forwardHeaders: context.forwardHeaders ?? {},
    rateHeaders: context.rateHeaders ?? {},
  };
}

/** Runs the entrypoint and reads its value; evaluation errors, undefined and wrong types become denials. */
function evaluatePolicy(
  policy: ActivePolicy,
  input: PolicyInput,
  observeSeconds: (seconds: number) => void,
  context: CheckContext,
): Verdict | { kind: 'decided'; decision: PolicyDecision } {
  const start = performance.now();
  let result: PolicyResult;
  try {
    result = policy.evaluate(input);
  } catch (error) {
    const evalSeconds = secondsSince(start);
    observeSeconds(evalSeconds);
    if (error instanceof PolicyEvaluationError) {
      context.policyOutcome = { defined: false, error: error.message, evalSeconds };
      return deny('policy_error', { detail: error.message });
    }
    throw error;
  }
  // one clock reading for the metric and the decision log; the outcome built without a spread of the result
  const evalSeconds = secondsSince(start);
  observeSeconds(evalSeconds);
  context.policyOutcome = result.defined
    ? { defined: true, value: result.value, evalSeconds }
    : { defined: false, evalSeconds };
  if (!result.defined) return deny('undefined_decision', { detail: 'undefined decision' });
  try {
    return { kind: 'decided', decision: interpretDecision(result.value) };
  } catch (error) {
    if (error instanceof DecisionTypeError) return deny('decision_type', { detail: error.message });
    throw error;
  }
}

function tokenFactsOf(
  verified: Extract<IdentityOutcome, { kind: 'verified' }> | undefined,
): { facts: TokenFacts; claims: Record<string, unknown> } | null {
  if (verified === undefined) return null;
  const { identity } = verified;
  return {
    facts: { jti: identity.token_id, subject: identity.subject, issuedAt: verified.issuedAt },
    claims: identity.claims,
  };
}

function toResponse(verdict: Verdict, decisionId: string, forwardHeaderNames: readonly string[]): CheckResponseMessage {
  if (verdict.kind === 'deny') {
    // Field by field rather than `{ ...rest, decisionId }`: a property added to an object spread's copy makes a
    // new hidden class on every check in V8 (see WITH_TRAILERS in grpcTransport.ts).
    return buildDenyResponse({
      decisionId,
      reason: verdict.reason,
      description: verdict.description,
      scope: verdict.scope,
      headers: verdict.headers,
      httpStatus: verdict.httpStatus,
      body: verdict.body,
      dynamicMetadata: verdict.dynamicMetadata,
    });
  }
  const { decision } = verdict;
  return buildAllowResponse({
    decisionId,
    requestHeaders: [...setHeaders(verdict.forwardHeaders), ...decision.headers],
    requestHeadersToRemove: [
      ...decision.requestHeadersToRemove,
      ...forwardHeaderNames.filter((name) => !Object.hasOwn(verdict.forwardHeaders, name)),
    ],
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

function denialForIdentity(outcome: Extract<IdentityOutcome, { kind: 'rejected' | 'unavailable' }>): Verdict {
  switch (outcome.kind) {
    case 'rejected':
      if (outcome.failure === 'missing') return deny('missing_token', { detail: 'missing' });
      if (outcome.failure === 'revoked')
        return deny('token_revoked', { description: 'token revoked', detail: 'revoked' });
      return deny('invalid_token', { description: outcome.description, detail: outcome.failure });
    case 'unavailable':
      return deny('identity_unavailable', { detail: outcome.description });
  }
}

function denialForLimits(outcome: Exclude<LimitsOutcome, { kind: 'pass' }>): Verdict {
  switch (outcome.kind) {
    case 'revoked':
      return deny('token_revoked', { description: 'token revoked', detail: `revoked by ${outcome.by}` });
    case 'limited':
      return deny('rate_limited', { headers: setHeaders(outcome.headers), detail: outcome.rule });
    case 'unavailable':
      return deny('store_unavailable', { detail: outcome.description });
  }
}

function denialForContract(outcome: Exclude<ContractOutcome, { kind: 'pass' }>): Verdict {
  switch (outcome.kind) {
    case 'invalid':
      return deny('invalid_request', {
        body: JSON.stringify(validationProblem(outcome.operation, outcome.errors)),
        headers: [{ name: 'content-type', value: PROBLEM_CONTENT_TYPE, append: false }],
        detail: `${outcome.operation}: ${outcome.errors.map((e) => `${e.in} ${e.name}`.trim()).join(', ')}`,
      });
    case 'unknown':
      return outcome.status === 405
        ? deny('method_not_allowed', {
            headers: [{ name: 'allow', value: outcome.allow.join(', '), append: false }],
            detail: 'method not allowed',
          })
        : deny('unknown_operation', { detail: 'no operation matches' });
    case 'insufficient_scope':
      return deny('insufficient_scope', {
        scope: outcome.scopes.join(' '),
        detail: `${outcome.operation}: missing scope`,
      });
    case 'unavailable':
      return deny('openapi_error', { detail: outcome.description });
  }
}

/** The body Envoy sent (`with_request_body`), and whether it is only a prefix of the client's body. */
function requestBodyOf(check: DecodedCheckRequest, request: HttpRequestView): RequestBody | null {
  const http = check.attributes?.request?.http;
  const bytes =
    http?.rawBody !== undefined && http.rawBody !== ''
      ? Buffer.from(http.rawBody, 'base64')
      : http?.body !== undefined && http.body !== ''
        ? Buffer.from(http.body, 'utf8')
        : null;
  if (bytes === null) return null;
  const declared = Number(request.headers['content-length'] ?? NaN);
  const truncated =
    request.headers['x-envoy-auth-partial-body'] === 'true' || (Number.isFinite(declared) && declared > bytes.length);
  return { bytes, truncated };
}

/** performance.now(), not hrtime.bigint(): a double, where each BigInt reading and difference is an allocation. */
function secondsSince(start: number): number {
  return (performance.now() - start) / 1000;
}
