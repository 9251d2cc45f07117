// GET/POST/DELETE /v1/overrides: per-key rate-limit overrides an operator sets, kept in the store so every
// instance applies them. The admin shell authenticates and reads the body; this module validates and acts.
import type { DecisionStore } from '../limits/types.js';

/** What the endpoint needs to know of a rateLimits rule to validate an override against it. */
export interface OverridableRule {
  name: string;
  key: readonly string[];
}

export interface EndpointAnswer {
  status: number;
  body: unknown;
}

function invalid(message: string): EndpointAnswer {
  return { status: 400, body: { error: message } };
}

function checkRule(rules: readonly OverridableRule[], rule: string, key: readonly string[]): EndpointAnswer | null {
  const found = rules.find((r) => r.name === rule);
  if (found === undefined) return invalid(`no rateLimits rule named "${rule}"`);
  if (found.key.length !== key.length) {
    return invalid(
      `rule "${rule}" is keyed by [${found.key.join(', ')}]: give ${found.key.length} key value(s), in that order`,
    );
  }
  return null;
}

/** `body` is the parsed JSON body (undefined for GET). Store failures propagate (the shell answers 503). */
export async function overridesEndpoint(
  method: string,
  body: unknown,
  store: DecisionStore,
  rules: readonly OverridableRule[],
  nowSeconds: number = Math.floor(Date.now() / 1000),
): Promise<EndpointAnswer> {
  switch (method) {
    case 'GET':
      return { status: 200, body: { overrides: await store.listOverrides() } };
    case 'POST': {
      const { overrideSetSchema } = await import('./adminBodies.js');
      const parsed = overrideSetSchema.safeParse(body);
      if (!parsed.success)
        return invalid(`expected {"rule", "key": [...], "limit", "until"?}: ${parsed.error.issues[0]?.message ?? ''}`);
      const override = parsed.data;
      const problem = checkRule(rules, override.rule, override.key);
      if (problem !== null) return problem;
      if (override.until !== undefined && override.until <= nowSeconds) return invalid('until is in the past');
      await store.setOverride(override);
      return { status: 200, body: { override } };
    }
    case 'DELETE': {
      const { overrideDeleteSchema } = await import('./adminBodies.js');
      const parsed = overrideDeleteSchema.safeParse(body);
      if (!parsed.success) return invalid(`expected {"rule", "key": [...]}: ${parsed.error.issues[0]?.message ?? ''}`);
      const deleted = await store.deleteOverride(parsed.data.rule, parsed.data.key);
      return deleted
        ? { status: 200, body: { deleted: parsed.data } }
        : { status: 404, body: { error: 'no such override' } };
    }
    default:
      return { status: 405, body: { error: `method ${method} not allowed on /v1/overrides` } };
  }
}
