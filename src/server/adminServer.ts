// The admin HTTP shell: probes, metrics, the policy in force, and the denylist write endpoint.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { denylistReadOrDelete } from './adminDenylist.js';
import type { Logger } from 'pino';
import type { DecisionStore } from '../limits/types.js';
import type { ReadinessBody } from './readiness.js';
import { pathWithoutQuery } from '../input/parsePath.js';
import { redactUrl } from '../telemetry/redact.js';
import { overridesEndpoint, type OverridableRule } from './adminOverrides.js';
import { healthAnswer } from './healthApi.js';
import { peerIdentity } from './grpcServer.js';

export interface AdminDeps {
  address: string;
  /** undefined: mutating endpoints are disabled (403), never open */
  token: string | undefined;
  store: DecisionStore;
  /** /readyz: ready = a policy is loaded and not draining; dependencies are reported in the body only */
  readiness(): { status: 200 | 503; body: ReadinessBody };
  registry: { metrics(): Promise<string>; contentType: string };
  policyInfo(): {
    revision: string;
    kind: string;
    path: string;
    entrypoint: string;
    entrypoints: string[];
    loadedAt: Date;
  } | null;
  isDraining(): boolean;
  /** policy.bundle: the bundle client's state, shown on GET /v1/policy */
  bundleStatus?: () => object;
  /** unknown OpenAPI operations seen, most frequent first; null when `openapi` is not configured */
  inventory?: () => Array<{ method: string; shape: string; count: number; lastSeen: string }> | null;
  logger: Logger;
  /** rateLimits rules /v1/overrides may override */
  overridableRules?: readonly OverridableRule[];
  /** admin.tls: serve HTTPS with this certificate and key, asking for (or requiring) a client certificate */
  tls?: SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };
}

