// Config of the adaptive protections and of the rate limit service (rateLimits[].penalty/limitFrom,
// authFailures, rateLimitService), kept apart from schema.ts so the rules about them sit together.
import { z } from 'zod';

export const penaltySchema = z
  .strictObject({
    seconds: z.number().int().positive(),
    limitFactor: z.number().gt(0).lt(1).optional(),
    block: z.literal(true).optional(),
  })
  .refine((p) => (p.limitFactor === undefined) !== (p.block === undefined), {
    message: 'set exactly one of penalty.limitFactor (0 < f < 1) or penalty.block: true',
  });

export const limitFromSchema = z.strictObject({
  claim: z.string().min(1),
  tiers: z
    .record(z.string(), z.number().int().min(0))
    .refine((t) => Object.keys(t).length > 0, { message: 'name at least one tier' }),
});

// Before verification there are no claims: the key comes from the request alone.
const requestKeyPart = z
  .string()
  .regex(
    /^(header\.[A-Za-z0-9_-]+|source\.address|request\.method|request\.path)$/,
    'expected header.<name>, source.address, request.method or request.path (no jwt.*: the gate runs before verification)',
  );

export const authFailuresSchema = z.strictObject({
  key: z.array(requestKeyPart).min(1).default(['source.address']),
  limit: z.number().int().positive(),
  periodSeconds: z.number().int().positive(),
  blockSeconds: z.number().int().positive(),
});

export const rateLimitServiceSchema = z.strictObject({
  config: z.array(z.string().min(1)).min(1),
  headers: z.enum(['ietf', 'draft03', 'none']).default('ietf'),
});

export type PenaltyConfig = z.output<typeof penaltySchema>;
export type AuthFailuresConfig = z.output<typeof authFailuresSchema>;
export type RateLimitServiceConfig = z.output<typeof rateLimitServiceSchema>;
