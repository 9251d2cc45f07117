// Config of `policy.bundle`: policies fetched from a bundle server with OPA's bundle protocol, optionally
// signed (src/bundle/). Kept apart from schema.ts so the rules about bundles sit together.
import { z } from 'zod';

/** The JWS algorithms OPA accepts for bundle signatures (`none` never). */
export const SIGNING_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'HS256',
  'HS384',
  'HS512',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const bundleKeySchema = z
  .strictObject({
    algorithm: z.enum(SIGNING_ALGORITHMS).default('RS256'),
    // A PEM public key (SPKI, PKCS#1 or a certificate), or for HS* the shared secret itself.
    key: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    // The scope a signature made with this key must carry, unless verification.scope says otherwise.
    scope: z.string().optional(),
  })
  .refine((k) => (k.key === undefined) !== (k.keyFile === undefined), {
    message: 'set exactly one of key (PEM text or HMAC secret) or keyFile',
  });

export const bundleVerificationSchema = z
  .strictObject({
    keys: z
      .record(z.string().min(1), bundleKeySchema)
      .refine((keys) => Object.keys(keys).length > 0, { message: 'name at least one key' }),
    // Which key verifies; without it the signature's `kid` header (or its deprecated `keyid` claim) chooses.
    keyId: z.string().min(1).optional(),
    scope: z.string().optional(),
    // Files left out of the signature check (Go filepath.Match patterns on bundle paths, e.g. `*.md`).
    exclude: z.array(z.string().min(1)).default([]),
  })
  .refine((v) => v.keyId === undefined || v.keyId in v.keys, {
    message: 'keyId must name one of verification.keys',
    path: ['keyId'],
  });

const httpUrl = z
  .string()
  .url()
  .refine((url) => /^https?:\/\//i.test(url), 'expected an http:// or https:// URL');

// Header names as HTTP defines them (tchar); values without line breaks, so nothing can be smuggled.
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid HTTP header name');
const headerValue = z.string().regex(/^[^\r\n\0]*$/, 'header values cannot hold line breaks');

export const bundleSchema = z
  .strictObject({
    url: httpUrl,
    // OPA's defaults (min_delay_seconds 60, max_delay_seconds 120): each poll waits a random time in between.
    polling: z
      .strictObject({
        minSeconds: z.number().positive().max(86_400).default(60),
        maxSeconds: z.number().positive().max(86_400).default(120),
      })
      .prefault({})
      .refine((p) => p.minSeconds <= p.maxSeconds, {
        message: 'minSeconds must not exceed maxSeconds',
        path: ['minSeconds'],
      }),
    headers: z.record(headerName, headerValue).default({}),
    // Sent as `Authorization: Bearer …`; never logged.
    bearerToken: z
      .string()
      .min(1)
      .regex(/^[^\r\n\0]*$/, 'cannot hold line breaks')
      .optional(),
    tls: z
      .strictObject({
        // The CA that signs the bundle server's certificate (otherwise the system's trust store).
        caFile: z.string().min(1).optional(),
        // A client certificate, for bundle servers that ask for one.
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
      })
      .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
        message: 'set certFile and keyFile together',
      })
      .optional(),
    verification: bundleVerificationSchema.optional(),
    // The last good bundle is kept here and served at start-up while the bundle server is unreachable.
    persistDir: z.string().min(1).optional(),
  })
  .refine(
    (b) => !(b.bearerToken !== undefined && Object.keys(b.headers).some((h) => h.toLowerCase() === 'authorization')),
    {
      message: 'set bearerToken or an Authorization header, not both',
      path: ['headers'],
    },
  );

export type BundleConfig = z.output<typeof bundleSchema>;
export type BundleVerificationConfig = z.output<typeof bundleVerificationSchema>;