export interface AdminShell {
  port: number;
  close(): Promise<void>;
  /** admin.tls only: new connections use this certificate (a rotation) */
  setSecureContext(options: SecureContextOptions): void;
}

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startAdminServer(deps: AdminDeps): Promise<AdminShell> {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    route(req, res, deps).catch((error: unknown) => {
      if (error instanceof HttpError) {
        sendJson(res, error.status, { error: error.message });
        return;
      }
      // The query string may carry a credential: logged redacted, like every URL.
      deps.logger.error({ err: error, path: redactUrl(req.url ?? '') }, 'admin request failed');
      sendJson(res, 500, { error: 'internal error' });
    });
  };
  const server = deps.tls === undefined ? createServer(handle) : createHttpsServer({ ...deps.tls }, handle);
  // mTLS: the verified client is logged once per connection, like on the gRPC port.
  if (deps.tls?.requestCert === true)
    server.on('secureConnection', (socket: TLSSocket) => logAdminPeer(deps.logger, socket));
  const { host, port } = splitHostPort(deps.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setSecureContext: (context) => {
      if (deps.tls === undefined) throw new Error('the admin server has no TLS to reload');
      (server as HttpsServer).setSecureContext(context);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function logAdminPeer(logger: Logger, socket: TLSSocket): void {
  const peer = peerIdentity(socket);
  const remote = `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;
  if (peer === null) logger.info({ remote }, 'admin client connected over TLS without a verified certificate');
  else logger.info({ remote, peer }, 'admin client certificate verified');
}

async function route(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): Promise<void> {
  const path = pathWithoutQuery(req.url ?? '/');
  const method = req.method ?? 'GET';
  const allow = (methods: string[]): void => {
    if (!methods.includes(method)) {
      res.setHeader('allow', methods.join(', '));
      throw new HttpError(405, `method ${method} not allowed on ${path}`);
    }
  };
  switch (path) {
    case '/health': {
      // OPA's health API, for manifests written for OPA-Envoy (probes on /health?plugins)
      allow(['GET', 'HEAD']);
      const query = new URL(req.url ?? '/', 'http://admin').searchParams;
      const answer = healthAnswer(query, { policyLoaded: deps.policyInfo() !== null, draining: deps.isDraining() });
      return sendJson(res, answer.status, answer.body);
    }
    case '/healthz':
      allow(['GET', 'HEAD']);
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz': {
      allow(['GET', 'HEAD']);
      // Answers from state kept up to date in the background: a probe never waits on Redis or an IdP.
      const { status, body } = deps.readiness();
      return sendJson(res, status, body);
    }
    case '/metrics': {
      allow(['GET']);
      const text = await deps.registry.metrics();
      res.writeHead(200, { 'content-type': deps.registry.contentType });
      res.end(text);
      return;
    }
    case '/v1/policy': {
      allow(['GET']);
      const policy = deps.policyInfo();
      const bundle = deps.bundleStatus === undefined ? {} : { bundle: deps.bundleStatus() };
      if (policy === null) return sendJson(res, 503, { error: 'no policy loaded', ...bundle });
      return sendJson(res, 200, {
        revision: policy.revision,
        kind: policy.kind,
        path: policy.path,
        entrypoint: policy.entrypoint,
        entrypoints: policy.entrypoints,
        loaded_at: policy.loadedAt.toISOString(),
        ...bundle,
      });
    }
    case '/v1/inventory': {
      // Like /metrics, no token: method and path shapes only, never raw paths.
      allow(['GET']);
      return sendJson(res, 200, { unknown: deps.inventory?.() ?? [] });
    }
    case '/v1/denylist':
      allow(['GET', 'POST', 'DELETE']);
      if (method === 'POST') return revoke(req, res, deps);
      return denylist(req, res, deps, method === 'GET' ? 'GET' : 'DELETE');
    case '/v1/overrides':
      allow(['GET', 'POST', 'DELETE']);
      return overrides(req, res, deps, method);
    default:
      throw new HttpError(404, `no admin endpoint ${path}`);
  }
}

async function revoke(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): Promise<void> {
  if (deps.token === undefined) {
    throw new HttpError(403, 'the denylist endpoint is disabled: set admin.token to enable it');
  }
  if (!bearerMatches(req.headers.authorization, deps.token)) {
    res.setHeader('www-authenticate', 'Bearer realm="portcullis-admin"');
    throw new HttpError(401, 'missing or wrong admin token');
  }
  const { denylistRequestSchema } = await import('./adminBodies.js');
  const parsed = denylistRequestSchema.safeParse(await readJson(req));
  if (!parsed.success) {
    throw new HttpError(
      400,
      'expected {"jti": string, "exp": unix seconds} or {"sub": string, "before"?: unix seconds}',
    );
  }
  const body = parsed.data;
  try {
    if ('jti' in body) {
      await deps.store.revokeTokenId(body.jti, body.exp);
      deps.logger.info({ jti: body.jti, exp: body.exp, caller: callerOf(req) }, 'token revoked through the admin API');
      return sendJson(res, 200, { revoked: { jti: body.jti, exp: body.exp } });
    }
    const before = body.before ?? Math.floor(Date.now() / 1000);
    await deps.store.revokeSubject(body.sub, before);
    deps.logger.info({ sub: body.sub, before, caller: callerOf(req) }, 'subject revoked through the admin API');
    return sendJson(res, 200, { revoked: { sub: body.sub, before } });
  } catch (error) {
    if (hasCode(error, 'INVALID_REVOCATION')) throw new HttpError(400, (error as Error).message);
    deps.logger.error({ err: error }, 'denylist write failed');
    throw new HttpError(503, 'the store did not accept the revocation; retry');
  }
}

async function denylist(
  req: IncomingMessage,
  res: ServerResponse,
  deps: AdminDeps,
  method: 'GET' | 'DELETE',
): Promise<void> {
  if (deps.token === undefined)
    throw new HttpError(403, 'the denylist endpoint is disabled: set admin.token to enable it');
  if (!bearerMatches(req.headers.authorization, deps.token)) {
    res.setHeader('www-authenticate', 'Bearer realm="portcullis-admin"');
    throw new HttpError(401, 'missing or wrong admin token');
  }
  const body = method === 'GET' ? undefined : await readJson(req);
  let answer;
  try {
    answer = await denylistReadOrDelete(method, body, deps.store);
  } catch (error) {
    deps.logger.error({ err: error }, `denylist ${method === 'GET' ? 'read' : 'delete'} failed in the store`);
    throw new HttpError(503, 'the store did not answer; retry');
  }
  if (answer.audit !== null) deps.logger.info({ ...answer.audit.fields, caller: callerOf(req) }, answer.audit.msg);
  return sendJson(res, answer.status, answer.body);
}

/** Who called the admin API, for the audit log: the peer address (the token itself is never logged). */
function callerOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? 'unknown'}:${req.socket.remotePort ?? 0}`;
}

async function overrides(req: IncomingMessage, res: ServerResponse, deps: AdminDeps, method: string): Promise<void> {
  if (deps.token === undefined)
    throw new HttpError(403, 'the overrides endpoint is disabled: set admin.token to enable it');
  if (!bearerMatches(req.headers.authorization, deps.token)) {
    res.setHeader('www-authenticate', 'Bearer realm="portcullis-admin"');
    throw new HttpError(401, 'missing or wrong admin token');
  }
  const body = method === 'GET' ? undefined : await readJson(req);
  let answer;
  try {
    answer = await overridesEndpoint(method, body, deps.store, deps.overridableRules ?? []);
  } catch (error) {
    deps.logger.error({ err: error }, 'override request failed in the store');
    throw new HttpError(503, 'the store did not answer; retry');
  }
  if (method !== 'GET' && answer.status === 200)
    deps.logger.info({ method, override: body }, 'rate-limit override changed through the admin API');
  return sendJson(res, answer.status, answer.body);
}

function hasCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}

/** Compares digests so neither the token's content nor its length leaks through timing. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.toLowerCase().startsWith('bearer ')) return false;
  const presented = createHash('sha256').update(header.slice('bearer '.length).trim()).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(presented, expected);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'request body too large');
    chunks.push(buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'request body is not JSON');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(colon + 1)) };
}
