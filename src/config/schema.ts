// The configuration contract (README.md, "Configuration reference") as a zod schema. Every object is strict so an unknown key
// (usually a typo) fails start-up naming its path instead of being silently ignored.
import { z } from 'zod';
import { EntrypointFormatError, normalizeEntrypoint } from '../policy/entrypoint.js';
import { DEFAULT_FUEL, DEFAULT_MEMORY_MIB, MAX_FUEL, MAX_MEMORY_MIB } from '../policy/limits.js';
import { bundleSchema } from './bundle-schema.js';
import { authFailuresSchema, limitFromSchema, penaltySchema, rateLimitServiceSchema } from './limits-schema.js';

const portInRange = (hostPort: string): boolean => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1)) <= 65535;

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'expected host:port, e.g. 0.0.0.0:9191')
  .refine(portInRange, 'port must be between 0 and 65535');

// The message never repeats the value: a redis URL may hold a password.
const redisUrl = z
  .string()
  .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
  .refine((url) => URL.canParse(url), 'not a valid URL (redis://[user:password@]host:port[/db], port up to 65535)');

// TLS from files, reloaded when they change (src/server/tlsFiles.ts); minimum TLS 1.2.
// The same keys on both listeners: the admin API carries the denylist and overrides, so mTLS may guard it too.
export const grpcTlsSchema = z
  .strictObject({
    certFile: z.string().min(1),
    keyFile: z.string().min(1),
    // The CA that signs client certificates (mTLS): with it, clients are asked for a certificate.
    clientCaFile: z.string().min(1).optional(),
    requireClientCert: z.boolean().default(false),
  })
  .refine((tls) => !tls.requireClientCert || tls.clientCaFile !== undefined, {
    message: 'requireClientCert needs clientCaFile (the CA that signs the client certificates)',
    path: ['requireClientCert'],
  });
export const adminTlsSchema = grpcTlsSchema;

export const grpcSchema = z
  .strictObject({
    // Loopback: a sidecar's Envoy is in the same pod, and an unauthenticated Check on every interface is an
    // oracle for stolen tokens. Binding elsewhere without TLS logs a warning at start-up.
    address: hostPort.default('127.0.0.1:9191'),
    maxReceiveMessageBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    // Connection limits: Envoy keeps a few long-lived connections, so a cap far above that only bounds abuse
    // (half-open or idle connections that would take every descriptor). 0 turns an idle/age/keepalive limit off.
    maxConnections: z.number().int().positive().max(1_000_000).default(1000),
    maxConnectionIdleSeconds: z.number().min(0).default(300),
    maxConnectionAgeSeconds: z.number().min(0).default(3600),
    maxConnectionAgeGraceSeconds: z.number().min(0).default(30),
    keepaliveSeconds: z.number().min(0).default(60),
    keepaliveTimeoutSeconds: z.number().positive().default(20),
    tls: grpcTlsSchema.optional(),
  })
  .prefault({});

export const adminSchema = z
  .strictObject({
    address: hostPort.default('0.0.0.0:9192'),
    // Guards mutating endpoints. Without it POST /v1/denylist is refused (never open by default).
    token: z.string().min(1).optional(),
    tls: adminTlsSchema.optional(),
  })
  .prefault({});

// After SIGTERM: unready (gRPC health NOT_SERVING, /readyz 503) but still answering checks for delaySeconds,
// so the Envoy in front notices before connections close; then in-flight checks get up to timeoutSeconds.
export const shutdownSchema = z
  .strictObject({
    delaySeconds: z.number().min(0).max(300).default(5),
    timeoutSeconds: z.number().positive().max(600).default(10),
  })
  .prefault({});

export const sentinelSchema = z.strictObject({
  sentinels: z
    .array(
      z
        .string()
        .regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port')
        .refine(portInRange, 'port must be between 0 and 65535'),
    )
    .min(1),
  name: z.string().min(1),
  password: z.string().optional(),
  sentinelPassword: z.string().optional(),
});

