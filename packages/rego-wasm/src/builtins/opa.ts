// opa.runtime and trace. In a sidecar there is no OPA configuration to show: opa.runtime answers an object
// with an empty `env` (the process environment is not exposed to policies, so secrets cannot leak into
// decisions or logs) and Portcullis's name as `version`.
import { str } from './args.js';

export const opaBuiltins = {
  'opa.runtime': () => ({ env: {}, version: 'portcullis' }),
  // OPA's trace adds a note to an explanation Portcullis does not produce; like OPA it always succeeds.
  trace: (note: unknown) => (str('trace', note), true),
};
