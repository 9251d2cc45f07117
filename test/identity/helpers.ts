// Shared fixtures of the identity tests: a real JWKS HTTP server, keys generated per test, token builders
// and a pino logger whose lines the test can read.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { CompactSign, SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { jwtSchema } from '../../src/config/schema.js';
import type { JwtConfig } from '../../src/config/schema.js';
import type { HttpRequestView } from '../../src/input/types.js';
import { createIdentityStage } from '../../src/identity/index.js';
import type { IdentityStageWithStatus, IdentityTuning } from '../../src/identity/index.js';
import type { IdentityDeps } from '../../src/identity/types.js';

export interface TestKey {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: string, kid: string): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { alg, kid, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' } };
}

export function jwksOf(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A token signed by `key`, with a standard valid claim set unless overridden. */
export async function signToken(
  key: TestKey,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ exp: nowSeconds() + 300, iat: nowSeconds() - 5, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

/** Signs an arbitrary payload text (e.g. JSON with a repeated key) with a real key. */
export async function signRawPayload(key: TestKey, payloadText: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payloadText))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

const subtleSigning: Record<string, { name: string; hash?: string; saltLength?: number }> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5' },
  PS256: { name: 'RSA-PSS', saltLength: 32 },
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  EdDSA: { name: 'Ed25519' },
};

/**
 * Signs header and payload texts exactly as given, bypassing jose's producer checks, for tokens jose
 * would refuse to build (unknown `crit`, repeated header keys).
 */
export async function signManually(key: TestKey, headerText: string, payloadText: string): Promise<string> {
  const signingInput = `${b64url(headerText)}.${b64url(payloadText)}`;
  const signature = await crypto.subtle.sign(
    subtleSigning[key.alg]!,
    key.privateKey,
    new TextEncoder().encode(signingInput),
  );
  return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
}

export const b64url = (text: string): string => Buffer.from(text).toString('base64url');

export interface JwksServer {
  url: string;
  /** Body served at any path; replace to rotate keys. */
  jwks: unknown;
  status: number;
  cacheControl: string | null;
  /** Delay before answering; `hang` never answers (an IdP timeout). */
  delayMs: number;
  hang: boolean;
  requests: number;
  close(): Promise<void>;
}

export async function startJwksServer(initial: unknown): Promise<JwksServer> {
  const hanging = new Set<ServerResponse>();
  const state: JwksServer = {
    url: '',
    jwks: initial,
    status: 200,
    cacheControl: null,
    delayMs: 0,
    hang: false,
    requests: 0,
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((_request: IncomingMessage, response: ServerResponse) => {
    state.requests++;
    if (state.hang) {
      hanging.add(response);
      return;
    }
    const answer = (): void => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (state.cacheControl !== null) headers['cache-control'] = state.cacheControl;
      response.writeHead(state.status, headers);
      response.end(JSON.stringify(state.jwks));
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  return state;
}

/** A port with nothing listening (bound then released). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/jwks.json`;
}

export interface CapturedLog {
  logger: Logger;
  lines: string[];
  text(): string;
}

export function captureLogger(): CapturedLog {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  // sync: lines are in `lines` as soon as the call returns.
  const logger = pino({ level: 'debug' }, stream);
  return { logger, lines, text: () => lines.join('') };
}

export interface Counted {
  deps: IdentityDeps;
  log: CapturedLog;
  counts: Map<string, number>;
}

export function testDeps(): Counted {
  const log = captureLogger();
  const counts = new Map<string, number>();
  return {
    log,
    counts,
    deps: {
      logger: log.logger,
      countVerification: (provider, result) => {
        const key = `${provider}/${result}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      },
    },
  };
}

/** Parses a `jwt:` section through the real config schema, so defaults apply as in production. */
export function jwtConfig(section: unknown): JwtConfig {
  return jwtSchema.parse(section);
}

export function bearerRequest(token: string, extraHeaders: Record<string, string> = {}): HttpRequestView {
  return {
    method: 'GET',
    path: '/api/orders',
    headers: { authorization: `Bearer ${token}`, ...extraHeaders },
    sourceAddress: '10.0.0.1',
  };
}

export function request(headers: Record<string, string>, path = '/api/orders'): HttpRequestView {
  return { method: 'GET', path, headers, sourceAddress: '10.0.0.1' };
}

/** Tuning for tests: fast failure, no waiting on cooldowns unless a test sets them. */
export const fastTuning: Partial<IdentityTuning> = {
  fetchTimeoutMs: 500,
  refetchCooldownMs: 0,
  emptyRetryMs: 0,
};

export async function stageFor(
  section: unknown,
  counted: Counted,
  tuning: Partial<IdentityTuning> = {},
): Promise<IdentityStageWithStatus> {
  return createIdentityStage(jwtConfig(section), counted.deps, { ...fastTuning, ...tuning });
}

/** Waits until `condition` holds (bounded), for background work such as a scheduled refresh. */
export async function eventually(condition: () => boolean, what: string, limitMs = 5_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
