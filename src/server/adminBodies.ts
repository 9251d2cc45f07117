// The admin API's request bodies, as zod schemas. The endpoints import this module when a request has a body
// to check, so a server whose admin API has only answered probes and /metrics has not loaded zod (its config
// is validated in a child process, src/config/loadInChild.ts): zod stays out of the idle serving process.
import { z } from 'zod';

const unixSeconds = z.number().int().positive();

/** POST /v1/denylist */
export const denylistRequestSchema = z.union([
  z.strictObject({ jti: z.string().min(1), exp: unixSeconds }),
  z.strictObject({ sub: z.string().min(1), before: unixSeconds.optional() }),
]);

/** DELETE /v1/denylist: the same body as POST; `exp` and `before` are accepted and ignored, since the jti or subject names the entry. */
export const denylistDeleteSchema = z.union([
  z.strictObject({ jti: z.string().min(1), exp: unixSeconds.optional() }),
  z.strictObject({ sub: z.string().min(1), before: unixSeconds.optional() }),
]);

const overrideKey = z.array(z.string()).min(1);
/** POST /v1/overrides */
export const overrideSetSchema = z.strictObject({
  rule: z.string().min(1),
  key: overrideKey,
  limit: z.number().int().min(0),
  until: z.number().int().positive().optional(),
});
/** DELETE /v1/overrides */
export const overrideDeleteSchema = z.strictObject({ rule: z.string().min(1), key: overrideKey });
