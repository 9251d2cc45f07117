// The policy input as the JSON text the engine loads, with the verified identity's text reused: a cached token's
// identity is the same deep-frozen object on every check (src/identity), and its claims are a third of a
// typical input, so they are serialized once per verification instead of once per check. The text comes in
// pieces that the engine writes one after the other into the policy's memory, so the pieces are never joined
// into one more string.
import { stringifyInput } from './exactJson.js';

/** JSON text of frozen identities, dropped with them */
const identityJson = new WeakMap<object, string>();

/**
 * stringifyInput(input) as pieces to concatenate, except that a frozen `identity` is written from its cached
 * text (as the object's last key: key order means nothing in JSON). Unfrozen identities (policy tests build
 * their own) are serialized as they are, since nothing says they stay unchanged.
 */
export function policyInputJson(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [stringifyInput(input)];
  const { identity, ...rest } = input as Record<string, unknown>;
  if (typeof identity !== 'object' || identity === null || !Object.isFrozen(identity)) return [stringifyInput(input)];
  let text = identityJson.get(identity);
  if (text === undefined) {
    text = stringifyInput(identity);
    identityJson.set(identity, text);
  }
  const restText = stringifyInput(rest);
  // restText is an object's text, `{...}`: its closing brace moves after the identity
  return restText === '{}' ? ['{"identity":', text, '}'] : [restText.slice(0, -1), ',"identity":', text, '}'];
}
