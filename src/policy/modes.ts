// What becomes of a policy outcome that is not a plain allow, under `policy.dryRun`, `policy.onError` and
// `policy.onUndefined`. Pure: the pipeline asks, then answers, logs and counts accordingly.
import type { CheckReason } from '../response/reasons.js';

export interface PolicyModes {
  /** evaluate and log the real decision, always allow (OPA-Envoy's dry-run) */
  dryRun: boolean;
  /** an evaluation error or a decision of the wrong type: 503 (deny) or a gRPC error (error) */
  onError: 'deny' | 'error';
  /** an undefined decision: 403 (deny) or a gRPC error (error) */
  onUndefined: 'deny' | 'error';
}

export const DEFAULT_POLICY_MODES: PolicyModes = { dryRun: false, onError: 'deny', onUndefined: 'deny' };

/**
 * `answer`: the denial Portcullis builds. `grpc_error`: fail the Check with UNKNOWN, as OPA-Envoy does for
 * errors and undefined decisions, so Envoy's `failure_mode_allow` and `status_on_error` decide.
 * `dry_run_allow`: allow, log the real outcome, count it in `dry_run_denials_total`.
 * Only outcomes of the policy stage are concerned: a missing or invalid token, a revoked one and a rate
 * limit are Portcullis's own decisions (rate limits have their own `shadow`).
 */
export function policyOutcomeMode(reason: CheckReason, modes: PolicyModes): 'answer' | 'grpc_error' | 'dry_run_allow' {
  if (!POLICY_STAGE_REASONS.has(reason)) return 'answer';
  if (modes.dryRun) return 'dry_run_allow';
  if (reason === 'undefined_decision') return modes.onUndefined === 'error' ? 'grpc_error' : 'answer';
  if (reason === 'policy_error' || reason === 'decision_type')
    return modes.onError === 'error' ? 'grpc_error' : 'answer';
  return 'answer';
}

const POLICY_STAGE_REASONS: ReadonlySet<CheckReason> = new Set([
  'policy_denied',
  'undefined_decision',
  'policy_error',
  'decision_type',
]);
