// OPA's health API (`GET /health`, `?bundles`, `?plugins`) on the admin port, so manifests written for
// OPA-Envoy (readiness and liveness probes on `/health?plugins`) work unchanged. As in OPA, a healthy answer
// is 200 `{}` and an unhealthy one 500 `{"error": "..."}`.

export interface HealthFacts {
  /** a policy is loaded and serves checks (OPA: the bundles are activated) */
  policyLoaded: boolean;
  /** the sidecar is shutting down: it still answers in-flight checks but wants no new ones */
  draining: boolean;
}

export interface HealthAnswer {
  status: 200 | 500;
  body: Record<string, string>;
}

/**
 * `/health` alone: the server is up and has a policy (OPA: initialized). `?bundles`: the policy is loaded.
 * `?plugins`: the check service is up, so also not draining. OPA's `exclude-plugin` has nothing to exclude
 * here and is ignored.
 */
export function healthAnswer(query: URLSearchParams, facts: HealthFacts): HealthAnswer {
  if (!facts.policyLoaded) return { status: 500, body: { error: 'no policy loaded' } };
  if (query.has('plugins') && facts.draining) {
    return { status: 500, body: { error: 'one or more plugins are not up: the sidecar is shutting down' } };
  }
  return { status: 200, body: {} };
}