export const redisSchema = z
  .strictObject({
    url: redisUrl.optional(),
    cluster: z.array(redisUrl).min(1).optional(),
    sentinel: sentinelSchema.optional(),
    keyPrefix: z.string().default('portcullis:'),
    commandTimeoutMs: z.number().int().positive().max(60_000).default(50),
    onError: z.enum(['deny', 'allow']).default('deny'),
    // concurrent checks' store calls leave in one socket write (standalone and Sentinel; Cluster writes each)
    batchWrites: z.boolean().default(true),
  })
  .refine((r) => [r.url, r.cluster, r.sentinel].filter((x) => x !== undefined).length === 1, {
    message: 'set exactly one of redis.url, redis.cluster or redis.sentinel',
  });

export const tokenSourceSchema = z.union([
  z.strictObject({
    header: z
      .string()
      .min(1)
      .transform((h) => h.toLowerCase()),
    prefix: z.string().optional(),
  }),
  z.strictObject({ cookie: z.string().min(1) }),
  z.strictObject({ query: z.string().min(1) }),
]);

export const jwtAlgorithm = z.enum([
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
  'Ed25519',
  'HS256',
  'HS384',
  'HS512',
]);

export const providerSchema = z
  .strictObject({
    name: z.string().min(1),
    issuer: z.string().min(1),
    audiences: z.array(z.string().min(1)).min(1).optional(),
    // Required: there is no default allowlist, so no configuration accepts every algorithm.
    algorithms: z.array(jwtAlgorithm).min(1),
    jwksUri: z.string().url().optional(),
    jwksFile: z.string().min(1).optional(),
    clockSkewSeconds: z.number().int().min(0).max(600).default(30),
    typ: z.string().optional(),
    from: z
      .array(tokenSourceSchema)
      .min(1)
      .default([{ header: 'authorization', prefix: 'Bearer ' }]),
    forwardClaims: z.record(z.string().min(1), z.string().min(1)).default({}),
  })
  .refine((p) => (p.jwksUri === undefined) !== (p.jwksFile === undefined), {
    message: 'set exactly one of jwksUri or jwksFile',
  });

// `required` defaults to true as soon as a provider exists; with no provider there is nothing to verify
// against, so the embedded default lets anonymous requests reach the policy (input.identity = null).
export const jwtSchema = z
  .strictObject({
    required: z.boolean().optional(),
    providers: z.array(providerSchema).default([]),
  })
  .prefault({})
  .transform((j) => ({ required: j.required ?? j.providers.length > 0, providers: j.providers }))
  .refine((j) => !(j.required && j.providers.length === 0), {
    message: 'jwt.required is true but no jwt.providers are configured',
  })
  .refine((j) => new Set(j.providers.map((p) => p.issuer)).size === j.providers.length, {
    message: 'two jwt.providers share an issuer; providers are chosen by iss, so each issuer must be unique',
  });

export const denylistSchema = z.strictObject({ enabled: z.boolean().default(true) }).prefault({});

const keyPart = z
  .string()
  .regex(
    /^(jwt\.[A-Za-z0-9_.:-]+|header\.[A-Za-z0-9_-]+|source\.address|request\.method|request\.path)$/,
    'expected jwt.<claim>, header.<name>, source.address, request.method or request.path',
  );

export const rateLimitSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
  key: z.array(keyPart).min(1),
  limit: z.number().int().positive(),
  periodSeconds: z.number().int().positive(),
  when: z
    .strictObject({
      pathPrefix: z.string().startsWith('/').optional(),
      methods: z
        .array(
          z
            .string()
            .min(1)
            .transform((m) => m.toUpperCase()),
        )
        .optional(),
    })
    .optional(),
  shadow: z.boolean().default(false),
  penalty: penaltySchema.optional(),
  limitFrom: limitFromSchema.optional(),
});

function entrypointPath(value: string, ctx: z.RefinementCtx): string {
  try {
    return normalizeEntrypoint(value);
  } catch (error) {
    if (!(error instanceof EntrypointFormatError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
    return z.NEVER;
  }
}

export const policySchema = z
  .strictObject({
    path: z.string().min(1).default('./policies'),
    // OPA-Envoy's forms are accepted and normalized: /envoy/authz/allow, envoy.authz.allow, data.envoy.authz.allow
    entrypoint: z.string().min(1).default('envoy/authz/allow').transform(entrypointPath),
    data: z.string().min(1).optional(),
    watch: z.boolean().default(true),
    // The stat fallback behind the file watch (a filesystem without inotify, a change it did not report); 0: off.
    watchPollSeconds: z.number().min(0).max(3600).default(5),
    limits: z
      .strictObject({
        fuel: z.number().int().min(1000).max(MAX_FUEL).default(DEFAULT_FUEL),
        memoryMiB: z.number().int().min(2).max(MAX_MEMORY_MIB).default(DEFAULT_MEMORY_MIB),
      })
      .prefault({}),
    // OPA-Envoy's dry-run: evaluate and log the real decision, always allow
    dryRun: z.boolean().default(false),
    // deny: 503 (error) / 403 (undefined); error: the Check fails with gRPC UNKNOWN, as OPA-Envoy answers,
    // so Envoy's failure_mode_allow / status_on_error decide
    onError: z.enum(['deny', 'error']).default('deny'),
    onUndefined: z.enum(['deny', 'error']).default('deny'),
    // Instead of path: fetched from a bundle server with OPA's bundle protocol (src/bundle/)
    bundle: bundleSchema.optional(),
  })
  .prefault({});

// OPA-Envoy's skip-request-body-parse: the body still reaches the policy in attributes, unparsed.
// protoDescriptor: OPA-Envoy's proto-descriptor, a FileDescriptorSet gRPC request bodies are decoded with.
export const inputSchema = z
  .strictObject({ skipRequestBodyParse: z.boolean().default(false), protoDescriptor: z.string().min(1).optional() })
  .prefault({});

export const openapiSchema = z.strictObject({
  specs: z.array(z.string().min(1)).min(1),
  mode: z.enum(['enforce', 'report']).default('enforce'),
  unknownOperations: z.enum(['allow', 'deny']).default('allow'),
  enforceScopes: z.boolean().default(false),
});

export const decisionLogSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    // unset: false, or true with format opa (OPA's events carry the input)
    includeInput: z.boolean().optional(),
    format: z.enum(['portcullis', 'opa']).default('portcullis'),
  })
  .prefault({});

// OpenTelemetry traces over OTLP/HTTP. Absent: tracing is off and its libraries are never loaded.
export const tracingSchema = z.strictObject({
  // The collector's base URL (`/v1/traces` is appended unless already there), as OTEL_EXPORTER_OTLP_ENDPOINT.
  otlpEndpoint: z
    .string()
    .url()
    .refine((url) => /^https?:\/\//.test(url), 'expected an http:// or https:// URL'),
  serviceName: z.string().min(1).default('portcullis'),
  // For traces that start here; a caller's sampled flag in `traceparent` is followed either way.
  sampleRatio: z.number().min(0).max(1).default(1),
});

export const configSchema = z.strictObject({
  grpc: grpcSchema,
  admin: adminSchema,
  shutdown: shutdownSchema,
  redis: redisSchema.optional(),
  jwt: jwtSchema,
  denylist: denylistSchema,
  rateLimits: z
    .array(rateLimitSchema)
    .default([])
    .refine((rules) => new Set(rules.map((r) => r.name)).size === rules.length, {
      message: 'rate limit names must be unique',
    }),
  authFailures: authFailuresSchema.optional(),
  rateLimitService: rateLimitServiceSchema.optional(),
  policy: policySchema,
  decisionLog: decisionLogSchema,
  input: inputSchema,
  tracing: tracingSchema.optional(),
  openapi: openapiSchema.optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Event loops behind the one gRPC port (node:cluster); `auto` = the cores the process may use (cgroup-aware).
  workers: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default(1),
});

export type Config = z.output<typeof configSchema>;
export type RedisConfig = z.output<typeof redisSchema>;
export type JwtConfig = z.output<typeof jwtSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type TokenSource = z.output<typeof tokenSourceSchema>;
export type RateLimitRule = z.output<typeof rateLimitSchema>;
export type PolicyConfig = z.output<typeof policySchema>;
export type OpenApiConfig = z.output<typeof openapiSchema>;
